// What an element operation's errno means for the map it was refused on. The errno's own text
// often misleads ("argument list too long" for a full hash, "no such file or directory" for a
// missing key, "invalid argument" for a delete on an array), so BpfMap adds this reading in
// parentheses; the errno, its code and the rest of the message stay as the seed has them.
// The rules are the kernel's (kernel-maps.md §4.1, §11): htab_map_update_elem's check_flags,
// array_map_update_elem, the fd arrays' BPF_ANY-only update, trie_update_elem's ENOSPC.
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_NOEXIST, isFdValueMapType, isHashMapType, isIndexedMapType,
} from "./constants.js";
import { Errno } from "./errno.js";

/** Arrays whose elements always exist: no delete, and BPF_NOEXIST is always EEXIST. */
function isPlainArray(t: number): boolean {
  return t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY;
}

/**
 * What BPF_F_LOCK asks of a map, said with the EINVAL of a lookup or update that passed it: the
 * kernel checks that the value has a lock before anything else, and says only EINVAL.
 */
const LOCK_NEEDS = "BPF_F_LOCK needs a value holding a struct bpf_spin_lock, which the kernel finds by the map's BTF: " +
  "a bpfSpinLock field in the value's struct() and the map created with btf: true (HASH or ARRAY)";

/**
 * Whether `err` is the kernel's refusal of BPF_F_LOCK in `flags`: an update given it answered
 * EINVAL, which syscall.c says before anything else when the value holds no lock. It answers the
 * same every time, so a cache does not keep such a write for its resolver to retry.
 */
export function lockRefused(err: { readonly errno: number } | undefined, flags: number): boolean {
  return err !== undefined && err.errno === Errno.EINVAL && (flags & BPF_F_LOCK) !== 0;
}

/**
 * Why MAP_LOOKUP_ELEM (or `what`: a lookup-and-delete, a lookup batch's elem_flags) answered
 * `errno` given `flags`, or undefined where its text says it.
 */
export function lookupRefusal(errno: number, flags: number, what = "a lookup"): string | undefined {
  if (errno !== Errno.EINVAL || flags === 0) return undefined;
  if (flags !== BPF_F_LOCK) return `${what} takes no flag but BPF_F_LOCK`;
  return LOCK_NEEDS;
}

/** Why MAP_UPDATE_ELEM answered `errno` on a map of type `t`, or undefined where its text says it. */
export function updateRefusal(t: number, errno: number, flags: number, maxEntries: number): string | undefined {
  const max = `max_entries ${maxEntries}`;
  const lock = (flags & BPF_F_LOCK) !== 0;
  if (errno === Errno.EINVAL && lock && (flags & ~BPF_F_LOCK) <= BPF_EXIST) return LOCK_NEEDS;
  // BPF_F_LOCK changes how the value is written, not what NOEXIST and EXIST ask.
  flags = flags & ~BPF_F_LOCK;
  if (errno === Errno.EINVAL && isIndexedMapType(t) && isFdValueMapType(t) && flags !== BPF_ANY) {
    return `${t === BPF_MAP_TYPE_ARRAY_OF_MAPS ? "an array of maps" : "a program array"} takes no update flag but BPF_ANY`;
  }
  if (errno === Errno.EINVAL && (t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_HASH_OF_MAPS) &&
    (flags === BPF_ANY || flags === BPF_NOEXIST || flags === BPF_EXIST)) {
    return "the value must be the fd of a map like the inner-map template: same type, key and value sizes and flags, " +
      "and for an inner array the same max_entries unless the template has BPF_F_INNER_MAP";
  }
  if (errno === Errno.E2BIG && isIndexedMapType(t)) return `the index is past the end of the array: ${max}`;
  if (errno === Errno.E2BIG && isHashMapType(t)) return `the map is full: ${max}`;
  if (errno === Errno.ENOSPC && t === BPF_MAP_TYPE_LPM_TRIE) return `the trie is full: ${max}`;
  if (errno === Errno.EEXIST && flags === BPF_NOEXIST) {
    return isPlainArray(t) ? "BPF_NOEXIST: an array's elements always exist" : "BPF_NOEXIST: the key is already in the map";
  }
  if (errno === Errno.ENOENT && flags === BPF_EXIST) return "BPF_EXIST: the key is not in the map";
  return undefined;
}

/** Why MAP_DELETE_ELEM answered `errno` on a map of type `t`, or undefined where its text says it. */
export function deleteRefusal(t: number, errno: number, maxEntries: number): string | undefined {
  if (errno === Errno.EINVAL && isPlainArray(t)) return "an array's elements cannot be deleted";
  if (errno === Errno.E2BIG && isIndexedMapType(t)) return `the index is past the end of the array: max_entries ${maxEntries}`;
  if (errno === Errno.ENOENT) return isIndexedMapType(t) ? "the slot is empty" : "the key is not in the map";
  return undefined;
}
