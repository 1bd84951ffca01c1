// A command: its words (`map dump`), its options for node:util parseArgs, its help, and run().
import { usageError } from "./cli-error.js";
import type { Ctx } from "./context.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in --help, e.g. `--key-type TYPE  how to read keys`. */
  help: string;
  arg?: string;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface Command {
  /** `maps`, `map dump`, `fuzz diff`. */
  readonly name: string;
  readonly summary: string;
  /** Usage line after `bpfkit `. */
  readonly usage: string;
  /** Paragraphs after the usage line. */
  readonly details?: string;
  readonly options: Record<string, OptionSpec>;
  readonly examples?: readonly string[];
  run(ctx: Ctx, args: readonly string[], opts: OptionValues): Promise<number>;
}

/** Commands without positional arguments refuse them: `bpfkit maps id 12` must not list every map. */
export function noArgs(cmd: Command, args: readonly string[]): void {
  if (args.length > 0) throw usageError(`${cmd.name} takes no arguments, got ${JSON.stringify(args.join(" "))}`, `usage: bpfkit ${cmd.usage}`);
}

export function str(opts: OptionValues, name: string): string | undefined {
  const v = opts[name];
  return typeof v === "string" ? v : undefined;
}

export function flag(opts: OptionValues, name: string): boolean {
  return opts[name] === true;
}
