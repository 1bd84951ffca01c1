// What a BpfMap is made from, and the shapes it hands out.
import type { Codec } from "./codec.js";
import type { DumpParser } from "./dump-parser.js";
import type { BpfMapEntryModel } from "./map-cache.js";

/** The seed's NewMap arguments: sizes come from the codecs. */
export interface MapSpec<K, V> {
  /**
   * The pin's base name under the map directory (`cilium_ct4_global`): no `/`, NUL, `.` or `..`.
   * A path in the map directory (`bpf.localMapPath(…)`) is taken as its base name, as the seed's
   * NewMap took `path.Base`; a path elsewhere is a TypeError (the seed pinned it in the map
   * directory regardless). Reading the map directory for the check locks the root down.
   */
  name: string;
  /** A `BPF_MAP_TYPE_*`; normalised through `bpf.getMapType` when the map is opened. */
  type: number;
  /** The key's codec; its size is the map's key_size. */
  key: Codec<K>;
  /** The value's codec; its size is the map's value_size. */
  value: Codec<V>;
  /** `max_entries`: how many elements the map holds at most (for arrays, its length). */
  maxEntries: number;
  /** Creation flags; the pre-allocation flag is added when the map is opened. */
  flags?: number;
  /**
   * An inner-map template fd for *_OF_MAPS (the seed calls it an ID; it is an fd). Read at each
   * create; a create through it after the template was closed and the number went to a map of
   * another shape is refused (docs: "Maps of maps").
   */
  innerId?: number;
  /** How dumps turn bytes into the callback's key and value (default: the codecs). */
  dumpParser?: DumpParser<K, V>;
  /**
   * The map's name in the kernel (bpf_map_info.name), which `bpftool map show` and `bpfkit maps`
   * list: at most 15 bytes of A-Z a-z 0-9 _ . (the kernel's rule), checked by newMap. Default
   * none, as the seed: the map is listed nameless. Every map this object creates gets it
   * (openOrCreate, openOrCreateUnpinned, the re-create of a pin whose properties changed,
   * openParallel). It is a label, not a property: a pinned map with another kernel name, or none,
   * is compatible and opened as it is (cilium/ebpf's compatibility check ignores the name too),
   * and deepEquals does not compare it.
   */
  kernelName?: string;
  /**
   * Whether the maps this object creates carry BTF made from its codecs (`btfForMap(key, value)`;
   * a per-CPU map's value type is one CPU's value), so that `bpftool map dump` and
   * `bpfkit map dump` print their elements by field, and a value with a `bpfSpinLock` field takes
   * BPF_F_LOCK. Default false, as the seed: no BTF. Every create of this object has it
   * (openOrCreate, openOrCreateUnpinned, the re-create of a pin whose properties changed,
   * openParallel); the BTF is built once, when the object is made, and a codec it cannot
   * describe is a TypeError then. Like the kernel name it is not a property: a pinned map with
   * other BTF, or none, is opened as it is and not re-created. A driver without the BTF methods
   * answers EOPNOTSUPP at the create. A map of maps takes no BTF (the kernel's ENOTSUPP): a
   * TypeError here.
   */
  btf?: boolean;
}

/**
 * Codecs for `bpf.openMap` and `bpf.openMapById`, for a map made by someone else: the key codec
 * must be the map's key size, the value codec its value size (per-CPU maps: every CPU's slot,
 * `perCpuValues`).
 */
export interface OpenMapCodecs<K, V> {
  /** The key's codec, which must be the map's key_size. */
  key: Codec<K>;
  /** The value's codec, which must be the map's value_size (per-CPU maps: every CPU's slot). */
  value: Codec<V>;
  /** How dumps turn bytes into the callback's key and value (default: the codecs). */
  dumpParser?: DumpParser<K, V>;
}

/** The seed's models.BPFMap. */
export interface BpfMapModel {
  /** "" until the path was resolved. */
  path: string;
  /** Present only with `withCache()`. */
  cache?: BpfMapEntryModel[];
}

/**
 * The seed's MapValidator, `func(path string) (bool, error)`: declared there and used nowhere in
 * the package; kept for code ported from it (an error is thrown rather than returned).
 */
export type MapValidator = (path: string) => boolean;

/** Called once per element; key and value are fresh objects the callback may keep. */
export type DumpCallback<K, V> = (key: K, value: V) => void;

/**
 * `walk`: the v1.7 next-key walk. `batch`: BPF_MAP_LOOKUP_BATCH (throws ENOTSUPP where the
 * kernel has none for the type). `auto` (default): batch where the kernel offers it, else walk.
 */
export type DumpAlgorithmChoice = "walk" | "batch" | "auto";

/** Options of the dumps (`dump`, `dumpWithCallback`, `dumpReliablyWithCallback`, …). */
export interface DumpOptions {
  /** How to read the map: `walk`, `batch`, or `auto` (the default), as `DumpAlgorithmChoice` says. */
  algorithm?: DumpAlgorithmChoice;
  /** Elements per LOOKUP_BATCH call (default: about 128 KiB of keys and values, at most maxEntries). */
  batchSize?: number;
}

/**
 * What `BpfMap.checkCompatible` compares a live map with: a MapSpec, or a PerCpuMapSpec with its
 * type (its value is one CPU's value). The name, kernel name, BTF, inner map and parser are not compared.
 */
export type CompatibleSpec = Pick<MapSpec<any, any>, "type" | "maxEntries" | "flags"> & {
  key: { readonly size: number };
  value: { readonly size: number };
} & Partial<Pick<MapSpec<any, any>, "name" | "innerId" | "dumpParser" | "kernelName" | "btf">>;
