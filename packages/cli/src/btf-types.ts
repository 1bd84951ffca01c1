// A map's own BTF as one more source of key and value types: where the map was created with BTF
// and the user named no type, keys and values print by their BTF types as bpftool prints them
// (its plain text; under --json, what `bpftool -j` shows as "formatted"). They are read as hex
// bytes, as bpftool reads them: BTF says how to print a value, not how to write one from text.
import { openBtfById, parseBtf, formatBtfText, formatBtfValue, type Btf, type BpfMapInfo, type Driver } from "@bpfkit/core";
import { bytesType, type ValueType } from "./types.js";

/** The map's key and value types from its BTF; either is undefined where the map has none. */
export interface MapBtfTypes {
  key: ValueType | undefined;
  value: ValueType | undefined;
}

const NONE: MapBtfTypes = { key: undefined, value: undefined };

/**
 * The map's BTF types, read from the kernel (or the simulator) by the map's btf_id. A map without
 * BTF has none; one whose BTF cannot be read or parsed (a split BTF, a driver without the BTF
 * methods) prints as hex, with `warn` told why. `valueDepth` 1 indents a per-CPU value's lines a level.
 */
export function mapBtfTypes(d: Driver, info: BpfMapInfo, label: string, valueDepth: number, warn: (line: string) => void): MapBtfTypes {
  if (info.btfId === 0 || (info.btfKeyTypeId === 0 && info.btfValueTypeId === 0)) return NONE;
  let btf: Btf;
  try {
    const h = openBtfById({ driver: d, metrics: undefined }, info.btfId);
    try {
      btf = parseBtf(h.raw());
    } finally {
      h.close();
    }
  } catch (e) {
    warn(`${label}: its BTF (id ${info.btfId}) cannot be read (${(e as Error).message}); printing hex`);
    return NONE;
  }
  return {
    key: btfType(btf, info.btfKeyTypeId, info.keySize, 0),
    value: btfType(btf, info.btfValueTypeId, info.valueSize, valueDepth),
  };
}

/**
 * Type `id` of `btf` as a ValueType of `size` bytes: hex in, BTF out. undefined for id 0 (no
 * type: a keyless map's key) and for a type whose size is not the map's (the kernel checks it
 * at creation, so only a driver's mistake could make one).
 */
export function btfType(btf: Btf, id: number, size: number, depth: number): ValueType | undefined {
  if (id === 0 || btf.sizeOf(id) !== size) return undefined;
  const name = btf.name(id);
  const raw = bytesType(size);
  const at = (b: Uint8Array, off: number) => b.subarray(off, off + size);
  return {
    ...raw,
    spec: `btf ${id}${name !== "" ? ` (${name})` : ""}`,
    format: (b, off) => formatBtfText(btf, id, at(b, off), depth),
    json: (b, off) => formatBtfValue(btf, id, at(b, off)),
  };
}
