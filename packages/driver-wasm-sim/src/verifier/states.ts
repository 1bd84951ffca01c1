// State pruning (is_state_visited, states_equal, regsafe): at a prune point the verifier stops a
// path whose state is covered by a checkpoint an earlier path left there, and leaves new
// checkpoints as it goes. What it prunes decides verified_insns.
import type { Cfg } from "./cfg.js";
import type { Insn } from "./insn.js";
import { markChainPrecision } from "./precision.js";
import { addConstBits, baseId, NOT_INIT, PTR_TO_MAP_VALUE, PTR_TO_STACK, markNotInit, SCALAR } from "./reg.js";
import type { Reg } from "./reg.js";
import { copyState } from "./state.js";
import type { VState } from "./state.js";
import { tnumIn } from "./tnum.js";

interface Explored {
  state: VState;
  hit: number;
  miss: number;
}

/** What pruning shares with the walk. */
export interface PruneEnv {
  readonly insns: readonly Insn[];
  readonly cfg: Cfg;
  insnProcessed: number;
  jmpsProcessed: number;
  prevInsnProcessed: number;
  prevJmpsProcessed: number;
  readonly explored: Map<number, Explored[]>;
  idGen: number;
  /** push_insn_history for the current insn. */
  pushHistory(st: VState, flags: number, linked: number[] | null): void;
}

/** check_ids: ids of the old state map one-to-one onto ids of the current one. */
class IdMap {
  private readonly pairs: Array<[number, number]> = [];
  constructor(private tmp: number) {}

  check(oldId: number, curId: number): boolean {
    if ((oldId === 0) !== (curId === 0)) return false;
    if (oldId === 0) return true;
    for (const [o, c] of this.pairs) {
      if (o === oldId) return c === curId;
      if (c === curId) return false;
    }
    this.pairs.push([oldId, curId]);
    return true;
  }

  /** check_scalar_ids for an old id: a current scalar without an id is linked to nothing, so it gets a fresh one. */
  checkScalar(oldId: number, curId: number): boolean {
    return this.check(oldId, curId !== 0 ? curId : ++this.tmp);
  }
}

function rangeWithin(o: Reg, c: Reg): boolean {
  return o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax &&
    o.u32min <= c.u32min && o.u32max >= c.u32max && o.s32min <= c.s32min && o.s32max >= c.s32max;
}

/** The memcmp of regs_exact: everything before `id`. */
function sameUpToId(o: Reg, c: Reg): boolean {
  return o.type === c.type && o.off === c.off && o.map === c.map && o.varOff.value === c.varOff.value &&
    o.varOff.mask === c.varOff.mask && o.umin === c.umin && o.umax === c.umax && o.smin === c.smin &&
    o.smax === c.smax && o.u32min === c.u32min && o.u32max === c.u32max && o.s32min === c.s32min && o.s32max === c.s32max;
}

/** regsafe with NOT_EXACT: the old register's knowledge covers the current one. */
function regsafe(o: Reg, c: Reg, ids: IdMap): boolean {
  if (o.type === NOT_INIT) return true;
  if (o.type !== c.type) return false;
  switch (o.type) {
    case SCALAR:
      if (!o.precise) return true;
      // Links the old state had must hold in the current one (with the same constant delta);
      // links only the current state has constrain nothing.
      if (o.id !== 0) {
        if (addConstBits(o.id) !== addConstBits(c.id)) return false;
        if (addConstBits(o.id) !== 0 && o.off !== c.off) return false;
        // Copies share the base id whatever delta each carries: map those.
        if (!ids.checkScalar(baseId(o.id), baseId(c.id))) return false;
      }
      return rangeWithin(o, c) && tnumIn(o.varOff, c.varOff);
    case PTR_TO_MAP_VALUE:
      return o.type === c.type && o.off === c.off && o.map === c.map && rangeWithin(o, c) &&
        tnumIn(o.varOff, c.varOff) && ids.check(o.id, c.id);
    case PTR_TO_STACK:
    default:
      return sameUpToId(o, c) && ids.check(o.id, c.id);
  }
}

function statesEqual(env: PruneEnv, old: VState, cur: VState): boolean {
  if (old.insnIdx !== cur.insnIdx) return false;
  const live = env.cfg.liveRegsBefore[old.insnIdx]!;
  const ids = new IdMap(env.idGen);
  for (let r = 0; r < 11; r++) {
    if ((live & (1 << r)) !== 0 && !regsafe(old.regs[r]!, cur.regs[r]!, ids)) return false;
  }
  return true;
}

/** clean_live_states: finished checkpoints here forget registers nothing reads any more. */
function cleanLiveStates(env: PruneEnv, list: readonly Explored[], insnIdx: number): void {
  const live = env.cfg.liveRegsBefore[insnIdx]!;
  for (const sl of list) {
    const st = sl.state;
    if (st.branches !== 0 || st.insnIdx !== insnIdx || st.cleaned) continue;
    st.cleaned = true;
    for (let r = 0; r < 10; r++) if ((live & (1 << r)) === 0) markNotInit(st.regs[r]!);
  }
}

/** propagate_precision: what the old state needed precise, the pruned path needs too. */
function propagatePrecision(env: PruneEnv, old: VState, cur: VState): void {
  let mask = 0;
  for (let r = 0; r < 10; r++) if (old.regs[r]!.type === SCALAR && old.regs[r]!.precise) mask |= 1 << r;
  markChainPrecision(env.insns, cur, mask);
}

/** is_state_visited: 1 when the current path can stop here, else 0 (maybe leaving a checkpoint). */
export function isStateVisited(env: PruneEnv, cur: VState, insnIdx: number): number {
  // Avoid accumulating infinitely long jump history.
  const force = cur.hist.length > 40;
  // A checkpoint only after 2 jumps and 8 insns since the last one (the kernel's heuristic).
  let add = force || (env.jmpsProcessed - env.prevJmpsProcessed >= 2 && env.insnProcessed - env.prevInsnProcessed >= 8);
  let list = env.explored.get(insnIdx);
  if (list === undefined) {
    list = [];
    env.explored.set(insnIdx, list);
  }
  cleanLiveStates(env, list, insnIdx);
  for (const sl of [...list]) {
    if (sl.state.insnIdx !== insnIdx) continue;
    if (sl.state.branches !== 0) {
      // Still being explored (a loop): not comparable yet.
      if (!force && env.jmpsProcessed - env.prevJmpsProcessed < 20 && env.insnProcessed - env.prevInsnProcessed < 100) add = false;
    } else if (statesEqual(env, sl.state, cur)) {
      sl.hit++;
      if (env.cfg.jmpPoint[insnIdx]) env.pushHistory(cur, 0, null);
      propagatePrecision(env, sl.state, cur);
      return 1;
    }
    if (add) sl.miss++;
    // A checkpoint that keeps missing is dropped.
    if (sl.miss > sl.hit * 3 + 3) list.splice(list.indexOf(sl), 1);
  }
  if (!add) return 0;
  env.prevJmpsProcessed = env.jmpsProcessed;
  env.prevInsnProcessed = env.insnProcessed;
  for (const r of cur.regs) if (r.type === SCALAR) r.precise = false;
  const checkpoint = copyState(cur);
  checkpoint.insnIdx = insnIdx;
  cur.parent = checkpoint;
  cur.firstInsnIdx = insnIdx;
  cur.hist = [];
  list.unshift({ state: checkpoint, hit: 0, miss: 0 });
  return 0;
}
