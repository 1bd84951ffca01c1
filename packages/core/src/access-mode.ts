// Read-only and write-only opens of a map someone else made (cilium/ebpf's LoadPinOptions
// ReadOnly/WriteOnly): the fd's access mode is BPF_F_RDONLY or BPF_F_WRONLY, given to OBJ_GET as
// file_flags and to MAP_GET_FD_BY_ID as open_flags. The kernel then answers EPERM to what the
// mode forbids (kernel-maps.md §12), a bare "operation not permitted" that reads like a missing
// capability; the reading below says which mode it was.
import { BPF_F_RDONLY, BPF_F_WRONLY } from "./constants.js";
import { Errno } from "./errno.js";
import { describeValue } from "./describe-value.js";

/** How `bpf.openMap` and `bpf.openMapById` open the map (default: read-write). */
export interface OpenMapOptions {
  /** BPF_F_RDONLY: lookups, next-key walks, dumps and iteration; writes are EPERM. */
  readOnly?: boolean;
  /** BPF_F_WRONLY: updates and deletes; lookups, walks and dumps are EPERM. */
  writeOnly?: boolean;
}

/** 0 (read-write), BPF_F_RDONLY or BPF_F_WRONLY. */
export type AccessFlags = 0 | typeof BPF_F_RDONLY | typeof BPF_F_WRONLY;

/** The open flags `options` ask for; a TypeError naming `where` for anything but booleans, or both. */
export function accessFlags(options: OpenMapOptions | undefined, where: string): AccessFlags {
  if (options === undefined) return 0;
  if (options === null || typeof options !== "object") throw new TypeError(`${where}: options must be an object ({ readOnly } or { writeOnly })`);
  for (const k of ["readOnly", "writeOnly"] as const) {
    const v = options[k];
    if (v !== undefined && typeof v !== "boolean") throw new TypeError(`${where}: options.${k} must be a boolean, got ${describeValue(v)}`);
  }
  // The kernel's EINVAL for both, said before any syscall.
  if (options.readOnly === true && options.writeOnly === true) {
    throw new TypeError(`${where}: options.readOnly and options.writeOnly exclude each other (a map that can be neither read nor written is no use)`);
  }
  return options.readOnly === true ? BPF_F_RDONLY : options.writeOnly === true ? BPF_F_WRONLY : 0;
}

/** Why the kernel said `errno` to an fd opened with `access`, or undefined where it is not the mode. */
export function accessRefusal(access: AccessFlags, errno: number): string | undefined {
  if (errno !== Errno.EPERM) return undefined;
  if (access === BPF_F_RDONLY) return "the map was opened read-only (BPF_F_RDONLY): it can be looked up, walked and dumped, not written";
  if (access === BPF_F_WRONLY) return "the map was opened write-only (BPF_F_WRONLY): it can be updated and deleted from, not looked up, walked or dumped";
  return undefined;
}

/**
 * As accessRefusal, in the words of a queue, stack or bloom filter (`kind`), which are pushed,
 * popped, peeked or asked, and never walked or dumped.
 */
export function keylessAccessRefusal(access: AccessFlags, errno: number, kind: string): string | undefined {
  if (errno !== Errno.EPERM || access === 0) return undefined;
  const bloom = kind === "bloom filter";
  if (access === BPF_F_RDONLY) {
    return `the map was opened read-only (BPF_F_RDONLY): a ${kind} opened so can be ${bloom ? "asked (has), not added to" : "peeked, not pushed to or popped"}`;
  }
  return `the map was opened write-only (BPF_F_WRONLY): a ${kind} opened so can be ${bloom ? "added to, not asked (has)" : "pushed to, not popped or peeked"}`;
}

/** The mode as the errors and docs name it. */
export function accessName(access: AccessFlags): string {
  return access === BPF_F_RDONLY ? "read-only" : access === BPF_F_WRONLY ? "write-only" : "read-write";
}

/** O_ACCMODE of an open file's f_flags: O_RDONLY 0, O_WRONLY 1, O_RDWR 2. */
const O_ACCMODE = 3;

/** The access mode of an fd whose f_flags (MapFdInfo.fileFlags) are `fileFlags`. */
export function accessOfFileFlags(fileFlags: number): AccessFlags {
  const mode = fileFlags & O_ACCMODE;
  return mode === 0 ? BPF_F_RDONLY : mode === 1 ? BPF_F_WRONLY : 0;
}
