// A command: its words (`map dump`), its options for node:util parseArgs, its help, and run().
import { usageError } from "./cli-error.js";
import type { Ctx } from "./context.js";

/** One command-line option: how it is parsed and how `--help` shows it. */
export interface OptionSpec {
  /** Whether the option takes a value (`string`) or is a switch (`boolean`). */
  type: "string" | "boolean";
  /** The one-letter form (`-k`), if any. */
  short?: string;
  /** Whether the option may be given more than once, collecting its values. */
  multiple?: boolean;
  /** Shown in --help, e.g. `--key-type TYPE  how to read keys`. */
  help: string;
  /** The name of the option's value in `--help` (`TYPE`, `PATH`). */
  arg?: string;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** One `bpfkit` command: its words, help text, options, and what it runs. */
export interface Command {
  /** `maps`, `map dump`, `fuzz diff`. */
  readonly name: string;
  /** One line, lower case and without a full stop, for `bpfkit --help`'s command list. */
  readonly summary: string;
  /** Usage line after `bpfkit `. */
  readonly usage: string;
  /** Paragraphs after the usage line. */
  readonly details?: string;
  /** The command's own options by long name, for `parseArgs` and `--help`. */
  readonly options: Record<string, OptionSpec>;
  /** Command lines shown under `examples:` in `--help`. */
  readonly examples?: readonly string[];
  /** Runs the command with its positional arguments and parsed options; resolves to the exit code. */
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

/**
 * `--name N` as a whole number from `min` up (to `max` where given), or undefined when the option
 * is absent; anything else is a usage error naming the option and the range.
 */
export function intOption(opts: OptionValues, name: string, min: number, max?: number): number | undefined {
  const v = str(opts, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max !== undefined ? `an integer in [${min}, ${max}]` : min === 1 ? "a positive integer" : `an integer of at least ${min}`;
    throw usageError(`--${name} ${v}: expected ${range}`);
  }
  return n;
}
