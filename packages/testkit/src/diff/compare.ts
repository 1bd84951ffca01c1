// Where two traces of the same program part ways.
import type { Program } from "../arbitraries/program.js";
import { formatOp } from "../arbitraries/program.js";
import type { ProgramTrace } from "./run-program.js";

export interface Divergence {
  /** 0 = create, i = the i-th op (1-based), ops + 1 = the final walk. */
  readonly step: number;
  /** The step as the program says it. */
  readonly what: string;
  readonly left: string;
  readonly right: string;
}

export function firstDivergence(program: Program, left: ProgramTrace, right: ProgramTrace): Divergence | undefined {
  const n = Math.max(left.lines.length, right.lines.length);
  for (let i = 0; i < n; i++) {
    const l = left.lines[i] ?? "(nothing)";
    const r = right.lines[i] ?? "(nothing)";
    if (l !== r) {
      const what = i === 0 ? "create" : i <= program.ops.length ? formatOp(program.ops[i - 1]!) : "final walk with values";
      return { step: i, what, left: l, right: r };
    }
  }
  return undefined;
}

export function formatDivergence(d: Divergence, leftName: string, rightName: string): string {
  const w = Math.max(leftName.length, rightName.length);
  return [
    `step ${d.step}: ${d.what}`,
    `  ${leftName.padEnd(w)}  ${d.left}`,
    `  ${rightName.padEnd(w)}  ${d.right}`,
  ].join("\n");
}
