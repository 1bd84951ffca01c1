// `bpfkit map event-pipe`: bpftool's `map event_pipe`. A perf event array made by `map create`,
// samples sent on CPU 0 by a real program's bpf_perf_event_output (run by BPF_PROG_TEST_RUN) on
// the kernel, by the datapath on the simulator, printed as they come until --count; the slots it
// filled are empty again afterwards.
import { describe, expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { driversUnderTest } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { perfOutputFor, type PerfOutput } from "../../core/test/support/perf-producer.js";
import { eventLines } from "../src/commands/map-event-pipe.js";
import { suiteWorld } from "./helpers.js";

for (const dut of driversUnderTest()) describe.skipIf(dut.unavailable !== undefined)(`bpfkit map event-pipe on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
  const world = suiteWorld(dut);
  const { bpfkit } = world;
  const at = (name: string) => `${world.fs.path}/${name}`;

  async function events(name: string, entries = world.d.possibleCpus): Promise<number> {
    const c = await bpfkit("map", "create", at(name), "--type", "perf_event_array", "--key-size", "4", "--value-size", "4", "--max-entries", String(entries));
    expect(c.code, c.err).toBe(0);
    const fd = world.d.objGet(at(name));
    expect(fd).toBeGreaterThanOrEqual(0);
    world.fds.push(fd);
    return fd;
  }

  /**
   * Sends each sample from CPU 0 once the command has filled the slot (until then the helper
   * answers -ENOENT and nothing is written), a few ms apart.
   */
  function sendWhenReady(out: PerfOutput, fd: number, samples: Uint8Array[], flags?: bigint): Promise<void> {
    return new Promise((resolve, reject) => {
      let i = 0, tries = 0;
      const tick = (): void => {
        try {
          const r = out.output(fd, samples[i]!, { cpu: 0, ...(flags !== undefined ? { flags } : {}) });
          if (r === 0) i++;
          else if (r !== -Errno.ENOENT || ++tries > 500) throw new Error(`bpf_perf_event_output answered ${r}`);
          if (i === samples.length) resolve();
          else setTimeout(tick, 5);
        } catch (e) {
          reject(e);
        }
      };
      setTimeout(tick, 5);
    });
  }

  it("prints each sample as it comes, bpftool's way, until --count, then empties the slots", async () => {
    const fd = await events("ev1");
    const out = perfOutputFor(world.d)!;
    try {
      const sent = sendWhenReady(out, fd, [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(5, 6, 7, 8, 9, 10, 11, 12)]);
      const r = await bpfkit("map", "event-pipe", at("ev1"), "--count", "2", "--buffer", "4096");
      await sent;
      expect(r.code, r.err).toBe(0);
      // The second sample is padded: 8 bytes and 4 of padding.
      expect(r.out).toBe("== CPU: 0 index: 0 ==\n01 02 03 04\n== CPU: 0 index: 0 ==\n05 06 07 08 09 0a 0b 0c 00 00 00 00\n");
      expect(out.output(fd, Uint8Array.of(1, 2, 3, 4), { cpu: 0 }), "the slot is empty again").toBe(-Errno.ENOENT);
    } finally {
      out.close();
    }
  });

  it("--json prints an object a line; cpu N index M reads one CPU's event through slot M", async () => {
    const fd = await events("ev2", 4);
    const out = perfOutputFor(world.d)!;
    try {
      const sent = sendWhenReady(out, fd, [Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd)], 3n);
      const r = await bpfkit("map", "event-pipe", at("ev2"), "cpu", "0", "index", "3", "--count", "1", "--json");
      await sent;
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe('{"cpu":0,"index":3,"size":4,"bytes":"aabbccdd"}\n');
    } finally {
      out.close();
    }
  });

  it("refuses another map type, half of cpu N index M, and an index past the array", async () => {
    expect((await bpfkit("map", "create", at("h"), "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "2")).code).toBe(0);
    const h = await bpfkit("map", "event-pipe", at("h"), "--count", "1");
    expect(h.code).toBe(ExitCode.failure);
    expect(h.err).toContain("a hash map sends no events: only a perf event array does");
    await events("ev3", 2);
    const half = await bpfkit("map", "event-pipe", at("ev3"), "cpu", "0");
    expect(half.code).toBe(ExitCode.usage);
    expect(half.err).toContain("give both `cpu N` and `index M`, or neither (got only cpu)");
    const far = await bpfkit("map", "event-pipe", at("ev3"), "cpu", "0", "index", "2", "--count", "1");
    expect(far.code).toBe(ExitCode.failure);
    expect(far.err).toContain("options.index 2 is past the array's 2 slots (maxEntries)");
    expect((await bpfkit("map", "event-pipe", at("ev3"), "--count", "0")).code).toBe(ExitCode.usage);
    expect((await bpfkit("map", "event-pipe", at("ev3"), "cpu", "x", "index", "0")).code).toBe(ExitCode.usage);
  });
});

describe("bpfkit map event-pipe's lines", () => {
  it("a lost-samples record is bpftool's `lost N events`, or { lost } in JSON", () => {
    const lost = { cpu: 1, index: 1, rawSample: new Uint8Array(0), lostSamples: 30, remaining: 24 };
    expect(eventLines(lost, false)).toBe("== CPU: 1 index: 1 ==\nlost 30 events\n");
    expect(eventLines(lost, true)).toBe('{"cpu":1,"index":1,"lost":30}\n');
  });
});
