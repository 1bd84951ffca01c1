// BPF_MAP_TYPE_BLOOM_FILTER (kernel/bpf/bloom_filter.c): add is MAP_UPDATE_ELEM with an empty
// key, "may contain" MAP_LOOKUP_ELEM with the value as input (0: maybe, ENOENT: surely not). The
// number of hash functions is bpf_attr's map_extra (low 4 bits, 0 meaning 5).
import type { Bpf } from "./bpf.js";
import { BPF_ANY, BPF_MAP_TYPE_BLOOM_FILTER } from "./constants.js";
import { Errno } from "./errno.js";
import { KeylessMap, type KeylessKind, type KeylessMapSpec, type KeylessOpened } from "./keyless-map.js";
import { assertOptionKeys, optionKeys } from "./option-keys.js";
import { describeValue } from "./describe-value.js";

/** `bpf.newBloomFilter`'s spec: a KeylessMapSpec (the type is BLOOM_FILTER) with the hash count. */
export interface BloomFilterSpec<V> extends KeylessMapSpec<V> {
  /**
   * How many hash functions each value sets and tests, 1..15 (checked before any syscall), passed
   * as map_extra. Default: the kernel's, 5. More lower the false positives of a sparse filter and
   * cost more per call.
   */
  hashFunctions?: number;
  /**
   * Whether the map this object creates carries BTF of its value (`btfForMap(null, value)`: a
   * bloom filter has no key type), as MapSpec.btf: bpftool then prints its values by field.
   * Default false. Built once, when the object is made; a pin with other BTF is opened as it is.
   */
  btf?: boolean;
}

const BLOOM_SPEC_KEYS = optionKeys<BloomFilterSpec<unknown>>({
  name: true, value: true, maxEntries: true, flags: true, kernelName: true, hashFunctions: true, btf: true,
});

/** The map type a BpfBloomFilter handles. */
export const BLOOM_KIND: KeylessKind = { types: [BPF_MAP_TYPE_BLOOM_FILTER], what: "a bloom filter", readsMapExtra: true };

/** The most hash functions map_extra can ask for (its low 4 bits). */
export const MAX_BLOOM_HASH_FUNCTIONS = 15;
/** What the kernel uses when map_extra leaves the count 0. */
export const DEFAULT_BLOOM_HASH_FUNCTIONS = 5;

/** The hash count a bloom filter's map_extra gives (0 means 5). */
export function bloomHashFunctions(mapExtra: bigint): number {
  return Number(mapExtra & 0xfn) || DEFAULT_BLOOM_HASH_FUNCTIONS;
}

/**
 * A BPF bloom filter: `add` puts a value in, `has` says whether it may be there (false: it surely
 * is not; true: it is, or a false positive). Nothing is ever removed. bpftool calls add `map push`
 * and has `map peek`.
 */
export class BpfBloomFilter<V> extends KeylessMap<V> {
  readonly #specHashFunctions: number;

  /**
   * Makes the object from a spec without touching the kernel (as `bpf.newBloomFilter`); open it
   * with `openOrCreate()`. `opened` is for `bpf.openBloomFilter`: an fd already open.
   */
  constructor(bpf: Bpf, spec: BloomFilterSpec<V>, opened?: KeylessOpened, op = "newBloomFilter") {
    let extra: bigint | undefined;
    if (spec !== null && typeof spec === "object") {
      const where = `${op} ${String(spec.name)}`;
      assertOptionKeys(spec, BLOOM_SPEC_KEYS, where, "spec");
      const n = spec.hashFunctions;
      if (n !== undefined) {
        if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_BLOOM_HASH_FUNCTIONS) {
          throw new RangeError(`${where}: hashFunctions must be an integer from 1 to ${MAX_BLOOM_HASH_FUNCTIONS} (map_extra's low 4 bits), got ${describeValue(n)}`);
        }
        extra = BigInt(n);
      }
    }
    super(bpf, spec === null || typeof spec !== "object" ? spec : { ...spec, type: BPF_MAP_TYPE_BLOOM_FILTER }, BLOOM_KIND, op, extra, opened);
    this.#specHashFunctions = spec.hashFunctions ?? DEFAULT_BLOOM_HASH_FUNCTIONS;
  }

  /**
   * How many hash functions the filter uses: the map's once it has been opened (a pin opened by a
   * spec without `hashFunctions` keeps its own count), the spec's (default 5) before.
   */
  get hashFunctions(): number {
    const extra = this.openMapExtra;
    return extra !== undefined ? bloomHashFunctions(extra) : this.#specHashFunctions;
  }

  /** Adds `value` (BPF_MAP_UPDATE_ELEM); a filter opened read-only, or frozen, is EPERM. */
  add(value: V): void {
    this.encodeValue(value, "add");
    const r = this.elemCall("add", "mapUpdateElem", (d, fd, key, vb) => d.mapUpdateElem(fd, key, vb, BPF_ANY));
    if (r < 0) throw this.opError("add", -r);
  }

  /**
   * Whether `value` may be in the filter (BPF_MAP_LOOKUP_ELEM with the value as its input): false
   * means it was never added; true that it was, or is a false positive. Write-only: EPERM.
   */
  has(value: V): boolean {
    this.encodeValue(value, "has");
    const r = this.elemCall("has", "mapLookupElem", (d, fd, key, vb) => d.mapLookupElem(fd, key, vb), (r) => r >= 0 || r === -Errno.ENOENT);
    if (r === -Errno.ENOENT) return false;
    if (r < 0) throw this.opError("has", -r);
    return true;
  }
}
