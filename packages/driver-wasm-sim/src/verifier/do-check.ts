// do_check: the verifier's walk over every path of the program, in the kernel's order (the
// fall-through first, branches from a stack), with its value tracking, precision marks and
// state pruning, so that the instructions it processes — verified_insns — and the ones it
// never reaches are the kernel's.
import { Errno } from "@bpfkit/core";
import type { SimMap } from "../objects.js";
import { checkAluOp, checkRegRead, checkRegWrite } from "./alu.js";
import type { AluEnv } from "./alu.js";
import { isBranchTaken, regSetMinMax } from "./branch.js";
import type { Cfg } from "./cfg.js";
import { CLS, cls, isX, JOP, jumpOff, LD_IMM64, op, PSEUDO } from "./insn.js";
import type { Insn } from "./insn.js";
import { markChainPrecision } from "./precision.js";
import {
  addConstBits, baseId, BPF_ADD_CONST32, BPF_ADD_CONST64, clearScalarId, CONST_PTR_TO_MAP, copyReg, markKnown,
  markKnownZero, newReg, PTR_TO_CTX, PTR_TO_MAP_VALUE, PTR_TO_STACK, regBoundsSync, SCALAR, u64, zext32To64,
} from "./reg.js";
import type { Reg } from "./reg.js";
import { scalarAddConst } from "./scalar-alu.js";
import { isStateVisited } from "./states.js";
import type { PruneEnv } from "./states.js";
import { copyState, initialState, INSN_F_DST_REG_STACK, INSN_F_SRC_REG_STACK } from "./state.js";
import type { VState } from "./state.js";
import { tnumIn, tnumRange } from "./tnum.js";

/** BPF_COMPLEXITY_LIMIT_INSNS and BPF_COMPLEXITY_LIMIT_JMP_SEQ. */
const MAX_PROCESSED = 1_000_000, MAX_PENDING_BRANCHES = 8192;
const MAX_LINKED_REGS = 6;

/** What resolve_pseudo_ldimm64 left for an ld_imm64: the map, and the value offset for BPF_PSEUDO_MAP_VALUE. */
export interface LdImm64Aux {
  map: SimMap;
  off: number;
}

export interface DoCheckInput {
  insns: readonly Insn[];
  cfg: Cfg;
  ldImm64: ReadonlyMap<number, LdImm64Aux>;
  /** check_return_code's r0 range, or null for any value. */
  retRange: [number, number] | null;
  /** enforce_attach_type_range, or null. */
  enforceRange: [number, number] | null;
}

export interface DoCheckResult {
  errno: number;
  insnProcessed: number;
  /** insn_aux_data[].seen: what some path reached; the rest is dead code. */
  seen: boolean[];
  enforceExpectedAttachType: boolean;
}

/** A path waiting on the branch stack: its state and where it resumes. */
interface Pending {
  st: VState;
  insnIdx: number;
  prevInsnIdx: number;
}

export function doCheck(input: DoCheckInput): DoCheckResult {
  const { insns, cfg } = input;
  const n = insns.length;
  const seen = new Array<boolean>(n).fill(false);
  let enforce = false;
  let cur = initialState();
  const ctx = cur.regs[1]!;
  ctx.type = PTR_TO_CTX;
  markKnownZero(ctx);
  const fp = cur.regs[10]!;
  fp.type = PTR_TO_STACK;
  markKnownZero(fp);
  let insnIdx = 0, prevInsnIdx = -1;
  /** env->prev_insn_idx: the insn the path came from into the current one. */
  let envPrev = -1;
  let curHistEnt: { flags: number; linkedRegs: number[] | null } | null = null;
  const pending: Pending[] = [];

  const env: PruneEnv = {
    insns, cfg, insnProcessed: 0, jmpsProcessed: 0, prevInsnProcessed: 0, prevJmpsProcessed: 0,
    explored: new Map(), idGen: 0,
    pushHistory(st, flags, linked) {
      if (curHistEnt !== null) {
        curHistEnt.flags |= flags;
        curHistEnt.linkedRegs = linked;
        return;
      }
      const e = { idx: insnIdx, prevIdx: envPrev, flags, linkedRegs: linked };
      st.hist.push(e);
      curHistEnt = e;
    },
  };
  const result = (errno: number): DoCheckResult => ({ errno, insnProcessed: env.insnProcessed, seen, enforceExpectedAttachType: enforce });
  const markPrecise = (regno: number) => markChainPrecision(insns, cur, 1 << regno);
  const aluEnv: AluEnv = {
    get regs() { return cur.regs; },
    nextId: () => ++env.idGen,
    markPrecise,
    forkHere: () => {
      const st = pushBranch(insnIdx, insnIdx);
      return typeof st === "number" ? st : st.regs;
    },
  };

  /** update_branch_counts, then pop_stack: 0 when a path resumes, -1 when none is left. */
  const exitPath = (): 0 | -1 => {
    for (let st: VState | null = cur; st !== null; st = st.parent) {
      if (--st.branches !== 0) break;
    }
    const next = pending.pop();
    if (next === undefined) return -1;
    cur = next.st;
    insnIdx = next.insnIdx;
    prevInsnIdx = next.prevInsnIdx;
    return 0;
  };

  /** push_stack: the jump branch, a copy of the current state, explored later. */
  const pushBranch = (to: number, from: number): VState | number => {
    const st = copyState(cur);
    pending.push({ st, insnIdx: to, prevInsnIdx: from });
    if (pending.length > MAX_PENDING_BRANCHES) return Errno.E2BIG;
    if (st.parent !== null) st.parent.branches++;
    return st;
  };

  for (;;) {
    envPrev = prevInsnIdx;
    // A path that takes an edge closing a cycle enters a loop, which is not modelled.
    if (envPrev >= 0 && cfg.backEdges.has(`${envPrev}:${insnIdx}`)) return result(Errno.EINVAL);
    curHistEnt = null;
    if (++env.insnProcessed > MAX_PROCESSED) return result(Errno.E2BIG);
    cur.lastInsnIdx = envPrev;
    cur.insnIdx = insnIdx;
    if (cfg.prunePoint[insnIdx] && isStateVisited(env, cur, insnIdx) === 1) {
      if (exitPath() < 0) break;
      continue;
    }
    if (cfg.jmpPoint[insnIdx]) env.pushHistory(cur, 0, null);
    seen[insnIdx] = true;
    prevInsnIdx = insnIdx;
    const insn = insns[insnIdx]!;
    const c = cls(insn.code);
    const regs = cur.regs;
    if (c === CLS.ALU || c === CLS.ALU64) {
      const err = checkAluOp(aluEnv, insn);
      if (err !== 0) return result(err);
      insnIdx++;
      continue;
    }
    if (insn.code === LD_IMM64) {
      const err = checkLdImm(regs, insn, insns[insnIdx + 1]!, input.ldImm64.get(insnIdx));
      if (err !== 0) return result(err);
      insnIdx++;
      seen[insnIdx] = true;
      insnIdx++;
      continue;
    }
    if (c !== CLS.JMP && c !== CLS.JMP32) {
      // Memory access and the legacy packet loads are not modelled.
      return result(Errno.EINVAL);
    }
    env.jmpsProcessed++;
    const o = op(insn.code);
    if (o === JOP.CALL || o === JOP.JCOND) return result(Errno.EINVAL); // calls, may_goto: not modelled
    if (o === JOP.JA) {
      if (isX(insn.code) || insn.src !== 0 || insn.dst !== 0 || (c === CLS.JMP && insn.imm !== 0) || (c === CLS.JMP32 && insn.off !== 0)) {
        return result(Errno.EINVAL); // "BPF_JA uses reserved fields"
      }
      insnIdx += jumpOff(insn) + 1;
      continue;
    }
    if (o === JOP.EXIT) {
      if (isX(insn.code) || insn.imm !== 0 || insn.src !== 0 || insn.dst !== 0 || c === CLS.JMP32) {
        return result(Errno.EINVAL); // "BPF_EXIT uses reserved fields"
      }
      const err = checkReturnCode();
      if (err !== 0) return result(err);
      if (exitPath() < 0) break;
      continue;
    }
    const err = checkCondJmp(insn);
    if (err !== 0) return result(err);
  }
  return result(0);

  function checkReturnCode(): number {
    const err = checkRegRead(cur.regs, 0);
    if (err !== 0) return err;
    const range = input.retRange;
    if (range === null) return 0;
    const r0 = cur.regs[0]!;
    if (r0.type !== SCALAR) return Errno.EINVAL; // "is not a known value"
    markPrecise(0);
    if (r0.smin < BigInt(range[0]) || r0.smax > BigInt(range[1])) return Errno.EINVAL;
    const e = input.enforceRange;
    if (e !== null && tnumIn(tnumRange(BigInt(e[0]), BigInt(e[1])), r0.varOff)) enforce = true;
    return 0;
  }

  /** check_cond_jmp_op: follows a decided branch, or pushes the jump and refines both sides. */
  function checkCondJmp(insn: Insn): number {
    const regs = cur.regs;
    const o = op(insn.code);
    const jmp32 = cls(insn.code) === CLS.JMP32;
    let err = checkRegRead(regs, insn.dst);
    if (err !== 0) return err;
    const dst = regs[insn.dst]!;
    let src: Reg;
    let flags = 0;
    if (isX(insn.code)) {
      if (insn.imm !== 0) return Errno.EINVAL; // "BPF_JMP/JMP32 uses reserved fields"
      if ((err = checkRegRead(regs, insn.src)) !== 0) return err;
      src = regs[insn.src]!;
      if (src.type === PTR_TO_STACK) flags |= INSN_F_SRC_REG_STACK;
      if (dst.type === PTR_TO_STACK) flags |= INSN_F_DST_REG_STACK;
    } else {
      if (insn.src !== 0) return Errno.EINVAL;
      src = newReg();
      src.type = SCALAR;
      markKnown(src, u64(BigInt(insn.imm)));
      if (dst.type === PTR_TO_STACK) flags |= INSN_F_DST_REG_STACK;
    }
    if (flags !== 0) env.pushHistory(cur, flags, null);
    const target = insnIdx + insn.off + 1;
    const pred = isBranchTaken(dst, src, o, jmp32);
    if (pred >= 0) {
      if (dst.type === SCALAR) markPrecise(insn.dst);
      if (isX(insn.code) && src.type === SCALAR) markPrecise(insn.src);
    }
    if (pred === 1 || pred === 0) {
      insnIdx = pred === 1 ? target : insnIdx + 1;
      return 0;
    }
    // Registers linked by an id go into the history before the branch is copied, so both share it.
    const linked: number[] = [];
    const live = cfg.liveRegsBefore[insnIdx]!;
    const collect = (id: number) => {
      for (let r = 0; r < 10; r++) {
        const reg = regs[r]!;
        // Only registers something still reads.
        if ((live & (1 << r)) === 0 || reg.type !== SCALAR || baseId(reg.id) !== baseId(id)) continue;
        if (linked.length < MAX_LINKED_REGS) linked.push(r);
        else clearScalarId(reg);
      }
    };
    if (isX(insn.code) && src.type === SCALAR && src.id !== 0) collect(src.id);
    if (dst.type === SCALAR && dst.id !== 0) collect(dst.id);
    if (linked.length > 1) env.pushHistory(cur, 0, linked);
    const other = pushBranch(target, insnIdx);
    if (typeof other === "number") return other;
    const oregs = other.regs;
    if (isX(insn.code)) {
      regSetMinMax(oregs[insn.dst]!, oregs[insn.src]!, dst, src, o, jmp32);
      if (src.type === SCALAR && src.id !== 0) {
        syncLinkedRegs(cur, src, linked);
        syncLinkedRegs(other, oregs[insn.src]!, linked);
      }
    } else {
      regSetMinMax(oregs[insn.dst]!, copyReg(src), dst, copyReg(src), o, jmp32);
    }
    if (dst.type === SCALAR && dst.id !== 0) {
      syncLinkedRegs(cur, dst, linked);
      syncLinkedRegs(other, oregs[insn.dst]!, linked);
    }
    insnIdx++;
    return 0;
  }
}

/** check_ld_imm: a 64-bit constant, a map pointer or a pointer into a map value. */
function checkLdImm(regs: Reg[], insn: Insn, second: Insn, aux: LdImm64Aux | undefined): number {
  if (insn.off !== 0) return Errno.EINVAL; // "BPF_LD_IMM64 uses reserved fields"
  const err = checkRegWrite(regs, insn.dst, true);
  if (err !== 0) return err;
  const dst = regs[insn.dst]!;
  if (insn.src === 0) {
    dst.type = SCALAR;
    markKnown(dst, (BigInt(second.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0));
    return 0;
  }
  markKnownZero(dst);
  dst.map = aux!.map;
  if (insn.src === PSEUDO.MAP_VALUE) {
    dst.type = PTR_TO_MAP_VALUE;
    dst.off = aux!.off;
  } else {
    dst.type = CONST_PTR_TO_MAP;
  }
  return 0;
}

/** sync_linked_regs: registers copied from `known` learn what the branch taught it. */
function syncLinkedRegs(st: VState, known: Reg, linked: readonly number[]): void {
  for (const r of linked) {
    const reg = st.regs[r]!;
    if (reg.type !== SCALAR || reg === known) continue;
    if (baseId(reg.id) !== baseId(known.id)) continue;
    // A 64-bit delta and a 32-bit one do not compose.
    if (addConstBits(reg.id) + addConstBits(known.id) === BPF_ADD_CONST64 + BPF_ADD_CONST32) continue;
    if ((addConstBits(reg.id) === 0 && addConstBits(known.id) === 0) || reg.off === known.off) {
      Object.assign(reg, copyReg(known));
    } else {
      const savedOff = reg.off, savedId = reg.id;
      const delta = BigInt(reg.off) - BigInt(known.off);
      Object.assign(reg, copyReg(known));
      reg.off = savedOff;
      reg.id = savedId;
      scalarAddConst(reg, delta);
      if (addConstBits(reg.id) === BPF_ADD_CONST32 || addConstBits(known.id) === BPF_ADD_CONST32) zext32To64(reg);
      regBoundsSync(reg);
    }
  }
}
