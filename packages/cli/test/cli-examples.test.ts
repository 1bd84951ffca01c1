// Every command line the help and the READMEs show runs and succeeds: users copy them first.
// They run on a simulator set up as the examples assume (map id 7 an LPM trie, id 12 a hash
// holding 10.0.0.1, cilium_ct4_global pinned, …), never the host: `bpfkit mount` with no path
// would mount /sys/fs/bpf. The fuzz examples run as written, on the drivers they name.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_USER_RINGBUF, decodeMapInfo, MAP_INFO_SIZE, MapType, type Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { canPinCpu, kernelUnderTest } from "@bpfkit/testkit";
import { captureIo, COMMANDS, main } from "../src/index.js";
import { cliOver, createPinned, u32le, u64le } from "./helpers.js";

const root = fileURLToPath(new URL("../../..", import.meta.url));

/** A command line as sh reads it: words split on blanks, 'single quotes' kept whole, # ends it. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (const ch of line) {
    if (ch === "'") {
      quoted = !quoted;
      word ??= "";
    } else if (quoted) word += ch;
    else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === "#" && word === undefined) break;
    else word = (word ?? "") + ch;
  }
  if (quoted) throw new Error(`unclosed quote in ${JSON.stringify(line)}`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Lines of the ```sh blocks of a markdown file that run `bpfkit` through `prefix`. */
function shownInMarkdown(file: string, prefix: string): { where: string; argv: string[] }[] {
  const lines = readFileSync(`${root}/${file}`, "utf8").split("\n");
  const out: { where: string; argv: string[] }[] = [];
  let inSh = false;
  lines.forEach((l, i) => {
    if (l.startsWith("```")) inSh = l === "```sh";
    else if (inSh && l.startsWith(`${prefix} `)) out.push({ where: `${file}:${i + 1}`, argv: shellWords(l.slice(prefix.length)) });
  });
  return out;
}

const examples = [
  ...COMMANDS.flatMap((c) => (c.examples ?? []).map((e) => {
    if (!e.startsWith("bpfkit ")) throw new Error(`bpfkit ${c.name}: an example that is not a bpfkit command line: ${e}`);
    return { where: `bpfkit ${c.name} --help`, argv: shellWords(e.slice("bpfkit".length)) };
  })),
  ...shownInMarkdown("README.md", "npm run bpfkit --"),
  ...shownInMarkdown("packages/cli/README.md", "bpfkit"),
  ...shownInMarkdown("examples/dump-implementation/README.md", "npm run bpfkit --"),
];

const ip = (s: string) => Uint8Array.from(s.split(".").map(Number));

/** The host the examples talk about. */
function exampleHost(): Driver {
  const d = createSimDriver();
  const fds: number[] = [];
  const hash = (keySize: number) => ({ mapType: MapType.Hash, keySize, valueSize: 8, maxEntries: 64 });
  // Ids count from 1; fillers take the ids the examples do not name.
  const made = new Map<number, number>();
  for (let id = 1; id <= 13; id++) {
    const attr = id === 7
      ? { mapType: MapType.LPMTrie, keySize: 8, valueSize: 4, maxEntries: 1024, mapFlags: BPF_F_NO_PREALLOC }
      : id === 13 ? hash(8) : hash(4);
    const fd = id === 7 ? createPinned(d, "/sys/fs/bpf", fds, attr, "routes").fd : d.mapCreate(attr);
    expect(fd).toBeGreaterThanOrEqual(0);
    const info = new Uint8Array(MAP_INFO_SIZE);
    expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
    expect(decodeMapInfo(info).id, "the simulator's map ids count from 1").toBe(id);
    made.set(id, fd);
  }
  // id 12: u32 keys, u64 values; 10.0.0.1 is there, with a key after it for `map next`.
  for (const k of ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]) expect(d.mapUpdateElem(made.get(12)!, ip(k), u64le(1n))).toBe(0);
  expect(d.mapGetNextKey(made.get(12)!, ip("10.0.0.1"), new Uint8Array(4))).toBe(0);
  // id 13: struct{ip:ipv4,port:be16,proto:u8}, 8 bytes as gcc lays it out.
  expect(d.mapUpdateElem(made.get(13)!, Uint8Array.of(10, 0, 0, 1, 0x01, 0xbb, 6, 0), u64le(1n))).toBe(0);
  expect(d.mapUpdateElem(made.get(7)!, Uint8Array.of(...u32le(16), 10, 1, 0, 0), u32le(1))).toBe(0);
  expect(d.host.mkdirAll("/sys/fs/bpf/tc/globals", 0o755)).toBe(0);
  createPinned(d, "/sys/fs/bpf/tc/globals", fds, hash(4), "cilium_ct4_global");
  createPinned(d, "/sys/fs/bpf/tc/globals", fds, hash(4), "cilium_lxc");
  // events: a queue of u32 holding 42 (for pop and peek); seen: a bloom filter of IPv4 addresses holding 10.0.0.1.
  const events = createPinned(d, "/sys/fs/bpf/tc/globals", fds, { mapType: BPF_MAP_TYPE_QUEUE, keySize: 0, valueSize: 4, maxEntries: 64 }, "events");
  expect(d.mapUpdateElem(events.fd, new Uint8Array(0), u32le(42))).toBe(0);
  const seen = createPinned(d, "/sys/fs/bpf/tc/globals", fds, { mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 64 }, "seen");
  expect(d.mapUpdateElem(seen.fd, new Uint8Array(0), ip("10.0.0.1"))).toBe(0);
  // rb_events: a ring buffer holding two records (for consume).
  const rb = createPinned(d, "/sys/fs/bpf/tc/globals", fds, { mapType: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }, "rb_events");
  for (const r of [u32le(7), u64le(9n)]) expect(d.datapath.ringbufOutput({ fd: rb.fd }, r)).toBe(0);
  // urb_cmds: an empty user ring buffer (for produce).
  createPinned(d, "/sys/fs/bpf/tc/globals", fds, { mapType: BPF_MAP_TYPE_USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }, "urb_cmds");
  // /sys/fs/bpf/ct: struct{ip:ipv4,port:be16} keys (8 bytes), u64 values.
  createPinned(d, "/sys/fs/bpf", fds, { mapType: MapType.LRUHash, keySize: 8, valueSize: 8, maxEntries: 64 }, "ct");
  return d;
}

describe("the command lines shown in the help and the READMEs", () => {
  it("are found where they are shown: every command's help, the README and the CLI's README", () => {
    expect(examples.filter((e) => e.where.startsWith("bpfkit ")).length).toBeGreaterThanOrEqual(20);
    expect(examples.filter((e) => e.where.startsWith("README.md")).length).toBeGreaterThanOrEqual(10);
    expect(examples.filter((e) => e.where.startsWith("packages/cli/")).length).toBeGreaterThanOrEqual(4);
    // --implementation needs a module; the repository's example module makes it one that runs.
    expect(examples.some((e) => e.where === "bpfkit fuzz dump --help" && e.argv.includes("--implementation"))).toBe(true);
    expect(shellWords(`map lookup key 1 --key-type 'struct{a:u8, b:u8}' # note`)).toEqual(["map", "lookup", "key", "1", "--key-type", "struct{a:u8, b:u8}"]);
  });

  for (const { where, argv } of examples) {
    const line = argv.join(" ");
    if (argv[0] === "fuzz") {
      // As written: these name the kernel or the simulator themselves.
      const needsKernel = argv.includes("kernel") || !argv.includes("sim");
      const unavailable = needsKernel
        ? kernelUnderTest().unavailable ?? (argv.includes("--lru-eviction") && !canPinCpu() ? "cannot pin a CPU" : undefined)
        : undefined;
      // A module is named from the repository's root, as the example says; the test's cwd may differ.
      const args = argv.map((a, i) => (argv[i - 1] === "--implementation" && !a.startsWith("/") ? resolve(root, a) : a));
      it.skipIf(unavailable !== undefined)(`${where}: bpfkit ${line}`, async () => {
        const io = captureIo({ kernelAvailable: () => undefined });
        const code = await main([...args, "-q"], io);
        expect(code, io.text() + io.errText()).toBe(0);
      }, 120_000);
      continue;
    }
    it(`${where}: bpfkit ${line}`, async () => {
      // `map create` makes its path, so it runs where the path is still free.
      const host = argv[0] === "map" && argv[1] === "create" ? createSimDriver() : exampleHost();
      const r = await cliOver(host)(...argv);
      expect(r.code, r.out + r.err).toBe(0);
    });
  }
});
