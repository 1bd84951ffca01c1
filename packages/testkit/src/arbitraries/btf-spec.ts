// Values with special fields: a wide program's map may be created with BTF whose value struct
// holds a `struct bpf_spin_lock` (and now and then a `struct bpf_timer`) at a drawn offset, and
// its updates, lookups and update batches then take BPF_F_LOCK. The kernel allows a spin lock in
// HASH and ARRAY values only, a timer in HASH, LRU_HASH and ARRAY ones (map_check_btf); most
// draws move the spec to one of those, the rest keep its type, where both drivers must refuse
// alike. Drawn after every other part of a program, so programs without it stay what they were.
import {
  BPF_F_LOCK, BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG,
  BPF_F_ZERO_SEED, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BtfBuilder, BtfIntEncoding, isHashMapType,
} from "@bpfkit/core";
import fc from "fast-check";
import type { MapSpec } from "./map-spec.js";

/** A map's BTF as a program draws it: where the value's special fields are, and the key's type. */
export interface SpecBtf {
  /** Byte offset of the value's `struct bpf_spin_lock`, or null for none. */
  lockAt: number | null;
  /** Byte offset of the value's `struct bpf_timer` (16 bytes), or null for none. */
  timerAt: number | null;
  /** The key's type: `key_size` bytes ("fit"), none (type id 0), or one byte too long ("wrong"). */
  key: "fit" | "none" | "wrong";
}

/** The BTF draw of one program: the spec's new shape and which plain ops take BPF_F_LOCK. */
export interface BtfDraw {
  /** Keep the spec's map type, or make it a HASH or an ARRAY (where a spin lock may be). */
  retype: "keep" | "hash" | "array";
  /** Picks the lock's 4-aligned offset among those that fit; null: no lock. */
  lock: number | null;
  /** The lock 2 bytes past its alignment (btf_parse_fields refuses it). */
  misalign: boolean;
  /** Picks the timer's 8-aligned offset; null: no timer. */
  timer: number | null;
  key: SpecBtf["key"];
  /**
   * Whether an update, lookup or update batch has BPF_F_LOCK ORed in, picked by a hash of the
   * op's kind, keys and flags (not its place, so that shrinking away the ops before it keeps it).
   */
  lockOps: boolean[];
}

const weighted = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const ACCESS = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

/** How many lock bits an op's hash picks among. */
const LOCK_SLOTS = 32;

/** The BTF draws of a program. */
export function btfDrawArb(): fc.Arbitrary<BtfDraw> {
  return fc.record({
    retype: fc.oneof(weighted(4, fc.constant("hash" as const)), weighted(3, fc.constant("array" as const)), weighted(2, fc.constant("keep" as const))),
    lock: fc.oneof(weighted(1, fc.constant(null)), weighted(8, fc.nat(63))),
    misalign: fc.oneof(weighted(15, fc.constant(false)), weighted(1, fc.constant(true))),
    timer: fc.oneof(weighted(3, fc.constant(null)), weighted(1, fc.nat(7))),
    key: fc.oneof(weighted(10, fc.constant("fit" as const)), weighted(1, fc.constant("none" as const)), weighted(1, fc.constant("wrong" as const))),
    lockOps: fc.array(fc.boolean(), { minLength: LOCK_SLOTS, maxLength: LOCK_SLOTS }),
  });
}

/**
 * `spec` with the draw's BTF: retyped to HASH or ARRAY where the draw says so and `types` has it (sizes and flags
 * kept where that type takes them), its value grown to hold the fields drawn, their offsets
 * picked among those that fit without overlapping.
 */
export function withBtf(spec: MapSpec, d: BtfDraw, types: readonly number[]): MapSpec {
  let s: MapSpec = spec;
  // Only to a type the caller draws from.
  const retype = d.retype === "hash" && types.includes(BPF_MAP_TYPE_HASH) ? "hash" : d.retype === "array" && types.includes(BPF_MAP_TYPE_ARRAY) ? "array" : "keep";
  const sizeOr = (n: number, max: number, otherwise: number) => (n >= 1 && n <= max ? n : otherwise);
  const named = spec.mapName !== undefined ? { mapName: spec.mapName } : {};
  if (retype === "hash") {
    // A hash of another type gets ZERO_SEED, as the plain draw gives hashes: walks then compare in order.
    const own = isHashMapType(spec.mapType) ? spec.mapFlags & (BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED) : BPF_F_ZERO_SEED;
    s = { mapType: BPF_MAP_TYPE_HASH, keySize: sizeOr(spec.keySize, 64, 4), valueSize: sizeOr(spec.valueSize, 256, 16),
      maxEntries: sizeOr(spec.maxEntries, 4096, 16), mapFlags: ((spec.mapFlags & ACCESS) | own) >>> 0, ...named };
  } else if (retype === "array") {
    s = { mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: sizeOr(spec.valueSize, 256, 16),
      maxEntries: sizeOr(spec.maxEntries, 1024, 16), mapFlags: (spec.mapFlags & (ACCESS | BPF_F_MMAPABLE)) >>> 0, ...named };
  }
  // Room for what was drawn (a keep of a huge or zero value size holds what fits, maybe nothing).
  const need = (d.timer !== null ? 16 : 0) + (d.lock !== null ? 4 : 0);
  if (retype !== "keep" && s.valueSize < need) s = { ...s, valueSize: need };
  const size = s.valueSize;
  let timerAt: number | null = null;
  if (d.timer !== null && size >= 16 && size <= 1 << 16) timerAt = 8 * (d.timer % (Math.floor((size - 16) / 8) + 1));
  let lockAt: number | null = null;
  if (d.lock !== null && size <= 1 << 16) {
    const free = (at: number, n: number) => at + n <= size && (timerAt === null || at + n <= timerAt || at >= timerAt + 16);
    const slots: number[] = [];
    for (let at = 0; at + 4 <= size; at += 4) if (free(at, 4)) slots.push(at);
    if (slots.length > 0) {
      lockAt = slots[d.lock % slots.length]!;
      if (d.misalign && free(lockAt + 2, 4)) lockAt += 2;
    }
  }
  return { ...s, btf: { lockAt, timerAt, key: d.key } };
}

/** FNV-1a over an op's kind, keys and flags: which of the draw's lock bits it takes. */
function lockSlot(kind: string, keys: readonly Uint8Array[], flags: number): number {
  let h = 0x811c9dc5;
  const mix = (b: number) => { h = Math.imul(h ^ (b & 0xff), 0x01000193); };
  for (let i = 0; i < kind.length; i++) mix(kind.charCodeAt(i));
  for (const k of keys) for (const b of k) mix(b);
  for (let i = 0; i < 4; i++) mix(flags / 2 ** (8 * i));
  return (h >>> 0) % LOCK_SLOTS;
}

/**
 * `op` with BPF_F_LOCK where the draw's bit for it says so: updates, lookups, lookups-and-deletes,
 * update batches and lookup batches.
 */
export function lockOp<T extends { kind: string }>(op: T, d: BtfDraw): T {
  const o = op as unknown as { kind: string; key?: Uint8Array; keys?: Uint8Array[]; flags?: number; elemFlags?: number; count?: number };
  const k = o.kind;
  if (k !== "update" && k !== "lookup" && k !== "updateBatch" && k !== "lookupAndDelete" && k !== "lookupBatch") return op;
  const keys = o.keys ?? (o.key !== undefined ? [o.key] : []);
  if (!d.lockOps[lockSlot(k, keys, o.flags ?? o.elemFlags ?? o.count ?? 0)]) return op;
  // Bit 2 of a u64: OR is safe on flags below 2^31 (the plain draws); others are left alone.
  const or = (f: number) => (f >= 0 && f < 2 ** 31 ? (f | BPF_F_LOCK) >>> 0 : f);
  if (k === "update" || k === "lookup" || k === "lookupAndDelete") return { ...op, flags: or(o.flags ?? 0) };
  return { ...op, elemFlags: or(o.elemFlags ?? 0) };
}

/** The raw BTF of `spec.btf` and the type ids MAP_CREATE names: the same bytes for every driver. */
export function specBtfBlob(spec: MapSpec): { blob: Uint8Array; keyTypeId: number; valueTypeId: number } {
  const btf = spec.btf;
  if (btf === undefined) throw new TypeError("specBtfBlob: the spec has no btf");
  const b = new BtfBuilder();
  const u8 = b.int("unsigned char", 1);
  const u32 = b.int("unsigned int", 4);
  const bytes = (n: number) => b.array(u8, u32, n);
  const ks = spec.keySize >>> 0;
  let keyTypeId = 0;
  if (btf.key === "wrong") keyTypeId = bytes(Math.min(ks + 1, 0xffffffff));
  else if (btf.key === "fit" && ks > 0) {
    if (spec.mapType === BPF_MAP_TYPE_LPM_TRIE && ks > 4) {
      // trie_check_btf wants a struct (bpf_lpm_trie_key_u8's shape).
      keyTypeId = b.struct("lpm_key", ks, [{ name: "prefixlen", type: u32, bitOffset: 0 }, { name: "data", type: bytes(ks - 4), bitOffset: 32 }]);
    } else if (ks === 4) keyTypeId = u32;
    else if (ks === 1 || ks === 2 || ks === 8 || ks === 16) keyTypeId = b.int(`__u${8 * ks}`, ks, BtfIntEncoding.NONE);
    else keyTypeId = bytes(ks);
  }
  const members: { name: string; type: number; bitOffset: number }[] = [];
  if (btf.lockAt !== null) {
    const lock = b.struct("bpf_spin_lock", 4, [{ name: "val", type: u32, bitOffset: 0 }]);
    members.push({ name: "lock", type: lock, bitOffset: 8 * btf.lockAt });
  }
  if (btf.timerAt !== null) {
    const u64 = b.int("unsigned long long", 8);
    const timer = b.struct("bpf_timer", 16, [{ name: "__opaque", type: b.array(u64, u32, 2), bitOffset: 0 }]);
    members.push({ name: "timer", type: timer, bitOffset: 8 * btf.timerAt });
  }
  // Members in offset order, as btf_struct_check wants them.
  members.sort((x, y) => x.bitOffset - y.bitOffset);
  const valueTypeId = b.struct("fuzz_value", spec.valueSize >>> 0, members);
  return { blob: b.encode(), keyTypeId, valueTypeId };
}

/** ` btf (key fit, lock at 4, timer at 8)`, or "" without BTF. */
export function formatSpecBtf(spec: MapSpec): string {
  const t = spec.btf;
  if (t === undefined) return "";
  const fields = [`key ${t.key}`, ...(t.lockAt !== null ? [`lock at ${t.lockAt}`] : []), ...(t.timerAt !== null ? [`timer at ${t.timerAt}`] : [])];
  return ` btf (${fields.join(", ")})`;
}
