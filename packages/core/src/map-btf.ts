// A map object's BTF: the types its spec's codecs give a map it creates (`btf: true`), and the
// BTF a live map holds, read back for printing its elements by field (`btf()`). Shared by
// BpfMap and the keyless maps.
import type { Bpf } from "./bpf.js";
import { btfForMap, type MapBtf } from "./btf/btf-codec.js";
import type { Btf } from "./btf/btf-parse.js";
import { parseBtf } from "./btf/btf-parse.js";
import type { Codec } from "./codec.js";

/**
 * What `BpfMap.btf()` says of a map's BTF: the BTF object (its id, size, name, whether it is the
 * kernel's, as `BtfHandle` has them), its types parsed, and which of them are the key and the
 * value. `formatBtfValue(btf.spec, btf.valueTypeId, bytes)` prints a value as bpftool does.
 */
export interface MapBtfInfo {
  /** The BTF object's id (bpf_map_info.btf_id; `bpftool btf show id N`). */
  id: number;
  /** Bytes of its raw data. */
  size: number;
  /** "" for BTF user space loaded; "vmlinux" or a module's name for the kernel's own. */
  name: string;
  /** Whether it is the kernel's own BTF. */
  kernelBtf: boolean;
  /** Its types, parsed. */
  spec: Btf;
  /** The key's type id in `spec`; 0 for a map created without one (a keyless map). */
  keyTypeId: number;
  /** The value's type id in `spec`; 0 for a map created without one. */
  valueTypeId: number;
}

/**
 * The BTF a map created from `key` and `value` describes itself with (`key` null for a keyless
 * map), or a TypeError naming `where` when a codec cannot be described (a struct field that is
 * no C identifier, a BtfTypedCodec of the wrong size): said when the spec is made, before any
 * syscall, rather than at the create.
 */
export function specBtf(key: Codec<unknown> | null, value: Codec<unknown>, where: string): MapBtf {
  try {
    return btfForMap(key, value);
  } catch (e) {
    throw new TypeError(`${where}: spec.btf is true, and the codecs have no BTF the kernel would take: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** The BTF the map open as `fd` holds, or null when it has none. Errors are the syscalls' (the caller names the map). */
export function readMapBtf(bpf: Bpf, fd: number): MapBtfInfo | null {
  const info = bpf.getMapInfoByFd(fd);
  if (info.btfId === 0) return null;
  const handle = bpf.openBtfById(info.btfId);
  let raw: Uint8Array;
  try {
    raw = handle.raw();
  } finally {
    handle.close();
  }
  return {
    id: handle.id, size: handle.size, name: handle.name, kernelBtf: handle.kernelBtf, spec: parseBtf(raw),
    keyTypeId: info.btfKeyTypeId, valueTypeId: info.btfValueTypeId,
  };
}

/**
 * A TypeError naming `where` when `spec` asks for BTF (`btf: true`, or anything but false) of a
 * map type that takes none, saying `why`: rather than the unknown-key error, or the kernel's
 * bare EINVAL at the create. Returns the spec without a `btf: false`, which asks for what the
 * type has anyway (so code that passes it to every spec is not refused an unknown key).
 */
export function refuseBtf<S extends object>(spec: S, where: string, why: string): S {
  const { btf, ...rest } = spec as S & { btf?: unknown };
  if (btf === false) return rest as S;
  if (btf === undefined) return spec;
  throw new TypeError(`${where}: ${why}: leave btf out`);
}
