// BPF_BTF_LOAD's checker: kernel/bpf/btf.c's btf_parse in its order — the header
// (btf_parse_hdr, btf_check_sec_info), the string section, each type's meta (btf_check_meta and
// the kind's check_meta), resolution of every type that refers to another (the DFS of
// btf_resolve with its loop and depth errors, member offsets against struct sizes), FUNC_PROTO
// arguments, and type-tag chains. The first failing check decides the errno, as on the kernel;
// the log says what the kernel's says, in its words where they matter for the length.
import { Errno } from "@bpfkit/core";
import type { BtfLog } from "./btf-log.js";
import {
  BTF_KIND, BtfData, KIND_STR, intBits, intEncoding, intIsRegular, intOffset, isArray, isDatasec, isDeclTag,
  isFunc, isFuncProto, isFwd, isInt, isModifier, isPtr, isStruct, isTypeTag, isVar, isVoid, noSize, typeIdSize,
} from "./btf-types.js";
import type { BtfType } from "./btf-types.js";

const HDR_SIZE = 24;
const BTF_MAGIC = 0xeb9f;
const BTF_MAX_TYPE = 0xfffff;
const BTF_MAX_NAME_OFFSET = 0xffffff;
const MAX_RESOLVE_DEPTH = 32;
/** KSYM_NAME_LEN: a name is at most 511 characters. */
const KSYM_NAME_LEN = 512;
const U32_MAX = 0xffffffff;

const NOT_VISITED = 0, VISITED = 1, RESOLVED = 2;
const RESOLVE_TBD = 0, RESOLVE_PTR = 1, RESOLVE_STRUCT_OR_ARRAY = 2;
const CHECK_META = 0, CHECK_TYPE = 1;

/** Resolution failed: the errno, carried up through the DFS. */
type Errnum = number;

interface Vertex {
  t: BtfType;
  id: number;
  nextMember: number;
}

/** lib/ctype.c's table above ASCII: Latin-1 letters count as alpha, 0xa0-0xff as printable. */
function isAlpha(c: number): boolean {
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  return c >= 0xc0 && c !== 0xd7 && c !== 0xf7;
}
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isPrint = (c: number) => (c >= 0x20 && c < 0x7f) || c >= 0xa0;
const nameCharOk = (c: number, first: boolean) => (first ? isAlpha(c) : isAlpha(c) || isDigit(c)) || c === 0x5f || c === 0x2e;

const roundupBytes = (bits: number) => Math.floor(bits / 8) + (bits % 8 !== 0 ? 1 : 0);
const sub32 = (a: number, b: number) => (a - b) >>> 0;

class Checker {
  private btf!: BtfData;
  private hdr = { magic: 0, version: 0, flags: 0, hdrLen: 0, typeOff: 0, typeLen: 0, strOff: 0, strLen: 0 };
  private logTypeId = 0;
  private phase = CHECK_META;
  private resolveMode = RESOLVE_TBD;
  private visit = new Uint8Array(0);
  private stack: Vertex[] = [];

  constructor(private readonly data: Uint8Array, private readonly log: BtfLog) {}

  // ------------------------------------------------------------------ logging (the kernel's formats)

  private say(text: string): void {
    this.log.write(text);
  }

  private details(t: BtfType): string {
    const b = this.btf;
    switch (t.kind) {
      case BTF_KIND.INT: {
        const w = b.word(t, 0);
        const enc = intEncoding(w);
        const encStr = enc === 0 ? "(none)" : enc === 1 ? "SIGNED" : enc === 2 ? "CHAR" : enc === 4 ? "BOOL" : "UNKN";
        return `size=${t.sizeType} bits_offset=${intOffset(w)} nr_bits=${intBits(w)} encoding=${encStr}`;
      }
      case BTF_KIND.ARRAY:
        return `type_id=${b.word(t, 0)} index_type_id=${b.word(t, 1)} nr_elems=${b.word(t, 2)}`;
      case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.ENUM: case BTF_KIND.ENUM64: case BTF_KIND.DATASEC:
        return `size=${t.sizeType} vlen=${t.vlen}`;
      case BTF_KIND.FWD:
        return t.kflag ? "union" : "struct";
      case BTF_KIND.FUNC_PROTO:
        return `return=${t.sizeType} args=(${this.protoArgs(t)})`;
      case BTF_KIND.VAR:
        return `type_id=${t.sizeType} linkage=${b.word(t, 0)}`;
      case BTF_KIND.FLOAT:
        return `size=${t.sizeType}`;
      case BTF_KIND.DECL_TAG:
        return `type=${t.sizeType} component_idx=${b.word(t, 0) | 0}`;
      default: // PTR, the modifiers, FUNC
        return `type_id=${t.sizeType}`;
    }
  }

  private protoArgs(t: BtfType): string {
    const n = t.vlen;
    if (n === 0) return "void";
    const arg = (i: number) => ({ name: this.btf.u32(t.at + 12 + 8 * i), type: this.btf.u32(t.at + 16 + 8 * i) });
    if (n === 1 && arg(0).type === 0) return "vararg";
    let s = `${arg(0).type} ${this.btf.nameOf(arg(0).name)}`;
    for (let i = 1; i < n - 1; i++) s += `, ${arg(i).type} ${this.btf.nameOf(arg(i).name)}`;
    if (n > 1) {
      const last = arg(n - 1);
      s += last.type !== 0 ? `, ${last.type} ${this.btf.nameOf(last.name)}` : ", vararg";
    }
    return s;
  }

  /** __btf_verifier_log_type: "[id] KIND name[ details][ msg]\n". */
  private logType(t: BtfType, msg: string | null, withDetails = true): void {
    if (!this.log.enabled) return;
    let s = `[${this.logTypeId}] ${KIND_STR[t.kind]} ${this.btf.nameOf(t.nameOff)}${withDetails ? " " : ""}`;
    if (withDetails) s += this.details(t);
    if (msg !== null && msg !== "") s += ` ${msg}`;
    this.say(`${s}\n`);
  }

  private logBasic(t: BtfType, msg: string): void {
    this.logType(t, msg, false);
  }

  /** btf_verifier_log_member: after the CHECK_META phase the struct's line first. */
  private logMember(st: BtfType, i: number, msg: string | null, typeOverride?: number): void {
    if (!this.log.enabled) return;
    if (this.phase !== CHECK_META) this.logType(st, null);
    const m = this.member(st, i);
    // A modifier's member check goes on with the member's type resolved, and logs that type.
    if (typeOverride !== undefined) m.type = typeOverride;
    let s = st.kflag
      ? `\t${this.btf.nameOf(m.name)} type_id=${m.type} bitfield_size=${m.offset >>> 24} bits_offset=${m.offset & 0xffffff}`
      : `\t${this.btf.nameOf(m.name)} type_id=${m.type} bits_offset=${m.offset}`;
    if (msg !== null && msg !== "") s += ` ${msg}`;
    this.say(`${s}\n`);
  }

  private logVsi(ds: BtfType, i: number, msg: string | null): void {
    if (!this.log.enabled) return;
    if (this.phase !== CHECK_META) this.logType(ds, null);
    const v = this.vsi(ds, i);
    let s = `\t type_id=${v.type} offset=${v.offset} size=${v.size}`;
    if (msg !== null && msg !== "") s += ` ${msg}`;
    this.say(`${s}\n`);
  }

  // ------------------------------------------------------------------ accessors

  private member(t: BtfType, i: number): { name: number; type: number; offset: number } {
    const at = t.at + 12 + 12 * i;
    return { name: this.btf.u32(at), type: this.btf.u32(at + 4), offset: this.btf.u32(at + 8) };
  }

  private vsi(t: BtfType, i: number): { type: number; offset: number; size: number } {
    const at = t.at + 12 + 12 * i;
    return { type: this.btf.u32(at), offset: this.btf.u32(at + 4), size: this.btf.u32(at + 8) };
  }

  private memberBitOffset(st: BtfType, offset: number): number {
    return st.kflag ? offset & 0xffffff : offset;
  }

  private nameOffsetValid(off: number): boolean {
    return off <= BTF_MAX_NAME_OFFSET && off < this.hdr.strLen;
  }

  private strBytes(off: number): Uint8Array {
    const start = this.btf.strStart + off;
    return this.data.subarray(start, this.btf.strStart + this.btf.strLen);
  }

  /** btf_name_valid_identifier: [A-Za-z_.][A-Za-z0-9_.]*, under KSYM_NAME_LEN. */
  private validIdentifier(off: number): boolean {
    const s = this.strBytes(off);
    if (!nameCharOk(s[0]!, true)) return false;
    let i = 1;
    for (; i < KSYM_NAME_LEN && s[i] !== 0; i++) if (!nameCharOk(s[i]!, false)) return false;
    return s[i] === 0;
  }

  /** btf_name_valid_section: printable, not empty, under KSYM_NAME_LEN. */
  private validSection(off: number): boolean {
    const s = this.strBytes(off);
    if (s[0] === 0) return false;
    let i = 0;
    for (; i < KSYM_NAME_LEN && s[i] !== 0; i++) if (!isPrint(s[i]!)) return false;
    return s[i] === 0;
  }

  // ------------------------------------------------------------------ header and sections

  private parseHdr(): number {
    const d = this.data;
    const size = d.length;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    if (size < 8) {
      this.say("hdr_len not found");
      return Errno.EINVAL;
    }
    const hdrLen = dv.getUint32(4, true);
    if (size < hdrLen) {
      this.say("btf_header not found");
      return Errno.EINVAL;
    }
    if (hdrLen > HDR_SIZE) {
      for (let i = HDR_SIZE; i < hdrLen; i++) {
        if (d[i] !== 0) {
          this.say("Unsupported btf_header");
          return Errno.E2BIG;
        }
      }
    }
    const copy = new Uint8Array(HDR_SIZE);
    copy.set(d.subarray(0, Math.min(hdrLen, HDR_SIZE)));
    const hv = new DataView(copy.buffer);
    const h = this.hdr;
    h.magic = hv.getUint16(0, true);
    h.version = copy[2]!;
    h.flags = copy[3]!;
    h.hdrLen = hv.getUint32(4, true);
    h.typeOff = hv.getUint32(8, true);
    h.typeLen = hv.getUint32(12, true);
    h.strOff = hv.getUint32(16, true);
    h.strLen = hv.getUint32(20, true);
    this.say(`magic: 0x${h.magic.toString(16)}\nversion: ${h.version}\nflags: 0x${h.flags.toString(16)}\nhdr_len: ${h.hdrLen}\n` +
      `type_off: ${h.typeOff}\ntype_len: ${h.typeLen}\nstr_off: ${h.strOff}\nstr_len: ${h.strLen}\nbtf_total_size: ${size}\n`);
    if (h.magic !== BTF_MAGIC) {
      this.say("Invalid magic");
      return Errno.EINVAL;
    }
    if (h.version !== 1) {
      this.say("Unsupported version");
      return Errno.ENOTSUPP;
    }
    if (h.flags !== 0) {
      this.say("Unsupported flags");
      return Errno.ENOTSUPP;
    }
    if (size === h.hdrLen) {
      this.say("No data");
      return Errno.EINVAL;
    }
    return this.checkSecInfo(size);
  }

  /** btf_check_sec_info: the two sections, sorted by offset, tile what follows the header. */
  private checkSecInfo(size: number): number {
    const h = this.hdr;
    const secs = [{ off: h.typeOff, len: h.typeLen }, { off: h.strOff, len: h.strLen }];
    // btf_sec_info_cmp compares (int)(x - y): offsets then lengths, as signed differences.
    const cmp = (x: number, y: number) => ((x - y) | 0);
    secs.sort((a, b) => cmp(a.off, b.off) || cmp(a.len, b.len));
    let total = 0;
    const expected = sub32(size, h.hdrLen);
    for (const s of secs) {
      if (expected < s.off) {
        this.say("Invalid section offset");
        return Errno.EINVAL;
      }
      if (total < s.off) {
        this.say("Unsupported section found");
        return Errno.EINVAL;
      }
      if (total > s.off) {
        this.say("Section overlap found");
        return Errno.EINVAL;
      }
      if (expected - total < s.len) {
        this.say("Total section length too long");
        return Errno.EINVAL;
      }
      total += s.len;
    }
    if (expected !== total) {
      this.say("Unsupported section found");
      return Errno.EINVAL;
    }
    return 0;
  }

  private parseStrSec(): number {
    const h = this.hdr;
    const start = h.hdrLen + h.strOff;
    if (start + h.strLen !== this.data.length) {
      this.say("String section is not at the end");
      return Errno.EINVAL;
    }
    if (h.strLen === 0 || h.strLen - 1 > BTF_MAX_NAME_OFFSET || this.data[start + h.strLen - 1] !== 0 || this.data[start] !== 0) {
      this.say("Invalid string section");
      return Errno.EINVAL;
    }
    this.btf = new BtfData(this.data, start, h.strLen);
    return 0;
  }

  // ------------------------------------------------------------------ CHECK_META

  private checkAllMetas(): number {
    const h = this.hdr;
    let cur = h.hdrLen + h.typeOff;
    const end = cur + h.typeLen;
    this.logTypeId = 1;
    while (cur < end) {
      const n = this.checkMeta(cur, end - cur);
      if (n < 0) return -n;
      cur += n;
      this.logTypeId++;
    }
    return 0;
  }

  /** btf_check_meta: the common words, then the kind's check; the bytes taken, or -errno. */
  private checkMeta(at: number, left: number): number {
    const b = this.btf;
    if (left < 12) {
      this.say(`[${this.logTypeId}] meta_left:${left} meta_needed:12`);
      return -Errno.EINVAL;
    }
    const info = b.u32(at + 4);
    if ((info & ~0x9f00ffff) !== 0) {
      this.say(`[${this.logTypeId}] Invalid btf_info:${info.toString(16)}`);
      return -Errno.EINVAL;
    }
    const kind = (info >>> 24) & 0x1f;
    if (kind > BTF_KIND.ENUM64 || kind === 0) {
      this.say(`[${this.logTypeId}] Invalid kind:${kind}`);
      return -Errno.EINVAL;
    }
    const nameOff = b.u32(at);
    if (!this.nameOffsetValid(nameOff)) {
      this.say(`[${this.logTypeId}] Invalid name_offset:${nameOff}`);
      return -Errno.EINVAL;
    }
    const t: BtfType = { at, nameOff, info, kind, vlen: info & 0xffff, kflag: (info >>> 31) === 1, sizeType: b.u32(at + 8) };
    const extra = this.kindMeta(t, left - 12);
    if (extra < 0) return extra;
    this.addType(t);
    return 12 + extra;
  }

  /**
   * btf_add_type: the table holds BTF_MAX_TYPE entries, void's among them, so ids up to 0xffffe.
   * A type past it is logged (without a newline) and dropped, and btf_check_all_metas goes on
   * regardless: the load succeeds unless something refers to a dropped type (Invalid type_id).
   */
  private addType(t: BtfType): void {
    const b = this.btf;
    if (b.types.length === BTF_MAX_TYPE) this.say("Exceeded max num of types");
    else b.types.push(t);
  }

  private metaShort(t: BtfType, left: number, needed: number): boolean {
    if (left >= needed) return false;
    this.logBasic(t, `meta_left:${left} meta_needed:${needed}`);
    return true;
  }

  private kindMeta(t: BtfType, left: number): number {
    const b = this.btf;
    const E = -Errno.EINVAL;
    const fail = (msg: string) => {
      this.logType(t, msg);
      return E;
    };
    switch (t.kind) {
      case BTF_KIND.INT: {
        if (this.metaShort(t, left, 4)) return E;
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        const w = b.word(t, 0);
        if ((w & ~0x0fffffff) !== 0) {
          this.logBasic(t, `Invalid int_data:${w.toString(16)}`);
          return E;
        }
        const bits = intBits(w) + intOffset(w);
        if (bits > 128) return fail("nr_bits exceeds 128");
        if (roundupBytes(bits) > t.sizeType) return fail("nr_bits exceeds type_size");
        const enc = intEncoding(w);
        if (enc !== 0 && enc !== 1 && enc !== 2 && enc !== 4) {
          this.logType(t, "Unsupported encoding");
          return -Errno.ENOTSUPP;
        }
        this.logType(t, null);
        return 4;
      }
      case BTF_KIND.PTR: case BTF_KIND.TYPEDEF: case BTF_KIND.VOLATILE: case BTF_KIND.CONST: case BTF_KIND.RESTRICT:
      case BTF_KIND.TYPE_TAG: {
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.kflag && !isTypeTag(t)) return fail("Invalid btf_info kind_flag");
        if (t.sizeType > BTF_MAX_TYPE) return fail("Invalid type_id");
        if (t.kind === BTF_KIND.TYPEDEF) {
          if (t.nameOff === 0 || !this.validIdentifier(t.nameOff)) return fail("Invalid name");
        } else if (t.kind === BTF_KIND.TYPE_TAG) {
          if (b.str(t.nameOff) === "") return fail("Invalid name");
        } else if (t.nameOff !== 0) {
          return fail("Invalid name");
        }
        this.logType(t, null);
        return 0;
      }
      case BTF_KIND.ARRAY: {
        if (this.metaShort(t, left, 12)) return E;
        if (t.nameOff !== 0) return fail("Invalid name");
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        if (t.sizeType !== 0) return fail("size != 0");
        const elem = b.word(t, 0), index = b.word(t, 1);
        if (elem === 0 || elem > BTF_MAX_TYPE) return fail("Invalid elem");
        if (index === 0 || index > BTF_MAX_TYPE) return fail("Invalid index");
        this.logType(t, null);
        return 12;
      }
      case BTF_KIND.STRUCT: case BTF_KIND.UNION:
        return this.structMeta(t, left);
      case BTF_KIND.ENUM: case BTF_KIND.ENUM64:
        return this.enumMeta(t, left);
      case BTF_KIND.FWD: {
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.sizeType !== 0) return fail("type != 0");
        if (t.nameOff === 0 || !this.validIdentifier(t.nameOff)) return fail("Invalid name");
        this.logType(t, null);
        return 0;
      }
      case BTF_KIND.FUNC: {
        if (t.nameOff === 0 || !this.validIdentifier(t.nameOff)) return fail("Invalid name");
        if (t.vlen > 1) return fail("Invalid func linkage"); // past BTF_FUNC_GLOBAL: extern is refused
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        this.logType(t, null);
        return 0;
      }
      case BTF_KIND.FUNC_PROTO: {
        const needed = t.vlen * 8;
        if (this.metaShort(t, left, needed)) return E;
        if (t.nameOff !== 0) return fail("Invalid name");
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        this.logType(t, null);
        return needed;
      }
      case BTF_KIND.VAR: {
        if (this.metaShort(t, left, 4)) return E;
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        if (t.nameOff === 0 || !this.validIdentifier(t.nameOff)) return fail("Invalid name");
        if (t.sizeType === 0 || t.sizeType > BTF_MAX_TYPE) return fail("Invalid type_id");
        const linkage = b.word(t, 0);
        if (linkage !== 0 && linkage !== 1) return fail("Linkage not supported"); // STATIC, GLOBAL_ALLOCATED
        this.logType(t, null);
        return 4;
      }
      case BTF_KIND.DATASEC:
        return this.datasecMeta(t, left);
      case BTF_KIND.FLOAT: {
        if (t.vlen !== 0) return fail("vlen != 0");
        if (t.kflag) return fail("Invalid btf_info kind_flag");
        const s = t.sizeType;
        if (s !== 2 && s !== 4 && s !== 8 && s !== 12 && s !== 16) return fail("Invalid type_size");
        this.logType(t, null);
        return 0;
      }
      case BTF_KIND.DECL_TAG: {
        if (this.metaShort(t, left, 4)) return E;
        const value = b.str(t.nameOff);
        if (value === null || value === "") return fail("Invalid value");
        if (t.vlen !== 0) return fail("vlen != 0");
        if ((b.word(t, 0) | 0) < -1) return fail("Invalid component_idx");
        this.logType(t, null);
        return 4;
      }
      default:
        return E;
    }
  }

  private structMeta(t: BtfType, left: number): number {
    const needed = t.vlen * 12;
    if (this.metaShort(t, left, needed)) return -Errno.EINVAL;
    if (t.nameOff !== 0 && !this.validIdentifier(t.nameOff)) {
      this.logType(t, "Invalid name");
      return -Errno.EINVAL;
    }
    this.logType(t, null);
    const isUnion = t.kind === BTF_KIND.UNION;
    let last = 0;
    for (let i = 0; i < t.vlen; i++) {
      const m = this.member(t, i);
      const bad = (msg: string) => {
        this.logMember(t, i, msg);
        return -Errno.EINVAL;
      };
      if (!this.nameOffsetValid(m.name)) return bad(`Invalid member name_offset:${m.name}`);
      if (m.name !== 0 && !this.validIdentifier(m.name)) return bad("Invalid name");
      if (m.type === 0 || m.type > BTF_MAX_TYPE) return bad("Invalid type_id");
      const off = this.memberBitOffset(t, m.offset);
      if (isUnion && off !== 0) return bad("Invalid member bits_offset");
      if (last > off) return bad("Invalid member bits_offset");
      if (roundupBytes(off) > t.sizeType) return bad("Member bits_offset exceeds its struct size");
      this.logMember(t, i, null);
      last = off;
    }
    return needed;
  }

  private enumMeta(t: BtfType, left: number): number {
    const is64 = t.kind === BTF_KIND.ENUM64;
    const rec = is64 ? 12 : 8;
    const needed = t.vlen * rec;
    if (this.metaShort(t, left, needed)) return -Errno.EINVAL;
    const s = t.sizeType;
    if (s > 8 || s === 0 || (s & (s - 1)) !== 0) {
      this.logType(t, "Unexpected size");
      return -Errno.EINVAL;
    }
    if (t.nameOff !== 0 && !this.validIdentifier(t.nameOff)) {
      this.logType(t, "Invalid name");
      return -Errno.EINVAL;
    }
    this.logType(t, null);
    for (let i = 0; i < t.vlen; i++) {
      const at = t.at + 12 + rec * i;
      const name = this.btf.u32(at);
      if (!this.nameOffsetValid(name)) {
        this.say(`\tInvalid name_offset:${name}`);
        return -Errno.EINVAL;
      }
      if (name === 0 || !this.validIdentifier(name)) {
        this.logType(t, "Invalid name");
        return -Errno.EINVAL;
      }
      let val: string;
      if (is64) {
        const v = (BigInt(this.btf.u32(at + 8)) << 32n) | BigInt(this.btf.u32(at + 4));
        val = (t.kflag ? BigInt.asIntN(64, v) : v).toString();
      } else {
        const v = this.btf.u32(at + 4);
        val = String(t.kflag ? v | 0 : v);
      }
      this.say(`\t${this.btf.nameOf(name)} val=${val}\n`);
    }
    return needed;
  }

  private datasecMeta(t: BtfType, left: number): number {
    const needed = t.vlen * 12;
    if (this.metaShort(t, left, needed)) return -Errno.EINVAL;
    const fail = (msg: string) => {
      this.logType(t, msg);
      return -Errno.EINVAL;
    };
    if (t.sizeType === 0) return fail("size == 0");
    if (t.kflag) return fail("Invalid btf_info kind_flag");
    if (t.nameOff === 0 || !this.validSection(t.nameOff)) return fail("Invalid name");
    this.logType(t, null);
    let lastEnd = 0, sum = 0;
    for (let i = 0; i < t.vlen; i++) {
      const v = this.vsi(t, i);
      const bad = (msg: string) => {
        this.logVsi(t, i, msg);
        return -Errno.EINVAL;
      };
      if (v.type === 0 || v.type > BTF_MAX_TYPE) return bad("Invalid type_id");
      if (v.offset < lastEnd || v.offset >= t.sizeType) return bad("Invalid offset");
      if (v.size === 0 || v.size > t.sizeType) return bad("Invalid size");
      // u32 arithmetic, as the kernel's: an end past 4 GiB wraps and passes; the sum does not.
      lastEnd = (v.offset + v.size) >>> 0;
      if (lastEnd > t.sizeType) return bad("Invalid offset+size");
      this.logVsi(t, i, null);
      sum += v.size;
    }
    if (t.sizeType < sum) return fail("Invalid btf_info size");
    return needed;
  }

  // ------------------------------------------------------------------ resolution (CHECK_TYPE)

  private needsResolve(t: BtfType): boolean {
    return isModifier(t) || isPtr(t) || isStruct(t) || isArray(t) || isVar(t) || isFunc(t) || isDeclTag(t) || isDatasec(t);
  }

  private sourceOnly(t: BtfType): boolean {
    return isVar(t) || isDeclTag(t) || isDatasec(t);
  }

  private isSink(next: BtfType): boolean {
    switch (this.resolveMode) {
      case RESOLVE_TBD: return !this.needsResolve(next);
      case RESOLVE_PTR: return !isModifier(next) && !isPtr(next);
      default: return !isModifier(next) && !isArray(next) && !isStruct(next);
    }
  }

  private isResolved(id: number): boolean {
    return this.visit[id] === RESOLVED;
  }

  /** env_stack_push: E2BIG past MAX_RESOLVE_DEPTH, EEXIST for a type already on the path (a loop). */
  private push(t: BtfType, id: number): Errnum {
    if (this.stack.length === MAX_RESOLVE_DEPTH) return Errno.E2BIG;
    if (this.visit[id] !== NOT_VISITED) return Errno.EEXIST;
    this.visit[id] = VISITED;
    this.stack.push({ t, id, nextMember: 0 });
    if (this.resolveMode === RESOLVE_TBD) {
      if (isPtr(t)) this.resolveMode = RESOLVE_PTR;
      else if (isStruct(t) || isArray(t)) this.resolveMode = RESOLVE_STRUCT_OR_ARRAY;
    }
    return 0;
  }

  private popResolved(resolvedId: number, size: number): void {
    const v = this.stack.pop()!;
    this.btf.resolvedSizes[v.id] = size >>> 0;
    this.btf.resolvedIds[v.id] = resolvedId;
    this.visit[v.id] = RESOLVED;
  }

  /** btf_type_id_resolve. */
  private idResolve(id: number): { t: BtfType | null; id: number } {
    const rid = this.btf.resolvedIds[id]!;
    return { t: this.btf.byId(rid), id: rid };
  }

  private resolveOne(v: Vertex): Errnum {
    const t = v.t;
    switch (t.kind) {
      case BTF_KIND.TYPEDEF: case BTF_KIND.VOLATILE: case BTF_KIND.CONST: case BTF_KIND.RESTRICT: case BTF_KIND.TYPE_TAG:
        return this.refResolve(v, "modifier");
      case BTF_KIND.PTR:
        return this.refResolve(v, "ptr");
      case BTF_KIND.VAR:
        return this.refResolve(v, "var");
      case BTF_KIND.ARRAY:
        return this.arrayResolve(v);
      case BTF_KIND.STRUCT: case BTF_KIND.UNION:
        return this.structResolve(v);
      case BTF_KIND.DATASEC:
        return this.datasecResolve(v);
      case BTF_KIND.FUNC: {
        const err = this.funcCheck(t);
        if (err !== 0) return err;
        this.popResolved(t.sizeType, 0);
        return 0;
      }
      case BTF_KIND.DECL_TAG:
        return this.declTagResolve(v);
      default:
        this.logBasic(t, "Unsupported resolve");
        return Errno.EINVAL;
    }
  }

  /** btf_modifier_resolve, btf_ptr_resolve, btf_var_resolve: they differ in the end only. */
  private refResolve(v: Vertex, which: "modifier" | "ptr" | "var"): Errnum {
    const t = v.t;
    let nextId = t.sizeType;
    let next = this.btf.byId(nextId);
    if (next === null || this.sourceOnly(next)) {
      this.logType(t, "Invalid type_id");
      return Errno.EINVAL;
    }
    if (!this.isSink(next) && !this.isResolved(nextId)) return this.push(next, nextId);
    if (which !== "modifier" && isModifier(next)) {
      // A modifier resolved under RESOLVE_STRUCT_OR_ARRAY may stop at a pointer: go on from it.
      const r = this.idResolve(nextId);
      if (r.t !== null && isPtr(r.t) && !this.isSink(r.t) && !this.isResolved(r.id)) return this.push(r.t, r.id);
    }
    const sized = typeIdSize(this.btf, nextId);
    if (sized === null) {
      if (which === "var") {
        this.logType(t, "Invalid type_id");
        return Errno.EINVAL;
      }
      if (this.isResolved(nextId)) {
        const r = this.idResolve(nextId);
        nextId = r.id;
        next = r.t;
      }
      // "typedef void new_void", "const void", pointers to FWD or to a FUNC_PROTO.
      if (next === null || (!isVoid(next) && !isFwd(next) && !isFuncProto(next))) {
        this.logType(t, "Invalid type_id");
        return Errno.EINVAL;
      }
    } else {
      nextId = sized.id;
    }
    this.popResolved(nextId, 0);
    return 0;
  }

  private arrayResolve(v: Vertex): Errnum {
    const t = v.t;
    const b = this.btf;
    const fail = (msg: string) => {
      this.logType(t, msg);
      return Errno.EINVAL;
    };
    const indexId = b.word(t, 1);
    const index = b.byId(indexId);
    if (noSize(index) || this.sourceOnly(index!)) return fail("Invalid index");
    if (!this.isSink(index!) && !this.isResolved(indexId)) return this.push(index!, indexId);
    const idx = typeIdSize(b, indexId);
    if (idx === null || !isInt(idx.t) || !intIsRegular(b, idx.t)) return fail("Invalid index");
    const elemId = b.word(t, 0);
    const elem = b.byId(elemId);
    if (noSize(elem) || this.sourceOnly(elem!)) return fail("Invalid elem");
    if (!this.isSink(elem!) && !this.isResolved(elemId)) return this.push(elem!, elemId);
    const el = typeIdSize(b, elemId);
    if (el === null) return fail("Invalid elem");
    if (isInt(el.t) && !intIsRegular(b, el.t)) return fail("Invalid array of int");
    const nelems = b.word(t, 2);
    if (nelems !== 0 && el.size > Math.floor(U32_MAX / nelems)) return fail("Array size overflows U32_MAX");
    this.popResolved(el.id, el.size * nelems);
    return 0;
  }

  private structResolve(v: Vertex): Errnum {
    const t = v.t;
    if (v.nextMember !== 0) {
      // The member pushed last is resolved now: check it against the struct.
      const m = this.member(t, v.nextMember - 1);
      const lastId = m.type & 0xffff; // u16 last_member_type_id, as the kernel declares it
      if (!this.isResolved(lastId)) return Errno.EINVAL;
      const err = this.checkMember(t, v.nextMember - 1, this.btf.byId(lastId)!, m.type, t.kflag);
      if (err !== 0) return err;
    }
    for (let i = v.nextMember; i < t.vlen; i++) {
      const m = this.member(t, i);
      const mt = this.btf.byId(m.type);
      if (noSize(mt) || this.sourceOnly(mt!)) {
        this.logMember(t, i, "Invalid member");
        return Errno.EINVAL;
      }
      if (!this.isSink(mt!) && !this.isResolved(m.type)) {
        v.nextMember = i + 1;
        return this.push(mt!, m.type);
      }
      const err = this.checkMember(t, i, mt!, m.type, t.kflag);
      if (err !== 0) return err;
    }
    this.popResolved(0, 0);
    return 0;
  }

  /** The member type's check_member (or check_kflag_member when the struct has kind_flag). */
  private checkMember(st: BtfType, i: number, mt: BtfType, mtId: number, kflag: boolean, resolvedFrom = false): Errnum {
    const m = this.member(st, i);
    const bad = (msg: string) => {
      this.logMember(st, i, msg, resolvedFrom ? mtId : undefined);
      return Errno.EINVAL;
    };
    const size = st.sizeType;
    if (isModifier(mt)) {
      const r = typeIdSize(this.btf, mtId);
      if (r === null) return bad("Invalid member");
      return this.checkMember(st, i, r.t, r.id, kflag, true);
    }
    switch (mt.kind) {
      case BTF_KIND.INT: {
        const w = this.btf.word(mt, 0);
        if (!kflag) {
          let off = m.offset;
          if (U32_MAX - off < intOffset(w)) return bad("bits_offset exceeds U32_MAX");
          off += intOffset(w);
          const bytesOff = Math.floor(off / 8);
          const copyBits = intBits(w) + (off % 8);
          if (copyBits > 128) return bad("nr_copy_bits exceeds 128");
          if (size < bytesOff || size - bytesOff < roundupBytes(copyBits)) return bad("Member exceeds struct_size");
          return 0;
        }
        if (!intIsRegular(this.btf, mt)) return bad("Invalid member base type");
        let bits = m.offset >>> 24;
        const off = m.offset & 0xffffff;
        if (bits === 0) {
          if (off % 8 !== 0) return bad("Invalid member offset");
          bits = intBits(w);
        } else if (bits > intBits(w)) {
          return bad("Invalid member bitfield_size");
        }
        const bytesOff = Math.floor(off / 8);
        const copyBits = bits + (off % 8);
        if (copyBits > 128) return bad("nr_copy_bits exceeds 128");
        if (size < bytesOff || size - bytesOff < roundupBytes(copyBits)) return bad("Member exceeds struct_size");
        return 0;
      }
      case BTF_KIND.ENUM: case BTF_KIND.ENUM64: {
        if (!kflag) {
          if (m.offset % 8 !== 0) return bad("Member is not byte aligned");
          if (sub32(size, Math.floor(m.offset / 8)) < mt.sizeType) return bad("Member exceeds struct_size");
          return 0;
        }
        const off = m.offset & 0xffffff;
        let bits = m.offset >>> 24;
        if (bits === 0) {
          if (off % 8 !== 0) return bad("Member is not byte aligned");
          bits = 32; // sizeof(int) * BITS_PER_BYTE, even for ENUM64
        } else if (bits > 32) {
          return bad("Invalid member bitfield_size");
        }
        if (size < roundupBytes(off + bits)) return bad("Member exceeds struct_size");
        return 0;
      }
      case BTF_KIND.PTR: case BTF_KIND.ARRAY: case BTF_KIND.STRUCT: case BTF_KIND.UNION: case BTF_KIND.FLOAT: {
        // btf_generic_check_kflag_member: no bitfield, then the plain check on the offset.
        if (kflag && m.offset >>> 24 !== 0) return bad("Invalid member bitfield_size");
        const off = kflag ? m.offset & 0xffffff : m.offset;
        if (mt.kind === BTF_KIND.FLOAT) {
          const alignBits = Math.min(8, mt.sizeType) * 8;
          if (off % alignBits !== 0) return bad("Member is not properly aligned");
          if (Math.floor(off / 8) + mt.sizeType > size) return bad("Member exceeds struct_size");
          return 0;
        }
        if (off % 8 !== 0) return bad("Member is not byte aligned");
        const memberSize = mt.kind === BTF_KIND.PTR ? 8 : mt.kind === BTF_KIND.ARRAY ? (typeIdSize(this.btf, mtId)?.size ?? 0) : mt.sizeType;
        if (sub32(size, Math.floor(off / 8)) < memberSize) return bad("Member exceeds struct_size");
        return 0;
      }
      default:
        this.logBasic(st, kflag ? "Unsupported check_kflag_member" : "Unsupported check_member");
        return Errno.EINVAL;
    }
  }

  private datasecResolve(v: Vertex): Errnum {
    const t = v.t;
    this.resolveMode = RESOLVE_TBD;
    for (let i = v.nextMember; i < t.vlen; i++) {
      const s = this.vsi(t, i);
      const vt = this.btf.byId(s.type);
      if (vt === null || !isVar(vt)) {
        this.logVsi(t, i, "Not a VAR kind member");
        return Errno.EINVAL;
      }
      if (!this.isSink(vt) && !this.isResolved(s.type)) {
        v.nextMember = i + 1;
        return this.push(vt, s.type);
      }
      const r = typeIdSize(this.btf, vt.sizeType);
      if (r === null) {
        this.logVsi(t, i, "Invalid type");
        return Errno.EINVAL;
      }
      if (s.size < r.size) {
        this.logVsi(t, i, "Invalid size");
        return Errno.EINVAL;
      }
    }
    this.popResolved(0, 0);
    return 0;
  }

  private declTagResolve(v: Vertex): Errnum {
    const t = v.t;
    const nextId = t.sizeType;
    let next = this.btf.byId(nextId);
    if (next === null || !(isFunc(next) || isStruct(next) || isVar(next) || next.kind === BTF_KIND.TYPEDEF)) {
      this.logType(t, "Invalid type_id");
      return Errno.EINVAL;
    }
    if (!this.isSink(next) && !this.isResolved(nextId)) return this.push(next, nextId);
    const idx = this.btf.word(t, 0) | 0;
    if (idx !== -1) {
      if (isVar(next) || next.kind === BTF_KIND.TYPEDEF) {
        this.logType(t, "Invalid component_idx");
        return Errno.EINVAL;
      }
      let vlen: number;
      if (isStruct(next)) {
        vlen = next.vlen;
      } else {
        next = this.btf.byId(next.sizeType);
        vlen = next === null ? 0 : next.vlen;
      }
      if (idx >= vlen) {
        this.logType(t, "Invalid component_idx");
        return Errno.EINVAL;
      }
    }
    this.popResolved(nextId, 0);
    return 0;
  }

  /** btf_func_check: a FUNC's type is a FUNC_PROTO whose named arguments all have names. */
  private funcCheck(t: BtfType): Errnum {
    const proto = this.btf.byId(t.sizeType);
    if (proto === null || !isFuncProto(proto)) {
      this.logType(t, "Invalid type_id");
      return Errno.EINVAL;
    }
    for (let i = 0; i < proto.vlen; i++) {
      const name = this.btf.u32(proto.at + 12 + 8 * i), type = this.btf.u32(proto.at + 16 + 8 * i);
      if (name === 0 && type !== 0) {
        this.logType(t, `Invalid arg#${i + 1}`);
        return Errno.EINVAL;
      }
    }
    return 0;
  }

  /** btf_resolve: the DFS from one type, then the final sanity check of what it recorded. */
  private resolve(t: BtfType, id: number): Errnum {
    const saved = this.logTypeId;
    let err = 0;
    this.resolveMode = RESOLVE_TBD;
    this.push(t, id);
    while (err === 0 && this.stack.length > 0) {
      const v = this.stack[this.stack.length - 1]!;
      this.logTypeId = v.id;
      err = this.resolveOne(v);
    }
    this.logTypeId = id;
    if (err === Errno.E2BIG) this.logType(t, `Exceeded max resolving depth:${MAX_RESOLVE_DEPTH}`);
    else if (err === Errno.EEXIST) this.logType(t, "Loop detected");
    if (err === 0 && !this.resolveValid(t, id)) {
      this.logType(t, "Invalid resolve state");
      err = Errno.EINVAL;
    }
    this.logTypeId = saved;
    return err;
  }

  private resolveValid(t: BtfType, id: number): boolean {
    const b = this.btf;
    if (!this.isResolved(id)) return false;
    if (isStruct(t) || isDatasec(t)) return b.resolvedIds[id] === 0 && b.resolvedSizes[id] === 0;
    if (isDeclTag(t) || isFunc(t)) return b.resolvedIds[id] !== 0 && b.resolvedSizes[id] === 0;
    if (isModifier(t) || isPtr(t) || isVar(t)) {
      const r = this.idResolve(id);
      return r.t !== null && !isModifier(r.t) && !isVar(r.t) && !isDatasec(r.t);
    }
    if (isArray(t)) {
      const el = typeIdSize(b, b.word(t, 0));
      return el !== null && !isModifier(el.t) && ((b.word(t, 2) * el.size) >>> 0) === b.resolvedSizes[id];
    }
    return false;
  }

  /** btf_func_proto_check: the return type and each argument resolve to something with a size. */
  private funcProtoCheck(t: BtfType): Errnum {
    const b = this.btf;
    const fail = (msg: string) => {
      this.logType(t, msg);
      return Errno.EINVAL;
    };
    if (t.sizeType !== 0) {
      const retId = t.sizeType;
      const ret = b.byId(retId);
      if (ret === null || this.sourceOnly(ret)) return fail("Invalid return type");
      if (this.needsResolve(ret) && !this.isResolved(retId)) {
        const err = this.resolve(ret, retId);
        if (err !== 0) return err;
      }
      if (typeIdSize(b, retId) === null) return fail("Invalid return type");
    }
    let n = t.vlen;
    if (n === 0) return 0;
    const argAt = (i: number) => t.at + 12 + 8 * i;
    if (b.u32(argAt(n - 1) + 4) === 0) {
      if (b.u32(argAt(n - 1)) !== 0) return fail(`Invalid arg#${n}`);
      n--;
    }
    for (let i = 0; i < n; i++) {
      const name = b.u32(argAt(i)), typeId = b.u32(argAt(i) + 4);
      const at = b.byId(typeId);
      if (at === null || this.sourceOnly(at)) return fail(`Invalid arg#${i + 1}`);
      if (name !== 0 && (!this.nameOffsetValid(name) || !this.validIdentifier(name))) return fail(`Invalid arg#${i + 1}`);
      if (this.needsResolve(at) && !this.isResolved(typeId)) {
        const err = this.resolve(at, typeId);
        if (err !== 0) return err;
      }
      if (typeIdSize(b, typeId) === null) return fail(`Invalid arg#${i + 1}`);
    }
    return 0;
  }

  private checkAllTypes(): number {
    const b = this.btf;
    const n = b.types.length;
    b.resolvedIds = new Uint32Array(n);
    b.resolvedSizes = new Uint32Array(n);
    this.visit = new Uint8Array(n);
    this.phase = CHECK_TYPE;
    for (let id = 1; id < n; id++) {
      const t = b.types[id]!;
      this.logTypeId = id;
      if (this.needsResolve(t) && !this.isResolved(id)) {
        const err = this.resolve(t, id);
        if (err !== 0) return err;
      }
      if (isFuncProto(t)) {
        const err = this.funcProtoCheck(t);
        if (err !== 0) return err;
      }
    }
    return 0;
  }

  private parseTypeSec(): number {
    const h = this.hdr;
    if ((h.typeOff & 3) !== 0) {
      this.say("Unaligned type_off");
      return Errno.EINVAL;
    }
    if (h.typeLen === 0) {
      this.say("No type found");
      return Errno.EINVAL;
    }
    const err = this.checkAllMetas();
    if (err !== 0) return err;
    return this.checkAllTypes();
  }

  /** btf_check_type_tags: in a modifier chain, type tags come first; chains are at most 32 long. */
  private checkTypeTags(): number {
    const b = this.btf;
    let good = 0;
    for (let i = 1; i < b.types.length; i++) {
      let t = b.types[i]!;
      if (!isModifier(t)) continue;
      let limit = 32;
      let cur = i;
      let inTags = isTypeTag(t);
      while (isModifier(t)) {
        if (limit-- === 0) {
          this.say("Max chain length or cycle detected");
          return Errno.ELOOP;
        }
        if (isTypeTag(t)) {
          if (!inTags) {
            this.say("Type tags don't precede modifiers");
            return Errno.EINVAL;
          }
        } else {
          inTags = false;
        }
        if (cur <= good) break;
        cur = t.sizeType;
        const next = b.byId(cur);
        if (next === null) return Errno.EINVAL;
        t = next;
      }
      good = i;
    }
    return 0;
  }

  run(): { errno: number; btf: BtfData | null } {
    let err = this.parseHdr();
    if (err === 0) err = this.parseStrSec();
    if (err === 0) err = this.parseTypeSec();
    if (err === 0) err = this.checkTypeTags();
    return { errno: err, btf: err === 0 ? this.btf : null };
  }
}

/**
 * Checks raw BTF as btf_parse does (everything after the attr checks): the parsed BTF, or the
 * errno of the first check that fails, with the log written either way.
 */
export function checkBtf(data: Uint8Array, log: BtfLog): { errno: number; btf: BtfData | null } {
  return new Checker(data, log).run();
}


