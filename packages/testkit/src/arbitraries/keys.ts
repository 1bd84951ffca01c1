// Keys and values for a map spec. Programs draw *key material* (a few bytes that shrink toward
// zero) and turn it into a key of the map's shape here, so a shrunk counterexample has small,
// readable keys: index 0, prefix /0, all-zero hash keys.
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, isHashMapType, userValueSize } from "@bpfkit/core";
import fc from "fast-check";
import { putU32le, u32le } from "../model/bytes.js";
import type { MapSpec } from "./map-spec.js";

const isArrayKey = (t: number) => t === BPF_MAP_TYPE_ARRAY || t === BPF_MAP_TYPE_PERCPU_ARRAY ||
  t === BPF_MAP_TYPE_ARRAY_OF_MAPS || t === BPF_MAP_TYPE_PROG_ARRAY;

/**
 * The key `material` stands for in a map of `spec`: hash maps take the bytes zero-padded;
 * arrays an index (u32 of the bytes) in [0, max_entries + 2), so out-of-range indexes occur;
 * LPM a prefixlen from the first byte in [0, max_prefixlen + 2) (one past the maximum is
 * invalid) and data from the rest. With a `root` (LPM only; other maps ignore it), the data
 * is the root's bits up to a split bit and the material's (from the third byte) from there on;
 * the second byte picks the split: below 128 it is that byte mod (max_prefixlen + 1), else
 * max_prefixlen (the whole root). Keys made from one root share their leading bits, so they
 * nest and branch below a common prefix as routing tables do.
 */
export function keyFromMaterial(spec: MapSpec, material: Uint8Array, root?: Uint8Array): Uint8Array {
  const key = new Uint8Array(spec.keySize);
  // An invalid spec's create fails before any key matters: just fill what there is.
  if (spec.keySize < 4 && !isHashMapType(spec.mapType)) {
    key.set(material.subarray(0, spec.keySize));
  } else if (isArrayKey(spec.mapType)) {
    const raw = new Uint8Array(4);
    raw.set(material.subarray(0, 4));
    putU32le(key, 0, u32le(raw) % (spec.maxEntries + 2));
  } else if (spec.mapType === BPF_MAP_TYPE_LPM_TRIE) {
    const maxPrefixlen = 8 * (spec.keySize - 4);
    putU32le(key, 0, (material[0] ?? 0) % (maxPrefixlen + 2));
    if (root === undefined) {
      key.set(material.subarray(1, spec.keySize - 3), 4);
    } else {
      // Bit i of the data (big-endian, as the trie reads it) is the root's below the split and
      // the material's at the same place from it on, so bytes stay readable in hex. Keys that
      // keep the whole root lie on one chain (/8, /16, /24 of one address); the others branch
      // off it at their split, siblings of each other below a common prefix.
      const s = material[1] ?? 0;
      const split = s >= 128 ? maxPrefixlen : s % (maxPrefixlen + 1);
      for (let i = 0; i < maxPrefixlen; i++) {
        const from = i < split ? (root[i >> 3] ?? 0) : (material[2 + (i >> 3)] ?? 0);
        key[4 + (i >> 3)]! |= from & (0x80 >> (i & 7));
      }
    }
  } else {
    key.set(material.subarray(0, spec.keySize));
  }
  return key;
}

/** The value numbered `n` for `spec`: bytes n, n+1, … over the whole user-space value. */
export function valueFromSeed(spec: MapSpec, possibleCpus: number, n: number): Uint8Array {
  const v = new Uint8Array(userValueSize(spec.mapType, spec.valueSize, possibleCpus));
  for (let i = 0; i < v.length; i++) v[i] = (n + i) & 0xff;
  return v;
}

/** Key material: up to `maxLength` bytes, shrinking to none. */
export function keyMaterialArb(maxLength = 20): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength });
}

/** Keys of `spec`'s shape (some out of range for arrays, some invalid prefixes for LPM). */
export function keyArb(spec: MapSpec): fc.Arbitrary<Uint8Array> {
  return keyMaterialArb(Math.max(4, spec.keySize)).map((m) => keyFromMaterial(spec, m));
}

/** Values of `spec`'s user-space size (per-CPU: every CPU's 8-aligned slot, padding included). */
export function valueArb(spec: MapSpec, possibleCpus: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({
    minLength: userValueSize(spec.mapType, spec.valueSize, possibleCpus),
    maxLength: userValueSize(spec.mapType, spec.valueSize, possibleCpus),
  });
}
