// Special fields of a map value (btf_parse_fields, kernel/bpf/btf.c): members whose struct is
// named bpf_spin_lock, bpf_timer, bpf_wq, … at their size and alignment, pointers tagged kptr,
// nested structs and arrays of them. MAP_CREATE and BTF_LOAD (btf_parse_struct_metas) search
// values for them with the same rules, so the errno of a bad value is the kernel's.
import { Errno } from "@bpfkit/core";
import { KPTR_DTOR_STRUCTS } from "./kernel-btf.js";
import {
  BTF_KIND, isArray, isDatasec, isDeclTag, isPtr, isTypeTag, skipModifiers,
} from "./btf-types.js";
import type { BtfData, BtfType } from "./btf-types.js";

/** enum btf_field_type of 6.18. */
export const Field = {
  SPIN_LOCK: 1 << 0, TIMER: 1 << 1, KPTR_UNREF: 1 << 2, KPTR_REF: 1 << 3, KPTR_PERCPU: 1 << 4,
  LIST_HEAD: 1 << 5, LIST_NODE: 1 << 6, RB_ROOT: 1 << 7, RB_NODE: 1 << 8, REFCOUNT: 1 << 9,
  WORKQUEUE: 1 << 10, UPTR: 1 << 11, RES_SPIN_LOCK: 1 << 12, TASK_WORK: 1 << 13,
} as const;
export const FIELD_KPTR = Field.KPTR_UNREF | Field.KPTR_REF | Field.KPTR_PERCPU;
const GRAPH_ROOT = Field.LIST_HEAD | Field.RB_ROOT;
const GRAPH_NODE = Field.LIST_NODE | Field.RB_NODE;
/** BTF_FIELDS_MAX. */
const FIELDS_MAX = 11;
const MAX_RESOLVE_DEPTH = 32;

/** The structs recognised by name: [type, name, unique in one struct, size, alignment]. */
const NAMED: readonly (readonly [number, string, boolean, number, number])[] = [
  [Field.SPIN_LOCK, "bpf_spin_lock", true, 4, 4],
  [Field.RES_SPIN_LOCK, "bpf_res_spin_lock", true, 4, 4],
  [Field.TIMER, "bpf_timer", true, 16, 8],
  [Field.WORKQUEUE, "bpf_wq", true, 16, 8],
  [Field.TASK_WORK, "bpf_task_work", true, 8, 8],
  [Field.LIST_HEAD, "bpf_list_head", false, 16, 8],
  [Field.LIST_NODE, "bpf_list_node", false, 24, 8],
  [Field.RB_ROOT, "bpf_rb_root", false, 16, 8],
  [Field.RB_NODE, "bpf_rb_node", false, 32, 8],
  [Field.REFCOUNT, "bpf_refcount", false, 4, 4],
];

/** btf_field_type_size. */
export function fieldSize(type: number): number {
  for (const [t, , , size] of NAMED) if (t === type) return size;
  return 8; // the kptrs and uptr
}

export interface BtfField {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  /** A graph root's value type (the struct its `contains:` tag names). */
  readonly valueId?: number;
}

/** A value's special fields, sorted by offset (the kernel's btf_record). */
export interface BtfRecord {
  readonly fields: readonly BtfField[];
  readonly mask: number;
}

interface Info {
  type: number;
  off: number;
  /** A graph root's value type and node name (for btf_parse_graph_root). */
  valueId?: number;
  /** A kptr's struct's name (for btf_parse_kptr). */
  kptrStruct?: string;
  nodeName?: string;
}

class Finder {
  constructor(private readonly btf: BtfData) {}

  private member(t: BtfType, i: number) {
    const at = t.at + 12 + 12 * i;
    return { name: this.btf.u32(at), type: this.btf.u32(at + 4), offset: this.btf.u32(at + 8) };
  }

  private nameOf(t: BtfType): string {
    return this.btf.nameOf(t.nameOff);
  }

  /** btf_get_field_type: a named struct's field type (E2BIG for a second unique one), a kptr candidate, or 0. */
  private fieldType(varType: BtfType, mask: number, seen: { mask: number }): { type: number; size: number; align: number } | number {
    const name = this.nameOf(varType);
    for (const [type, n, unique, size, align] of NAMED) {
      if ((mask & type) === 0 || name !== n) continue;
      if (unique) {
        if ((seen.mask & type) !== 0) return -Errno.E2BIG;
        seen.mask |= type;
      }
      return { type, size, align };
    }
    if ((mask & (FIELD_KPTR | Field.UPTR)) !== 0 && varType.kind !== BTF_KIND.STRUCT) return { type: Field.KPTR_REF, size: 8, align: 8 };
    return 0;
  }

  /** btf_find_kptr: a pointer (maybe volatile) to one type tag naming the kind of kptr, to a struct. */
  kptr(t: BtfType | null, off: number, mask: number): Info | number | null {
    if (t !== null && t.kind === BTF_KIND.VOLATILE) t = this.btf.byId(t.sizeType);
    if (t === null || !isPtr(t)) return null;
    const tag = this.btf.byId(t.sizeType);
    if (tag === null || !isTypeTag(tag) || tag.kflag) return null;
    const after = this.btf.byId(tag.sizeType);
    if (after !== null && isTypeTag(after)) return -Errno.EINVAL;
    const value = this.nameOf(tag);
    const type = value === "kptr_untrusted" ? Field.KPTR_UNREF : value === "kptr" ? Field.KPTR_REF
      : value === "percpu_kptr" ? Field.KPTR_PERCPU : value === "uptr" ? Field.UPTR : 0;
    if (type === 0) return -Errno.EINVAL;
    if ((type & mask) === 0) return null;
    const base = skipModifiers(this.btf, tag.sizeType);
    if (base.t === null || base.t.kind !== BTF_KIND.STRUCT) return -Errno.EINVAL;
    return { type, off, kptrStruct: this.nameOf(base.t) };
  }

  /** btf_find_decl_tag_value: the one "contains:" tag on component `idx` of `pt`. */
  private declTagValue(pt: BtfType, idx: number, key: string): string | number {
    let found: string | null = null;
    for (let i = 1; i < this.btf.types.length; i++) {
      const t = this.btf.types[i]!;
      if (!isDeclTag(t) || this.btf.byId(t.sizeType) !== pt || (this.btf.word(t, 0) | 0) !== idx) continue;
      const name = this.nameOf(t);
      if (!name.startsWith(key)) continue;
      if (found !== null) return -Errno.EEXIST;
      found = name.slice(key.length);
    }
    return found ?? -Errno.ENOENT;
  }

  /** btf_find_graph_root: `contains:<struct>:<node>` on the member names the value type. */
  private graphRoot(pt: BtfType, t: BtfType, idx: number, off: number, size: number, type: number): Info | number | null {
    if (t.kind !== BTF_KIND.STRUCT || t.sizeType !== size) return null;
    const value = this.declTagValue(pt, idx, "contains:");
    if (typeof value === "number") return -Errno.EINVAL;
    const colon = value.indexOf(":");
    if (colon < 0) return -Errno.EINVAL;
    const structName = value.slice(0, colon);
    let id = -1;
    for (let i = 1; i < this.btf.types.length; i++) {
      const c = this.btf.types[i]!;
      if (c.kind === BTF_KIND.STRUCT && this.nameOf(c) === structName) {
        id = i;
        break;
      }
    }
    if (id < 0) return -Errno.ENOENT;
    const nodeName = value.slice(colon + 1);
    if (nodeName === "") return -Errno.EINVAL;
    return { type, off, valueId: id, nodeName };
  }

  /** btf_find_field_one: one member (or DATASEC variable), arrays of it flattened. */
  private one(pt: BtfType, varType: BtfType | null, idx: number, off: number, expected: number, mask: number,
    seen: { mask: number }, out: Info[], level: number): number {
    let n = 1;
    let i = 0;
    for (; i < MAX_RESOLVE_DEPTH && varType !== null && isArray(varType); i++) {
      n = (n * this.btf.word(varType, 2)) >>> 0;
      varType = this.btf.byId(this.btf.word(varType, 0));
    }
    if (i === MAX_RESOLVE_DEPTH) return -Errno.E2BIG;
    if (n === 0 || varType === null) return 0;
    const ft = this.fieldType(varType, mask, seen);
    if (typeof ft === "number" && ft < 0) return ft;
    if (ft === 0 && varType.kind === BTF_KIND.STRUCT) {
      if (expected !== 0 && expected !== varType.sizeType * n) return 0;
      return this.nested(varType, off, n, mask, out, level);
    }
    if (ft === 0 || typeof ft === "number") return 0;
    if (expected !== 0 && expected !== ft.size * n) return 0;
    if (off % ft.align !== 0) return 0;
    let info: Info | number | null;
    if ((ft.type & (FIELD_KPTR | Field.UPTR)) !== 0) info = this.kptr(varType, off, mask);
    else if ((ft.type & GRAPH_ROOT) !== 0) info = this.graphRoot(pt, varType, idx, off, ft.size, ft.type);
    else info = varType.kind === BTF_KIND.STRUCT && varType.sizeType === ft.size ? { type: ft.type, off } : null;
    if (typeof info === "number") return info;
    if (info === null) return 0;
    if (out.length >= FIELDS_MAX) return -Errno.E2BIG;
    out.push(info);
    if (n > 1) return this.repeat(out, out.length - 1, 1, n - 1, ft.size);
    return n;
  }

  /** btf_repeat_fields: only kptrs and graph roots may repeat; the copies must fit BTF_FIELDS_MAX. */
  private repeat(out: Info[], from: number, count: number, times: number, elemSize: number): number {
    for (let i = from; i < from + count; i++) {
      const t = out[i]!.type;
      if ((t & (FIELD_KPTR | Field.UPTR | GRAPH_ROOT)) === 0) return -Errno.EINVAL;
    }
    if (count * (times + 1) > FIELDS_MAX - from) return -Errno.E2BIG;
    for (let r = 0; r < times; r++) {
      for (let j = 0; j < count; j++) out.push({ ...out[from + j]!, off: out[from + j]!.off + (r + 1) * elemSize });
    }
    return count * (times + 1);
  }

  private nested(t: BtfType, off: number, n: number, mask: number, out: Info[], level: number): number {
    if (level + 1 >= MAX_RESOLVE_DEPTH) return -Errno.E2BIG;
    const from = out.length;
    const r = this.structFields(t, mask, out, level + 1);
    if (r <= 0) return r;
    for (let i = from; i < out.length; i++) out[i]!.off += off;
    if (n > 1) return this.repeat(out, from, r, n - 1, t.sizeType);
    return r;
  }

  structFields(t: BtfType, mask: number, out: Info[], level: number): number {
    const seen = { mask: 0 };
    let total = 0;
    for (let i = 0; i < t.vlen; i++) {
      const m = this.member(t, i);
      const bitOff = t.kflag ? m.offset & 0xffffff : m.offset;
      if (bitOff % 8 !== 0) return -Errno.EINVAL;
      const r = this.one(t, this.btf.byId(m.type), i, bitOff / 8, 0, mask, seen, out, level);
      if (r < 0) return r;
      total += r;
    }
    return total;
  }

  datasecFields(t: BtfType, mask: number, out: Info[]): number {
    const seen = { mask: 0 };
    let total = 0;
    for (let i = 0; i < t.vlen; i++) {
      const at = t.at + 12 + 12 * i;
      const v = this.btf.byId(this.btf.u32(at));
      const varType = v === null ? null : this.btf.byId(v.sizeType);
      const r = this.one(v!, varType, -1, this.btf.u32(at + 4), this.btf.u32(at + 8), mask, seen, out, 0);
      if (r < 0) return r;
      total += r;
    }
    return total;
  }

  /** btf_parse_graph_root: the value type has one member of that name, of the node struct, aligned. */
  graphNode(info: Info, nodeType: string): number {
    const t = this.btf.byId(info.valueId!)!;
    let found = false;
    for (let i = 0; i < t.vlen; i++) {
      const m = this.member(t, i);
      if (this.btf.nameOf(m.name) !== info.nodeName) continue;
      if (found) return -Errno.EINVAL;
      found = true;
      const n = this.btf.byId(m.type);
      if (n === null || n.kind !== BTF_KIND.STRUCT || this.nameOf(n) !== nodeType) return -Errno.EINVAL;
      const off = n.kflag ? m.offset & 0xffffff : m.offset;
      if (off % 8 !== 0 || (off / 8) % 8 !== 0) return -Errno.EINVAL;
    }
    return found ? 0 : -Errno.ENOENT;
  }
}

/**
 * btf_parse_kptr for a referenced kptr: a struct the kernel's BTF names is the kernel's type,
 * which needs a destructor kfunc (ENOENT without one); any other is the program's own.
 */
function kernelStructNeedsDtor(btf: BtfData, name: string): boolean {
  return btf.kernelStructs !== null && btf.kernelStructs.has(name) && !KPTR_DTOR_STRUCTS.has(name);
}

/**
 * btf_parse_fields: the record of `t` (a struct or a DATASEC) for the field types in `mask`,
 * null when it has none, or a negative errno (the kernel's ERR_PTR).
 */
export function parseFields(btf: BtfData, t: BtfType, mask: number, valueSize: number): BtfRecord | null | number {
  const f = new Finder(btf);
  const info: Info[] = [];
  let n: number;
  // __btf_type_is_struct: a STRUCT, not a UNION (a union value has no record, as any other type).
  if (t.kind === BTF_KIND.STRUCT) n = f.structFields(t, mask, info, 0);
  else if (isDatasec(t)) n = f.datasecFields(t, mask, info);
  else return -Errno.EINVAL;
  if (n < 0) return n;
  if (n === 0) return null;
  const fields: BtfField[] = [];
  let next = 0, fieldMask = 0;
  for (const i of info) {
    const size = fieldSize(i.type);
    if (i.off + size > valueSize) return -Errno.EFAULT;
    if (i.off < next) return -Errno.EEXIST;
    next = i.off + size;
    fieldMask |= i.type;
    if (i.type === Field.KPTR_REF && kernelStructNeedsDtor(btf, i.kptrStruct!)) return -Errno.ENOENT;
    if (i.type === Field.LIST_HEAD || i.type === Field.RB_ROOT) {
      const err = f.graphNode(i, i.type === Field.LIST_HEAD ? "bpf_list_node" : "bpf_rb_node");
      if (err < 0) return err;
    }
    fields.push(i.valueId === undefined ? { type: i.type, offset: i.off, size } : { type: i.type, offset: i.off, size, valueId: i.valueId });
  }
  const has = (m: number) => (fieldMask & m) !== 0;
  if (has(Field.SPIN_LOCK) && has(Field.RES_SPIN_LOCK)) return -Errno.EINVAL;
  if (has(GRAPH_ROOT) && !has(Field.SPIN_LOCK) && !has(Field.RES_SPIN_LOCK)) return -Errno.EINVAL;
  if (!has(Field.REFCOUNT) && has(Field.LIST_NODE) && has(Field.RB_NODE)) return -Errno.EINVAL;
  fields.sort((a, b) => a.offset - b.offset);
  return { fields, mask: fieldMask };
}

/** Whether `t` is a pointer btf_find_kptr takes for a kptr of any kind (btf_parse_struct_metas' search). */
export function isKptrType(btf: BtfData, t: BtfType): boolean {
  const r = new Finder(btf).kptr(t, 0, FIELD_KPTR);
  return r !== null && typeof r !== "number";
}

/** The fields btf_parse_struct_metas looks for in a program's own structs. */
const META_MASK = Field.SPIN_LOCK | Field.RES_SPIN_LOCK | Field.LIST_HEAD | Field.LIST_NODE | Field.RB_ROOT | Field.RB_NODE |
  Field.REFCOUNT | FIELD_KPTR;
const ALLOC_OBJ_FIELDS = ["bpf_spin_lock", "bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount"];

/**
 * btf_parse_struct_metas and the fix-up of their graph roots, the last checks of BTF_BTF_LOAD:
 * each struct with a member of a special struct (by name) or of a kptr type gets a record, and
 * a record that cannot be made fails the load (EFAULT when the search finds nothing at all).
 * Returns the records by struct id, or a positive errno.
 */
export function parseStructMetas(btf: BtfData): Map<number, BtfRecord> | number {
  const aof = new Set<number>();
  for (const name of ALLOC_OBJ_FIELDS) {
    for (let i = 1; i < btf.types.length; i++) {
      const t = btf.types[i]!;
      if (t.kind === BTF_KIND.STRUCT && btf.nameOf(t.nameOff) === name) {
        aof.add(i);
        break;
      }
    }
  }
  for (let i = 1; i < btf.types.length; i++) if (isKptrType(btf, btf.types[i]!)) aof.add(i);
  const metas = new Map<number, BtfRecord>();
  if (aof.size === 0) return metas;
  for (let i = 1; i < btf.types.length; i++) {
    const t = btf.types[i]!;
    if (t.kind !== BTF_KIND.STRUCT) continue;
    let hit = false;
    for (let j = 0; j < t.vlen && !hit; j++) hit = aof.has(btf.u32(t.at + 12 + 12 * j + 4));
    if (!hit) continue;
    const rec = parseFields(btf, t, META_MASK, t.sizeType);
    if (typeof rec === "number") return -rec;
    if (rec === null) return Errno.EFAULT;
    metas.set(i, rec);
  }
  for (const rec of metas.values()) {
    const err = checkGraphOwnership(rec, metas);
    if (err !== 0) return err;
  }
  return metas;
}

/**
 * btf_check_and_fixup_fields: a graph root's value type must have its own record (EFAULT), and
 * a type that is both a node and a root may not own a root type (ELOOP). A positive errno or 0.
 */
export function checkGraphOwnership(rec: BtfRecord, metas: ReadonlyMap<number, BtfRecord>): number {
  if ((rec.mask & GRAPH_ROOT) === 0) return 0;
  for (const f of rec.fields) {
    if ((f.type & GRAPH_ROOT) === 0) continue;
    const meta = metas.get(f.valueId ?? -1);
    if (meta === undefined) return Errno.EFAULT;
    if ((rec.mask & GRAPH_NODE) !== 0 && (meta.mask & GRAPH_ROOT) !== 0) return Errno.ELOOP;
  }
  return 0;
}
