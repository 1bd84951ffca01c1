// `bpfkit map push|pop|peek` at their edges (cli-map-queue.test.ts covers the everyday paths):
// what a mutation audit found no test for: the words after the map, a stack's own words, what
// push says, a frozen map's EPERM, and peek opening its map read-only.
import { describe, expect, it } from "vitest";
import { BPF_F_RDONLY, Errno, wrapDriver } from "@bpfkit/core";
import { driversUnderTest } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { cliOver, suiteWorld } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit map push|pop|peek edges on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    const world = suiteWorld(dut);
    const { bpfkit } = world;
    const at = (name: string) => `${world.fs.path}/${name}`;
    const u32 = ["--value-type", "u32"];
    const create = async (name: string, type: string, max = "2") => {
      const c = await bpfkit("map", "create", at(name), "--type", type, "--value-type", "u32", "--max-entries", max);
      expect(c.code, c.err).toBe(0);
    };

    it("the words after the map: `value` and then at least one word; a queue is peeked without a value", async () => {
      await create("w", "queue");
      const notValue = await bpfkit("map", "push", at("w"), "val", "1", ...u32);
      expect([notValue.code, notValue.err]).toEqual([ExitCode.usage, expect.stringContaining('expected `value` after the map, got "val"')]);
      const bare = await bpfkit("map", "push", at("w"), "value", ...u32);
      expect([bare.code, bare.err]).toEqual([ExitCode.usage, expect.stringContaining("the value is missing")]);
      expect((await bpfkit("map", "push", at("w"), "value", "1", ...u32)).code).toBe(0);
      const peekValue = await bpfkit("map", "peek", at("w"), "value", "1", ...u32);
      expect([peekValue.code, peekValue.err]).toEqual([ExitCode.usage, expect.stringContaining("a queue is peeked without a value")]);
      const bloomBare = await (async () => {
        await create("wb", "bloom_filter", "8");
        return bpfkit("map", "peek", at("wb"), ...u32);
      })();
      expect([bloomBare.code, bloomBare.err]).toEqual([ExitCode.usage, expect.stringContaining("a bloom filter is asked about one value")]);
    });

    it("--hash-funcs takes 15; without it map show says the kernel's 5 (map_extra 0)", async () => {
      const c = await bpfkit("map", "create", at("h15"), "--type", "bloom_filter", "--value-size", "4", "--max-entries", "8", "--hash-funcs", "15");
      expect(c.code, c.err).toBe(0);
      expect(JSON.parse((await bpfkit("map", "show", at("h15"), "--json")).out)).toMatchObject({ mapExtra: 15, hashFuncs: 15 });
      await create("h0", "bloom_filter", "8");
      expect((await bpfkit("map", "show", at("h0"))).out).toMatch(/hash funcs:\s+5 \(map_extra 0\)/);
      expect(JSON.parse((await bpfkit("map", "show", at("h0"), "--json")).out)).toMatchObject({ mapExtra: 0, hashFuncs: 5 });
    });

    it("a full stack says it is a stack", async () => {
      await create("st", "stack", "1");
      expect((await bpfkit("map", "push", at("st"), "value", "1", ...u32)).code).toBe(0);
      const full = await bpfkit("map", "push", at("st"), "value", "2", ...u32);
      expect([full.code, full.err]).toEqual([ExitCode.failure, expect.stringMatching(/the stack is full \(1 values\)/)]);
    });

    it("push says on stderr what it did (added to a bloom filter, pushed to a queue), unless -q; --json prints the value instead", async () => {
      await create("pq", "queue");
      await create("pb", "bloom_filter", "8");
      const q = await bpfkit("map", "push", at("pq"), "value", "5", ...u32);
      expect(q.err).toMatch(/^pushed to /m);
      const b = await bpfkit("map", "push", at("pb"), "value", "5", ...u32);
      expect(b.err).toMatch(/^added to /m);
      const j = await bpfkit("map", "push", at("pq"), "value", "6", ...u32, "--json");
      expect([j.code, JSON.parse(j.out)]).toEqual([0, { pushed: true, value: 6 }]);
      // The note is what --json prints, and -q hides it.
      expect(j.err).not.toMatch(/pushed to|added to/);
      const quiet = await bpfkit("map", "push", at("pb"), "value", "7", ...u32, "-q");
      expect([quiet.code, quiet.err]).toEqual([0, ""]);
    });

    it("push and pop on a frozen queue say it is frozen; peek still reads", async () => {
      await create("fz", "queue");
      expect((await bpfkit("map", "push", at("fz"), "value", "1", ...u32)).code).toBe(0);
      expect((await bpfkit("map", "freeze", at("fz"))).code).toBe(0);
      for (const argv of [["push", at("fz"), "value", "2"], ["pop", at("fz")]]) {
        const r = await bpfkit("map", ...argv, ...u32);
        expect(r.code, argv.join(" ")).toBe(ExitCode.failure);
        expect(r.err).toMatch(/frozen \(BPF_MAP_FREEZE\)/);
      }
      expect((await bpfkit("map", "peek", at("fz"), ...u32)).out).toBe("value: 1\n");
    });

    it("peek opens the map read-only, so a pin readable only is still peeked", async () => {
      await create("ro", "queue");
      expect((await bpfkit("map", "push", at("ro"), "value", "9", ...u32)).code).toBe(0);
      // OBJ_GET of this pin answers EACCES to any mode but BPF_F_RDONLY (a 0400 pin of another user).
      const d = world.d;
      const readableOnly = cliOver(wrapDriver(d, {
        objGet: (path, flags) => (path === at("ro") && flags !== BPF_F_RDONLY ? -Errno.EACCES : d.objGet(path, flags)),
      }));
      const peek = await readableOnly("map", "peek", at("ro"), ...u32);
      expect([peek.code, peek.out], peek.err).toEqual([0, "value: 9\n"]);
      expect((await readableOnly("map", "pop", at("ro"), ...u32)).code).not.toBe(0);
    });
  });
}
