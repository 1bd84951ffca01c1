// Codecs for a map someone else made (bpf.openMap, bpf.openMapById): given outright, or chosen
// by a function from what the kernel says of the map, such as `rawCodecs` for tools that dump
// maps they know nothing about, or `btfCodecs` for a map that carries its types.
import { codecFromBtf } from "./btf/btf-to-codec.js";
import { bytes, type Codec } from "./codec.js";
import { isPerCpuMapType, userValueSize } from "./constants.js";
import type { MapBtfInfo } from "./map-btf.js";
import type { OpenMapCodecs } from "./map-spec.js";
import { perCpuValues } from "./percpu.js";

/** What a codec chooser is told of the map being opened (from bpf_map_info). */
export interface OpenedMapShape {
  /** The map's kernel name (bpf_map_info.name); "" when it has none. */
  name: string;
  /** The map type (`bpf_map_info.type`). */
  type: number;
  /** The key size in bytes (`bpf_map_info.key_size`). */
  keySize: number;
  /** The kernel's value_size: one CPU's value on a per-CPU map. */
  valueSize: number;
  /** A value's bytes in user space: valueSize, or on a per-CPU map one 8-byte slot per possible CPU. */
  userValueSize: number;
  /** The CPUs a per-CPU value has slots for (the driver's `possibleCpus`). */
  possibleCpus: number;
  /** `bpf_map_info.max_entries`. */
  maxEntries: number;
  /** The map's creation flags (`bpf_map_info.map_flags`). */
  flags: number;
  /**
   * The map's BTF, read when called (as `BpfMap.btf()`: by id, which needs CAP_SYS_ADMIN), or
   * null when it has none.
   */
  btf(): MapBtfInfo | null;
}

/** Picks the codecs of a map from its shape; what it returns is checked as given codecs are. */
export type OpenMapCodecChooser<K, V> = (map: OpenedMapShape) => OpenMapCodecs<K, V>;

/**
 * Raw byte keys and values sized from the map itself (a per-CPU value is all its CPUs' slots, as
 * the kernel copies it): `bpf.openMap(path, rawCodecs)` opens any map, dumps and iterates it
 * included, which `openMap(path)` without codecs refuses. Dumps format each as hex.
 */
export const rawCodecs: OpenMapCodecChooser<Uint8Array, Uint8Array> = (map) =>
  ({ key: bytes(map.keySize), value: bytes(map.userValueSize) });

/**
 * Keys and values typed by the map's own BTF, `codecFromBtf` of its key and value types:
 * `bpf.openMap(path, btfCodecs)` reads and writes a map made with BTF by field name (a per-CPU
 * value is an array of one value per CPU). A map without BTF is a TypeError saying so
 * (`rawCodecs` opens any map), as is a type whose size is not the map's; a key the BTF leaves out
 * (a bloom filter's) is its bytes.
 */
export const btfCodecs: OpenMapCodecChooser<unknown, unknown> = (map) => {
  const b = map.btf();
  // The opener's error names the map: its path or id.
  if (b === null) throw new TypeError(`btfCodecs: the map has no BTF (created without it): open it with rawCodecs or codecs of your own`);
  const typed = (id: number, size: number, which: string): Codec<unknown> => {
    const c = codecFromBtf(b.spec, id);
    if (c.size !== size) throw new RangeError(`btfCodecs: the map's BTF ${which} type ${id} is ${c.size} bytes, its ${which}s ${size}`);
    return c;
  };
  const key = b.keyTypeId === 0 ? bytes(map.keySize) : typed(b.keyTypeId, map.keySize, "key");
  if (b.valueTypeId === 0) return { key, value: bytes(map.userValueSize) };
  const one = typed(b.valueTypeId, map.valueSize, "value");
  return { key, value: isPerCpuMapType(map.type) ? perCpuValues(one, map.possibleCpus) : one };
};

/** The shape a chooser is given; `btf` reads the map's BTF when called. */
export function openedMapShape(info: { mapType: number; keySize: number; valueSize: number; maxEntries: number; flags: number },
  kernelName: string, possibleCpus: number, btf: () => MapBtfInfo | null): OpenedMapShape {
  return {
    name: kernelName, type: info.mapType, keySize: info.keySize, valueSize: info.valueSize,
    userValueSize: userValueSize(info.mapType, info.valueSize, possibleCpus), possibleCpus,
    maxEntries: info.maxEntries, flags: info.flags, btf,
  };
}
