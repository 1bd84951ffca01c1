// The verifier's passes over the control-flow graph before it walks any path: check_cfg (every
// insn reachable, no jump into an ld_imm64; prune and jump-history points) and
// compute_live_registers. check_subprogs is in subprogs.ts.
import { Errno } from "@bpfkit/core";
import { CLS, cls, isJmpClass, JOP, jumpOff, LD_IMM64, op, isX } from "./insn.js";
import type { Insn } from "./insn.js";

export interface Cfg {
  /** Where is_state_visited runs: conditional jumps and every jump target. */
  prunePoint: boolean[];
  /** Where the jump history records how the path came in (jump targets). */
  jmpPoint: boolean[];
  /** Edges `from → to` that close a loop (back-edges of the DFS), as "from:to". */
  backEdges: Set<string>;
  /** live_regs_before per insn: a bit per register read before it is written. */
  liveRegsBefore: number[];
}

const DISCOVERED = 0x10, EXPLORED = 0x20, FALLTHROUGH = 1, BRANCH = 2;

/** check_cfg: a depth-first walk from insn 0 (fall-through edges first). Returns an errno or the Cfg. */
export function checkCfg(insns: readonly Insn[]): number | Cfg {
  const n = insns.length;
  const state = new Array<number>(n).fill(0);
  const prunePoint = new Array<boolean>(n).fill(false);
  const jmpPoint = new Array<boolean>(n).fill(false);
  const backEdges = new Set<string>();
  const postorder: number[] = [];
  const stack = [0];
  state[0] = DISCOVERED;
  const KEEP = 1, DONE = 0;
  const push = (t: number, w: number, e: number): number => {
    if (e === FALLTHROUGH && state[t]! >= (DISCOVERED | FALLTHROUGH)) return DONE;
    if (e === BRANCH && state[t]! >= (DISCOVERED | BRANCH)) return DONE;
    if (w < 0 || w >= n) return -Errno.EINVAL;
    if (e === BRANCH) {
      prunePoint[w] = true;
      jmpPoint[w] = true;
    }
    if (state[w] === 0) {
      state[t] = DISCOVERED | e;
      state[w] = DISCOVERED;
      stack.push(w);
      return KEEP;
    }
    if ((state[w]! & 0xf0) === DISCOVERED) {
      // A loop: CAP_BPF allows it; the simulator refuses it when a path takes it.
      backEdges.add(`${t}:${w}`);
      return DONE;
    }
    state[t] = DISCOVERED | e;
    return DONE;
  };
  const visit = (t: number): number => {
    const insn = insns[t]!;
    if (!isJmpClass(insn.code)) return push(t, t + (insn.code === LD_IMM64 ? 2 : 1), FALLTHROUGH);
    switch (op(insn.code)) {
      case JOP.EXIT:
        return DONE;
      case JOP.CALL: {
        // Calls are not modelled beyond their fall-through edge (the walk refuses them).
        const r = push(t, t + 1, FALLTHROUGH);
        if (r !== DONE) return r;
        prunePoint[t + 1] = true;
        jmpPoint[t + 1] = true;
        return DONE;
      }
      case JOP.JA: {
        if (isX(insn.code)) return -Errno.EINVAL;
        const to = t + jumpOff(insn) + 1;
        const r = push(t, to, FALLTHROUGH);
        if (r !== DONE) return r;
        prunePoint[to] = true;
        jmpPoint[to] = true;
        return DONE;
      }
      default: {
        prunePoint[t] = true;
        const r = push(t, t + 1, FALLTHROUGH);
        if (r !== DONE) return r;
        return push(t, t + insn.off + 1, BRANCH);
      }
    }
  };
  while (stack.length > 0) {
    const t = stack[stack.length - 1]!;
    const r = visit(t);
    if (r < 0) return -r;
    if (r === DONE) {
      state[t] = EXPLORED;
      stack.pop();
      postorder.push(t);
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] !== EXPLORED) return Errno.EINVAL; // "unreachable insn"
    if (insns[i]!.code === LD_IMM64) {
      if (state[i + 1] !== 0) return Errno.EINVAL; // "jump into the middle of ldimm64 insn"
      i++;
    }
  }
  return { prunePoint, jmpPoint, backEdges, liveRegsBefore: liveRegisters(insns, postorder) };
}

/** compute_insn_live_regs: the registers an insn reads (use) and writes (def). */
function useDef(insn: Insn): [use: number, def: number] {
  const src = 1 << insn.src, dst = 1 << insn.dst;
  const o = op(insn.code);
  switch (cls(insn.code)) {
    case CLS.LD:
      return insn.code === LD_IMM64 ? [0, dst] : [0xffff, 0];
    case CLS.LDX:
      return [src, dst];
    case CLS.ST:
      return [dst, 0];
    case CLS.STX:
      return [dst | src, 0];
    case CLS.ALU: case CLS.ALU64:
      if (o === 0xd0) return [dst, dst]; // END
      if (o === 0xb0) return [isX(insn.code) ? src : 0, dst]; // MOV
      return [isX(insn.code) ? dst | src : dst, dst];
    default:
      switch (o) {
        case JOP.JA: return [isX(insn.code) ? dst : 0, 0];
        case JOP.JCOND: return [0, 0];
        case JOP.EXIT: return [1, 0];
        case JOP.CALL: return [0x3e, 0x3f];
        default: return [isX(insn.code) ? dst | src : dst, 0];
      }
  }
}

function successors(insns: readonly Insn[], i: number): number[] {
  const insn = insns[i]!;
  if (!isJmpClass(insn.code)) return [i + (insn.code === LD_IMM64 ? 2 : 1)];
  switch (op(insn.code)) {
    case JOP.EXIT: return [];
    case JOP.CALL: return [i + 1];
    case JOP.JA: return [i + jumpOff(insn) + 1];
    default: return [i + 1, i + insn.off + 1];
  }
}

/** compute_live_registers: backward data flow to a fixed point, in DFS postorder. */
function liveRegisters(insns: readonly Insn[], postorder: readonly number[]): number[] {
  const live = new Array<number>(insns.length).fill(0);
  const out = new Array<number>(insns.length).fill(0);
  const ud = insns.map(useDef);
  const succ = insns.map((_, i) => successors(insns, i));
  for (let changed = true; changed;) {
    changed = false;
    for (const i of postorder) {
      let newOut = 0;
      for (const s of succ[i]!) newOut |= live[s]!;
      const [use, def] = ud[i]!;
      const newIn = (newOut & ~def) | use;
      if (newIn !== live[i] || newOut !== out[i]) {
        live[i] = newIn;
        out[i] = newOut;
        changed = true;
      }
    }
  }
  return live;
}
