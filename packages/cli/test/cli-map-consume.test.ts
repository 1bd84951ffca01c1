// `bpfkit map consume`: a ring buffer made by `map create`, records written by a program (the
// kernel's test-run producer, the simulator's datapath), taken and printed, on each driver.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { driversUnderTest, ringbufProducerFor, type RingbufProducer } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { suiteWorld } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit map consume on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    const world = suiteWorld(dut);
    const { bpfkit } = world;
    const at = (name: string) => `${world.fs.path}/${name}`;
    let producer: RingbufProducer;
    beforeAll(() => {
      producer = ringbufProducerFor(world.d)!;
    });
    afterAll(() => producer.close());

    /** A ring made by `map create`, and an fd of it for the producer (closed with the world). */
    async function ring(name: string): Promise<number> {
      const c = await bpfkit("map", "create", at(name), "--type", "ringbuf", "--max-entries", "4096");
      expect(c.code, c.err).toBe(0);
      const fd = world.d.objGet(at(name));
      expect(fd).toBeGreaterThanOrEqual(0);
      world.fds.push(fd);
      return fd;
    }

    it("prints each ready record as hex, oldest first, and takes it: a second consume finds none (exit 4)", async () => {
      const fd = await ring("rb1");
      expect(producer.output(fd, Uint8Array.of(1, 2, 3))).toBe(0);
      expect(producer.output(fd, Uint8Array.of(0xff))).toBe(0);
      const r = await bpfkit("map", "consume", at("rb1"));
      expect([r.code, r.out]).toEqual([0, "record (3 bytes): 01 02 03\nrecord (1 bytes): ff\n"]);
      const again = await bpfkit("map", "consume", at("rb1"));
      expect(again.code).toBe(ExitCode.notFound);
      expect(again.err).toContain("no record is ready");
    });

    it("--count takes that many and leaves the rest; --json lists size and bytes", async () => {
      const fd = await ring("rb2");
      for (const b of [1, 2, 3]) expect(producer.output(fd, Uint8Array.of(b, b))).toBe(0);
      const one = await bpfkit("map", "consume", at("rb2"), "--count", "1", "--json");
      expect(one.code, one.err).toBe(0);
      expect(JSON.parse(one.out)).toEqual([{ size: 2, bytes: "0101" }]);
      expect(JSON.parse((await bpfkit("map", "consume", at("rb2"), "--json")).out)).toEqual([{ size: 2, bytes: "0202" }, { size: 2, bytes: "0303" }]);
    });

    it("--wait waits for the first record a program writes meanwhile", async () => {
      const fd = await ring("rb3");
      setTimeout(() => producer.output(fd, Uint8Array.of(7)), 30);
      const r = await bpfkit("map", "consume", at("rb3"), "--wait", "5000");
      expect([r.code, r.out]).toEqual([0, "record (1 bytes): 07\n"]);
      const none = await bpfkit("map", "consume", at("rb3"), "--wait", "20");
      expect(none.code).toBe(ExitCode.notFound);
      expect(none.err).toContain("no record is ready after 20 ms");
    });

    it("--follow prints each record as a program writes it, until --count; --json gives a JSON object a line", async () => {
      const fd = await ring("rbf");
      expect(producer.output(fd, Uint8Array.of(1))).toBe(0);
      setTimeout(() => producer.output(fd, Uint8Array.of(2, 2)), 20);
      setTimeout(() => producer.output(fd, Uint8Array.of(3)), 40);
      const r = await bpfkit("map", "consume", at("rbf"), "--follow", "--count", "3");
      expect([r.code, r.out]).toEqual([0, "record (1 bytes): 01\nrecord (2 bytes): 02 02\nrecord (1 bytes): 03\n"]);
      setTimeout(() => producer.output(fd, Uint8Array.of(4, 5)), 20);
      const j = await bpfkit("map", "consume", at("rbf"), "--follow", "--count", "1", "--json");
      expect([j.code, j.out]).toEqual([0, '{"size":2,"bytes":"0405"}\n']);
      const both = await bpfkit("map", "consume", at("rbf"), "--follow", "--wait", "10");
      expect(both.code).toBe(ExitCode.usage);
      expect(both.err).toContain("--wait and --follow do not go together");
    });

    it("map create of a ringbuf takes no sizes; a size in bytes it cannot have, or a value size, is named", async () => {
      const odd = await bpfkit("map", "create", at("rb_odd"), "--type", "ringbuf", "--max-entries", "6144");
      expect(odd.code).toBe(ExitCode.failure);
      expect(odd.err).toContain("a ringbuf's --max-entries is its size in bytes: a power of 2 and a multiple of the page (4096), not 6144");
      const sized = await bpfkit("map", "create", at("rb_odd"), "--type", "ringbuf", "--value-size", "8", "--max-entries", "4096");
      expect(sized.code).toBe(ExitCode.failure);
      expect(sized.err).toContain("a ringbuf has no keys or values: leave out --key-size and --value-size (0)");
      expect(world.d.host.stat(at("rb_odd")).errno).not.toBe(0);
    });

    it("another map type is refused, naming what reads it; a bad --count is a usage error", async () => {
      expect((await bpfkit("map", "create", at("q"), "--type", "queue", "--value-size", "4", "--max-entries", "2")).code).toBe(0);
      const q = await bpfkit("map", "consume", at("q"));
      expect(q.code).toBe(ExitCode.failure);
      expect(q.err).toContain("a queue map has no records to consume: only a ring buffer has");
      expect(q.err).toContain("`bpfkit map pop`");
      expect((await bpfkit("map", "consume", at("q"), "--count", "0")).code).toBe(ExitCode.usage);
      expect((await bpfkit("map", "consume", at("q"), "--wait", "soon")).code).toBe(ExitCode.usage);
    });
  });
}
