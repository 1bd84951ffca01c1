// `bpfkit map push|pop|peek|enqueue|dequeue` and `map create`/`map show` of queues, stacks and
// bloom filters, on each driver: maps made by the command on a private bpffs, read back through it.
import { describe, expect, it } from "vitest";
import { driversUnderTest } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { createPinned, suiteWorld } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit map push|pop|peek on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    const world = suiteWorld(dut);
    const { bpfkit } = world;
    const at = (name: string) => `${world.fs.path}/${name}`;
    const u32 = ["--value-type", "u32"];

    it("map create makes a queue without --key-size; push, peek and pop go in FIFO order; an empty pop is exit 4", async () => {
      const c = await bpfkit("map", "create", at("q"), "--type", "queue", "--value-type", "u32", "--max-entries", "2");
      expect(c.code, c.err).toBe(0);
      for (const v of ["1", "2"]) expect((await bpfkit("map", "push", at("q"), "value", v, ...u32)).code).toBe(0);
      const full = await bpfkit("map", "push", at("q"), "value", "3", ...u32);
      expect(full.code).toBe(ExitCode.failure);
      expect(full.err).toContain(`push map`);
      expect(full.err).toMatch(/the queue is full \(2 values\)/);
      expect(full.err).toContain("--overwrite");
      expect((await bpfkit("map", "push", at("q"), "value", "3", "--overwrite", ...u32)).code).toBe(0);
      expect((await bpfkit("map", "peek", at("q"), ...u32)).out).toBe("value: 2\n");
      expect(JSON.parse((await bpfkit("map", "pop", at("q"), ...u32, "--json")).out)).toEqual({ value: 2 });
      expect((await bpfkit("map", "dequeue", at("q"), ...u32)).out).toBe("value: 3\n");
      const empty = await bpfkit("map", "pop", at("q"), ...u32);
      expect(empty.code).toBe(ExitCode.notFound);
      expect(empty.err).toMatch(/pop map \d+ .*: the queue is empty/);
      expect((await bpfkit("map", "peek", at("q"))).code).toBe(ExitCode.notFound);
    });

    it("a stack pops newest first; enqueue is push; values print as hex bytes without a type", async () => {
      expect((await bpfkit("map", "create", at("s"), "--type", "stack", "--value-size", "4", "--max-entries", "4")).code).toBe(0);
      expect((await bpfkit("map", "enqueue", at("s"), "value", "01 00 00 00")).code).toBe(0);
      expect((await bpfkit("map", "push", at("s"), "value", "2", ...u32)).code).toBe(0);
      expect((await bpfkit("map", "pop", at("s"))).out).toBe("value: 02 00 00 00\n");
      expect((await bpfkit("map", "pop", at("s"), ...u32)).out).toBe("value: 1\n");
    });

    it("a bloom filter: push adds, peek VALUE says maybe (exit 0) or no (exit 4); --hash-funcs is its map_extra, shown by map show", async () => {
      const c = await bpfkit("map", "create", at("b"), "--type", "bloom_filter", "--value-type", "ipv4", "--max-entries", "64", "--hash-funcs", "3");
      expect(c.code, c.err).toBe(0);
      expect((await bpfkit("map", "push", at("b"), "value", "10.0.0.1", "--value-type", "ipv4")).code).toBe(0);
      const yes = await bpfkit("map", "peek", at("b"), "value", "10.0.0.1", "--value-type", "ipv4", "--json");
      expect(yes.code, yes.err).toBe(0);
      expect(JSON.parse(yes.out)).toEqual({ value: "10.0.0.1", present: "maybe" });
      const no = await bpfkit("map", "peek", at("b"), "value", "10.0.0.2", "--value-type", "ipv4");
      expect(no.code).toBe(ExitCode.notFound);
      expect(no.err).toContain("value 10.0.0.2 is not in the bloom filter");
      const show = await bpfkit("map", "show", at("b"));
      expect(show.out).toMatch(/hash funcs:\s+3 \(map_extra 3\)/);
      expect(JSON.parse((await bpfkit("map", "show", at("b"), "--json")).out)).toMatchObject({ type: "bloom_filter", keySize: 0, mapExtra: 3, hashFuncs: 3 });
      const pop = await bpfkit("map", "pop", at("b"));
      expect(pop.code).toBe(ExitCode.failure);
      expect(pop.err).toContain("a bloom filter has nothing to pop");
      expect((await bpfkit("map", "push", at("b"), "value", "10.0.0.1", "--value-type", "ipv4", "--overwrite")).code).toBe(ExitCode.usage);
      expect((await bpfkit("map", "peek", at("b"))).code).toBe(ExitCode.usage);
    });

    it("refuses bad command lines (exit 2) before any map is opened, and --hash-funcs off 1..15 or off a bloom filter", async () => {
      const noValue = await bpfkit("map", "push", "id", "999999");
      expect([noValue.code, noValue.err]).toEqual([ExitCode.usage, expect.stringContaining("the value is missing")]);
      expect((await bpfkit("map", "push", "id", "999999", "value", "1", "--value-type", "nope")).code).toBe(ExitCode.usage);
      const popValue = await bpfkit("map", "pop", "id", "999999", "value", "1");
      expect([popValue.code, popValue.err]).toEqual([ExitCode.usage, expect.stringContaining("this command takes nothing after the map")]);
      for (const [type, n, why] of [["bloom_filter", "0", "takes 1 to 15 hash functions"], ["bloom_filter", "16", "takes 1 to 15 hash functions"],
        ["queue", "3", "--hash-funcs is for bloom_filter only"]] as const) {
        const r = await bpfkit("map", "create", at("x"), "--type", type, "--value-size", "4", "--max-entries", "4", "--hash-funcs", n);
        expect(r.code, `${type} ${n}`).toBe(ExitCode.usage);
        expect(r.err).toContain(why);
      }
    });

    it("a keyed map is refused by push/pop/peek, and a queue by lookup, each naming the commands that fit", async () => {
      const h = createPinned(world.d, world.fs.path, world.fds, { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, "h");
      const r = await bpfkit("map", "pop", h.path);
      expect(r.code).toBe(ExitCode.failure);
      expect(r.err).toContain("is no queue, stack or bloom filter; it has keys: `bpfkit map lookup|update|delete` use it by key");
      expect((await bpfkit("map", "create", at("q2"), "--type", "queue", "--value-size", "4", "--max-entries", "2")).code).toBe(0);
      const l = await bpfkit("map", "lookup", at("q2"), "key", "0");
      expect(l.code).toBe(ExitCode.failure);
      expect(l.err).toContain("`bpfkit map push|pop|peek` use it by value");
    });

    it("--help lists the new commands, and map push --help shows --overwrite", async () => {
      const help = await bpfkit("map", "--help");
      for (const c of ["map push", "map pop", "map peek", "map enqueue", "map dequeue"]) expect(help.out).toContain(c);
      expect((await bpfkit("map", "push", "--help")).out).toContain("--overwrite");
    });
  });
}
