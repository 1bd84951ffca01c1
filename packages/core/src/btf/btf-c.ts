// BTF as a C header (what `bpftool btf dump … format c` gives, the vmlinux.h of BPF CO-RE
// programs): every named struct, union, enum and typedef, defined before it is used by value and
// declared before it is pointed at, laid out so that a C compiler on x86-64 or arm64 gives each
// member the offset the BTF says (padding and `packed` where natural alignment would not).
import { BtfError, BtfKind, type BtfComposite, type BtfEnumType, type BtfMember, type BtfType } from "./btf-format.js";
import type { Btf } from "./btf-parse.js";

/** Options of `formatBtfC`. */
export interface FormatBtfCOptions {
  /** The include guard's macro, `__VMLINUX_H__` by default (bpftool's). */
  guard?: string;
}

type Composite = BtfComposite<typeof BtfKind.STRUCT> | BtfComposite<typeof BtfKind.UNION>;
const MAX_DEPTH = 64;

/**
 * The types of `btf` as C declarations, in an order a C compiler takes: a struct or union is
 * defined before a type holds it by value and declared (`struct foo;`) before one points at it;
 * anonymous structs, unions and enums are written where they are used; names BTF gives twice to
 * different types get `___2`, `___3` (as libbpf does). Functions, variables, data sections and
 * decl tags are left out, as bpftool leaves them. Members keep the BTF's offsets: a gap is filled
 * with unnamed bitfields and a struct that natural alignment cannot lay out is
 * `__attribute__((packed))`. Wrapped in an include guard and clang's
 * `preserve_access_index` pragma (skipped with `-DBPF_NO_PRESERVE_ACCESS_INDEX`), as bpftool's.
 */
export function formatBtfC(btf: Btf, options: FormatBtfCOptions = {}): string {
  const guard = options.guard ?? "__VMLINUX_H__";
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(guard)) throw new TypeError(`formatBtfC: guard ${JSON.stringify(guard)} is not a C identifier`);
  const body = new CWriter(btf).all();
  return `#ifndef ${guard}\n#define ${guard}\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n` +
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n" +
    body +
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n" + `#endif /* ${guard} */\n`;
}

const enum State { None, Emitting, Done }

class CWriter {
  private readonly out: string[] = [];
  private readonly state = new Map<number, State>();
  private readonly declared = new Set<string>();
  /** Each named struct, union, enum and typedef's C name (tags and typedef names apart). */
  private readonly names = new Map<number, string>();
  /** Each enumerator's C name, by enum id, in order. */
  private readonly constants = new Map<number, string[]>();
  /** Types another type refers to: an anonymous enum or struct is written where it is used. */
  private readonly referenced = new Set<number>();
  /** Anonymous enums already written (their constants are defined). */
  private readonly inlined = new Set<number>();
  private readonly aligns = new Map<number, number>();

  constructor(private readonly btf: Btf) {
    this.name();
  }

  all(): string {
    const { btf } = this;
    for (let id = 1; id < btf.types.length; id++) {
      const t = btf.typeById(id);
      switch (t.kind) {
        case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64:
          // An anonymous one no type refers to is a top-level `enum { … };` of constants (or dead).
          if (t.name !== "" || ((t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) && !this.referenced.has(id))) this.define(id, 0);
          break;
        case BtfKind.TYPEDEF: this.define(id, 0); break;
        case BtfKind.FWD: this.forward(id); break;
        default: break;
      }
    }
    return this.out.join("");
  }

  // ---- names ----

  /** Tags, typedef names and enumerators, each made unique in its C namespace. */
  private name(): void {
    const { btf } = this;
    // C's two namespaces: tags (struct, union, enum) and ordinary identifiers (typedefs, enumerators).
    const tags = new Map<string, number>(), ordinary = new Map<string, number>();
    const unique = (used: Map<string, number>, name: string): string => {
      const n = (used.get(name) ?? 0) + 1;
      used.set(name, n);
      return n === 1 ? name : `${name}___${n}`;
    };
    // A FWD shares the tag of a struct or union of its name (written once, as that type's).
    const defined = new Map<string, number>();
    const fwdTags = new Map<string, string>();
    for (let id = 1; id < btf.types.length; id++) {
      const t = btf.typeById(id);
      for (const r of refsOf(t)) this.referenced.add(r);
      if (t.name === "") continue;
      switch (t.kind) {
        case BtfKind.STRUCT: case BtfKind.UNION: case BtfKind.ENUM: case BtfKind.ENUM64: {
          const tag = unique(tags, t.name);
          this.names.set(id, tag);
          if (tag === t.name && t.kind !== BtfKind.ENUM && t.kind !== BtfKind.ENUM64) defined.set(`${t.kind === BtfKind.UNION ? "union" : "struct"} ${t.name}`, id);
          break;
        }
        case BtfKind.TYPEDEF: this.names.set(id, unique(ordinary, t.name)); break;
        default: break;
      }
      if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) this.constants.set(id, t.values.map((v) => unique(ordinary, v.name)));
    }
    for (let id = 1; id < btf.types.length; id++) {
      const t = btf.typeById(id);
      if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) {
        if (t.name === "") this.constants.set(id, t.values.map((v) => unique(ordinary, v.name)));
      } else if (t.kind === BtfKind.FWD) {
        // A FWD shares a definition's tag, or one of its own: unique, since `enum foo` and a
        // declared `struct foo` are one tag to C.
        const key = `${t.union ? "union" : "struct"} ${t.name}`;
        const full = defined.get(key);
        let tag = full !== undefined ? this.names.get(full) : fwdTags.get(key);
        if (tag === undefined) {
          tag = unique(tags, t.name);
          fwdTags.set(key, tag);
        }
        this.names.set(id, tag);
      }
    }
  }

  private tag(id: number, t: BtfType): string {
    const kw = t.kind === BtfKind.UNION || (t.kind === BtfKind.FWD && t.union) ? "union"
      : t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64 ? "enum" : "struct";
    return `${kw} ${this.names.get(id) ?? t.name}`;
  }

  // ---- order ----

  /** `struct foo;` once, before anything points at foo. */
  private forward(id: number): void {
    const t = this.btf.typeById(id);
    if (t.kind === BtfKind.ENUM || t.kind === BtfKind.ENUM64) return this.define(id, 0);
    const decl = this.tag(id, t);
    if (this.declared.has(decl)) return;
    this.declared.add(decl);
    this.out.push(`${decl};\n\n`);
  }

  /**
   * Writes what `id` needs: complete (by value), or only named (behind a pointer). A struct tag
   * first named in a member or a typedef is declared at file scope by that, so it needs nothing
   * before; one first named in a function's parameters would be scoped to them (`inProto`), so
   * it is declared first (`struct foo;`).
   */
  private need(id: number, complete: boolean, depth: number, inProto = false): void {
    if (depth > MAX_DEPTH) throw new BtfError(`formatBtfC: type ${id} nests more than ${MAX_DEPTH} deep (a loop?)`);
    const t = this.btf.typeById(id);
    switch (t.kind) {
      case BtfKind.PTR: return this.need(t.target, false, depth + 1, inProto);
      case BtfKind.ARRAY: return this.need(t.elem, true, depth + 1, inProto);
      case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG:
        return this.need(t.target, complete, depth + 1, inProto);
      case BtfKind.FUNC_PROTO:
        this.need(t.returnType, false, depth + 1, true);
        for (const p of t.params) this.need(p.type, false, depth + 1, true);
        return;
      case BtfKind.TYPEDEF:
        this.define(id, depth);
        if (complete) this.need(t.target, true, depth + 1);
        return;
      case BtfKind.ENUM: case BtfKind.ENUM64:
        if (t.name !== "") this.define(id, depth);
        return;
      case BtfKind.STRUCT: case BtfKind.UNION:
        if (t.name === "") {
          // Written inline: what its members need comes first.
          for (const m of t.members) this.need(m.type, true, depth + 1, inProto);
          return;
        }
        if (complete) this.define(id, depth);
        else if (inProto && this.state.get(id) !== State.Done) this.forward(id);
        return;
      case BtfKind.FWD:
        if (inProto) this.forward(id);
        return;
      default: return;
    }
  }

  /** The definition of named type `id` (a typedef's declaration), after what it needs. */
  private define(id: number, depth: number): void {
    const s = this.state.get(id) ?? State.None;
    if (s !== State.None) return;
    this.state.set(id, State.Emitting);
    const t = this.btf.typeById(id);
    switch (t.kind) {
      case BtfKind.STRUCT: case BtfKind.UNION:
        for (const m of t.members) this.need(m.type, true, depth + 1);
        this.out.push(`${this.composite(id, t, 0)};\n\n`);
        this.declared.add(this.tag(id, t));
        break;
      case BtfKind.ENUM: case BtfKind.ENUM64:
        if (t.name === "") this.inlined.add(id);
        this.out.push(`${this.enumBody(id, t, 0)};\n\n`);
        break;
      case BtfKind.TYPEDEF: {
        // A typedef of a named struct declares it; of anything else, it needs what that needs.
        const target = this.btf.typeById(t.target);
        const tagOnly = (target.kind === BtfKind.STRUCT || target.kind === BtfKind.UNION || target.kind === BtfKind.FWD) && target.name !== "";
        if (!tagOnly) this.need(t.target, !isPointerish(this.btf, t.target), depth + 1);
        this.out.push(`typedef ${this.declare(t.target, this.names.get(id)!, 0)};\n\n`);
        break;
      }
      default: break;
    }
    this.state.set(id, State.Done);
  }

  // ---- declarations ----

  /** `type declarator`: the C declaration of `inner` (a name, or a declarator being built) as type `id`. */
  private declare(id: number, inner: string, indent: number, quals = ""): string {
    const t = this.btf.typeById(id);
    const sp = (base: string) => `${quals}${base}${inner === "" ? "" : ` ${inner}`}`;
    switch (t.kind) {
      case BtfKind.UNKN: return sp("void");
      case BtfKind.INT: case BtfKind.FLOAT: return sp(t.name);
      case BtfKind.STRUCT: case BtfKind.UNION:
        return sp(t.name === "" ? this.composite(id, t, indent) : this.tag(id, t));
      case BtfKind.ENUM: case BtfKind.ENUM64: {
        if (t.name !== "") return sp(this.tag(id, t));
        // Its constants may be defined once: a second use of the same anonymous enum is its integer.
        if (this.inlined.has(id)) return sp(intName(t.size, t.signed));
        this.inlined.add(id);
        return sp(this.enumBody(id, t, indent));
      }
      case BtfKind.FWD: return sp(this.tag(id, t));
      case BtfKind.TYPEDEF: return sp(this.names.get(id) ?? t.name);
      case BtfKind.PTR: {
        // A pointer to an array or a function binds tighter than the array or the call: (*p)[4].
        const next = skipQualifiers(this.btf, t.target);
        const k = this.btf.typeById(next).kind;
        const star = `*${inner}`;
        return this.declare(t.target, k === BtfKind.ARRAY || k === BtfKind.FUNC_PROTO ? `(${star})` : star, indent, quals);
      }
      case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: {
        const q = t.kind === BtfKind.CONST ? "const" : t.kind === BtfKind.VOLATILE ? "volatile" : "restrict";
        const next = this.btf.typeById(skipQualifiers(this.btf, t.target));
        // A qualified pointer: `int *const p`; a qualified function type means nothing in C.
        if (next.kind === BtfKind.PTR) return this.declare(t.target, inner === "" ? q : `${q} ${inner}`, indent, quals);
        if (next.kind === BtfKind.FUNC_PROTO) return this.declare(t.target, inner, indent, quals);
        // Once each: `const const int` is refused (BTF may chain one qualifier twice).
        return this.declare(t.target, inner, indent, quals.split(" ").includes(q) ? quals : `${quals}${q} `);
      }
      case BtfKind.TYPE_TAG: return this.declare(t.target, inner, indent, quals);
      case BtfKind.ARRAY: return this.declare(t.elem, `${inner}[${t.nelems}]`, indent, quals);
      case BtfKind.FUNC_PROTO: {
        const params = t.params.map((p) => (p.type === 0 ? "..." : this.declare(p.type, p.name, indent)));
        return this.declare(t.returnType, `${inner}(${params.length === 0 ? "void" : params.join(", ")})`, indent, quals);
      }
      default: throw new BtfError(`formatBtfC: type ${id} (kind ${t.kind}) cannot be declared`);
    }
  }

  private enumBody(id: number, t: BtfEnumType<typeof BtfKind.ENUM | typeof BtfKind.ENUM64>, indent: number): string {
    const pad = "\t".repeat(indent + 1);
    const names = this.constants.get(id)!;
    const lines = t.values.map((v, i) => `${pad}${names[i]} = ${cLiteral(v.value, t.size, t.signed)},\n`);
    const head = t.name === "" ? "enum" : this.tag(id, t);
    // A 1- or 2-byte enum is a packed one; gcc makes an enum 8 bytes only for values past 32 bits.
    const packed = t.size < 4 ? " __attribute__((packed))" : "";
    return `${head} {\n${lines.join("")}${"\t".repeat(indent)}}${packed}`;
  }

  /** A struct or union's body with its members at the BTF's offsets. */
  private composite(id: number, t: Composite, indent: number): string {
    const pad = "\t".repeat(indent + 1);
    const union = t.kind === BtfKind.UNION;
    const head = t.name === "" ? (union ? "union" : "struct") : this.tag(id, t);
    const packed = this.isPacked(t);
    const lines: string[] = [];
    let pos = 0; // the next free bit as a C compiler would lay the members out
    let align = 1;
    for (const m of t.members) {
      const bits = this.bitfieldOf(m);
      const at = bits !== null ? bits.at : m.bitOffset;
      if (!union) {
        const natural = bits !== null ? this.bitfieldStart(pos, bits.width, bits.unit, packed) : alignUp(pos, packed ? 8 : this.alignOf(m.type) * 8);
        if (at > natural) lines.push(...padding(pos, at, pad));
        if (at < natural) throw new BtfError(`formatBtfC: ${head}.${m.name} at bit ${at} cannot be laid out by C (it would be at ${natural})`);
      }
      const decl = this.declare(bits !== null ? bits.type : m.type, m.name, indent + 1);
      lines.push(`${pad}${decl}${bits !== null ? `: ${bits.width}` : ""};\n`);
      const size = bits !== null ? bits.width : 8 * (this.btf.sizeOf(m.type) ?? 0);
      pos = union ? Math.max(pos, at + size) : at + size;
      if (!packed) align = Math.max(align, bits !== null && m.name === "" ? 1 : this.alignOf(bits !== null ? bits.type : m.type));
    }
    // The tail: the BTF's size, past what the members and the alignment give.
    const natural = alignUp(pos, 8 * align);
    if (t.size * 8 > natural) {
      if (union) lines.push(`${pad}unsigned char __pad_${id}[${t.size}];\n`);
      else lines.push(...padding(pos, t.size * 8, pad));
    }
    const members = lines.length === 0 ? "{}" : `{\n${lines.join("")}${"\t".repeat(indent)}}`;
    return `${head} ${members}${packed ? " __attribute__((packed))" : ""}`;
  }

  /** Where a bitfield of `width` bits in a unit of `unit` bytes goes after bit `pos`. */
  private bitfieldStart(pos: number, width: number, unit: number, packed: boolean): number {
    if (packed || width === 0) return pos;
    // gcc (x86-64, arm64): a bitfield never straddles a boundary of its type's alignment.
    const a = unit * 8;
    return Math.floor(pos / a) !== Math.floor((pos + width - 1) / a) ? alignUp(pos, a) : pos;
  }

  /** A member that is a bitfield: its type, width and bit offset, or null. */
  private bitfieldOf(m: BtfMember): { type: number; width: number; at: number; unit: number } | null {
    const rid = skipQualifiers(this.btf, m.type);
    const r = this.btf.typeById(this.btf.resolve(m.type));
    const unit = Math.max(1, Math.min(8, this.alignOf(rid)));
    if (m.bitfieldSize !== 0) return { type: m.type, width: m.bitfieldSize, at: m.bitOffset, unit };
    if (r.kind === BtfKind.INT && (r.bitOffset !== 0 || r.bits !== r.size * 8)) return { type: m.type, width: r.bits, at: m.bitOffset + r.bitOffset, unit };
    return null;
  }

  /** Whether natural alignment cannot give the BTF's layout: a member off its alignment, or a size no multiple of it. */
  private isPacked(t: Composite): boolean {
    let align = 1;
    for (const m of t.members) {
      const bits = this.bitfieldOf(m);
      if (bits !== null) {
        // A bitfield straddling its unit only fits packed; a named one aligns the struct as its type.
        const a = bits.unit * 8;
        if (bits.width > 0 && Math.floor(bits.at / a) !== Math.floor((bits.at + bits.width - 1) / a)) return true;
        if (m.name !== "") align = Math.max(align, bits.unit);
        continue;
      }
      const a = this.alignOf(m.type);
      align = Math.max(align, a);
      if (m.bitOffset % (a * 8) !== 0) return true;
    }
    return t.size % align !== 0;
  }

  /** C's alignment of a type on x86-64 and arm64 (natural, at most 8; a struct its largest member's). */
  private alignOf(id: number, depth = 0): number {
    if (depth > MAX_DEPTH) return 1;
    const rid = this.btf.resolve(id);
    // Remembered: a struct's depends on its members', and vmlinux nests deep.
    const known = this.aligns.get(rid);
    if (known !== undefined) return known;
    this.aligns.set(rid, 1); // a struct that holds itself (no C compiler's) ends here
    const a = this.alignOfResolved(rid, depth);
    this.aligns.set(rid, a);
    return a;
  }

  private alignOfResolved(rid: number, depth: number): number {
    const t = this.btf.typeById(rid);
    switch (t.kind) {
      case BtfKind.INT: case BtfKind.FLOAT: case BtfKind.ENUM: case BtfKind.ENUM64: return Math.min(8, t.size & -t.size) || 1;
      case BtfKind.PTR: return 8;
      case BtfKind.ARRAY: return this.alignOf(t.elem, depth + 1);
      case BtfKind.STRUCT: case BtfKind.UNION: {
        if (this.isPacked(t)) return 1;
        let a = 1;
        for (const m of t.members) if (this.bitfieldOf(m) === null || m.name !== "") a = Math.max(a, this.alignOf(m.type, depth + 1));
        return a;
      }
      default: return 1;
    }
  }
}

/** Unnamed bitfields filling bits [from, to): to the next byte, then the widest aligned units. */
function padding(from: number, to: number, pad: string): string[] {
  const out: string[] = [];
  let pos = from;
  if (pos % 8 !== 0) {
    const w = Math.min(8 - (pos % 8), to - pos);
    out.push(`${pad}unsigned char: ${w};\n`);
    pos += w;
  }
  while (to - pos >= 8) {
    const [bits, type] = ([[64, "long"], [32, "int"], [16, "short"], [8, "char"]] as const).find(([b]) => pos % b === 0 && to - pos >= b)!;
    out.push(`${pad}${type}: ${bits};\n`);
    pos += bits;
  }
  if (to - pos > 0) out.push(`${pad}unsigned char: ${to - pos};\n`);
  return out;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/** The id past const, volatile, restrict and type tags (typedefs kept). */
function skipQualifiers(btf: Btf, id: number): number {
  let cur = id;
  for (let i = 0; i <= MAX_DEPTH; i++) {
    const t = btf.typeById(cur);
    if (t.kind !== BtfKind.CONST && t.kind !== BtfKind.VOLATILE && t.kind !== BtfKind.RESTRICT && t.kind !== BtfKind.TYPE_TAG) return cur;
    cur = t.target;
  }
  return cur;
}

/** Whether a typedef of `id` needs nothing complete: a pointer or a function type. */
function isPointerish(btf: Btf, id: number): boolean {
  const k = btf.typeById(skipQualifiers(btf, id)).kind;
  return k === BtfKind.PTR || k === BtfKind.FUNC_PROTO;
}

/** The ids a type refers to. */
function refsOf(t: BtfType): number[] {
  switch (t.kind) {
    case BtfKind.PTR: case BtfKind.TYPEDEF: case BtfKind.CONST: case BtfKind.VOLATILE: case BtfKind.RESTRICT: case BtfKind.TYPE_TAG:
      return [t.target];
    case BtfKind.ARRAY: return [t.elem];
    case BtfKind.STRUCT: case BtfKind.UNION: return t.members.map((m) => m.type);
    case BtfKind.FUNC_PROTO: return [t.returnType, ...t.params.map((p) => p.type)];
    default: return [];
  }
}

/** The C integer type of `size` bytes. */
function intName(size: number, signed: boolean): string {
  const base = size === 1 ? "char" : size === 2 ? "short" : size === 8 ? "long long" : "int";
  return `${signed ? "signed" : "unsigned"} ${base}`;
}

/** An enumerator's value as a C literal of the enum's width. */
function cLiteral(v: bigint, size: number, signed: boolean): string {
  if (signed || v <= 0x7fffffffn) return v < -0x80000000n || v > 0x7fffffffn ? `${v}LL` : `${v}`;
  return size > 4 || v > 0xffffffffn ? `${v}ULL` : `${v}U`;
}
