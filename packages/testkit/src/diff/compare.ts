// Where two traces of the same program part ways.
import type { Program } from "../arbitraries/program.js";
import { formatOp } from "../arbitraries/program.js";
import type { ProgramTrace } from "./run-program.js";

/** The first step where two drivers answered a program differently, and what each said. */
export interface Divergence {
  /** 0 = create, 1 = map info, 1 + i = the i-th op (1-based), ops + 2 = the final walk. */
  readonly step: number;
  /** The step as the program says it. */
  readonly what: string;
  /** What the left driver answered at that step, as its trace line. */
  readonly left: string;
  /** What the right driver answered at that step, as its trace line. */
  readonly right: string;
}

/** The first step where two traces of `program` differ, or undefined when they agree. */
export function firstDivergence(program: Program, left: ProgramTrace, right: ProgramTrace): Divergence | undefined {
  const n = Math.max(left.lines.length, right.lines.length);
  for (let i = 0; i < n; i++) {
    const l = left.lines[i] ?? "(nothing)";
    const r = right.lines[i] ?? "(nothing)";
    if (l !== r) {
      const what = i === 0 ? "create" : i === 1 ? "map info (OBJ_GET_INFO_BY_FD)"
        : i - 1 <= program.ops.length ? `op ${i - 1}: ${formatOp(program.ops[i - 2]!)}` : "final walk with values";
      return { step: i, what, left: l, right: r };
    }
  }
  return undefined;
}

/** A divergence as three lines: where, and what each driver answered. */
export function formatDivergence(d: Divergence, leftName: string, rightName: string): string {
  const w = Math.max(leftName.length, rightName.length);
  return [
    `first difference at ${d.what}`,
    `  ${leftName.padEnd(w)}  ${d.left}`,
    `  ${rightName.padEnd(w)}  ${d.right}`,
  ].join("\n");
}
