// Real processes and worker threads racing for the same pins on the kernel: each racer loads
// bpfkit itself (support/pin-race-child.mjs, the built dist/) and they start each step within
// microseconds of each other (a barrier in a pinned BPF array). Many rounds, so the narrow
// windows (a stat and a pin a few microseconds apart) are really hit. pin-races.test.ts replays
// the same races deterministically in one process, on both drivers.
// The simulator's objects live in one process, so it has no part here. The racers run dist/:
// `npm test` builds it first; after an edit, a bare vitest run needs `pnpm exec tsc -b` before.
import { spawn } from "node:child_process";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MapType, u32, type BpfMap } from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { makeWorld, type World } from "./support/bpf-world.js";

const child = new URL("./support/pin-race-child.mjs", import.meta.url);

interface Outcome {
  r: number;
  me: number;
  isNew?: boolean;
  id?: number;
  error?: string;
  /** The id pinned at the path once every racer is done (or the error opening it). */
  pinned: number | string;
  /** What each racer's key reads through this racer's fd. */
  seen?: Array<number | null>;
}

type Scenario = "create" | "upgrade" | "parallel" | "siblings";

function inProcess(args: object): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child.pathname, JSON.stringify(args)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (b: Buffer) => (out += b));
    p.stderr.on("data", (b: Buffer) => (err += b));
    p.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as Outcome[]) : reject(new Error(`racer exited ${code}: ${err}`))));
  });
}

function inWorker(args: object): Promise<Outcome[]> {
  return new Promise((resolve, reject) => {
    const wk = new Worker(child, { workerData: args });
    let got: Outcome[] | undefined;
    wk.on("message", (line: string) => (got = JSON.parse(line) as Outcome[]));
    wk.on("error", reject);
    wk.on("exit", (code) => (code === 0 && got !== undefined ? resolve(got) : reject(new Error(`worker exited ${code}`))));
  });
}

const d = kernelUnderTest();
describe.skipIf(d.unavailable !== undefined)("processes and threads racing for the same pins [kernel]", () => {
  let w: World;
  const held: BpfMap<number, number>[] = [];
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => {
    for (const m of held.splice(0)) m.close();
    w.dispose();
  });

  const ROUNDS = 40;
  const RACERS = 2;

  /** Runs the racers (`how` each) for `scenario` and returns their outcomes by round. */
  async function race(scenario: Scenario, how: (args: object) => Promise<Outcome[]>): Promise<Outcome[][]> {
    const barrier = w.bpf.newMap({ name: "barrier", type: MapType.Array, key: u32, value: u32, maxEntries: RACERS });
    barrier.openOrCreate();
    held.push(barrier);
    for (let r = 0; r < ROUNDS && scenario !== "create"; r++) {
      // The map as it was before: 4 entries to upgrade, or the old agent's 8 entries, held open.
      const names = scenario === "siblings" ? Array.from({ length: RACERS }, (_, me) => `race${r}-${me}`) : [`race${r}`];
      for (const name of names) {
        const old = w.bpf.newMap({ name, type: MapType.Hash, key: u32, value: u32, maxEntries: scenario === "parallel" ? 8 : 4 });
        old.openOrCreate();
        held.push(old);
      }
    }
    const args = (me: number) => ({ root: w.fs.path, me, racers: RACERS, rounds: ROUNDS, scenario });
    const all = (await Promise.all(Array.from({ length: RACERS }, (_, me) => how(args(me))))).flat();
    return Array.from({ length: ROUNDS }, (_, r) => all.filter((o) => o.r === r));
  }

  /** Every racer holds the map pinned at the end, the one map all of them wrote to. */
  function expectOneMap(rounds: Outcome[][]): void {
    for (const round of rounds) {
      const r = round[0]!.r;
      for (const o of round) {
        expect(o.error, `round ${r} racer ${o.me}`).toBeUndefined();
        expect(o.id, `round ${r} racer ${o.me}: holds an unpinned map`).toBe(o.pinned);
        expect(o.seen, `round ${r} racer ${o.me}`).toEqual(round.map(() => r));
      }
    }
  }

  for (const [how, run] of [["processes", inProcess], ["worker threads", inWorker]] as const) {
    it(`${how} creating the same new pin at once all end holding the one pinned map, one of them creating it`, async () => {
      const rounds = await race("create", run);
      expectOneMap(rounds);
      for (const round of rounds) expect(round.filter((o) => o.isNew).length, `round ${round[0]!.r}`).toBe(1);
    });

    it(`${how} upgrading the same pin at once all end holding the one pinned map`, async () => {
      const rounds = await race("upgrade", run);
      expectOneMap(rounds);
      for (const round of rounds) {
        expect(round.some((o) => o.isNew), `round ${round[0]!.r}`).toBe(true);
        expect(w.bpf.getMapInfoByFd(w.track(w.bpf.objGet(w.bpf.mapPath(`race${round[0]!.r}`)))).maxEntries).toBe(8);
      }
    });
  }

  it("worker threads of one process upgrading pins of their own in one directory at once each pin theirs", async () => {
    const rounds = await race("siblings", inWorker);
    for (const round of rounds) {
      for (const o of round) {
        const r = o.r;
        expect(o.error, `round ${r} racer ${o.me}`).toBeUndefined();
        expect(o.isNew, `round ${r} racer ${o.me}`).toBe(true);
        expect(o.id, `round ${r} racer ${o.me}`).toBe(o.pinned);
      }
    }
    // No swap or lock pin is left beside the pins.
    const names = w.driver.host.readdir(w.bpf.mapPath("barrier").replace(/\/barrier$/, ""));
    expect(Array.isArray(names) && names.filter((n) => n.startsWith(":"))).toEqual([]);
  });

  it("deleteAll beside another process's inserts and deletes never fails on a key that process deleted", async () => {
    const barrier = w.bpf.newMap({ name: "barrier", type: MapType.Array, key: u32, value: u32, maxEntries: 2 });
    barrier.openOrCreate();
    held.push(barrier);
    const flows = w.bpf.newMap({ name: "flows", type: MapType.Hash, key: u32, value: u32, maxEntries: 64 });
    flows.openOrCreate();
    held.push(flows);
    const writer = inProcess({ root: w.fs.path, me: 0, racers: 1, rounds: 0, scenario: "churn" });
    // Wait until it is writing (its slot set), then empty the map again and again beside it.
    while (barrier.lookup(0) === 0) await new Promise((r) => setImmediate(r));
    const failures: string[] = [];
    for (let i = 0; i < 2000; i++) {
      try {
        flows.deleteAll();
      } catch (e) {
        failures.push(String(e));
      }
    }
    barrier.update(1, 1);
    const [{ ops }] = (await writer) as unknown as Array<{ ops: number }>;
    expect(ops).toBeGreaterThan(1000);
    expect(failures).toEqual([]);
  });

  it("a new agent's openParallel beside a service opening the pin: the path is never empty, and the new map stays pinned", async () => {
    const rounds = await race("parallel", inProcess);
    for (const [r, round] of rounds.entries()) {
      const oldId = w.bpf.getMapInfoByFd(held[r + 1]!.getFd()).id;
      const agent = round.find((o) => o.me === 0)!;
      expect(agent.error).toBeUndefined();
      expect(agent.isNew).toBe(true);
      expect(agent.pinned).toBe(agent.id);
      expect(agent.id).not.toBe(oldId);
      for (const o of round.filter((x) => x.me !== 0)) {
        // The service opened the old map or the new one, never nothing.
        expect(o.error, `round ${r}`).toBeUndefined();
        expect([oldId, agent.id]).toContain(o.id);
      }
    }
  });
});
