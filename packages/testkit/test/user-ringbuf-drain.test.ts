// USER_RINGBUF's drain on the real kernel: records written through the kernel driver's mmap (raw,
// as testkit's UserRingWriter writes them, good and malformed) are drained by a real program
// (bpf_user_ringbuf_drain with a BPF_PSEUDO_FUNC callback, loaded with BTF func_info) run by
// BPF_PROG_TEST_RUN; the simulator's datapath drain answers the same on the same records.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Errno, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import {
  kernelUserRingDrainer, runUserRingDrainCase, simUserRingDrain, USER_RING_DRAIN_CASES, UserRingWriter,
} from "../src/index.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();
const USER_RINGBUF = 31, PAGE = 4096;

describe.skipIf(kernel.unavailable !== undefined)("USER_RINGBUF drained by a real program, and by the simulator alike", () => {
  for (const c of USER_RING_DRAIN_CASES) {
    it(c.name, () => {
      const d = kernel.create();
      const before = readdirSync("/proc/self/fd").length;
      const k = kernelUserRingDrainer(d);
      try {
        const onKernel = runUserRingDrainCase(d, c, k.drain);
        const sim = createSimDriver({ possibleCpus: 2 });
        const onSim = runUserRingDrainCase(sim, c, simUserRingDrain(sim));
        expect(onSim).toEqual(onKernel);
      } finally {
        k.close();
      }
      expect(readdirSync("/proc/self/fd").length, "fds after the case").toBe(before);
    });
  }

  it("a drain from the program wakes a writer waiting for room (EPOLLOUT) on the kernel", async () => {
    const d = kernel.create();
    const k = kernelUserRingDrainer(d);
    const fd = d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
    const w = new UserRingWriter(d, fd, PAGE);
    try {
      w.write([{ len: PAGE - 8 }]);
      expect(await d.mapPoll!(fd, 0)).toBe(0);
      const waiting = d.mapPoll!(fd, 5000);
      // NO_WAKEUP: room is made, but no one is told.
      expect(k.drain(fd, 1)).toMatchObject({ ret: 1, count: 1 });
      expect(await Promise.race([waiting, new Promise((r) => setTimeout(() => r("pending"), 50))])).toBe("pending");
      expect(k.drain(fd, 2).ret).toBe(0);
      expect(await waiting).toBe(1);
      // The kernel's drain of a non-USER_RINGBUF map does not load.
      const rb = d.mapCreate({ mapType: 27, keySize: 0, valueSize: 0, maxEntries: PAGE });
      try {
        expect(() => k.drain(rb, 0)).toThrow(expect.objectContaining({ errno: Errno.EINVAL }));
      } finally {
        d.close(rb);
      }
    } finally {
      w.close();
      d.close(fd);
      k.close();
    }
  });
});

describe("UserRingWriter", () => {
  it("a store the mapping refuses throws, naming what was written and the errno, so no record is lost unseen", () => {
    const sim = createSimDriver();
    const d = wrapDriver(sim, { mmapWrite: (h, off, b) => (off >= PAGE + 8 ? -Errno.EACCES : sim.mmapWrite!(h, off, b)) });
    const fd = d.mapCreate({ mapType: USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: PAGE });
    const w = new UserRingWriter(d, fd, PAGE);
    try {
      expect(() => w.write([{ len: 16 }])).toThrow(`UserRingWriter: writing a sample at offset ${PAGE + 8}: EACCES`);
      // The producer position was not moved past a record that is not there.
      expect(w.producerPos()).toBe(0n);
      expect(() => w.setProducerPos(8n)).not.toThrow();
      expect(w.producerPos()).toBe(8n);
    } finally {
      w.close();
      d.close(fd);
    }
  });
});
