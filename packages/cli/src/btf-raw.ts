// `bpftool btf dump … format raw`: one entry per type, `[id] KIND 'name' attr=…`, its members,
// values, params or vars on tab-indented lines after it (tools/bpf/bpftool/btf.c,
// dump_btf_type), and the same as JSON objects (`bpftool -j`). The text is bpftool's to the
// byte; the JSON differs where bpftool's is wrong: an unsigned ENUM's value past 2^31 is
// its u32 (bpftool sign-extends it to 64 bits first, 4000000000 becoming 18446744073414584320).
import { BtfIntEncoding, BtfKind, btfKindName, type Btf, type BtfType } from "@bpfkit/core";

// bpftool's btf_str: an anonymous name is "(anon)".
const nameOf = (name: string): string => (name === "" ? "(anon)" : name);

function intEncoding(e: number): string {
  switch (e) {
    case 0: return "(none)";
    case BtfIntEncoding.SIGNED: return "SIGNED";
    case BtfIntEncoding.CHAR: return "CHAR";
    case BtfIntEncoding.BOOL: return "BOOL";
    default: return "UNKN";
  }
}

const FUNC_LINKAGE = ["static", "global", "extern"];
const VAR_LINKAGE = ["static", "global", "extern"];
const linkage = (names: string[], l: number): string => names[l] ?? "(unknown)";

/** One type's fields, in bpftool's order, as [name, value] pairs; the list after it, if any. */
interface Entry {
  fields: Array<[string, number | bigint | string]>;
  list?: { key: string; items: Array<Array<[string, number | bigint | string]>>; text: (item: Array<[string, number | bigint | string]>) => string };
}

function entry(btf: Btf, t: BtfType): Entry {
  switch (t.kind) {
    case BtfKind.INT:
      return { fields: [["size", t.size], ["bits_offset", t.bitOffset], ["nr_bits", t.bits], ["encoding", intEncoding(t.encoding)]] };
    case BtfKind.PTR: case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: case BtfKind.TYPEDEF: case BtfKind.TYPE_TAG:
      return { fields: [["type_id", t.target]] };
    case BtfKind.ARRAY:
      return { fields: [["type_id", t.elem], ["index_type_id", t.index], ["nr_elems", t.nelems]] };
    case BtfKind.STRUCT: case BtfKind.UNION:
      return {
        fields: [["size", t.size], ["vlen", t.members.length]],
        list: {
          key: "members",
          items: t.members.map((m) => [["name", nameOf(m.name)], ["type_id", m.type], ["bits_offset", m.bitOffset], ...(m.bitfieldSize !== 0 ? [["bitfield_size", m.bitfieldSize] as [string, number]] : [])]),
          text: (m) => `'${m[0]![1]}' ${m.slice(1).map(([k, v]) => `${k}=${v}`).join(" ")}`,
        },
      };
    case BtfKind.ENUM: case BtfKind.ENUM64: {
      const enum64 = t.kind === BtfKind.ENUM64;
      // The kind flag says signed; bpftool prints each value as the ENUM's s32 or u32, or the
      // ENUM64's s64 or u64 with an LL or ULL suffix.
      const bits = enum64 ? 64 : 32;
      const value = (v: bigint) => (t.signed ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v));
      const suffix = enum64 ? (t.signed ? "LL" : "ULL") : "";
      return {
        fields: [["encoding", t.signed ? "SIGNED" : "UNSIGNED"], ["size", t.size], ["vlen", t.values.length]],
        list: {
          key: "values",
          items: t.values.map((e) => [["name", nameOf(e.name)], ["val", value(e.value)]]),
          text: (e) => `'${e[0]![1]}' val=${e[1]![1]}${suffix}`,
        },
      };
    }
    case BtfKind.FWD:
      return { fields: [["fwd_kind", t.union ? "union" : "struct"]] };
    case BtfKind.FUNC:
      return { fields: [["type_id", t.proto], ["linkage", linkage(FUNC_LINKAGE, t.linkage)]] };
    case BtfKind.FUNC_PROTO:
      return {
        fields: [["ret_type_id", t.returnType], ["vlen", t.params.length]],
        list: { key: "params", items: t.params.map((p) => [["name", nameOf(p.name)], ["type_id", p.type]]), text: (p) => `'${p[0]![1]}' type_id=${p[1]![1]}` },
      };
    case BtfKind.VAR:
      return { fields: [["type_id", t.type], ["linkage", linkage(VAR_LINKAGE, t.linkage)]] };
    case BtfKind.DATASEC:
      return {
        fields: [["size", t.size], ["vlen", t.vars.length]],
        list: {
          key: "vars",
          items: t.vars.map((v) => [["type_id", v.type], ["offset", v.offset], ["size", v.size]]),
          // The text names each var after it, as bpftool does for a type id it has.
          text: (v) => {
            const id = Number(v[0]![1]);
            const known = id < btf.types.length ? ` (${btfKindName(btf.types[id]!.kind)} '${nameOf(btf.types[id]!.name)}')` : "";
            return `${v.map(([k, x]) => `${k}=${x}`).join(" ")}${known}`;
          },
        },
      };
    case BtfKind.FLOAT:
      return { fields: [["size", t.size]] };
    case BtfKind.DECL_TAG:
      return { fields: [["type_id", t.target], ["component_idx", t.componentIdx]] };
    default:
      return { fields: [] };
  }
}

/** The ids a dump lists: every type of this blob (a split blob's own, after its base's). */
export function btfIdsOf(btf: Btf): number[] {
  return Array.from({ length: btf.types.length - btf.startId }, (_, i) => btf.startId + i);
}

/** Types `ids` of `btf` as `bpftool btf dump … format raw` prints them, one entry a type. */
export function btfRawText(btf: Btf, ids: readonly number[]): string {
  let out = "";
  for (const id of ids) {
    const t = btf.typeById(id);
    const e = entry(btf, t);
    // VAR alone puts a comma after its type_id (bpftool's printf: "type_id=%u, linkage=%s").
    const sep = t.kind === BtfKind.VAR ? ", " : " ";
    out += `[${id}] ${btfKindName(t.kind)} '${nameOf(t.name)}'${e.fields.length > 0 ? " " : ""}${e.fields.map(([k, v]) => `${k}=${v}`).join(sep)}`;
    if (e.list !== undefined) for (const item of e.list.items) out += `\n\t${e.list.text(item)}`;
    out += "\n";
  }
  return out;
}

/** The same as `bpftool -j btf dump`'s objects: `{id, kind, name, …fields, members|values|params|vars}`. */
export function btfRawJson(btf: Btf, ids: readonly number[]): Array<Record<string, unknown>> {
  return ids.map((id) => {
    const t = btf.typeById(id);
    const e = entry(btf, t);
    const o: Record<string, unknown> = { id, kind: btfKindName(t.kind), name: nameOf(t.name), ...Object.fromEntries(e.fields) };
    if (e.list !== undefined) o[e.list.key] = e.list.items.map((item) => Object.fromEntries(item));
    return o;
  });
}
