// The kernel demo's datapath thread: it acts through the main thread's fd, and when bpf(2)
// refuses it something other than a vanished or existing flow, the demo says so once the
// thread is stopped, however long ago the thread gave up (it must not wait for an exit it missed).
import { describe, expect, it } from "vitest";
import { BPF_F_RDONLY, BPF_MAP_TYPE_HASH, type Driver } from "@bpfkit/core";
import { kernelUnderTest } from "@bpfkit/testkit";
import { ctKey, ctValue } from "../src/demo/conntrack.js";
import { startKernelDatapath } from "../src/demo/kernel-datapath.js";

const k = kernelUnderTest();

describe.skipIf(k.unavailable !== undefined)("kernel demo datapath", () => {
  const withMap = async (mapFlags: number, fn: (d: Driver, fd: number) => Promise<void>) => {
    const d = k.create();
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: ctKey.size, valueSize: ctValue.size, maxEntries: 64, mapFlags });
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      await fn(d, fd);
    } finally {
      d.close(fd);
    }
  };
  const pool = () => ({ from: 0, to: 32, present: new Int8Array(32) });
  const busyUntil = (done: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!done() && Date.now() < end) { /* the worker runs on its own thread */ }
  };

  it("opens and closes flows through the main thread's fd, and leaves that fd open", async () => {
    await withMap(0, async (d, fd) => {
      const dp = await startKernelDatapath({ mapFd: fd, pool: pool(), seed: 1, expires: 1n });
      dp.during(() => busyUntil(() => dp.counts().deletes >= 5));
      await dp.close();
      const { inserts, deletes } = dp.counts();
      expect(deletes).toBeGreaterThanOrEqual(5);
      let n = 0;
      const key = new Uint8Array(ctKey.size);
      for (let r = d.mapGetNextKey(fd, null, key); r === 0; r = d.mapGetNextKey(fd, key, key)) n++;
      expect(n).toBe(inserts - deletes);
    });
  });

  it("a refused update stops the thread, and close() names the errno even after the thread has exited", async () => {
    // BPF_F_RDONLY: user space may not write, so the first insert is EPERM.
    await withMap(BPF_F_RDONLY, async (_d, fd) => {
      const dp = await startKernelDatapath({ mapFd: fd, pool: pool(), seed: 1, expires: 1n });
      dp.during(() => busyUntil(() => false, 200));
      // The worker's exit reaches the event loop before close() is called.
      await new Promise((r) => setTimeout(r, 100));
      await expect(dp.close()).rejects.toThrow("the datapath thread's update or delete failed: EPERM (operation not permitted)");
      expect(dp.counts().inserts).toBe(0);
    });
  });
});
