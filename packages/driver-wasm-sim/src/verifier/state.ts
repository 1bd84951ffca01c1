// The verifier's path state (struct bpf_verifier_state) for one frame: registers, the
// checkpoint it descends from, and the jump history backtracking walks.
import { copyReg, newReg } from "./reg.js";
import type { Reg } from "./reg.js";

/** INSN_F_* flags of a history entry: the compared register was a stack pointer. */
export const INSN_F_DST_REG_STACK = 1, INSN_F_SRC_REG_STACK = 2;

export interface HistEntry {
  idx: number;
  prevIdx: number;
  flags: number;
  /** Registers linked by a scalar id at this conditional jump (their ranges move together). */
  linkedRegs: number[] | null;
}

export interface VState {
  regs: Reg[];
  /** The checkpoint this path continues from, or null. */
  parent: VState | null;
  firstInsnIdx: number;
  lastInsnIdx: number;
  insnIdx: number;
  /** Non-linear steps since firstInsnIdx: how the path came into jump targets. */
  hist: HistEntry[];
  /** Paths still being explored from this state. */
  branches: number;
  cleaned: boolean;
}

export function initialState(): VState {
  return {
    regs: Array.from({ length: 11 }, newReg), parent: null, firstInsnIdx: 0, lastInsnIdx: -1, insnIdx: 0,
    hist: [], branches: 1, cleaned: false,
  };
}

export function copyState(s: VState): VState {
  return {
    regs: s.regs.map(copyReg), parent: s.parent, firstInsnIdx: s.firstInsnIdx, lastInsnIdx: s.lastInsnIdx,
    insnIdx: s.insnIdx, hist: s.hist.map((h) => ({ ...h })), branches: s.branches, cleaned: s.cleaned,
  };
}
