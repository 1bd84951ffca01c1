// The keys and values of one dump-fuzz case. Key `i` of the universe has fixed bytes; a value
// carries the id of the key it belongs to and a version, in every CPU's slot, so a value read
// by a dump tells which key and which write it came from (and a torn or foreign value shows).
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_ARRAY, isPerCpuMapType, perCpuSlotSize } from "@bpfkit/core";
import { hex, putU32le, u32le } from "../model/bytes.js";
import type { MapSpec } from "../arbitraries/map-spec.js";

/** The keys a dump-fuzz case may use, and the self-describing values written to them. */
export class KeyUniverse {
  /** The bytes of each key, by universe index. */
  readonly keys: Uint8Array[];
  private readonly ids = new Map<string, number>();
  /** Bytes between two CPUs' values in a user-space value. */
  readonly slot: number;
  /** The slots a value has: the possible CPUs for a per-CPU map, else 1. */
  readonly cpus: number;
  /** Bytes of a user-space value. */
  readonly userValueSize: number;

  /** Makes the `size` keys of `spec`'s map, with values sized for `possibleCpus`. */
  constructor(readonly spec: MapSpec, size: number, possibleCpus: number) {
    this.keys = Array.from({ length: size }, (_, i) => keyBytes(spec, i));
    this.keys.forEach((k, i) => this.ids.set(hex(k), i));
    const perCpu = isPerCpuMapType(spec.mapType);
    this.cpus = perCpu ? possibleCpus : 1;
    this.slot = perCpu ? perCpuSlotSize(spec.valueSize) : spec.valueSize;
    this.userValueSize = this.slot * this.cpus;
  }

  /** How many keys the universe has. */
  get size(): number {
    return this.keys.length;
  }

  /** The universe index of a key's bytes, or undefined for a key that was never in it. */
  idOf(key: Uint8Array): number | undefined {
    return this.ids.get(hex(key));
  }

  /** The user-space value of version `version` of key `id`: every CPU's slot alike. */
  userValue(id: number, version: number): Uint8Array {
    const v = new Uint8Array(this.userValueSize);
    for (let c = 0; c < this.cpus; c++) writeSlot(v.subarray(c * this.slot, c * this.slot + this.spec.valueSize), id, version);
    return v;
  }

  /** One CPU's value, as a BPF program writes it (valueSize bytes). */
  slotValue(id: number, version: number): Uint8Array {
    const v = new Uint8Array(this.spec.valueSize);
    writeSlot(v, id, version);
    return v;
  }

  /**
   * The (id, version) of each CPU's slot of a user-space value: undefined for an all-zero slot
   * (a CPU a BPF program never wrote), "torn" for bytes no write produced.
   */
  decode(value: Uint8Array, at = 0): ({ id: number; version: number } | undefined | "torn")[] {
    const out: ({ id: number; version: number } | undefined | "torn")[] = [];
    for (let c = 0; c < this.cpus; c++) {
      const s = value.subarray(at + c * this.slot, at + c * this.slot + this.spec.valueSize);
      if (s.every((b) => b === 0)) {
        out.push(undefined);
        continue;
      }
      const id = u32le(s, 0) - 1;
      const version = u32le(s, 4);
      const ok = id >= 0 && s.every((b, j) => j < 8 || b === ((id + version + j) & 0xff));
      out.push(ok ? { id, version } : "torn");
    }
    return out;
  }
}

// The id goes in as id + 1, so no value is all zeros (the slot of a CPU nobody wrote).
function writeSlot(s: Uint8Array, id: number, version: number): void {
  putU32le(s, 0, id + 1);
  putU32le(s, 4, version);
  for (let j = 8; j < s.length; j++) s[j] = (id + version + j) & 0xff;
}

/**
 * Key `i`: an array index; an LPM prefix of max_prefixlen − (i mod 4) bits over data i << 4 (the
 * dropped bits are zero, so keys stay distinct); for hash maps i in the first 4 bytes.
 */
export function keyBytes(spec: MapSpec, i: number): Uint8Array {
  const k = new Uint8Array(spec.keySize);
  if (spec.mapType === BPF_MAP_TYPE_ARRAY || spec.mapType === BPF_MAP_TYPE_PERCPU_ARRAY) {
    putU32le(k, 0, i);
  } else if (spec.mapType === BPF_MAP_TYPE_LPM_TRIE) {
    putU32le(k, 0, 8 * (spec.keySize - 4) - (i % 4));
    const d = i << 4;
    const end = spec.keySize;
    k[end - 4] = (d >>> 24) & 0xff;
    k[end - 3] = (d >>> 16) & 0xff;
    k[end - 2] = (d >>> 8) & 0xff;
    k[end - 1] = d & 0xff;
  } else {
    putU32le(k, 0, i);
  }
  return k;
}
