// One test environment per driver: a fresh driver, a private bpffs as the map root, and a Bpf
// over them; every map made through `env.map()` is closed and the mount is removed afterwards.
import { afterEach, beforeEach, describe } from "vitest";
import {
  BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC, createBpf, memoryLogger, u32, type Bpf, type BpfMap,
  type Driver, type Logger, type LogRecord, type MapSpec, type MetricsHook,
} from "@bpfkit/core";
import { mountPrivateBpffs, type PrivateBpffs } from "../../../testkit/src/bpffs.js";
import { driversUnderTest, type DriverUnderTest } from "../../../testkit/src/drivers.js";

export interface Env {
  readonly kind: "sim" | "kernel";
  readonly driver: Driver;
  readonly bpf: Bpf;
  readonly root: string;
  readonly logs: LogRecord[];
  /** Ops recorded by the metrics hook: `${commonName} ${op} ${outcome}`. */
  readonly ops: string[];
  /** A map whose objects are closed after the test. */
  map<K, V>(spec: MapSpec<K, V>): BpfMap<K, V>;
  /** Registers anything with close() for cleanup. */
  track<T extends { close(): void }>(m: T): T;
  /** A second Bpf over the same driver and root (another "process" view of the pins). */
  otherBpf(): Bpf;
}

/** Cilium's test map: u32 key → u32 value, 16 entries, NO_PREALLOC (TestMain). */
export function testMapSpec(name = "cilium_test"): MapSpec<number, number> {
  return { name, type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 16, flags: BPF_F_NO_PREALLOC };
}

export function makeEnv(d: DriverUnderTest): { env: Env; dispose(): void } {
  const driver = d.create();
  const fs: PrivateBpffs = mountPrivateBpffs(driver);
  const logger = memoryLogger();
  const ops: string[] = [];
  const metrics: MetricsHook = { mapOp: (name, op, outcome) => ops.push(`${name} ${op} ${outcome}`) };
  const closers: Array<{ close(): void }> = [];
  const mk = (l: Logger = logger) => createBpf({ driver, mapRoot: fs.path, mapPrefix: "tc/globals", logger: l, metrics });
  const bpf = mk();
  const env: Env = {
    kind: d.name, driver, bpf, root: fs.path, logs: logger.records, ops,
    map: (spec) => env.track(bpf.newMap(spec)),
    track: (m) => {
      closers.push(m);
      return m;
    },
    otherBpf: () => mk(),
  };
  return {
    env,
    dispose() {
      for (const m of closers.reverse()) {
        try {
          m.close();
        } catch {
          // a test may have closed it already
        }
      }
      fs.dispose();
    },
  };
}

/**
 * `describe` per driver (`drivers`, default both). Where a driver is unavailable (the kernel without bpf(2)) the suite is
 * reported as skipped with the reason printed; on this machine both run.
 */
export function eachDriver(title: string, body: (get: () => Env, kind: "sim" | "kernel") => void,
  drivers: readonly DriverUnderTest[] = driversUnderTest()): void {
  for (const d of drivers) {
    describe.skipIf(d.unavailable !== undefined)(`${title} [${d.name}]`, () => {
      if (d.unavailable !== undefined) console.warn(`${title} [${d.name}] not run: ${d.unavailable}`);
      let current: { env: Env; dispose(): void } | undefined;
      beforeEach(() => {
        current = makeEnv(d);
      });
      afterEach(() => {
        current?.dispose();
        current = undefined;
      });
      body(() => current!.env, d.name);
    });
  }
}
