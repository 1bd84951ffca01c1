// A byte-level harness over one engine instance for the engine tests: keys and values are
// Uint8Arrays, results are errnos as the kernel would report them (0 or a positive errno).
import { instantiateEngine } from "../src/engine.js";
import type { EngineExports } from "../src/engine-abi.js";

export const T = {
  HASH: 1, ARRAY: 2, PROG_ARRAY: 3, PERCPU_HASH: 5, PERCPU_ARRAY: 6, LRU_HASH: 9,
  LRU_PERCPU_HASH: 10, LPM_TRIE: 11, ARRAY_OF_MAPS: 12, HASH_OF_MAPS: 13,
} as const;
export const F = { NO_PREALLOC: 0x1, NO_COMMON_LRU: 0x2, ZERO_SEED: 0x40 } as const;
export const E = {
  OK: 0, ENOENT: 2, E2BIG: 7, ENOMEM: 12, EEXIST: 17, EINVAL: 22, ENOSPC: 28, ENOTSUPP: 524,
} as const;
export const ANY = 0, NOEXIST = 1, EXIST = 2;

/** The kernel-style errno of an engine result: 0 for success, else the positive errno. */
export function errno(r: number): number {
  return r < 0 ? -r : 0;
}

export function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}
export function u64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
export function readU32(b: Uint8Array, off = 0): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
}
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

export interface MapSpec {
  type: number; keySize: number; valueSize: number; maxEntries: number; flags?: number;
  ncpus?: number; seed?: number;
  /** map_extra: a bloom filter's hash count (0 = 5). */
  extra?: number;
}

export class EngineMap {
  readonly valueBytes: number;
  constructor(readonly eng: Engine, readonly h: number, readonly spec: Required<MapSpec>) {
    const percpu = [T.PERCPU_HASH, T.PERCPU_ARRAY, T.LRU_PERCPU_HASH].includes(spec.type as 5);
    this.valueBytes = percpu ? spec.ncpus * ((spec.valueSize + 7) & ~7) : spec.valueSize;
  }
  update(key: Uint8Array, value: Uint8Array, flags = ANY): number {
    const s = this.eng.put(key, value);
    return errno(this.eng.x.mapUpdate(this.h, s, s + key.length, flags));
  }
  lookup(key: Uint8Array): { err: number; value: Uint8Array } {
    const s = this.eng.put(key, new Uint8Array(this.valueBytes));
    const err = errno(this.eng.x.mapLookup(this.h, s, s + key.length));
    return { err, value: this.eng.get(s + key.length, this.valueBytes) };
  }
  delete(key: Uint8Array): number {
    const s = this.eng.put(key);
    return errno(this.eng.x.mapDelete(this.h, s));
  }
  lookupAndDelete(key: Uint8Array): { err: number; value: Uint8Array } {
    const s = this.eng.put(key, new Uint8Array(this.valueBytes));
    const err = errno(this.eng.x.mapLookupAndDelete(this.h, s, s + key.length));
    return { err, value: this.eng.get(s + key.length, this.valueBytes) };
  }
  nextKey(key: Uint8Array | null): { err: number; key: Uint8Array } {
    const k = this.spec.keySize;
    const s = this.eng.put(key ?? new Uint8Array(k), new Uint8Array(k));
    const err = errno(this.eng.x.mapGetNextKey(this.h, key ? s : 0, s + k));
    return { err, key: this.eng.get(s + k, k) };
  }
  /** The full GET_NEXT_KEY walk from NULL. */
  keys(): Uint8Array[] {
    const out: Uint8Array[] = [];
    let r = this.nextKey(null);
    while (r.err === 0) {
      out.push(r.key);
      if (out.length > 10_000_000) throw new Error("walk does not end");
      r = this.nextKey(r.key);
    }
    if (r.err !== E.ENOENT) throw new Error(`walk ended with errno ${r.err}`);
    return out;
  }
  count(): number {
    return this.eng.x.mapCount(this.h);
  }
  datapathLookup(key: Uint8Array, cpu: number): { err: number; value: Uint8Array } {
    const s = this.eng.put(key, new Uint8Array(this.spec.valueSize));
    const err = errno(this.eng.x.datapathLookup(this.h, s, s + key.length, cpu));
    return { err, value: this.eng.get(s + key.length, this.spec.valueSize) };
  }
  datapathUpdate(key: Uint8Array, value: Uint8Array, flags: number, cpu: number): number {
    const s = this.eng.put(key, value);
    return errno(this.eng.x.datapathUpdate(this.h, s, s + key.length, flags, cpu));
  }
  datapathDelete(key: Uint8Array, cpu: number): number {
    const s = this.eng.put(key);
    return errno(this.eng.x.datapathDelete(this.h, s, cpu));
  }
  /** LOOKUP_BATCH (del=false) or LOOKUP_AND_DELETE_BATCH; the token is tokenSize bytes. */
  lookupBatch(inToken: Uint8Array | null, count: number, del = false, tokenSize = 4) {
    const k = this.spec.keySize, v = this.valueBytes;
    const total = tokenSize * 2 + count * (k + v);
    const s = this.eng.scratch(total);
    const mem = this.eng.bytes();
    mem.fill(0, s, s + total);
    if (inToken) mem.set(inToken, s);
    const outP = s + tokenSize, keysP = s + 2 * tokenSize, valsP = keysP + count * k;
    const err = errno(this.eng.x.mapLookupBatch(this.h, inToken ? s : 0, outP, keysP, valsP, count, del ? 1 : 0));
    const n = this.eng.x.batchCount();
    const keys: Uint8Array[] = [], values: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      keys.push(this.eng.get(keysP + i * k, k));
      values.push(this.eng.get(valsP + i * v, v));
    }
    return { err, count: n, outToken: this.eng.get(outP, tokenSize), keys, values };
  }
  updateBatch(keys: Uint8Array[], values: Uint8Array[]): { err: number; count: number } {
    const k = this.spec.keySize, v = this.valueBytes;
    const s = this.eng.scratch(keys.length * (k + v) + 8);
    const mem = this.eng.bytes();
    keys.forEach((key, i) => mem.set(key, s + i * k));
    values.forEach((val, i) => mem.set(val, s + keys.length * k + i * v));
    const err = errno(this.eng.x.mapUpdateBatch(this.h, s, s + keys.length * k, keys.length));
    return { err, count: this.eng.x.batchCount() };
  }
  deleteBatch(keys: Uint8Array[]): { err: number; count: number } {
    const k = this.spec.keySize;
    const s = this.eng.scratch(keys.length * k + 8);
    const mem = this.eng.bytes();
    keys.forEach((key, i) => mem.set(key, s + i * k));
    const err = errno(this.eng.x.mapDeleteBatch(this.h, s, keys.length));
    return { err, count: this.eng.x.batchCount() };
  }
  free(): void {
    this.eng.x.mapFree(this.h);
  }
}

export class Engine {
  readonly x: EngineExports;
  constructor() {
    this.x = instantiateEngine();
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.x.memory.buffer);
  }
  scratch(n: number): number {
    const p = this.x.scratch(n);
    if (p < 0) throw new Error(`scratch(${n}) failed: ${p}`);
    return p;
  }
  /** Copies parts into consecutive scratch bytes and returns the scratch address. */
  put(...parts: Uint8Array[]): number {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const s = this.scratch(n + 8);
    const mem = this.bytes();
    let off = s;
    for (const p of parts) {
      mem.set(p, off);
      off += p.length;
    }
    return s;
  }
  get(ptr: number, n: number): Uint8Array {
    return this.bytes().slice(ptr, ptr + n);
  }
  /** Creates a map, or returns the positive errno. */
  tryCreate(spec: MapSpec): EngineMap | number {
    const full: Required<MapSpec> = { flags: 0, ncpus: 2, seed: 0, extra: 0, ...spec };
    const h = this.x.mapCreate(full.type, full.keySize, full.valueSize, full.maxEntries, full.flags, full.ncpus, full.seed, full.extra);
    return h > 0 ? new EngineMap(this, h, full) : -h;
  }
  create(spec: MapSpec): EngineMap {
    const m = this.tryCreate(spec);
    if (typeof m === "number") throw new Error(`mapCreate failed: errno ${m}`);
    return m;
  }
  jhash(key: Uint8Array, seed = 0): number {
    const s = this.put(key);
    return this.x.jhash(s, key.length, seed);
  }
}
