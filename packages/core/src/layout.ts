// The kernel's attr and info layouts, declared once as data (6.18 BTF, kernel-maps.md §2).
// Drivers take offsets from here (`ELEM_ATTR.off.key`); the simulator encodes info structs with
// `encodeStruct`, and core decodes them with `decodeStruct`.

/** How a field is stored: an unsigned or signed integer of a width, a user-space pointer (8 bytes), or a byte array. */
export type FieldKind = "u8" | "u16" | "u32" | "s32" | "u64" | "ptr" | "bytes";

/** One field of a kernel struct: its name, byte offset, size and how it is stored. */
export interface Field {
  /** The kernel's name of the field (`key_size`, `map_flags`, …). */
  readonly name: string;
  /** Bytes from the start of the struct. */
  readonly offset: number;
  /** Bytes the field takes. */
  readonly size: number;
  /** How the field's bytes are read and written. */
  readonly kind: FieldKind;
}

/** A kernel struct or attr as data: its size, its fields, and each field's offset by name. */
export interface Layout<N extends string> {
  /** The struct's name, for messages (`map_create`, `bpf_map_info`, …). */
  readonly name: string;
  /** sizeof the struct (info) or the bytes the command uses (attr): every byte after must be 0. */
  readonly size: number;
  /** The fields in the order the kernel declares them. */
  readonly fields: readonly Field[];
  /** Each field's byte offset by name (`MAP_CREATE_ATTR.off.key_size`). */
  readonly off: { readonly [K in N]: number };
}

type Spec<N extends string> = ReadonlyArray<readonly [N, number, FieldKind, number?]>;

const kindSize: Record<FieldKind, number> = { u8: 1, u16: 2, u32: 4, s32: 4, u64: 8, ptr: 8, bytes: 0 };

function layout<N extends string>(name: string, size: number, spec: Spec<N>): Layout<N> {
  const fields = spec.map(([n, offset, kind, bytes]) => ({ name: n, offset, kind, size: bytes ?? kindSize[kind] }));
  const off = Object.fromEntries(fields.map((f) => [f.name, f.offset])) as { [K in N]: number };
  for (const f of fields) {
    if (f.offset + f.size > size) throw new Error(`layout ${name}: ${f.name} runs past ${size}`);
  }
  return Object.freeze({ name, size, fields: Object.freeze(fields), off: Object.freeze(off) });
}

// ---- union bpf_attr, per command ----

/** The BPF_MAP_CREATE part of `union bpf_attr`. */
export const MAP_CREATE_ATTR = layout("map_create", 92, [
  ["map_type", 0, "u32"], ["key_size", 4, "u32"], ["value_size", 8, "u32"],
  ["max_entries", 12, "u32"], ["map_flags", 16, "u32"], ["inner_map_fd", 20, "u32"],
  ["numa_node", 24, "u32"], ["map_name", 28, "bytes", 16], ["map_ifindex", 44, "u32"],
  ["btf_fd", 48, "u32"], ["btf_key_type_id", 52, "u32"], ["btf_value_type_id", 56, "u32"],
  ["btf_vmlinux_value_type_id", 60, "u32"], ["map_extra", 64, "u64"],
  ["value_type_btf_obj_fd", 72, "s32"], ["map_token_fd", 76, "s32"],
  ["excl_prog_hash", 80, "ptr"], ["excl_prog_hash_size", 88, "u32"],
]);

/** LOOKUP/UPDATE/DELETE/GET_NEXT_KEY/LOOKUP_AND_DELETE/FREEZE. `value` is `next_key` too. */
export const ELEM_ATTR = layout("map_elem", 32, [
  ["map_fd", 0, "u32"], ["key", 8, "ptr"], ["value", 16, "ptr"], ["flags", 24, "u64"],
]);

/** The part of `union bpf_attr` the BPF_MAP_*_BATCH commands read (`attr.batch`). */
export const BATCH_ATTR = layout("batch", 56, [
  ["in_batch", 0, "ptr"], ["out_batch", 8, "ptr"], ["keys", 16, "ptr"], ["values", 24, "ptr"],
  ["count", 32, "u32"], ["map_fd", 36, "u32"], ["elem_flags", 40, "u64"], ["flags", 48, "u64"],
]);

/** The BPF_OBJ_PIN and BPF_OBJ_GET part of `union bpf_attr`. */
export const OBJ_ATTR = layout("obj_pin_get", 20, [
  ["pathname", 0, "ptr"], ["bpf_fd", 8, "u32"], ["file_flags", 12, "u32"], ["path_fd", 16, "s32"],
]);

/** GET_NEXT_ID and GET_FD_BY_ID share this: `start_id` = `map_id` = `prog_id`. */
export const ID_ATTR = layout("get_id", 16, [
  ["start_id", 0, "u32"], ["next_id", 4, "u32"], ["open_flags", 8, "u32"], ["fd_by_id_token_fd", 12, "s32"],
]);

/** The BPF_OBJ_GET_INFO_BY_FD part of `union bpf_attr` (`attr.info`). */
export const INFO_ATTR = layout("info", 16, [
  ["bpf_fd", 0, "u32"], ["info_len", 4, "u32"], ["info", 8, "ptr"],
]);

/**
 * The BPF_PROG_LOAD part of `union bpf_attr`, through `log_true_size`. The kernel writes
 * `func_info_rec_size` (or `line_info_rec_size`) back when a record's tail past its own struct
 * is not zero (E2BIG): the size it knows, so a loader can retry with that; and `log_true_size`,
 * the bytes the verifier's whole log needed. `attach_prog_fd` shares its word with
 * `attach_btf_obj_fd`.
 */
export const PROG_LOAD_ATTR = layout("prog_load", 144, [
  ["prog_type", 0, "u32"], ["insn_cnt", 4, "u32"], ["insns", 8, "ptr"], ["license", 16, "ptr"],
  ["log_level", 24, "u32"], ["log_size", 28, "u32"], ["log_buf", 32, "ptr"],
  ["kern_version", 40, "u32"], ["prog_flags", 44, "u32"], ["prog_name", 48, "bytes", 16],
  ["prog_ifindex", 64, "u32"], ["expected_attach_type", 68, "u32"],
  ["prog_btf_fd", 72, "u32"], ["func_info_rec_size", 76, "u32"], ["func_info", 80, "ptr"],
  ["func_info_cnt", 88, "u32"], ["line_info_rec_size", 92, "u32"], ["line_info", 96, "ptr"],
  ["line_info_cnt", 104, "u32"], ["attach_btf_id", 108, "u32"], ["attach_prog_fd", 112, "u32"],
  ["core_relo_cnt", 116, "u32"], ["fd_array", 120, "ptr"], ["core_relos", 128, "ptr"],
  ["core_relo_rec_size", 136, "u32"], ["log_true_size", 140, "u32"],
]);

/** The BPF_PROG_ATTACH and BPF_PROG_DETACH part of `union bpf_attr`, up to `replace_bpf_fd`. */
export const PROG_ATTACH_ATTR = layout("prog_attach", 20, [
  ["target_fd", 0, "u32"], ["attach_bpf_fd", 4, "u32"], ["attach_type", 8, "u32"],
  ["attach_flags", 12, "u32"], ["replace_bpf_fd", 16, "u32"],
]);

/**
 * The BPF_PROG_TEST_RUN part of `union bpf_attr` (`attr.test`), through `batch_size`, its last
 * field on 6.18. `retval`, `duration`, `data_size_out` and `ctx_size_out` are written back.
 */
export const PROG_TEST_RUN_ATTR = layout("test", 76, [
  ["prog_fd", 0, "u32"], ["retval", 4, "u32"], ["data_size_in", 8, "u32"], ["data_size_out", 12, "u32"],
  ["data_in", 16, "ptr"], ["data_out", 24, "ptr"], ["repeat", 32, "u32"], ["duration", 36, "u32"],
  ["ctx_size_in", 40, "u32"], ["ctx_size_out", 44, "u32"], ["ctx_in", 48, "ptr"], ["ctx_out", 56, "ptr"],
  ["flags", 64, "u32"], ["cpu", 68, "u32"], ["batch_size", 72, "u32"],
]);

/**
 * The BPF_BTF_LOAD part of `union bpf_attr`, through `btf_token_fd`. `btf_log_true_size` is
 * written back: the bytes the whole log needed, NUL included.
 */
export const BTF_LOAD_ATTR = layout("btf_load", 40, [
  ["btf", 0, "ptr"], ["btf_log_buf", 8, "ptr"], ["btf_size", 16, "u32"], ["btf_log_size", 20, "u32"],
  ["btf_log_level", 24, "u32"], ["btf_log_true_size", 28, "u32"], ["btf_flags", 32, "u32"], ["btf_token_fd", 36, "s32"],
]);

// ---- PROG_LOAD's BTF records ----

/** `struct bpf_func_info`: one function of a program, from its first instruction, and its BTF FUNC. */
export const BPF_FUNC_INFO = layout("bpf_func_info", 8, [["insn_off", 0, "u32"], ["type_id", 4, "u32"]]);

/**
 * `struct bpf_line_info`: a source line from an instruction on. `file_name_off` and `line_off`
 * index the BTF's strings; `line_col` is the line number << 10 | the column.
 */
export const BPF_LINE_INFO = layout("bpf_line_info", 16, [
  ["insn_off", 0, "u32"], ["file_name_off", 4, "u32"], ["line_off", 8, "u32"], ["line_col", 12, "u32"],
]);

// ---- info structs ----

/** The kernel's `struct bpf_map_info`, which OBJ_GET_INFO_BY_FD fills for a map. */
export const BPF_MAP_INFO = layout("bpf_map_info", 104, [
  ["type", 0, "u32"], ["id", 4, "u32"], ["key_size", 8, "u32"], ["value_size", 12, "u32"],
  ["max_entries", 16, "u32"], ["map_flags", 20, "u32"], ["name", 24, "bytes", 16],
  ["ifindex", 40, "u32"], ["btf_vmlinux_value_type_id", 44, "u32"], ["netns_dev", 48, "u64"],
  ["netns_ino", 56, "u64"], ["btf_id", 64, "u32"], ["btf_key_type_id", 68, "u32"],
  ["btf_value_type_id", 72, "u32"], ["btf_vmlinux_id", 76, "u32"], ["map_extra", 80, "u64"],
  ["hash", 88, "u64"], ["hash_size", 96, "u32"],
]);

/** The kernel's `struct bpf_prog_info`, which OBJ_GET_INFO_BY_FD fills for a program. */
export const BPF_PROG_INFO = layout("bpf_prog_info", 232, [
  ["type", 0, "u32"], ["id", 4, "u32"], ["tag", 8, "bytes", 8], ["jited_prog_len", 16, "u32"],
  ["xlated_prog_len", 20, "u32"], ["jited_prog_insns", 24, "u64"], ["xlated_prog_insns", 32, "u64"],
  ["load_time", 40, "u64"], ["created_by_uid", 48, "u32"], ["nr_map_ids", 52, "u32"],
  ["map_ids", 56, "u64"], ["name", 64, "bytes", 16], ["ifindex", 80, "u32"],
  ["gpl_compatible", 84, "u32"], ["netns_dev", 88, "u64"], ["netns_ino", 96, "u64"],
  ["nr_jited_ksyms", 104, "u32"], ["nr_jited_func_lens", 108, "u32"], ["jited_ksyms", 112, "u64"],
  ["jited_func_lens", 120, "u64"], ["btf_id", 128, "u32"], ["func_info_rec_size", 132, "u32"],
  ["func_info", 136, "u64"], ["nr_func_info", 144, "u32"], ["nr_line_info", 148, "u32"],
  ["line_info", 152, "u64"], ["jited_line_info", 160, "u64"], ["nr_jited_line_info", 168, "u32"],
  ["line_info_rec_size", 172, "u32"], ["jited_line_info_rec_size", 176, "u32"],
  ["nr_prog_tags", 180, "u32"], ["prog_tags", 184, "u64"], ["run_time_ns", 192, "u64"],
  ["run_cnt", 200, "u64"], ["recursion_misses", 208, "u64"], ["verified_insns", 216, "u32"],
  ["attach_btf_obj_id", 220, "u32"], ["attach_btf_id", 224, "u32"],
]);

/**
 * The kernel's `struct bpf_btf_info`, which OBJ_GET_INFO_BY_FD fills for a BTF object: `btf` and
 * `btf_size` point at a buffer for the raw data (min of both sizes is copied, btf_size is then
 * the whole size), `name` and `name_len` at one for the name (a short one is ENOSPC).
 */
export const BPF_BTF_INFO = layout("bpf_btf_info", 32, [
  ["btf", 0, "ptr"], ["btf_size", 8, "u32"], ["id", 12, "u32"], ["name", 16, "ptr"],
  ["name_len", 24, "u32"], ["kernel_btf", 28, "u32"],
]);

/** sizeof(struct bpf_btf_info) on 6.18. */
export const BTF_INFO_SIZE = BPF_BTF_INFO.size;

/** MODULE_NAME_LEN on 64-bit: room for any BTF object's name (a module's, or "vmlinux") and its NUL. */
export const BTF_NAME_LEN = 56;

/** A value `encodeStruct` writes into a field: a number, a bigint, or a string or bytes for byte arrays. */
export type FieldValue = number | bigint | string | Uint8Array;

/**
 * Writes fields into `out` at `base` (little-endian; kernel-maps.md: host order on x86-64 and
 * arm64). Numbers for u8..s32, bigint or number for u64/ptr, string or bytes for byte arrays
 * (NUL-padded, cut to the field). Bytes not named are left as they are.
 */
export function encodeStruct<N extends string>(layout: Layout<N>, out: Uint8Array, values: Partial<Record<N, FieldValue>>, base = 0): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const f of layout.fields) {
    const v = values[f.name as N];
    if (v === undefined) continue;
    const at = base + f.offset;
    switch (f.kind) {
      case "u8": dv.setUint8(at, Number(v)); break;
      case "u16": dv.setUint16(at, Number(v), true); break;
      case "u32": dv.setUint32(at, Number(v) >>> 0, true); break;
      case "s32": dv.setInt32(at, Number(v) | 0, true); break;
      case "u64": case "ptr": dv.setBigUint64(at, BigInt.asUintN(64, BigInt(v as number | bigint)), true); break;
      case "bytes": {
        const src = typeof v === "string" ? new TextEncoder().encode(v) : (v as Uint8Array);
        out.fill(0, at, at + f.size);
        out.set(src.subarray(0, f.size), at);
        break;
      }
    }
  }
}

/** What `decodeStruct` reads: each field by name, u64 and pointers as bigint, byte arrays as bytes. */
export type Decoded<N extends string> = { [K in N]: number | bigint | Uint8Array };

/**
 * Reads every field of `layout` from `bytes`. u64 fields come back as bigint, byte arrays as
 * copies. Fields past the end of `bytes` (a truncated info) read as zero.
 */
export function decodeStruct<N extends string>(layout: Layout<N>, bytes: Uint8Array): Decoded<N> {
  const full = new Uint8Array(layout.size);
  full.set(bytes.subarray(0, layout.size));
  const dv = new DataView(full.buffer);
  const out: Record<string, number | bigint | Uint8Array> = {};
  for (const f of layout.fields) {
    switch (f.kind) {
      case "u8": out[f.name] = dv.getUint8(f.offset); break;
      case "u16": out[f.name] = dv.getUint16(f.offset, true); break;
      case "u32": out[f.name] = dv.getUint32(f.offset, true); break;
      case "s32": out[f.name] = dv.getInt32(f.offset, true); break;
      case "u64": case "ptr": out[f.name] = dv.getBigUint64(f.offset, true); break;
      case "bytes": out[f.name] = full.slice(f.offset, f.offset + f.size); break;
    }
  }
  return out as Decoded<N>;
}

/** A NUL-terminated name field (map or prog name) as a string. */
export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
