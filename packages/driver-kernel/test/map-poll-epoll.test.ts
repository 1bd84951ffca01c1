// The kernel driver's mapPoll beyond the shared contract (testkit's map-poll.test.ts): all waits
// share one epoll_wait on one worker thread, so however many there are, libuv's pool (4 threads
// by default, shared with fs, dns and zlib) stays free; and the epoll fd and its eventfd exist
// only while a wait does.
import { readdirSync, readlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_RINGBUF } from "@bpfkit/core";
import { describeKernel, kernelForFile, withFds } from "./helpers.js";
import { kernelRingbufProducer } from "../../testkit/src/ringbuf/producer-kernel.js";
import { settledWithin } from "../../testkit/src/settled-within.js";

const k = kernelForFile();

/** This process's fds that are an epoll instance or an eventfd (libuv's own and worker threads' among them). */
function epollFds(): string[] {
  const out: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target === "anon_inode:[eventpoll]" || target === "anon_inode:[eventfd]") out.push(target);
    } catch {
      // readdir's own fd, closed by now
    }
  }
  return out.sort();
}

/** Node's own epoll and eventfd fds, before any wait of the driver. */
const NODE_OWN = epollFds();

/** The driver's epoll fds: those beyond Node's own. */
function driverEpollFds(): string[] {
  const now = epollFds();
  for (const own of NODE_OWN) now.splice(now.indexOf(own), 1);
  return now;
}

/** The driver's epoll fds once its instance is closed (a moment after the last wait ends), or after 2 s. */
async function idle(): Promise<string[]> {
  for (let i = 0; i < 200 && driverEpollFds().length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return driverEpollFds();
}

describeKernel("kernel driver: mapPoll's one epoll instance", () => {
  it("sixteen waits hold one worker thread: fs reads still run while they wait", async () => {
    const d = k.d;
    const producer = kernelRingbufProducer(d);
    try {
      await withFds(d, async (keep) => {
        expect(await idle()).toEqual([]);
        const rings = Array.from({ length: 16 }, () => keep(d.mapCreate({ mapType: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 })));
        const waits = rings.map((fd) => d.mapPoll!(fd, Number.POSITIVE_INFINITY));
        // One epoll instance and one eventfd for all sixteen.
        expect(driverEpollFds()).toEqual(["anon_inode:[eventfd]", "anon_inode:[eventpoll]"]);
        // A thread per wait would leave fs none of libuv's 4: these reads would never run.
        const reads = Array.from({ length: 8 }, () => readFile("/proc/self/status", "utf8"));
        expect(await settledWithin(Promise.all(reads), 3000)).not.toBe("pending");
        expect(await settledWithin(Promise.race(waits), 50)).toBe("pending");
        for (const fd of rings) expect(producer.output(fd, Uint8Array.of(1))).toBe(0);
        expect(await settledWithin(Promise.all(waits), 3000)).toEqual(rings.map(() => 1));
        expect(await idle(), "the instance closes after the last wait").toEqual([]);
      });
    } finally {
      producer.close();
    }
  });

  it("a wait that times out, one aborted and one closed each leave no epoll fd behind", async () => {
    const d = k.d;
    await withFds(d, async (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096 }));
      expect(await d.mapPoll!(fd, 20)).toBe(0);
      expect(await idle()).toEqual([]);
      const ac = new AbortController();
      const w = d.mapPoll!(fd, Number.POSITIVE_INFINITY, ac.signal);
      expect(driverEpollFds().length).toBe(2);
      ac.abort();
      expect(await w).toBe(0);
      expect(await idle()).toEqual([]);
      const dup = d.dup!(fd);
      const closing = d.mapPoll!(dup, Number.POSITIVE_INFINITY);
      expect(d.close(dup)).toBe(0);
      expect(await closing).toBe(-9 /* EBADF */);
      expect(await idle()).toEqual([]);
    });
  });
});
