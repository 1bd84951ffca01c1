// resolve_pseudo_ldimm64: before the program is walked, every ld_imm64 is checked and each map
// it names is looked up (in instruction order, which is the order of used_maps); every other
// instruction must be an opcode the kernel knows.
import { BPF_MAP_TYPE_ARRAY, Errno } from "@bpfkit/core";
import type { SimMap } from "../objects.js";
import type { LdImm64Aux } from "./do-check.js";
import { CLS, cls, LD_IMM64, opcodeInInsnTable, PSEUDO } from "./insn.js";
import type { Insn } from "./insn.js";

/** EPROTO: not in core's Errno table, which lists what map commands answer. */
const EPROTO = 71;
/** MAX_USED_MAPS */
const MAX_USED_MAPS = 64;
/** BPF_MAX_VAR_OFF: the largest offset into a map value an ld_imm64 may name. */
const MAX_VAR_OFF = 1 << 29;
const MODE_MEM = 0x60, MODE_MEMSX = 0x80;

export interface Resolved {
  usedMaps: SimMap[];
  ldImm64: Map<number, LdImm64Aux>;
}

/**
 * map_direct_value_addr: only ARRAY has it (array_map_direct_value_addr), for an array of one
 * element, up to its value size.
 */
function directValueAddr(m: SimMap, off: number): number {
  if (m.mapType !== BPF_MAP_TYPE_ARRAY) return Errno.EINVAL; // "no direct value access support"
  if (m.maxEntries !== 1) return Errno.ENOTSUPP;
  return off >= m.valueSize ? Errno.EINVAL : 0;
}

/** An errno, or the maps the program uses and what each ld_imm64 loads. */
export function resolvePseudoLdimm64(insns: readonly Insn[], resolveMap: (fd: number) => SimMap | number): number | Resolved {
  const usedMaps: SimMap[] = [];
  const ldImm64 = new Map<number, LdImm64Aux>();
  const n = insns.length;
  for (let i = 0; i < n; i++) {
    const insn = insns[i]!;
    if (cls(insn.code) === CLS.LDX && (((insn.code & 0xe0) !== MODE_MEM && (insn.code & 0xe0) !== MODE_MEMSX) || insn.imm !== 0)) {
      return Errno.EINVAL; // "BPF_LDX uses reserved fields"
    }
    if (insn.code !== LD_IMM64) {
      if (!opcodeInInsnTable(insn.code)) return Errno.EINVAL; // "unknown opcode"
      continue;
    }
    const second = insns[i + 1];
    if (second === undefined || second.code !== 0 || second.dst !== 0 || second.src !== 0 || second.off !== 0) {
      return Errno.EINVAL; // "invalid bpf_ld_imm64 insn"
    }
    i++;
    if (insn.src === 0) continue;
    const kind = insn.src;
    // A function's address (a callback): nothing to resolve; check_cfg and the walk take it on.
    if (kind === PSEUDO.FUNC) continue;
    // A map by fd or fd_array index keeps the second half's imm 0; BTF ids are not modelled
    // (they need the kernel's BTF).
    if (kind === PSEUDO.MAP_FD || kind === PSEUDO.MAP_IDX) {
      if (second.imm !== 0) return Errno.EINVAL;
    } else if (kind !== PSEUDO.MAP_VALUE && kind !== PSEUDO.MAP_IDX_VALUE) {
      return Errno.EINVAL;
    }
    // This API never passes an fd_array.
    if (kind === PSEUDO.MAP_IDX || kind === PSEUDO.MAP_IDX_VALUE) return EPROTO;
    const m = resolveMap(insn.imm);
    if (typeof m === "number") return -m;
    if (!usedMaps.includes(m)) {
      if (usedMaps.length >= MAX_USED_MAPS) return Errno.E2BIG;
      usedMaps.push(m);
    }
    let off = 0;
    if (kind === PSEUDO.MAP_VALUE) {
      off = second.imm >>> 0;
      if (off >= MAX_VAR_OFF) return Errno.EINVAL; // "direct value offset … is not allowed"
      const err = directValueAddr(m, off);
      if (err !== 0) return err;
    }
    ldImm64.set(i - 1, { map: m, off });
  }
  return { usedMaps, ldImm64 };
}
