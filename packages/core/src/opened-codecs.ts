// Codecs for a map someone else made (bpf.openMap, bpf.openMapById): given outright, or chosen
// by a function from what the kernel says of the map, such as `rawCodecs` for tools that dump
// maps they know nothing about.
import { bytes } from "./codec.js";
import { userValueSize } from "./constants.js";
import type { OpenMapCodecs } from "./map-spec.js";

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

/** The shape a chooser is given. */
export function openedMapShape(info: { mapType: number; keySize: number; valueSize: number; maxEntries: number; flags: number },
  kernelName: string, possibleCpus: number): OpenedMapShape {
  return {
    name: kernelName, type: info.mapType, keySize: info.keySize, valueSize: info.valueSize,
    userValueSize: userValueSize(info.mapType, info.valueSize, possibleCpus), possibleCpus,
    maxEntries: info.maxEntries, flags: info.flags,
  };
}
