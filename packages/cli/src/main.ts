// `bpfkit`: argv in, text out, an exit code back. No CLI framework: node:util parseArgs and a
// table of commands, each with its own options and --help.
import { parseArgs } from "node:util";
import type { Driver } from "@bpfkit/core";
import { CliError, describeError, ExitCode, usageError } from "./cli-error.js";
import type { Command, OptionSpec } from "./command.js";
import { makeCtx } from "./context.js";
import { closest } from "./did-you-mean.js";
import { parseDriverChoice } from "./driver-select.js";
import { processIo, type CliIo } from "./io.js";
import { COMMANDS } from "./commands/index.js";

/** The version `bpfkit --version` prints. */
export const VERSION = "0.1.0";

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  driver: { type: "string", arg: "kernel|sim|auto", help: "which bpf(2) to use (default auto: the kernel where usable, else the simulator; env BPFKIT_DRIVER)" },
  json: { type: "boolean", help: "print JSON for scripts instead of tables" },
  quiet: { type: "boolean", short: "q", help: "no notes or progress on stderr (errors, warnings, and what --stats or --warn ask for still print)" },
  "map-root": { type: "string", arg: "DIR", help: "bpffs root for bare map names (default: /sys/fs/bpf if bpffs is mounted there, else the first bpffs mount; env BPFKIT_MAP_ROOT)" },
  "map-prefix": { type: "string", arg: "DIR", help: "prefix under the root (default tc/globals, as Cilium)" },
  help: { type: "boolean", short: "h", help: "show the help of the command it follows, and run nothing" },
  version: { type: "boolean", help: "print the version, and run nothing" },
};

/** bpftool's words for commands bpfkit names otherwise: a bpftool user is told the bpfkit one. */
const BPFTOOL_WORDS: Readonly<Record<string, string>> = {
  "map getnext": "bpftool's `map getnext` is `bpfkit map next`",
  "map list": "bpftool's `map list` is `bpfkit maps`",
  prog: "bpftool's `prog show` is `bpfkit progs`",
};

/** Runs the command line `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const used: { driver?: Driver } = {};
  try {
    return await run(argv, io, used);
  } catch (err) {
    const { message, exitCode, hint } = describeError(err, used.driver);
    io.stderr(`bpfkit: ${message}\n`);
    if (hint !== undefined) io.stderr(`  ${hint}\n`);
    if (exitCode === ExitCode.failure && !(err instanceof CliError) && io.env.BPFKIT_DEBUG && err instanceof Error && err.stack) {
      io.stderr(`${err.stack}\n`);
    }
    return exitCode;
  }
}

/** The command a command line names, and the words after it. */
function findCommand(words: readonly string[]): { cmd: Command | undefined; rest: readonly string[]; group: string | undefined } {
  const two = words.length >= 2 ? `${words[0]} ${words[1]}` : undefined;
  const byTwo = two !== undefined ? COMMANDS.find((c) => c.name === two) : undefined;
  if (byTwo) return { cmd: byTwo, rest: words.slice(2), group: undefined };
  const byOne = COMMANDS.find((c) => c.name === words[0]);
  if (byOne) return { cmd: byOne, rest: words.slice(1), group: undefined };
  const isGroup = words[0] !== undefined && COMMANDS.some((c) => c.name.startsWith(`${words[0]} `));
  return { cmd: undefined, rest: words.slice(1), group: isGroup ? words[0] : undefined };
}

/**
 * parseArgs takes `-1` for a short option; no option here is a digit, so a word that starts with
 * `-` and a digit is a number (`value -1 --value-type i32`, `--seed -5`) and is hidden from it.
 */
const NUMBER_MARK = "\u0000";
const markNumbers = (argv: readonly string[]) => argv.map((a) => (/^-\d/.test(a) ? NUMBER_MARK + a : a));
const unmark = (s: string) => (s.startsWith(NUMBER_MARK) ? s.slice(1) : s);

/** `used.driver` is set once the command's driver is made, so an error can be read for it. */
async function run(argv: readonly string[], io: CliIo, used: { driver?: Driver }): Promise<number> {
  // First pass: find the command words, whatever options surround them.
  const loose = parseArgs({ args: markNumbers(argv), options: toParseArgs(GLOBAL_OPTIONS), strict: false, allowPositionals: true, tokens: true });
  const words = loose.positionals.map(unmark);
  const { cmd, group } = findCommand(words);
  const wantsHelp = loose.values.help === true;
  // --help and --version work wherever they stand, as the global options they are (`bpfkit maps
  // --version` printed the table): --help shows the help of the command it follows, --version the
  // version; neither runs anything. --help wins when both are given.
  // An unknown command is an error with --version too, as it is with --help.
  const known = cmd !== undefined || group !== undefined || words.length === 0 || words[0] === "help";
  if (loose.values.version === true && !wantsHelp && known) {
    io.stdout(`bpfkit ${VERSION}\n`);
    return 0;
  }
  if (cmd === undefined) {
    if (words[0] === "help") {
      const target = findCommand(words.slice(1));
      if (target.cmd) {
        io.stdout(commandHelp(target.cmd));
        return 0;
      }
      // `bpfkit help help`: the help of help is the overview (git's answer too).
      if (words.length === 2 && words[1] === "help") {
        io.stdout(overview());
        return 0;
      }
      // `bpfkit help frob` is as unknown a command as `bpfkit frob`.
      if (words.length > 1 && target.group === undefined) throw usageError(`unknown command ${JSON.stringify(words[1])}`, "see `bpfkit --help`");
      // `bpfkit help map frob`, as `bpfkit map frob --help`: not the group's overview and exit 0.
      if (words.length > 2) throw usageError(`unknown command ${JSON.stringify(words.slice(1, 3).join(" "))}`, `see \`bpfkit ${target.group} --help\``);
      io.stdout(overview(target.group));
      return 0;
    }
    if (words.length === 0 || (group !== undefined && words.length === 1)) {
      if (wantsHelp) {
        io.stdout(overview(group));
        return 0;
      }
      // Bare `bpfkit` is how people find the commands: the overview on stdout, as git does, but
      // exit 2 so a script that lost its arguments fails. Anything else without a command is a
      // usage error: stderr, exit 2, stdout left empty.
      if (argv.length === 0) {
        io.stdout(overview());
        return ExitCode.usage;
      }
      io.stderr(group !== undefined ? `bpfkit: ${group} needs a command\n\n${overview(group)}` : "bpfkit: no command given\n  see `bpfkit --help`\n");
      return ExitCode.usage;
    }
    const name = words.slice(0, group ? 2 : 1).join(" ");
    const guess = closest(name, COMMANDS.map((c) => c.name));
    throw usageError(`unknown command ${JSON.stringify(name)}`, BPFTOOL_WORDS[name] ?? (guess !== undefined ? `did you mean \`bpfkit ${guess}\`?` : "see `bpfkit --help`"));
  }
  if (wantsHelp) {
    io.stdout(commandHelp(cmd));
    return 0;
  }
  const options = { ...GLOBAL_OPTIONS, ...cmd.options };
  let parsed;
  try {
    parsed = parseArgs({ args: markNumbers(argv), options: toParseArgs(options), strict: true, allowPositionals: true });
  } catch (e) {
    const message = (e as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    // `--key-typ`, `--jsno`: the option it most likely mistypes, among this command's.
    const unknown = /^Unknown option '(--[^']+)'/.exec(message)?.[1];
    const guess = unknown === undefined ? undefined : closest(unknown, Object.keys(options).map((k) => `--${k}`));
    throw usageError(`${cmd.name}: ${message}`, `${guess !== undefined ? `did you mean ${guess}? ` : ""}see \`bpfkit ${cmd.name} --help\``);
  }
  const nameWords = cmd.name.split(" ").length;
  const args = parsed.positionals.slice(nameWords).map(unmark);
  const v = Object.fromEntries(Object.entries(parsed.values).map(([k, x]) => [k, typeof x === "string" ? unmark(x) : x])) as Record<string, string | boolean | undefined>;
  // Map paths are POSIX on every driver: a Windows-looking root would only fail later, as "no map".
  const mapRoot = (v["map-root"] as string | undefined) ?? io.env.BPFKIT_MAP_ROOT;
  if (mapRoot !== undefined && !mapRoot.startsWith("/")) {
    throw usageError(`${v["map-root"] !== undefined ? "--map-root " : "BPFKIT_MAP_ROOT="}${mapRoot}: must be an absolute path (as /sys/fs/bpf)`);
  }
  const ctx = makeCtx(io, {
    json: v.json === true,
    quiet: v.quiet === true,
    driverChoice: parseDriverChoice(v.driver as string | undefined, io.env),
    mapRoot: v["map-root"] as string | undefined,
    mapPrefix: (v["map-prefix"] as string | undefined) ?? "tc/globals",
    onDriver: (d) => { used.driver = d; },
  });
  return cmd.run(ctx, args, v);
}

function toParseArgs(specs: Record<string, OptionSpec>) {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, {
    type: s.type, ...(s.short ? { short: s.short } : {}), ...(s.multiple ? { multiple: true } : {}),
  }])) as Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
}

function optionLines(specs: Record<string, OptionSpec>): string {
  const rows = Object.entries(specs).map(([k, s]) => [`${s.short ? `-${s.short}, ` : "    "}--${k}${s.arg ? ` ${s.arg}` : ""}`, s.help] as const);
  const w = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(w)}  ${h}`).join("\n");
}

/** The `--help` text of one command: usage, summary, details, its options and the global ones, examples. */
export function commandHelp(c: Command): string {
  return [
    `usage: bpfkit ${c.usage}`,
    "",
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    ...(c.details ? ["", c.details] : []),
    ...(Object.keys(c.options).length > 0 ? ["", "options:", optionLines(c.options)] : []),
    "",
    "global options:",
    optionLines(GLOBAL_OPTIONS),
    ...(c.examples && c.examples.length > 0 ? ["", "examples:", ...c.examples.map((e) => `  ${e}`)] : []),
    "",
  ].join("\n");
}

/**
 * The `bpfkit --help` text (or `bpfkit <group> --help` for a group such as `map`): every command with its
 * summary, the global options and the exit codes.
 */
export function overview(group?: string): string {
  const cmds = group ? COMMANDS.filter((c) => c.name.startsWith(`${group} `)) : COMMANDS;
  const w = Math.max(...cmds.map((c) => c.name.length));
  return [
    group ? `usage: bpfkit ${group} <command> [options]` : "usage: bpfkit <command> [options]",
    "",
    ...(group ? [] : ["bpfkit: BPF maps from Node.js, over the real kernel or an exact simulator.", ""]),
    "commands:",
    ...cmds.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "global options:",
    optionLines(GLOBAL_OPTIONS),
    "",
    "exit codes: 0 ok, 1 the operation failed, 2 bad command line, 3 needs privileges (root, or CAP_BPF",
    "            for maps and programs; listing or opening by id and mounting need CAP_SYS_ADMIN too),",
    "            4 no such map/key/path, 5 a fuzz run found a divergence",
    "            With BPFKIT_DEBUG set, an exit 1 that bpfkit did not expect (a bug) also prints its stack.",
    "",
    "output: results on stdout; notes, progress, errors, and what a change did, on stderr. A usage error",
    "        prints nothing on stdout.",
    "        With --json, stdout holds one complete JSON document, or nothing when the command stops on an",
    "        error (a run that finishes and reports a failure, as a fuzz divergence, still prints its document).",
    "        A 64-bit integer is a JSON number while it is exact in one (|n| < 2^53), else a decimal string;",
    "        bytes are hex strings (\"0a 00 00 01\").",
    "--help and --version may follow any command; they print the command's help or the version, exit 0",
    "and run nothing. Bare `bpfkit` prints this overview and exits 2.",
    "",
    "`bpfkit <command> --help` tells more; start with `bpfkit demo`.",
    "",
  ].join("\n");
}
