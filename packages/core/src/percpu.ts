// Per-CPU maps: the kernel gives user space one 8-byte aligned slot per *possible* CPU
// (kernel-maps.md §6), and every syscall update writes all of them. A per-CPU map's values are
// therefore arrays of length `possibleCpus`.
import type { Bpf } from "./bpf.js";
import { decodeAt, encodeAt, formatWith, type Codec } from "./codec.js";
import { BPF_MAP_TYPE_PERCPU_HASH, isPerCpuMapType, perCpuSlotSize } from "./constants.js";
import { BpfMap } from "./map.js";
import type { MapSpec } from "./map-spec.js";
import { assertOptionKeys, PER_CPU_HASH_MAP_SPEC_KEYS, PER_CPU_MAP_SPEC_KEYS } from "./option-keys.js";

/** The spec of a per-CPU map: `value` is one CPU's value. */
export type PerCpuMapSpec<K, V> = Omit<MapSpec<K, V[]>, "value" | "type"> & {
  value: Codec<V>;
  /** PERCPU_HASH (default), LRU_PERCPU_HASH or PERCPU_ARRAY. */
  type?: number;
};

/**
 * A codec of `cpus` values of `inner`, each in a slot of `roundUp(inner.size, 8)` bytes.
 * Encoding zeroes the padding after each value, so equal arrays are equal bytes.
 */
export function perCpuValues<V>(inner: Codec<V>, cpus: number): Codec<V[]> {
  if (!isCodec(inner)) throw new TypeError("perCpuValues: inner must be a Codec (size, encode, decode)");
  if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`perCpuValues: cpus must be a positive integer, got ${cpus}`);
  const slot = perCpuSlotSize(inner.size);
  const size = slot * cpus;
  const name = `percpu(${(inner as { name?: string }).name ?? `codec(${inner.size})`})[${cpus}]`;
  return Object.freeze({
    size,
    encode(values: V[], out: Uint8Array): void {
      if (!Array.isArray(values)) throw new TypeError(`${name}: expected an array of ${cpus} per-CPU values`);
      if (values.length !== cpus) {
        throw new RangeError(`${name}: expected ${cpus} values (one per possible CPU), got ${values.length}`);
      }
      if (out.length < size) throw new RangeError(`${name}: needs ${size} bytes, output has ${out.length}`);
      for (let i = 0; i < cpus; i++) {
        try {
          encodeAt(inner, values[i] as V, out, i * slot);
        } catch (e) {
          // Which CPU's value was bad: the arrays are long (one slot per possible CPU).
          const Ctor = e instanceof RangeError ? RangeError : TypeError;
          throw new Ctor(`${name}: CPU ${i}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        out.fill(0, i * slot + inner.size, (i + 1) * slot);
      }
    },
    decode(bytes: Uint8Array): V[] {
      if (bytes.length < size) throw new RangeError(`${name}: needs ${size} bytes, got ${bytes.length}`);
      const a = new Array<V>(cpus);
      for (let i = 0; i < cpus; i++) a[i] = decodeAt(inner, bytes, i * slot);
      return a;
    },
    format(values: V[]): string {
      return `[${values.map((v) => formatWith(inner, v)).join(" ")}]`;
    },
  });
}

/** Any per-CPU map type: values are arrays of `bpf.driver.possibleCpus` values. */
export function newPerCpuMap<K, V>(bpf: Bpf, spec: PerCpuMapSpec<K, V>): BpfMap<K, V[]> {
  const op = "newPerCpuMap";
  if (spec === null || typeof spec !== "object") throw new TypeError(`${op}: spec must be an object`);
  assertOptionKeys(spec, PER_CPU_MAP_SPEC_KEYS, specWhere(op, spec), "spec");
  return perCpuMap(bpf, spec, op);
}

/** newPerCpuMap, with `op` (the public function called) in its errors. */
function perCpuMap<K, V>(bpf: Bpf, spec: PerCpuMapSpec<K, V>, op: string): BpfMap<K, V[]> {
  if (spec === null || typeof spec !== "object") throw new TypeError(`${op}: spec must be an object`);
  if (!isCodec(spec.value)) throw new TypeError(`${op} ${spec.name}: value must be a Codec (size, encode, decode), one CPU's value`);
  const type = spec.type ?? BPF_MAP_TYPE_PERCPU_HASH;
  if (!isPerCpuMapType(type)) {
    throw new TypeError(`${op} ${spec.name}: map type ${type} is not a per-CPU type`);
  }
  const { value, ...rest } = spec;
  return new BpfMap<K, V[]>(bpf, { ...rest, type, value: perCpuValues(value, bpf.driver.possibleCpus) },
    { valueSize: value.size, op, btfValue: value });
}

/** The seed's NewPerCPUHashMap; the CPU count is the driver's `possibleCpus`. */
export function newPerCpuHashMap<K, V>(bpf: Bpf, spec: Omit<PerCpuMapSpec<K, V>, "type">): BpfMap<K, V[]> {
  const op = "newPerCpuHashMap";
  if (spec === null || typeof spec !== "object") throw new TypeError(`${op}: spec must be an object`);
  assertOptionKeys(spec, PER_CPU_HASH_MAP_SPEC_KEYS, specWhere(op, spec), "spec");
  return perCpuMap(bpf, { ...spec, type: BPF_MAP_TYPE_PERCPU_HASH }, op);
}

/** `op name` for errors, `op` alone while the name is not a string. */
function specWhere(op: string, spec: { name?: unknown }): string {
  return typeof spec.name === "string" ? `${op} ${spec.name}` : op;
}

function isCodec(c: unknown): c is Codec<unknown> {
  const x = c as Partial<Codec<unknown>> | null;
  return x !== null && typeof x === "object" && typeof x.encode === "function" && typeof x.decode === "function" &&
    Number.isInteger(x.size) && (x.size as number) >= 0;
}
