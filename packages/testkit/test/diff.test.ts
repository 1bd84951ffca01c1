// The differential runner finds a driver that breaks one rule, shrinks the program to a few
// ops, and its seed and path replay the same difference. Mutants wrap the reference model (fast,
// kernel-free); the last tests compare the simulator and a mutated kernel with the kernel itself.
import { BPF_F_RDONLY, BPF_F_WRONLY, BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_NOEXIST, Errno, type Driver, isPerCpuMapType, perCpuSlotSize, userValueSize, wrapDriver } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { FD_VALUE_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { createModelDriver } from "../src/model/model-driver.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { canPinCpu } from "../src/conformance/pin-cpu.js";
import { kernelUnderTest } from "../src/drivers.js";

/** Map types of fds, for mutants that need them. */
function trackTypes(inner: Driver): { driver: Driver; typeOf: Map<number, { mapType: number; valueSize: number }> } {
  const typeOf = new Map<number, { mapType: number; valueSize: number }>();
  const driver = wrapDriver(inner, {
    mapCreate(attr) {
      const fd = inner.mapCreate(attr);
      if (fd >= 0) typeOf.set(fd, { mapType: attr.mapType, valueSize: attr.valueSize });
      return fd;
    },
  });
  return { driver, typeOf };
}

const mutants: Record<string, (inner: Driver) => Driver> = {
  "NOEXIST ignored": (inner) => wrapDriver(inner, {
    mapUpdateElem: (fd, k, v, flags = 0) => inner.mapUpdateElem(fd, k, v, flags === BPF_NOEXIST ? 0 : flags),
  }),
  "next-key on a missing key ends instead of restarting": (inner) => {
    const { driver, typeOf } = trackTypes(inner);
    return wrapDriver(driver, {
      mapGetNextKey(fd, key, next) {
        const t = typeOf.get(fd);
        if (key !== null && t !== undefined) {
          const value = new Uint8Array(userValueSize(t.mapType, t.valueSize, inner.possibleCpus));
          if (driver.mapLookupElem(fd, key, value) === -Errno.ENOENT) return -Errno.ENOENT;
        }
        return driver.mapGetNextKey(fd, key, next);
      },
    });
  },
  "no E2BIG when full": (inner) => wrapDriver(inner, {
    mapUpdateElem: (fd, k, v, flags) => {
      const r = inner.mapUpdateElem(fd, k, v, flags);
      return r === -Errno.E2BIG ? 0 : r;
    },
  }),
  "the last batch without its elements": (inner) => wrapDriver(inner, {
    mapLookupBatch(fd, inBatch, outBatch, keys, values, count) {
      const r = inner.mapLookupBatch(fd, inBatch, outBatch, keys, values, count);
      return r.errno === Errno.ENOENT ? { errno: r.errno, count: 0 } : r;
    },
  }),
  "deleting a missing key succeeds": (inner) => wrapDriver(inner, {
    mapDeleteElem: (fd, k) => {
      const r = inner.mapDeleteElem(fd, k);
      return r === -Errno.ENOENT ? 0 : r;
    },
  }),
  "per-CPU padding dropped": (inner) => {
    const { driver, typeOf } = trackTypes(inner);
    return wrapDriver(driver, {
      mapLookupElem(fd, key, value, flags) {
        const r = driver.mapLookupElem(fd, key, value, flags);
        const t = typeOf.get(fd);
        if (r === 0 && t !== undefined && isPerCpuMapType(t.mapType)) {
          const slot = perCpuSlotSize(t.valueSize);
          for (let off = 0; off < value.length; off += slot) value.fill(0, off + t.valueSize, off + slot);
        }
        return r;
      },
    });
  },
  "per-CPU values of CPUs 0 and 1 swapped": (inner) => {
    const { driver, typeOf } = trackTypes(inner);
    return wrapDriver(driver, {
      mapLookupElem(fd, key, value, flags) {
        const r = driver.mapLookupElem(fd, key, value, flags);
        const t = typeOf.get(fd);
        if (r === 0 && t !== undefined && isPerCpuMapType(t.mapType) && inner.possibleCpus > 1) {
          const slot = perCpuSlotSize(t.valueSize);
          const cpu0 = value.slice(0, slot);
          value.copyWithin(0, slot, 2 * slot);
          value.set(cpu0, slot);
        }
        return r;
      },
    });
  },
};

describe("differential runner: mutants of the model are caught and shrunk", () => {
  for (const [name, mutate] of Object.entries(mutants)) {
    it(`finds "${name}" and shrinks it to a few ops`, async () => {
      const progress: number[] = [];
      const s = await runDifferential({
        left: () => mutate(createModelDriver()), right: () => createModelDriver(), runs: 500, seed: 42,
        onProgress: (p) => progress.push(p.run),
      });
      expect(s.ok).toBe(false);
      const c = s.divergences[0]!;
      // A real difference in answers, not a mutant that crashed.
      expect(c.divergence.left).not.toMatch(/throws/);
      expect(c.program.ops.length).toBeLessThanOrEqual(6);
      expect(s.report).toContain(`seed ${c.seed}, path "${c.path}"`);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      // The printed seed and path replay the very same minimal difference.
      const again = await runDifferential({
        left: () => mutate(createModelDriver()), right: () => createModelDriver(), runs: 1, seed: c.seed, path: c.path,
      });
      expect(again.divergences[0]?.divergence).toEqual(c.divergence);
    });
  }

  it("reports agreement, program count and per-driver throughput when nothing differs", async () => {
    const s = await runDifferential({ left: "model", right: () => createModelDriver(), runs: 50, seed: 7 });
    expect(s.ok).toBe(true);
    expect(s.runs).toBe(50);
    expect(s.drivers[0].ops).toBeGreaterThan(50);
    expect(s.drivers[0].ops).toBe(s.drivers[1].ops);
    expect(s.drivers[0].opsPerSecond).toBeGreaterThan(0);
    expect(s.report).toMatch(/agree on 50 programs/);
    expect(s.report).not.toMatch(/did not reproduce/);
  });

  it("says so when the program at a replayed path does not reproduce", async () => {
    const s = await runDifferential({ left: "model", right: () => createModelDriver(), runs: 1, seed: 7, path: "3" });
    expect(s.ok).toBe(true);
    expect(s.report).toContain(`the program at path "3" did not reproduce: the drivers agree on it`);
  });
});

  it("names the seed, path and program when a difference does not replay (a flaky driver)", async () => {
    // Wrong exactly once in the driver's life: the run fails, every shrink and the replay agree.
    const flaky = () => {
      const inner = createModelDriver();
      let spent = false;
      return wrapDriver(inner, {
        mapUpdateElem(fd, k, v, flags) {
          const r = inner.mapUpdateElem(fd, k, v, flags);
          if (spent || r !== 0) return r;
          spent = true;
          return -Errno.EBUSY;
        },
      });
    };
    const run = runDifferential({ left: flaky, right: () => createModelDriver(), runs: 200, seed: 3 });
    await expect(run).rejects.toThrow(/diverged once but not on replay.*seed 3, path "[\d:]*"\):\n.*update/s);
    // And what that one failing run saw: the step, and each driver's answer (EBUSY once).
    const e = (await run.catch((x: Error) => x)) as Error;
    expect(e.message).toMatch(/\nwhen it diverged:\nfirst difference at op \d+: update .*\n.*EBUSY\n.*ok/);
  });

describe("differential runner: wide programs reach what plain ones never do", () => {
  const sim = () => createSimDriver({ possibleCpus: 2 });
  // Simulators with one fault that only wide programs can meet, and the step that shows it.
  const wideOnly: Record<string, [() => Driver, RegExp]> = {
    // Only wide programs open pins at all.
    "OBJ_GET that ignores unknown file flags": [() => {
      const d = sim();
      return wrapDriver(d, { objGet: (path, flags = 0) => d.objGet(path, flags & (BPF_F_RDONLY | BPF_F_WRONLY)), kind: "mutant" });
    }, /open the pin flags/],
    // A driver that passes u64 flags as u32: 2^32 becomes 0 and succeeds.
    "update and lookup flags cut to u32": [() => {
      const d = sim();
      return wrapDriver(d, {
        mapUpdateElem: (fd, k, v, flags = 0) => d.mapUpdateElem(fd, k, v, flags % 2 ** 32),
        mapLookupElem: (fd, k, v, flags = 0) => d.mapLookupElem(fd, k, v, flags % 2 ** 32),
        kind: "mutant",
      });
    }, /flags=4294967\d+|flags=1099511627776|flags=9007199254740991/],
    "MAP_CREATE that drops the NUMA node": [() => {
      const d = sim();
      return wrapDriver(d, { mapCreate: (a) => d.mapCreate({ ...a, numaNode: 0 }), kind: "mutant" });
    }, /^create$/],
    "batch lookups that stop at 16 elements": [() => {
      const d = sim();
      return wrapDriver(d, { mapLookupBatch: (fd, inBatch, out, keys, values, count) => d.mapLookupBatch(fd, inBatch, out, keys, values, Math.min(count, 16)), kind: "mutant" });
    }, /lookup-batch count (1[7-9]|[2-9]\d|\d{3})/],
  };
  for (const [name, [mutant, step]] of Object.entries(wideOnly)) {
    it(`finds ${name}, which plain programs never meet`, async () => {
      const plain = await runDifferential({ left: mutant, right: sim, runs: 300, seed: 8, program: { wide: false } });
      expect(plain.ok).toBe(true);
      const wide = await runDifferential({ left: mutant, right: sim, runs: 300, seed: 8 });
      expect(wide.ok).toBe(false);
      expect(wide.divergences[0]!.divergence.what).toMatch(step);
      expect(wide.divergences[0]!.program.ops.length).toBeLessThanOrEqual(3);
    });
  }
});

describe.runIf(canPinCpu())("differential runner with lruEviction, by default", () => {
  /** Keys of an LRU map, by GET_NEXT_KEY. */
  const keysOf = (d: Driver, fd: number, keySize: number): string[] => {
    const out: string[] = [];
    let prev: Uint8Array | null = null;
    for (let n = 0; n < 1000; n++) {
      const k = new Uint8Array(keySize);
      if (d.mapGetNextKey(fd, prev, k) < 0) break;
      out.push(Buffer.from(k).toString("hex"));
      prev = k;
    }
    return out;
  };

  it("catches an LRU that evicts the wrong key: its programs outgrow their maps", async () => {
    // A simulator that, when an update evicts, brings the victim back and evicts another key.
    // With the old defaults (every type, LRU maps of 8 to 64 entries, pools of 12 keys) it went
    // unseen on this seed; the defaults under lruEviction now draw programs that evict.
    const sizes = new Map<number, { keySize: number; valueSize: number; lru: boolean }>();
    const wrongVictim = () => {
      const sim = createSimDriver({ possibleCpus: 2 });
      return wrapDriver(sim, {
        mapCreate(attr) {
          const fd = sim.mapCreate(attr);
          if (fd >= 0) sizes.set(fd, { keySize: attr.keySize, valueSize: userValueSize(attr.mapType, attr.valueSize, 2), lru: attr.mapType === BPF_MAP_TYPE_LRU_HASH || attr.mapType === BPF_MAP_TYPE_LRU_PERCPU_HASH });
          return fd;
        },
        mapUpdateElem(fd, k, v, flags) {
          const m = sizes.get(fd);
          if (m === undefined || !m.lru) return sim.mapUpdateElem(fd, k, v, flags);
          const before = keysOf(sim, fd, m.keySize);
          const r = sim.mapUpdateElem(fd, k, v, flags);
          const after = keysOf(sim, fd, m.keySize);
          const victim = before.find((x) => !after.includes(x) && x !== Buffer.from(k).toString("hex"));
          const other = after.find((x) => x !== Buffer.from(k).toString("hex"));
          if (r !== 0 || victim === undefined || other === undefined) return r;
          const saved = new Uint8Array(m.valueSize);
          sim.mapLookupElem(fd, Buffer.from(other, "hex"), saved);
          sim.mapDeleteElem(fd, Buffer.from(other, "hex"));
          sim.mapUpdateElem(fd, Buffer.from(victim, "hex"), saved, 0);
          return r;
        },
        kind: "wrong-victim",
      });
    };
    const s = await runDifferential({ left: wrongVictim, right: () => createSimDriver({ possibleCpus: 2 }), runs: 100, seed: 2, lruEviction: true });
    expect(s.ok).toBe(false);
  });
});

const kernel = kernelUnderTest();
describe.runIf(kernel.unavailable === undefined)("differential runner on the kernel", () => {
  it("property: on random programs the simulator answers every op exactly as the kernel does", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 300, seed: 0x51 });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    expect(s.drivers.map((d) => d.name)).toEqual(["sim", "kernel"]);
    expect(s.drivers[0].opsPerSecond).toBeGreaterThan(0);
  });

  it("property: with LRU eviction (pinned to CPU 0) the simulator evicts exactly as the kernel does", async () => {
    const s = await runDifferential({
      // 90 runs: a program's lookups load a program each, which doubled what 150 cost.
      left: "sim", right: "kernel", runs: 90, seed: 0x53, lruEviction: true,
      program: { types: [BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH], maxEntries: 16, maxKeys: 40, maxOps: 80 },
    });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
    // The programs really evict: the model, which cannot, disagrees with the kernel on them.
    const m = await runDifferential({
      left: "model", right: "kernel", runs: 300, seed: 0x53, lruEviction: true, shrink: false,
      program: { types: [BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH], maxEntries: 16, maxKeys: 40, maxOps: 80 },
    });
    expect(m.ok).toBe(false);
  });

  it("property: maps of maps and PROG_ARRAY (fds in, ids out, incompatible, foreign and closed fds) agree too", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 150, seed: 0x54, program: { types: FD_VALUE_MAP_TYPES } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
  });

  it("property: hash maps with the kernel's random seed agree on everything but order", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 150, seed: 0x55, program: { zeroSeed: "never" } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
  });

  it("property: invalid create specs get the same errno from the simulator and the kernel", async () => {
    const s = await runDifferential({ left: "sim", right: "kernel", runs: 150, seed: 0x52, program: { invalid: "always", maxOps: 3 } });
    if (!s.ok) console.log(s.report);
    expect(s.divergences.map((c) => c.divergence)).toEqual([]);
  });

  it("catches a kernel driver whose next-key on a missing key ends the walk", async () => {
    const { createKernelDriver } = await import("@bpfkit/driver-kernel");
    const s = await runDifferential({
      left: () => mutants["next-key on a missing key ends instead of restarting"]!(createKernelDriver()),
      right: "kernel", runs: 300, seed: 3,
    });
    expect(s.ok).toBe(false);
    expect(s.divergences[0]!.divergence.left).not.toMatch(/throws/);
    expect(s.divergences[0]!.program.ops.length).toBeLessThanOrEqual(4);
  });
});
if (kernel.unavailable !== undefined) console.log(`differential runs on the kernel skipped: ${kernel.unavailable}`);
