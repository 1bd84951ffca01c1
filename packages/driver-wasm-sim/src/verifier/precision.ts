// Precision tracking (__mark_chain_precision, backtrack_insn): when a scalar's exact value
// decides something — a branch, a return value, a pointer offset — the verifier walks the
// path back to where the value was made and marks the registers it came from precise in every
// checkpoint on the way, so that pruning compares those registers by value.
import { CLS, cls, isJmpClass, isX, JOP, LD_IMM64, op, OP, REG_FP } from "./insn.js";
import type { Insn } from "./insn.js";
import { SCALAR } from "./reg.js";
import { INSN_F_DST_REG_STACK, INSN_F_SRC_REG_STACK } from "./state.js";
import type { HistEntry, VState } from "./state.js";

const ENOENT = -1;

/** get_prev_insn_idx: the insn before `i` on this path, or ENOENT at the state's first insn. */
function prevInsnIdx(st: VState, i: number, hist: { cnt: number }): number {
  if (i === st.firstInsnIdx) {
    if (hist.cnt === 0) return ENOENT;
    if (hist.cnt === 1 && st.hist[0]!.idx === i) return ENOENT;
  }
  if (hist.cnt > 0 && st.hist[hist.cnt - 1]!.idx === i) {
    hist.cnt--;
    return st.hist[hist.cnt]!.prevIdx;
  }
  return i - 1;
}

/** bt_sync_linked_regs: if one register of a linked set needs precision, they all do. */
function syncLinked(mask: number, h: HistEntry | null): number {
  if (h === null || h.linkedRegs === null) return mask;
  if (!h.linkedRegs.some((r) => (mask & (1 << r)) !== 0)) return mask;
  for (const r of h.linkedRegs) mask |= 1 << r;
  return mask;
}

/** backtrack_insn: the registers needing precision before `insn`, given those needed after. */
function backtrackInsn(insn: Insn, h: HistEntry | null, mask: number): number {
  if (insn.code === 0) return mask;
  mask = syncLinked(mask, h);
  const d = 1 << insn.dst, s = 1 << insn.src;
  const c = cls(insn.code), o = op(insn.code);
  if (c === CLS.ALU || c === CLS.ALU64) {
    if ((mask & d) === 0) return mask;
    if (o === OP.END || o === OP.NEG) return mask;
    if (o === OP.MOV) {
      mask &= ~d;
      if (isX(insn.code) && insn.src !== REG_FP) mask |= s;
    } else if (isX(insn.code) && insn.src !== REG_FP) {
      mask |= s;
    }
  } else if (isJmpClass(insn.code)) {
    if (o !== JOP.EXIT && o !== JOP.CALL && o !== JOP.JA && isX(insn.code)) {
      if ((mask & (d | s)) === 0) return mask;
      if (h === null || (h.flags & INSN_F_SRC_REG_STACK) === 0) mask |= s;
      if (h === null || (h.flags & INSN_F_DST_REG_STACK) === 0) mask |= d;
    }
  } else if (insn.code === LD_IMM64) {
    mask &= ~d;
  }
  return syncLinked(mask, h);
}

/** mark_all_scalars_precise: the fallback when backtracking loses track, on every checkpoint. */
function markAllScalarsPrecise(start: VState): void {
  for (let st = start.parent; st !== null; st = st.parent) {
    for (let r = 0; r < REG_FP; r++) if (st.regs[r]!.type === SCALAR) st.regs[r]!.precise = true;
  }
}

/**
 * __mark_chain_precision from `start` (the current state, at its insnIdx, which has not run) for
 * the registers in `mask`. The current state itself is not marked: only checkpoints are
 * compared.
 */
export function markChainPrecision(insns: readonly Insn[], start: VState, mask: number): void {
  if (mask === 0) return;
  let st: VState = start;
  let lastIdx = start.insnIdx;
  let skipFirst = true;
  for (;;) {
    const hist = { cnt: st.hist.length };
    for (let i = lastIdx; ;) {
      if (skipFirst) {
        skipFirst = false;
      } else {
        const top = hist.cnt > 0 && st.hist[hist.cnt - 1]!.idx === i ? st.hist[hist.cnt - 1]! : null;
        mask = backtrackInsn(insns[i]!, top, mask);
      }
      if (mask === 0) return;
      i = prevInsnIdx(st, i, hist);
      if (i === ENOENT) break;
    }
    const parent: VState | null = st.parent;
    if (parent === null) break;
    st = parent;
    for (let r = 0; r < 32; r++) {
      if ((mask & (1 << r)) === 0) continue;
      const reg = st.regs[r];
      if (reg === undefined || reg.type !== SCALAR || reg.precise) mask &= ~(1 << r);
      else reg.precise = true;
    }
    if (mask === 0) return;
    lastIdx = st.lastInsnIdx;
  }
  if (mask !== 0) markAllScalarsPrecise(start);
}
