// `bpfkit map produce`: a user ring buffer made by `map create --type user_ringbuf`, records written
// by the command and drained by a program (the kernel's test-run drain program, the simulator's
// datapath), on each driver; a full ring, --wait, and the refusals.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DRAIN_EMPTY_VALUE, driversUnderTest, userRingDrainerFor, type KernelUserRingDrainer } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { suiteWorld } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit map produce on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    const world = suiteWorld(dut);
    const { bpfkit } = world;
    const at = (name: string) => `${world.fs.path}/${name}`;
    let drainer: KernelUserRingDrainer;
    beforeAll(() => {
      drainer = userRingDrainerFor(world.d)!;
    });
    afterAll(() => drainer.close());

    /** A user ring made by `map create`, and an fd of it for the drain (closed with the world). */
    async function ring(name: string): Promise<number> {
      const c = await bpfkit("map", "create", at(name), "--type", "user_ringbuf", "--max-entries", "4096");
      expect(c.code, c.err).toBe(0);
      const fd = world.d.objGet(at(name));
      expect(fd).toBeGreaterThanOrEqual(0);
      world.fds.push(fd);
      return fd;
    }

    it("writes one record a program's drain then takes; --json says what it wrote", async () => {
      const fd = await ring("urb1");
      const r = await bpfkit("map", "produce", at("urb1"), "05", "00", "00", "00", "00", "00", "00", "00");
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/produced a 8-byte record into map \d+ at .*\/urb1: 05 00 00 00 00 00 00 00\n$/);
      const j = await bpfkit("map", "produce", at("urb1"), "0x2000000000000000ff", "--json");
      expect(j.code, j.err).toBe(0);
      expect(JSON.parse(j.out)).toEqual({ produced: true, size: 9, bytes: "2000000000000000ff" });
      expect(drainer.drain(fd, 0)).toMatchObject({ ret: 2, sum: 0x25n, count: 2 });
    });

    it("--empty writes a record of no bytes, which the drain hands on as an empty sample and counts", async () => {
      const fd = await ring("urb4");
      const r = await bpfkit("map", "produce", at("urb4"), "--empty");
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/produced a 0-byte record into map \d+ at .*\/urb4\n$/);
      const j = await bpfkit("map", "produce", at("urb4"), "--empty", "--json");
      expect(JSON.parse(j.out)).toEqual({ produced: true, size: 0, bytes: "" });
      const d = drainer.drain(fd, 0);
      expect(d).toMatchObject({ ret: 2, count: 2, sum: 2n * DRAIN_EMPTY_VALUE });
      expect(d.samples.map((x) => x.size)).toEqual([0, 0]);
      const both = await bpfkit("map", "produce", at("urb4"), "01", "--empty");
      expect(both.code).toBe(ExitCode.usage);
      expect(both.err).toContain("give BYTES or --empty, not both");
    });

    it("a full ring refuses (exit 1) saying how much is free; --wait waits for a drain", async () => {
      const fd = await ring("urb2");
      const big = Array.from({ length: 4088 }, () => "01").join("");
      expect((await bpfkit("map", "produce", at("urb2"), big)).code).toBe(0);
      const full = await bpfkit("map", "produce", at("urb2"), "02");
      expect(full.code).toBe(ExitCode.failure);
      expect(full.err).toContain("the ring has no room for a 1-byte record (0 of 4096 bytes free)");
      setTimeout(() => drainer.drain(fd, 0), 30);
      const waited = await bpfkit("map", "produce", at("urb2"), "03", "--wait", "5000");
      expect(waited.code, waited.err).toBe(0);
      expect(drainer.drain(fd, 0)).toMatchObject({ ret: 1, count: 1 });
    });

    it("refuses a record too big for the ring (usage), no bytes (usage), and a map of another type, saying what to use", async () => {
      await ring("urb3");
      const tooBig = await bpfkit("map", "produce", at("urb3"), Array.from({ length: 4089 }, () => "00").join(""));
      expect(tooBig.code).toBe(ExitCode.usage);
      expect(tooBig.err).toContain("a sample of 4089 bytes takes 4104 with its 8-byte header, more than the ring's 4096");
      const none = await bpfkit("map", "produce", at("urb3"));
      expect(none.code).toBe(ExitCode.usage);
      expect(none.err).toContain("the record's bytes are missing");
      expect((await bpfkit("map", "create", at("rb3"), "--type", "ringbuf", "--max-entries", "4096")).code).toBe(0);
      const wrong = await bpfkit("map", "produce", at("rb3"), "01");
      expect(wrong.code).toBe(ExitCode.failure);
      expect(wrong.err).toContain("a ringbuf map takes no records from user space");
      const consume = await bpfkit("map", "consume", at("urb3"));
      expect(consume.code).toBe(ExitCode.failure);
      expect(consume.err).toContain("`bpfkit map produce` writes into it");
    });
  });
}
