// `bpfkit btf dump`: a BTF object's types as `bpftool btf dump … format raw` lists them, or as a
// C header (`format c`), from a loaded object (by id, or a map's), or from a file of raw BTF.
import { readFileSync } from "node:fs";
import { basename, dirname } from "node:path";
import { BtfError, btfIds, formatBtfC, openBtfById, parseBtf, type Btf, type Driver } from "@bpfkit/core";
import { btfIdsOf, btfRawJson, btfRawText } from "../btf-raw.js";
import { CliError, ExitCode, usageError } from "../cli-error.js";
import { str, type Command } from "../command.js";
import type { Ctx } from "../context.js";
import { MAP_REF_USAGE } from "../map-ref.js";
import { withMap } from "./map-elem.js";

const USAGE = "btf dump ID | id ID | file PATH | map MAP [key|value|kv|all] [--format raw|c] [--json]";

/** A BTF object's raw bytes, parsed; a module's BTF on vmlinux's, as bpftool reads it. */
function loadedBtf(d: Driver, id: number): Btf {
  const ctx = { driver: d, metrics: undefined };
  const h = openBtfById(ctx, id);
  let raw: Uint8Array, split: boolean;
  try {
    raw = h.raw();
    split = h.kernelBtf && h.name !== "vmlinux";
  } finally {
    h.close();
  }
  return parse(raw, `BTF id ${id}`, split ? () => vmlinuxById(d) : undefined);
}

/** vmlinux's BTF, the base of every module's: the kernel object named so. */
function vmlinuxById(d: Driver): Btf {
  const ctx = { driver: d, metrics: undefined };
  for (const id of btfIds(ctx)) {
    const h = openBtfById(ctx, id);
    try {
      if (h.kernelBtf && h.name === "vmlinux") return parseBtf(h.raw());
    } finally {
      h.close();
    }
  }
  throw new CliError("a kernel module's BTF is split on vmlinux's, and no BTF object named vmlinux is loaded", ExitCode.failure);
}

/** parseBtf with `what` in its error: a blob that is not BTF fails naming where it came from, and the byte. */
function parse(raw: Uint8Array, what: string, base?: () => Btf): Btf {
  try {
    return parseBtf(raw, base !== undefined ? { base: base() } : {});
  } catch (e) {
    if (e instanceof BtfError) throw new CliError(`${what}: ${e.message}`, ExitCode.failure);
    throw e;
  }
}

function fileBtf(path: string): Btf {
  let raw: Uint8Array;
  try {
    raw = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`btf dump file ${path}: ${(e as Error).message}`, code === "ENOENT" ? ExitCode.notFound : ExitCode.failure);
  }
  // A module's file under /sys/kernel/btf is split on vmlinux's, which bpftool reads as its base.
  const split = dirname(path) === "/sys/kernel/btf" && basename(path) !== "vmlinux";
  return parse(raw, `btf dump file ${path}`, split ? () => parse(readFileSync("/sys/kernel/btf/vmlinux"), "/sys/kernel/btf/vmlinux") : undefined);
}

function positiveId(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 0xffffffff) throw usageError(`id ${text}: a BTF id is a positive integer`, `usage: bpfkit ${USAGE}`);
  return Number(text);
}

/** The listing of `ids`, or with `--format c` the header of every type (as bpftool's, whatever the ids). */
function print(ctx: Ctx, btf: Btf, ids: readonly number[], c: boolean): number {
  if (c) ctx.emit(() => formatBtfC(btf).trimEnd(), () => undefined);
  else ctx.emit(() => btfRawText(btf, ids), () => ({ types: btfRawJson(btf, ids) }));
  return 0;
}

export const btfDumpCommand: Command = {
  name: "btf dump",
  summary: "list a BTF object's types (like bpftool btf dump … format raw), or print them as C (format c)",
  usage: USAGE,
  details: "ID (or `id ID`): a loaded BTF object (`bpfkit btf list`); `file PATH`: raw BTF in a file (a module's\n" +
    "/sys/kernel/btf/NAME is read on vmlinux's, as bpftool does); `map MAP`: the BTF a map was created with,\n" +
    "its key and value types only (bpftool's default), `all` for every type of it.\n" +
    `${MAP_REF_USAGE}.\n` +
    "The listing is bpftool's `format raw` to the byte ([1] INT 'int' size=4 bits_offset=0 nr_bits=32\n" +
    "encoding=SIGNED, members on tab-indented lines); --json is bpftool -j's {\"types\": [...]}, except that an\n" +
    "unsigned enum's values past 2^31 are their u32 (bpftool's are sign-extended to 64 bits), and values past\n" +
    "2^53 are decimal strings, as everywhere in bpfkit's JSON.\n" +
    "--format c prints every type of the BTF as a C header, as bpftool's `format c` does (the vmlinux.h of CO-RE\n" +
    "programs: `bpfkit btf dump file /sys/kernel/btf/vmlinux --format c > vmlinux.h`): each struct, union, enum\n" +
    "and typedef defined before it is used by value and declared before it is pointed at, members at the BTF's\n" +
    "offsets (padding and __attribute__((packed)) where C's alignment would put them elsewhere), names given twice\n" +
    "as name___2; a module's header holds vmlinux's types too. It takes no --json, and for a map lists all types.\n" +
    "An ELF file is no raw BTF: extract its .BTF section first.\n" +
    "No such id: exit 4; a file that is not BTF: exit 1, naming the byte where reading stopped.\n" +
    "Also: `bpfkit btf dump 1`, `bpfkit btf dump map id 12 --json`.",
  options: {
    format: { type: "string", arg: "raw|c", help: "the listing's form: raw (bpftool's, the default) or c (a C header)" },
  },
  // `btf dump 1` and `btf dump map id 12` need BTF loaded; the examples run on a host without.
  examples: ["bpfkit btf dump file /sys/kernel/btf/vmlinux"],
  async run(ctx, args, opts) {
    const format = str(opts, "format");
    if (format !== undefined && format !== "raw" && format !== "c") throw usageError(`--format ${format}: raw or c`, `usage: bpfkit ${USAGE}`);
    const c = format === "c";
    if (c && ctx.json) throw usageError("--format c prints C, not JSON: leave --json out", `usage: bpfkit ${USAGE}`);
    const [what, ...rest] = args;
    const extra = (n: number) => {
      if (rest.length > n) throw usageError(`unexpected ${JSON.stringify(rest.slice(n).join(" "))}`, `usage: bpfkit ${USAGE}`);
    };
    if (what === undefined) throw usageError("which BTF? an id, `file PATH` or `map MAP`", `usage: bpfkit ${USAGE}`);
    if (what === "file") {
      if (rest[0] === undefined) throw usageError("file needs a PATH", `usage: bpfkit ${USAGE}`);
      extra(1);
      const btf = fileBtf(rest[0]);
      return print(ctx, btf, btfIdsOf(btf), c);
    }
    if (what === "map") {
      const part = rest.length > 0 && ["key", "value", "kv", "all"].includes(rest[rest.length - 1]!) ? rest[rest.length - 1]! : "kv";
      const mapArgs = part === "kv" && rest[rest.length - 1] !== "kv" ? rest : rest.slice(0, -1);
      return withMap(ctx, mapArgs, (more) => {
        if (more.length > 0) throw usageError(`unexpected ${JSON.stringify(more.join(" "))}`, `usage: bpfkit ${USAGE}`);
      }, (d, m) => {
        if (m.info.btfId === 0) throw new CliError(`${m.label} was created without BTF: it has no types to dump`, ExitCode.failure);
        const btf = loadedBtf(d, m.info.btfId);
        const want = part === "key" ? [m.info.btfKeyTypeId] : part === "value" ? [m.info.btfValueTypeId] : [m.info.btfKeyTypeId, m.info.btfValueTypeId];
        // A keyless map's key type is 0, which is no type to list.
        return print(ctx, btf, part === "all" ? btfIdsOf(btf) : want.filter((id) => id !== 0), c);
      });
    }
    if (what === "id" && rest[0] === undefined) throw usageError("id needs a value", `usage: bpfkit ${USAGE}`);
    const id = positiveId(what === "id" ? rest.shift()! : what);
    extra(0);
    const d = await ctx.driver();
    const btf = loadedBtf(d, id);
    return print(ctx, btf, btfIdsOf(btf), c);
  },
};
