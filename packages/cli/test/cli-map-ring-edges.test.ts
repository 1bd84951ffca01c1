// `bpfkit map consume`, `map produce` and `map event-pipe` at their edges (their own test files
// cover the everyday paths): what a mutation audit found no test for. --count with --wait,
// --wait when records are ready, --wait 0, the words and sizes each refuses, and every fd and
// mapping given back, on success and on failure.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { driversUnderTest, ringbufProducerFor, userRingDrainerFor, type KernelUserRingDrainer, type RingbufProducer } from "@bpfkit/testkit";
import { perfOutputFor } from "../../core/test/support/perf-producer.js";
import { ExitCode } from "../src/index.js";
import { cliOver, suiteWorld } from "./helpers.js";
import { trackHandles } from "./support/handles.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`map consume, produce and event-pipe edges on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    const world = suiteWorld(dut);
    const { bpfkit } = world;
    const at = (name: string) => `${world.fs.path}/${name}`;
    let producer: RingbufProducer;
    let drainer: KernelUserRingDrainer;
    beforeAll(() => {
      producer = ringbufProducerFor(world.d)!;
      drainer = userRingDrainerFor(world.d)!;
    });
    afterAll(() => {
      producer.close();
      drainer.close();
    });

    /** A map made by `map create` of `type` (a ring of 4096 bytes, else a perf event array), and an fd of it. */
    async function make(name: string, type: "ringbuf" | "user_ringbuf" | "perf_event_array"): Promise<number> {
      const size = type === "perf_event_array" ? ["--key-size", "4", "--value-size", "4", "--max-entries", String(world.d.possibleCpus)] : ["--max-entries", "4096"];
      const c = await bpfkit("map", "create", at(name), "--type", type, ...size);
      expect(c.code, c.err).toBe(0);
      const fd = world.d.objGet(at(name));
      expect(fd).toBeGreaterThanOrEqual(0);
      world.fds.push(fd);
      return fd;
    }
    const records = (out: string) => (JSON.parse(out) as Array<{ bytes: string }>).map((r) => r.bytes);

    it("consume --count N --wait takes N of the records that come at once while it waits, and leaves the rest", async () => {
      const fd = await make("cw", "ringbuf");
      setTimeout(() => { for (const b of [1, 2, 3]) producer.output(fd, Uint8Array.of(b)); }, 30);
      const r = await bpfkit("map", "consume", at("cw"), "--count", "2", "--wait", "5000", "--json");
      expect(r.code, r.err).toBe(0);
      expect(records(r.out)).toEqual(["01", "02"]);
      expect(records((await bpfkit("map", "consume", at("cw"), "--json")).out)).toEqual(["03"]);
    });

    it("consume --wait waits for a first record only when none is ready; --wait 0 waits not at all", async () => {
      const fd = await make("cr", "ringbuf");
      expect(producer.output(fd, Uint8Array.of(0xa))).toBe(0);
      // Written long after a consume that finds a record ready has returned.
      const later = sleep(300).then(() => producer.output(fd, Uint8Array.of(0xb)));
      const r = await bpfkit("map", "consume", at("cr"), "--wait", "5000", "--json");
      expect(r.code, r.err).toBe(0);
      expect(records(r.out)).toEqual(["0a"]);
      expect(await later).toBe(0);
      expect(records((await bpfkit("map", "consume", at("cr"), "--wait", "0", "--json")).out)).toEqual(["0b"]);
      const none = await bpfkit("map", "consume", at("cr"), "--wait", "0");
      expect([none.code, none.err]).toEqual([ExitCode.notFound, expect.stringContaining("no record is ready after 0 ms")]);
    });

    it("consume gives back its fds and the ring's mappings: records taken, none ready, --follow, a map of another type", async () => {
      const fd = await make("ch", "ringbuf");
      await make("ch_urb", "user_ringbuf");
      for (const [argv, code, before] of [
        [[at("ch")], 0, () => producer.output(fd, Uint8Array.of(1))],
        [[at("ch")], ExitCode.notFound, () => 0],
        [[at("ch"), "--follow", "--count", "1"], 0, () => producer.output(fd, Uint8Array.of(2))],
        [[at("ch_urb")], ExitCode.failure, () => 0],
      ] as const) {
        expect(before()).toBe(0);
        const t = trackHandles(world.d);
        const r = await cliOver(t.driver)("map", "consume", ...argv);
        expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(code);
        expect(t.open(), argv.join(" ")).toEqual([]);
      }
    });

    it("produce --wait 0 is a wait of none: a ring with room takes the record", async () => {
      const fd = await make("pw", "user_ringbuf");
      const r = await bpfkit("map", "produce", at("pw"), "07", "--wait", "0");
      expect(r.code, r.err).toBe(0);
      expect(drainer.drain(fd, 0)).toMatchObject({ ret: 1, count: 1 });
    });

    it("produce's note on stderr is hidden by -q, and with --json is the JSON on stdout instead", async () => {
      const fd = await make("pq", "user_ringbuf");
      const quiet = await bpfkit("map", "produce", at("pq"), "01", "-q");
      expect([quiet.code, quiet.out, quiet.err]).toEqual([0, "", ""]);
      const j = await bpfkit("map", "produce", at("pq"), "02", "--json");
      expect([j.code, JSON.parse(j.out)]).toEqual([0, { produced: true, size: 1, bytes: "02" }]);
      expect(j.err).not.toContain("produced");
      expect(drainer.drain(fd, 0)).toMatchObject({ ret: 2, count: 2 });
    });

    it("produce gives back its fds and the ring's mapping: a record written, a full ring, a record too big, a map of another type", async () => {
      await make("ph", "user_ringbuf");
      await make("ph_rb", "ringbuf");
      const fill = Array.from({ length: 4088 }, () => "01").join("");
      for (const [argv, code] of [
        [[at("ph"), fill], 0],
        [[at("ph"), "02"], ExitCode.failure],
        [[at("ph"), "02", "--wait", "10"], ExitCode.failure],
        [[at("ph"), `${fill}0102`], ExitCode.usage],
        [[at("ph_rb"), "01"], ExitCode.failure],
      ] as const) {
        const t = trackHandles(world.d);
        const r = await cliOver(t.driver)("map", "produce", ...argv);
        expect(r.code, `${argv.slice(1).join(" ").slice(0, 20)}: ${r.err}`).toBe(code);
        expect(t.open()).toEqual([]);
      }
    });

    it("event-pipe refuses `cpu` or `index` given twice, a negative cpu, and a --buffer of 0 or past 1 GiB", async () => {
      await make("ew", "perf_event_array");
      for (const [words, why] of [
        [["cpu", "0", "cpu", "1", "index", "0"], "cpu is given twice"],
        [["cpu", "0", "index", "0", "index", "1"], "index is given twice"],
        [["cpu", "-1", "index", "0"], "cpu -1: expected a number after `cpu`"],
        [["--buffer", "0"], "--buffer 0: expected an integer in [1, 1073741824]"],
        [["--buffer", String(2 ** 30 + 1)], `--buffer ${2 ** 30 + 1}: expected an integer in [1, 1073741824]`],
      ] as const) {
        const r = await bpfkit("map", "event-pipe", at("ew"), ...words, "--count", "1");
        expect([r.code, r.err], words.join(" ")).toEqual([ExitCode.usage, expect.stringContaining(why)]);
      }
    });

    it("event-pipe gives back its fds, the perf events' and their mappings, after --count records and on an index past the array", async () => {
      const fd = await make("eh", "perf_event_array");
      const out = perfOutputFor(world.d)!;
      try {
        const t = trackHandles(world.d);
        // Sent once the command has filled CPU 0's slot (until then the helper answers ENOENT).
        const sent = (async () => {
          for (let i = 0; i < 400; i++) {
            await sleep(5);
            const r = out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 });
            if (r !== -Errno.ENOENT) return r;
          }
          return -Errno.ETIMEDOUT;
        })();
        const r = await cliOver(t.driver)("map", "event-pipe", at("eh"), "--count", "1");
        expect([r.code, await sent], r.err).toEqual([0, 0]);
        expect(t.open()).toEqual([]);
        const far = trackHandles(world.d);
        const bad = await cliOver(far.driver)("map", "event-pipe", at("eh"), "cpu", "0", "index", String(world.d.possibleCpus), "--count", "1");
        expect(bad.code, bad.err).toBe(ExitCode.failure);
        expect(far.open()).toEqual([]);
      } finally {
        out.close();
      }
    });
  });
}
