// Wide programs whose map value holds a bpf_spin_lock or a bpf_timer (btf-spec.ts): the draws
// reach HASH and ARRAY values with a lock at many offsets, timers, refused types, and BPF_F_LOCK
// on updates, lookups and update batches; and a simulator that gets the lock wrong in either
// direction is caught, which plain programs (no BTF) never do.
import { BPF_F_LOCK, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BtfKind, type Driver, Errno, MAP_INFO_SIZE, decodeMapInfo, parseBtf, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { specBtfBlob } from "../src/arbitraries/btf-spec.js";
import { FD_VALUE_MAP_TYPES, SPEC_MAP_TYPES } from "../src/arbitraries/map-spec.js";
import { formatProgram, programArb } from "../src/arbitraries/program.js";
import { BPF_MAP_TYPE_RINGBUF } from "../src/arbitraries/ring-ops.js";
import { runDifferential } from "../src/diff/run-differential.js";
import { runProgram } from "../src/diff/run-program.js";

const set = <T>(xs: Iterable<T>) => [...new Set(xs)].sort();
const sim = () => createSimDriver({ possibleCpus: 2 });

describe("BTF values in wide programs: what the draw promises turns up", () => {
  // As runDifferential draws them for the simulator against the kernel.
  const types = [...SPEC_MAP_TYPES, ...FD_VALUE_MAP_TYPES, BPF_MAP_TYPE_RINGBUF];
  const programs = fc.sample(programArb({ types, wide: true, possibleCpus: 2 }), { numRuns: 1500, seed: 5 });
  const withBtf = programs.filter((p) => p.spec.btf !== undefined);

  it("about one wide program in six, mostly HASH and ARRAY, other types too (refused alike)", () => {
    expect(withBtf.length).toBeGreaterThan(programs.length / 10);
    expect(withBtf.length).toBeLessThan(programs.length / 3);
    const byType = withBtf.map((p) => p.spec.mapType);
    expect(byType.filter((t) => t === BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE_ARRAY).length).toBeGreaterThan(withBtf.length / 2);
    expect(set(byType).length).toBeGreaterThan(5);
  });

  it("locks at many 4-aligned offsets, a few misaligned, timers, and keys of each kind", () => {
    const locks = withBtf.map((p) => p.spec.btf!.lockAt).filter((a): a is number => a !== null);
    // Plain values are 1 to 24 bytes: offsets 0 to 20.
    expect(set(locks.filter((a) => a % 4 === 0))).toEqual([0, 12, 16, 20, 4, 8]);
    expect(locks.some((a) => a % 4 === 2)).toBe(true);
    expect(withBtf.some((p) => p.spec.btf!.timerAt !== null && p.spec.btf!.lockAt !== null)).toBe(true);
    expect(set(withBtf.map((p) => p.spec.btf!.key))).toEqual(["fit", "none", "wrong"]);
    // Fields never overlap and always fit the value.
    for (const p of withBtf) {
      const { lockAt, timerAt } = p.spec.btf!;
      if (lockAt !== null) expect(lockAt + 4).toBeLessThanOrEqual(p.spec.valueSize);
      if (timerAt !== null) expect(timerAt + 16).toBeLessThanOrEqual(p.spec.valueSize);
      if (lockAt !== null && timerAt !== null) expect(lockAt + 4 <= timerAt || lockAt >= timerAt + 16).toBe(true);
    }
  });

  it("BPF_F_LOCK on updates (with each other flag), lookups, lookups-and-deletes, update batches and both lookup batches", () => {
    const ops = withBtf.flatMap((p) => p.ops);
    const updates = set(ops.flatMap((o) => (o.kind === "update" && (o.flags & BPF_F_LOCK) !== 0 ? [o.flags] : [])));
    expect(updates).toEqual(expect.arrayContaining([4, 5, 6]));
    expect(ops.some((o) => o.kind === "lookup" && o.flags === BPF_F_LOCK)).toBe(true);
    expect(ops.some((o) => o.kind === "updateBatch" && o.elemFlags === BPF_F_LOCK && o.keys.length > 0)).toBe(true);
    expect(ops.some((o) => o.kind === "lookupAndDelete" && o.flags === BPF_F_LOCK)).toBe(true);
    expect(ops.some((o) => o.kind === "lookupAndDelete" && o.flags === undefined)).toBe(true);
    expect(ops.some((o) => o.kind === "lookupBatch" && !o.del && o.elemFlags === BPF_F_LOCK && o.count > 0)).toBe(true);
    expect(ops.some((o) => o.kind === "lookupBatch" && o.del && o.elemFlags === BPF_F_LOCK && o.count > 0)).toBe(true);
    // Plain programs never carry them.
    const plainOps = programs.filter((p) => p.spec.btf === undefined).flatMap((p) => p.ops);
    expect(plainOps.some((o) => (o.kind === "lookupAndDelete" && o.flags !== undefined) || (o.kind === "lookupBatch" && o.elemFlags !== undefined))).toBe(false);
    // Programs without the draw keep the plain draws' F_LOCK, and no more of it.
    const plainLocked = programs.filter((p) => p.spec.btf === undefined).flatMap((p) => p.ops)
      .flatMap((o) => (o.kind === "update" && o.flags >= 0 && o.flags < 8 && (o.flags & BPF_F_LOCK) !== 0 ? [o.flags] : []));
    expect(set(plainLocked)).toEqual([BPF_F_LOCK]);
  });

  it("the BTF loads and the map is created on the simulator, and F_LOCK lookups read the lock as zeros", () => {
    const lines = withBtf.slice(0, 150).map((p) => ({ p, t: runProgram(sim(), p).lines }));
    const made = lines.filter(({ p, t }) => p.spec.btf!.lockAt !== null && t[0] === "create ok" && (p.spec.mapType === BPF_MAP_TYPE_HASH || p.spec.mapType === BPF_MAP_TYPE_ARRAY));
    expect(made.length).toBeGreaterThan(30);
    // A lookup with F_LOCK that found a value: its lock's bytes are zero (values are never zero there).
    let found = 0;
    for (const { p, t } of made) {
      p.ops.forEach((o, i) => {
        const line = t[i + 2]!;
        if (o.kind !== "lookup" || o.flags !== BPF_F_LOCK || !line.startsWith("ok ")) return;
        const at = p.spec.btf!.lockAt!;
        expect(line.slice(3 + 2 * at, 3 + 2 * at + 8), `${formatProgram(p)}\nop ${i + 1}: ${line}`).toBe("00000000");
        found++;
      });
    }
    expect(found).toBeGreaterThan(5);
  });

  it("the BTF built names the lock and the timer where the spec says", () => {
    const p = withBtf.find((x) => x.spec.btf!.lockAt !== null && x.spec.btf!.timerAt !== null)!;
    const { blob, valueTypeId } = specBtfBlob(p.spec);
    const btf = parseBtf(blob);
    const value = btf.typeById(valueTypeId);
    if (value.kind !== BtfKind.STRUCT) throw new Error("the value type is no struct");
    expect(value.size).toBe(p.spec.valueSize);
    const at = (name: string) => value.members.find((m) => btf.name(m.type) === name)!.bitOffset / 8;
    expect(at("bpf_spin_lock")).toBe(p.spec.btf!.lockAt);
    expect(at("bpf_timer")).toBe(p.spec.btf!.timerAt);
  });
});

/** Byte offsets of each bpf_spin_lock in the value of the map `fd` names, by map id. */
function lockOffsets(inner: Driver) {
  const blobs = new Map<number, Uint8Array>();
  const byId = new Map<number, number[]>();
  const idOf = (fd: number): number => {
    const info = new Uint8Array(MAP_INFO_SIZE);
    return inner.objGetInfoByFd(fd, info) < 0 ? -1 : decodeMapInfo(info).id;
  };
  const track = (attr: Parameters<Driver["mapCreate"]>[0], fd: number) => {
    const blob = attr.btfFd !== undefined ? blobs.get(attr.btfFd) : undefined;
    if (fd < 0 || blob === undefined || !attr.btfValueTypeId) return;
    const btf = parseBtf(blob);
    const v = btf.typeById(attr.btfValueTypeId);
    if (v.kind !== BtfKind.STRUCT) return;
    byId.set(idOf(fd), v.members.filter((m) => btf.name(m.type) === "bpf_spin_lock").map((m) => m.bitOffset / 8));
  };
  return {
    btfLoad(attr: Parameters<NonNullable<Driver["btfLoad"]>>[0]) {
      const fd = inner.btfLoad!(attr);
      if (fd >= 0) blobs.set(fd, attr.btf.slice());
      return fd;
    },
    mapCreate(attr: Parameters<Driver["mapCreate"]>[0]) {
      const fd = inner.mapCreate(attr);
      track(attr, fd);
      return fd;
    },
    locks: (fd: number) => byId.get(idOf(fd)) ?? [],
  };
}

describe("differential runner: simulators that get the spin lock wrong are caught by the BTF draws only", () => {
  const mutants: Record<string, [() => Driver, RegExp]> = {
    // check_and_init_map_value forgotten after copy_map_value_locked: the lock's bytes as the last
    // write left them (each update and update batch remembered per map and key).
    "an F_LOCK lookup that does not zero the lock": [() => {
      const d = sim();
      const t = lockOffsets(d);
      const written = new Map<string, Uint8Array>();
      const remember = (fd: number, key: Uint8Array, value: Uint8Array) => {
        for (const at of t.locks(fd)) written.set(`${fd}:${Buffer.from(key).toString("hex")}:${at}`, value.slice(at, at + 4));
      };
      return wrapDriver(d, {
        btfLoad: t.btfLoad, mapCreate: t.mapCreate, kind: "mutant",
        mapUpdateElem(fd, key, value, flags) {
          const r = d.mapUpdateElem(fd, key, value, flags);
          if (r === 0) remember(fd, key, value);
          return r;
        },
        mapUpdateBatch(fd, keys, values, count, elemFlags) {
          const r = d.mapUpdateBatch(fd, keys, values, count, elemFlags);
          const ks = count > 0 ? keys.length / count : 0, vs = count > 0 ? values.length / count : 0;
          for (let i = 0; i < r.count; i++) remember(fd, keys.subarray(i * ks, (i + 1) * ks), values.subarray(i * vs, (i + 1) * vs));
          return r;
        },
        mapLookupElem(fd, key, value, flags) {
          const r = d.mapLookupElem(fd, key, value, flags);
          if (r === 0 && flags === BPF_F_LOCK) {
            for (const at of t.locks(fd)) {
              const w = written.get(`${fd}:${Buffer.from(key).toString("hex")}:${at}`);
              if (w !== undefined) value.set(w, at);
            }
          }
          return r;
        },
      });
    }, /^op \d+: lookup .* F_LOCK$/],
    // As if the value had no lock: F_LOCK refused where the kernel takes it.
    "an update with F_LOCK refused": [() => {
      const d = sim();
      const t = lockOffsets(d);
      return wrapDriver(d, {
        btfLoad: t.btfLoad, mapCreate: t.mapCreate, kind: "mutant",
        mapUpdateElem: (fd, key, value, flags = 0) => ((flags & BPF_F_LOCK) !== 0 && t.locks(fd).length > 0 ? -Errno.EINVAL : d.mapUpdateElem(fd, key, value, flags)),
      });
    }, /^op \d+: update .*F_LOCK$/],
    // The same refusal on the reads that delete, and on the lookup batches.
    "a lookup-and-delete or lookup batch with F_LOCK refused": [() => {
      const d = sim();
      const t = lockOffsets(d);
      const locked = (fd: number, flags = 0) => (flags & BPF_F_LOCK) !== 0 && t.locks(fd).length > 0;
      return wrapDriver(d, {
        btfLoad: t.btfLoad, mapCreate: t.mapCreate, kind: "mutant",
        mapLookupAndDeleteElem: (fd, key, value, flags) => (locked(fd, flags) ? -Errno.EINVAL : d.mapLookupAndDeleteElem(fd, key, value, flags)),
        mapLookupBatch: (fd, i, o, k, v, n, ef) => (locked(fd, ef) ? { errno: Errno.EINVAL, count: n } : d.mapLookupBatch(fd, i, o, k, v, n, ef)),
        mapLookupAndDeleteBatch: (fd, i, o, k, v, n, ef) => (locked(fd, ef) ? { errno: Errno.EINVAL, count: n } : d.mapLookupAndDeleteBatch(fd, i, o, k, v, n, ef)),
      });
    }, /^op \d+: (lookup-and-delete .*F_LOCK|lookup(-and-delete)?-batch .* elem_flags 4)$/],
  };
  for (const [name, [mutant, step]] of Object.entries(mutants)) {
    it(`finds ${name} within 300 programs, which plain programs never do`, async () => {
      const plain = await runDifferential({ left: mutant, right: sim, runs: 300, seed: 11, program: { wide: false } });
      expect(plain.ok).toBe(true);
      const wide = await runDifferential({ left: mutant, right: sim, runs: 300, seed: 11 });
      expect(wide.ok, wide.report).toBe(false);
      const c = wide.divergences[0]!;
      expect(c.program.spec.btf?.lockAt).not.toBeNull();
      expect(c.divergence.what).toMatch(step);
      expect(c.program.ops.length, wide.report).toBeLessThanOrEqual(3);
    });
  }
});
