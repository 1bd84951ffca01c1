// The property upgrade replaces a pin atomically on the kernel: a second thread opening the pin
// in a tight loop while the main thread upgrades it 200 times never finds the path empty. The
// same loop over a driver without host.rename (unlink, then pin) does find it empty, which shows
// that the reader would see a gap if there were one.
import { availableParallelism } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createBpf, MapType, memoryLogger, u32, wrapDriver, type Bpf, type Driver, type MapSpec } from "@bpfkit/core";
import { mountPrivateBpffs, type PrivateBpffs } from "../../testkit/src/bpffs.js";
import { canPinCpu, onCpu0 } from "../../testkit/src/conformance/pin-cpu.js";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { openFdCount } from "./support/bpf-world.js";
import { koffiFrom, startWorker } from "./support/worker.js";

const precious: MapSpec<number, number> = { name: "precious", type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };

interface Reader {
  opened(): number;
  enoent(): number;
  stop(): Promise<{ opened: number; enoent: number; other: number }>;
}

/** Whether the reader can have CPU 1 and the main thread CPU 0. */
const twoCpus = availableParallelism() >= 2 && canPinCpu();

/** Starts pin-get-worker.mjs on `path` (on CPU 1 when there are two) and waits until it is opening the pin. */
async function startReader(path: string): Promise<Reader> {
  const counter = new SharedArrayBuffer(16);
  const shared = new Int32Array(counter);
  const worker = await startWorker(new URL("./support/pin-get-worker.mjs", import.meta.url),
    { koffiFrom, path, counter, cpu: twoCpus ? 1 : undefined }, () => Atomics.load(shared, 0) >= 1000, "pin reader");
  return {
    opened: () => Atomics.load(shared, 0),
    enoent: () => Atomics.load(shared, 1),
    async stop() {
      Atomics.store(shared, 3, 1);
      await worker.join();
      return { opened: Atomics.load(shared, 0), enoent: Atomics.load(shared, 1), other: Atomics.load(shared, 2) };
    },
  };
}

const kernel = kernelUnderTest();
describe.skipIf(kernel.unavailable !== undefined)("replacing a pin while another thread opens it [kernel]", () => {
  let driver: Driver;
  let fs: PrivateBpffs;
  beforeEach(() => {
    driver = kernel.create();
    fs = mountPrivateBpffs(driver);
  });
  afterEach(() => fs.dispose());

  /**
   * Upgrades "precious" (4 ↔ 8 entries) `n` times, or until `until` (given how many ran) says
   * stop, on CPU 0 when the reader has CPU 1; returns how many ran.
   */
  function upgrade(bpf: Bpf, n: number, until: (ran: number) => boolean = () => false): number {
    const run = (): number => {
      let i = 0;
      for (; i < n && !until(i); i++) {
        const m = bpf.newMap({ ...precious, maxEntries: i % 2 === 0 ? 8 : 4 });
        expect(m.openOrCreate()).toBe(true);
        m.close();
      }
      return i;
    };
    return twoCpus ? onCpu0(run) : run();
  }

  function pinPrecious(bpf: Bpf): string {
    const m = bpf.newMap(precious);
    m.openOrCreate();
    m.close();
    return m.path();
  }

  it("with rename, 200 upgrades never leave the path empty", async () => {
    const bpf = createBpf({ driver, mapRoot: fs.path, logger: memoryLogger() });
    const fds = openFdCount();
    const reader = await startReader(pinPrecious(bpf));
    const during = reader.opened();
    // At least 200, and on until the reader has opened the pin 200 times meanwhile: on a loaded
    // host its thread may get little CPU while the upgrades run.
    const ran = upgrade(bpf, 20_000, (i) => i >= 200 && reader.opened() - during > 200);
    const seen = await reader.stop();
    expect(seen.enoent, `after ${ran} upgrades`).toBe(0);
    expect(seen.other).toBe(0);
    // The reader kept opening the pin while the upgrades ran.
    expect(seen.opened - during, `after ${ran} upgrades`).toBeGreaterThan(200);
    expect(openFdCount()).toBe(fds);
  });

  // The gap between unlink and pin is a few microseconds: a reader on its own CPU meets it within
  // a few hundred upgrades, one that must be scheduled in exactly there may never. So this check
  // of the reader needs two CPUs to be sure of failing the old code.
  if (!twoCpus) console.warn("the gap-finding reader test is skipped: it needs two CPUs it can pin threads to");
  it.skipIf(!twoCpus)("without rename (unlink, then pin) the reader does find the path empty", async () => {
    const bpf = createBpf({ driver: wrapDriver(driver, { host: { rename: null } }), mapRoot: fs.path, logger: memoryLogger() });
    const reader = await startReader(pinPrecious(bpf));
    const ran = upgrade(bpf, 2000, () => reader.enoent() > 0);
    const seen = await reader.stop();
    expect(seen.enoent, `ENOENT seen after ${ran} upgrades`).toBeGreaterThan(0);
  });
});
