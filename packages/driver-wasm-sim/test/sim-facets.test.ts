// The simulator's own facets (API.md §2): the datapath, the interleaving hook, fault injection,
// engine traps, the options (possible CPUs, seed, privilege, bpffs mount, memory limit), the
// simulated host services and the bad-input contract.
import type { MapCreateAttr } from "@bpfkit/core";
import { instantiateEngine } from "@bpfkit/driver-wasm-sim";
import type { EngineExports, SimSyscall } from "@bpfkit/driver-wasm-sim";
import { describe, expect, it } from "vitest";
import { errName, hex, mapInfo, readU32, sim, trappingEngine, u32 } from "./sim-helpers.js";

const HASH = 1, ARRAY = 2, PERCPU_HASH = 5, PERCPU_ARRAY = 6, LRU_HASH = 9, LPM_TRIE = 11;
const NO_PREALLOC = 0x1, ZERO_SEED = 0x40, RDONLY_PROG = 0x80;
const attr = (t: number, more: Partial<MapCreateAttr> = {}): MapCreateAttr => ({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 8, ...more });

function walk(d: ReturnType<typeof sim>, fd: number, keySize = 4): string[] {
  const out: string[] = [];
  let prev: Uint8Array | null = null;
  const next = new Uint8Array(keySize);
  while (d.mapGetNextKey(fd, prev, next) === 0) {
    out.push(hex(next));
    prev = next.slice();
  }
  return out;
}

describe("datapath facet", () => {
  it("per-CPU: a new element writes this CPU's slot and zeroes the others; an existing one only this CPU's", () => {
    const d = sim({ possibleCpus: 3 });
    const fd = d.mapCreate(attr(PERCPU_HASH, { valueSize: 4 }));
    const all = new Uint8Array(24).fill(0xee);
    expect(d.datapath.update({ fd }, u32(1), u32(0x11), 0, 1)).toBe(0);
    expect(d.mapLookupElem(fd, u32(1), all)).toBe(0);
    expect(hex(all)).toBe("0000000000000000" + "1100000000000000" + "0000000000000000");
    expect(d.datapath.update({ id: mapInfo(d, fd).id }, u32(1), u32(0x22), 0, 2)).toBe(0);
    expect(d.mapLookupElem(fd, u32(1), all)).toBe(0);
    expect(hex(all)).toBe("0000000000000000" + "1100000000000000" + "2200000000000000");
    const one = new Uint8Array(4);
    expect(d.datapath.lookup({ fd }, u32(1), one, 2)).toBe(0);
    expect(readU32(one)).toBe(0x22);
    expect(d.datapath.delete({ fd }, u32(1), 0)).toBe(0);
    expect(errName(d.mapLookupElem(fd, u32(1), all))).toBe("ENOENT");
    expect(() => d.datapath.lookup({ fd }, u32(1), one, 3)).toThrow(RangeError);
    expect(() => d.datapath.lookup({ fd }, u32(1), new Uint8Array(24), 0)).toThrow(RangeError);
  });

  it("a missing value buffer is a TypeError, and the simulator keeps working", () => {
    const d = sim({ possibleCpus: 2 });
    const fd = d.mapCreate(attr(HASH, { valueSize: 4 }));
    expect(d.mapUpdateElem(fd, u32(1), u32(5))).toBe(0);
    const dp = d.datapath as unknown as Record<string, (...a: unknown[]) => number>;
    expect(() => dp.lookup!({ fd }, u32(1), null)).toThrow(TypeError);
    expect(() => dp.update!({ fd }, u32(1), undefined)).toThrow(TypeError);
    const v = new Uint8Array(4);
    expect(d.mapLookupElem(fd, u32(1), v)).toBe(0);
    expect(readU32(v)).toBe(5);
  });

  it("a map given as neither { fd } nor { id } (a BpfMap itself, say) is a TypeError saying how to address it", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH));
    // What a BpfMap looks like here: getFd(), no fd or id property.
    const bpfMapLike = { getFd: () => fd, name: () => "m" } as unknown as { fd: number };
    const dp = d.datapath;
    const want = /^datapath\.\w+: map must be \{ fd \} or \{ id \}, got an object with neither \(a BpfMap is \{ fd: map\.getFd\(\) \}, or typedDatapath\(sim, map\)\)$/;
    expect(() => dp.update(bpfMapLike, u32(1), u32(1))).toThrow(want);
    expect(() => dp.lookup(bpfMapLike, u32(1), new Uint8Array(4))).toThrow(want);
    expect(() => dp.ringbufOutput(bpfMapLike, u32(1))).toThrow(want);
    expect(() => dp.update({ fd, id: 1 } as { fd: number }, u32(1), u32(1))).not.toThrow();
    expect(() => dp.update({ id: undefined } as unknown as { id: number }, u32(1), u32(1))).toThrow(/id must be an integer/);
  });

  it("a per-CPU array slot is written for one CPU only", () => {
    const d = sim({ possibleCpus: 2 });
    const fd = d.mapCreate(attr(PERCPU_ARRAY, { valueSize: 8 }));
    d.mapUpdateElem(fd, u32(0), new Uint8Array(16).fill(7));
    expect(d.datapath.update({ fd }, u32(0), new Uint8Array(8).fill(9), 0, 1)).toBe(0);
    const all = new Uint8Array(16);
    d.mapLookupElem(fd, u32(0), all);
    expect(hex(all)).toBe("0707070707070707" + "0909090909090909");
  });

  it("LRU: a datapath lookup marks an element referenced, so eviction passes it over; syscall lookups do not", () => {
    const run = (mark: "datapath" | "syscall" | "none") => {
      const d = sim({ possibleCpus: 2 });
      const fd = d.mapCreate(attr(LRU_HASH, { mapFlags: ZERO_SEED }));
      for (let k = 0; k < 8; k++) expect(d.mapUpdateElem(fd, u32(k), u32(k))).toBe(0);
      const v = new Uint8Array(4);
      if (mark === "datapath") expect(d.datapath.lookup({ fd }, u32(0), v, 0)).toBe(0);
      if (mark === "syscall") expect(d.mapLookupElem(fd, u32(0), v)).toBe(0);
      for (let k = 8; k < 12; k++) expect(d.mapUpdateElem(fd, u32(k), u32(k))).toBe(0);
      return d.mapLookupElem(fd, u32(0), v) === 0;
    };
    expect(run("none")).toBe(false);
    expect(run("syscall")).toBe(false);
    expect(run("datapath")).toBe(true);
  });

  it("programs cannot write RDONLY_PROG maps, and an unknown map is ENOENT / EBADF", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH, { mapFlags: RDONLY_PROG }));
    expect(errName(d.datapath.update({ fd }, u32(1), u32(1)))).toBe("EACCES");
    expect(d.mapUpdateElem(fd, u32(1), u32(1))).toBe(0);
    expect(d.datapath.lookup({ fd }, u32(1), new Uint8Array(4))).toBe(0);
    expect(errName(d.datapath.lookup({ id: 9999 }, u32(1), new Uint8Array(4)))).toBe("ENOENT");
    expect(errName(d.datapath.lookup({ fd: 99 }, u32(1), new Uint8Array(4)))).toBe("EBADF");
  });

  it("programs cannot read a PROG_ARRAY's slots or WRONLY_PROG maps (EACCES)", () => {
    const d = sim();
    const pa = d.mapCreate({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 2 });
    const wo = d.mapCreate(attr(HASH, { mapFlags: 0x100 }));
    expect(d.mapUpdateElem(wo, u32(1), u32(1))).toBe(0);
    expect(errName(d.datapath.lookup({ fd: pa }, u32(0), new Uint8Array(4)))).toBe("EACCES");
    expect(errName(d.datapath.lookup({ fd: wo }, u32(1), new Uint8Array(4)))).toBe("EACCES");
    expect(d.datapath.update({ fd: wo }, u32(2), u32(2))).toBe(0);
  });
});

describe("interleaving hook", () => {
  it("runs before every syscall with its name, and calls made inside it do not re-enter it", () => {
    const d = sim();
    const seen: SimSyscall[] = [];
    let inner = 0;
    d.setInterleavingHook((op) => {
      seen.push(op);
      if (op === "mapLookupElem") {
        inner++;
        // A syscall and a datapath call from inside the hook: neither calls the hook again.
        expect(d.mapUpdateElem(3, u32(5), u32(5))).toBe(0);
        d.datapath.update({ fd: 3 }, u32(6), u32(6));
      }
    });
    const fd = d.mapCreate(attr(HASH));
    d.mapLookupElem(fd, u32(5), new Uint8Array(4));
    d.mapGetNextKey(fd, null, new Uint8Array(4));
    d.close(fd);
    expect(seen).toEqual(["mapCreate", "mapLookupElem", "mapGetNextKey", "close"]);
    expect(inner).toBe(1);
    expect(d.getInterleavingHook()).not.toBeNull();
    d.setInterleavingHook(null);
    expect(d.getInterleavingHook()).toBeNull();
    d.mapCreate(attr(HASH));
    expect(seen.length).toBe(4);
  });

  it("is told the fd and a copy of the key the call names, so the datapath can delete the key a lookup is about to read", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH, { mapFlags: ZERO_SEED }));
    for (let k = 1; k <= 3; k++) d.mapUpdateElem(fd, u32(k), u32(k));
    const calls: string[] = [];
    d.setInterleavingHook((op, call) => {
      calls.push(`${op} ${call.fd} ${call.key === undefined ? "-" : call.key === null ? "null" : hex(call.key)}`);
      if (op === "mapLookupElem" && call.key) d.datapath.delete({ fd: call.fd! }, call.key);
    });
    const key = u32(2);
    expect(errName(d.mapLookupElem(fd, key, new Uint8Array(4)))).toBe("ENOENT"); // gone just before the lookup
    d.mapGetNextKey(fd, null, new Uint8Array(4));
    d.mapGetNextKey(fd, u32(1), new Uint8Array(4));
    d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(4 * 4), new Uint8Array(4 * 4), 4);
    d.objGet("/sys/fs/bpf/none");
    d.close(fd);
    expect(calls).toEqual([
      `mapLookupElem ${fd} 02000000`, `mapGetNextKey ${fd} null`, `mapGetNextKey ${fd} 01000000`,
      `mapLookupBatch ${fd} -`, "objGet undefined -", `close ${fd} -`,
    ]);
  });

  it("every call that names one fd tells the hook that fd, and every element call its key", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH));
    const prog = d.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    const calls: string[] = [];
    d.setInterleavingHook((op, call) => {
      calls.push(`${op} ${call.fd === fd ? "map" : call.fd === prog ? "prog" : String(call.fd)} ${call.key === undefined ? "-" : call.key === null ? "null" : hex(call.key)}`);
    });
    const v = new Uint8Array(4), ks = new Uint8Array(16), vs = new Uint8Array(16), batch = new Uint8Array(4);
    d.mapUpdateElem(fd, u32(1), u32(1));
    d.mapLookupElem(fd, u32(2), v);
    d.mapLookupAndDeleteElem(fd, u32(3), v);
    d.mapDeleteElem(fd, u32(4));
    d.mapGetNextKey(fd, u32(5), v);
    d.mapUpdateBatch(fd, ks, vs, 1);
    d.mapLookupBatch(fd, null, batch, ks, vs, 4);
    d.mapLookupAndDeleteBatch(fd, null, batch, ks, vs, 4);
    d.mapDeleteBatch(fd, ks, 1);
    d.objPin(fd, "/sys/fs/bpf/hooked");
    d.objGetInfoByFd(fd, new Uint8Array(88));
    d.progGetMapIds(prog, new Uint32Array(1));
    d.mapFreeze(fd);
    d.close(prog);
    expect(calls).toEqual([
      "mapUpdateElem map 01000000", "mapLookupElem map 02000000", "mapLookupAndDeleteElem map 03000000",
      "mapDeleteElem map 04000000", "mapGetNextKey map 05000000",
      "mapUpdateBatch map -", "mapLookupBatch map -", "mapLookupAndDeleteBatch map -", "mapDeleteBatch map -",
      "objPin map -", "objGetInfoByFd map -", "progGetMapIds prog -", "mapFreeze map -", "close prog -",
    ]);
  });

  it("hands the hook a copy of the key: the caller's buffer is the caller's", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH));
    let seen: Uint8Array | null | undefined;
    d.setInterleavingHook((_op, call) => {
      seen = call.key;
    });
    const key = u32(7);
    d.mapDeleteElem(fd, key);
    key.fill(0xff);
    expect(hex(seen!)).toBe("07000000");
  });

  it("mutating a map mid-walk from the hook is deterministic for a seed (walk restarts on a deleted key)", () => {
    const run = (seed: number) => {
      const d = sim({ seed });
      const fd = d.mapCreate(attr(HASH, { maxEntries: 64, mapFlags: ZERO_SEED }));
      for (let k = 0; k < 40; k++) d.mapUpdateElem(fd, u32(k), u32(k));
      let x = seed;
      d.setInterleavingHook((op) => {
        if (op !== "mapGetNextKey") return;
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const k = x % 48;
        if (x & 1) d.datapath.delete({ fd }, u32(k));
        else d.datapath.update({ fd }, u32(k), u32(k));
      });
      const keys: string[] = [];
      let prev: Uint8Array | null = null;
      const next = new Uint8Array(4);
      for (let i = 0; i < 200 && d.mapGetNextKey(fd, prev, next) === 0; i++) {
        keys.push(hex(next));
        prev = next.slice();
      }
      return keys;
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
});

describe("fault injection", () => {
  it("fails the next N calls of one operation with the errno, and nothing else", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH));
    d.mapUpdateElem(fd, u32(1), u32(1));
    d.faults.inject("mapLookupElem", { errno: 4, count: 2 });
    expect(d.faults.pending("mapLookupElem")).toBe(2);
    const v = new Uint8Array(4);
    expect(d.mapGetNextKey(fd, null, new Uint8Array(4))).toBe(0);
    expect(d.mapLookupElem(fd, u32(1), v)).toBe(-4);
    expect(d.mapLookupElem(fd, u32(1), v)).toBe(-4);
    expect(d.mapLookupElem(fd, u32(1), v)).toBe(0);
    expect(d.faults.pending()).toBe(0);
    d.faults.inject("mapUpdateElem", { errno: 12 });
    expect(d.mapUpdateElem(fd, u32(2), u32(2))).toBe(-12);
    expect(errName(d.mapLookupElem(fd, u32(2), v))).toBe("ENOENT"); // the failed update did nothing
    // A failed batch reports count 0 (the kernel writes it first), never the caller's count: a
    // caller that reads its buffers up to count on ENOENT must find nothing there.
    const keys = new Uint8Array(32), values = new Uint8Array(32);
    for (const op of ["mapLookupBatch", "mapLookupAndDeleteBatch"] as const) {
      d.faults.inject(op, { errno: 2 });
      expect(d[op](fd, null, new Uint8Array(4), keys, values, 8)).toEqual({ errno: 2, count: 0 });
    }
    d.faults.inject("mapUpdateBatch", { errno: 12 });
    expect(d.mapUpdateBatch(fd, u32(7), u32(7), 1)).toEqual({ errno: 12, count: 0 });
    d.faults.inject("mapDeleteBatch", { errno: 12 });
    expect(d.mapDeleteBatch(fd, u32(1), 1)).toEqual({ errno: 12, count: 0 });
    expect(d.mapLookupElem(fd, u32(1), v)).toBe(0); // neither the failed delete batch
    expect(errName(d.mapLookupElem(fd, u32(7), v))).toBe("ENOENT"); // nor the failed update did a thing
    d.faults.inject("mapCreate", { errno: 1, count: 3 });
    d.faults.clear("mapCreate");
    expect(d.faults.pending()).toBe(0);
    expect(d.mapCreate(attr(HASH))).toBeGreaterThan(0);
    expect(() => d.faults.inject("mapNope" as SimSyscall, { errno: 4 })).toThrow(TypeError);
    expect(() => d.faults.inject("close", { errno: 0 })).toThrow(RangeError);
    // errno runs to 4095 (MAX_ERRNO) and count from 1; a refused inject queues nothing.
    expect(() => d.faults.inject("close", { errno: 4096 })).toThrow(RangeError);
    expect(() => d.faults.inject("close", { errno: 4, count: 0 })).toThrow(RangeError);
    expect(d.faults.pending("close")).toBe(0);
    d.faults.inject("close", { errno: 4095 });
    expect(d.close(fd)).toBe(-4095);
    // Misuse is still a RangeError, not a consumed fault.
    d.faults.inject("mapLookupElem", { errno: 4 });
    expect(() => d.mapLookupElem(fd, new Uint8Array(3), v)).toThrow(RangeError);
    expect(d.faults.pending("mapLookupElem")).toBe(1);
  });

  it("progGetMapIds is one of them: -errno with the ids untouched, then the real answer", () => {
    const d = sim();
    const map = d.mapCreate(attr(ARRAY));
    const ld = new Uint8Array(16);
    ld.set([0x18, 0x11]); // ld_imm64 r1, map fd
    new DataView(ld.buffer).setInt32(4, map, true);
    const prog = d.progLoad({ progType: 1, insns: Uint8Array.from([...ld, 0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    expect(prog).toBeGreaterThan(0);
    const ids = new Uint32Array([7, 7]);
    d.faults.inject("progGetMapIds", { errno: 12 });
    expect(d.progGetMapIds(prog, ids)).toBe(-12);
    expect([...ids]).toEqual([7, 7]);
    expect(d.faults.pending()).toBe(0);
    expect(d.progGetMapIds(prog, ids)).toBe(1);
    expect([ids[0], ids[1]]).toEqual([mapInfo(d, map).id, 7]);
  });
});

describe("dup (fcntl F_DUPFD_CLOEXEC) in the simulator", () => {
  it("is a fault-injection point and a hooked call with its fd; a failed dup makes no fd and takes no reference", () => {
    const d = sim();
    const map = d.mapCreate(attr(HASH));
    const id = mapInfo(d, map).id;
    const seen: string[] = [];
    d.setInterleavingHook((op, call) => seen.push(`${op} ${String(call.fd)}`));
    d.faults.inject("dup", { errno: 24 });
    expect(d.dup(map)).toBe(-24);
    d.setInterleavingHook(null);
    expect(seen).toEqual([`dup ${map}`]);
    // The failed dup took no reference: the map goes with its one fd.
    expect(d.close(map)).toBe(0);
    expect(d.liveMapIds()).not.toContain(id);
  });

  it("a copy holds the map as any fd does: with the source and the pin gone, the copy still reads it; the last close frees it", () => {
    const d = sim();
    const map = d.mapCreate(attr(HASH));
    expect(d.mapUpdateElem(map, u32(1), u32(11))).toBe(0);
    const id = mapInfo(d, map).id;
    expect(d.objPin(map, "/sys/fs/bpf/dup_held")).toBe(0);
    const copy = d.dup(map);
    expect(copy).toBe(map + 1);
    expect(d.close(map)).toBe(0);
    expect(d.host.unlink("/sys/fs/bpf/dup_held")).toBe(0);
    const v = new Uint8Array(4);
    expect(d.mapLookupElem(copy, u32(1), v)).toBe(0);
    expect(readU32(v)).toBe(11);
    expect(d.liveMapIds()).toContain(id);
    expect(d.close(copy)).toBe(0);
    expect(d.liveMapIds()).not.toContain(id);
    expect(errName(d.dup(copy))).toBe("EBADF");
  });
});

describe("mapFdInfo in the simulator (a procfs read, not a syscall)", () => {
  it("moves no clock and calls no hook", () => {
    const d = sim();
    const map = d.mapCreate(attr(HASH));
    const seen: string[] = [];
    d.setInterleavingHook((op) => seen.push(op));
    const t0 = d.host.monotonicNs();
    expect(d.mapFdInfo(map)).toMatchObject({ frozen: false });
    expect(d.host.monotonicNs()).toBe(t0);
    d.setInterleavingHook(null);
    expect(seen).toEqual([]);
  });

  it("an engine trap in it breaks the driver, naming mapFdInfo; the broken driver's mapFdInfo then throws too", () => {
    let trap = false;
    const engine = (): EngineExports => {
      const real = instantiateEngine();
      return { ...real, memory: real.memory, mapCount: (h) => {
        if (trap) throw new WebAssembly.RuntimeError("unreachable");
        return real.mapCount(h);
      } };
    };
    const d = sim({ engine });
    const fd = d.mapCreate(attr(HASH, { mapFlags: NO_PREALLOC }));
    expect(d.mapFdInfo(fd)).toMatchObject({ frozen: false });
    trap = true;
    expect(() => d.mapFdInfo(fd)).toThrow(/broken.*mapFdInfo.*unreachable/);
    trap = false;
    expect(() => d.mapFdInfo(fd)).toThrow(/broken.*mapFdInfo/);
    expect(() => d.dup(fd)).toThrow(/broken.*mapFdInfo/);
  });
});

describe("PROG_ATTACH of a flow dissector (not run on the kernel: it would change the host's network namespace)", () => {
  it("takes target fd 0 and no flags, and the same program twice is EEXIST", () => {
    const d = sim();
    const prog = d.progLoad({ progType: 22, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    expect(prog).toBeGreaterThan(0);
    expect(errName(d.progAttach(1, prog, 17))).toBe("EINVAL");
    expect(errName(d.progAttach(0, prog, 17, 1))).toBe("EINVAL");
    expect(d.progAttach(0, prog, 17)).toBe(0);
    expect(errName(d.progAttach(0, prog, 17))).toBe("EEXIST");
  });
});

describe("the fd table", () => {
  it("holds 65536 fds (the simulated RLIMIT_NOFILE): one more is EMFILE, and a closed fd is reused first", () => {
    const d = sim();
    const fd = d.mapCreate(attr(HASH));
    const id = mapInfo(d, fd).id;
    let r = fd;
    let last = fd;
    while ((r = d.mapGetFdById(id)) >= 0) last = r;
    expect(errName(r)).toBe("EMFILE");
    expect(last).toBe(65535);
    expect(d.close(100)).toBe(0);
    expect(d.mapGetFdById(id)).toBe(100);
    expect(errName(d.mapGetFdById(id))).toBe("EMFILE");
  });
});

describe("engine traps", () => {
  it("become a clear error, and the driver then says it is broken on every call", () => {
    const trap = { on: false };
    const d = sim({ engine: trappingEngine(trap) });
    const fd = d.mapCreate(attr(HASH));
    expect(d.mapUpdateElem(fd, u32(1), u32(1))).toBe(0);
    trap.on = true;
    expect(() => d.mapUpdateElem(fd, u32(2), u32(2))).toThrow(/broken.*mapUpdateElem.*unreachable/);
    trap.on = false;
    expect(() => d.mapLookupElem(fd, u32(1), new Uint8Array(4))).toThrow(/broken/);
    expect(() => d.close(fd)).toThrow(/broken/);
    expect(() => d.datapath.lookup({ fd }, u32(1), new Uint8Array(4))).toThrow(/broken/);
    // Another simulator is its own world and unaffected.
    const other = sim();
    expect(other.mapCreate(attr(HASH))).toBe(3);
  });
});

describe("engine traps in a large batch", () => {
  it("are the broken driver's error: the scratch is not given back to an engine that trapped", () => {
    let trap = false;
    const engine = (): EngineExports => {
      const real = instantiateEngine();
      return { ...real, memory: real.memory,
        mapUpdateBatch: (h, k, v, c) => {
          if (trap) throw new WebAssembly.RuntimeError("unreachable");
          return real.mapUpdateBatch(h, k, v, c);
        },
        scratchRelease: () => {
          // An engine that trapped may trap again on any call.
          if (trap) throw new WebAssembly.RuntimeError("scratchRelease after a trap");
          real.scratchRelease!();
        } };
    };
    const d = sim({ engine });
    const fd = d.mapCreate(attr(HASH, { valueSize: 64, maxEntries: 20_000, mapFlags: NO_PREALLOC }));
    const n = 20_000;
    const keys = new Uint8Array(4 * n);
    for (let k = 0; k < n; k++) keys.set(u32(k), 4 * k);
    trap = true;
    expect(() => d.mapUpdateBatch(fd, keys, new Uint8Array(64 * n), n)).toThrow(/broken.*mapUpdateBatch.*unreachable/);
  });
});

describe("a fresh world", () => {
  it("boots with no maps or programs; ids start at 1 in separate spaces, fds at 3", () => {
    const d = sim();
    expect(errName(d.mapGetNextId(0))).toBe("ENOENT");
    expect(errName(d.progGetNextId(0))).toBe("ENOENT");
    const m = d.mapCreate(attr(HASH));
    const p = d.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    expect([m, p]).toEqual([3, 4]);
    expect(mapInfo(d, m).id).toBe(1);
    expect(d.progGetNextId(0)).toBe(1);
    expect(errName(d.mapGetFdById(2))).toBe("ENOENT");
    expect(d.close(m)).toBe(0);
    expect(d.mapCreate(attr(HASH))).toBe(3);
    expect(d.mapGetNextId(0)).toBe(2); // id 1 is not reused
    expect(d.liveMapIds()).toEqual([2]);
  });
});

describe("options", () => {
  it("possibleCpus sizes per-CPU values", () => {
    const d = sim({ possibleCpus: 3 });
    expect(d.possibleCpus).toBe(3);
    const fd = d.mapCreate(attr(PERCPU_HASH, { valueSize: 12 }));
    expect(() => d.mapUpdateElem(fd, u32(1), new Uint8Array(32))).toThrow(RangeError);
    const v = new Uint8Array(48);
    v.forEach((_, i) => (v[i] = i));
    expect(d.mapUpdateElem(fd, u32(1), v)).toBe(0);
    const back = new Uint8Array(48);
    expect(d.mapLookupElem(fd, u32(1), back)).toBe(0);
    expect(back).toEqual(v); // padding bytes kept
  });

  it("seed: maps without ZERO_SEED walk the same for the same seed, differently for another", () => {
    const order = (seed: number) => {
      const d = sim({ seed });
      const fd = d.mapCreate(attr(HASH, { maxEntries: 64 }));
      for (let k = 0; k < 64; k++) d.mapUpdateElem(fd, u32(k), u32(k));
      return walk(d, fd);
    };
    const zero = (seed: number) => {
      const d = sim({ seed });
      const fd = d.mapCreate(attr(HASH, { maxEntries: 64, mapFlags: ZERO_SEED }));
      for (let k = 0; k < 64; k++) d.mapUpdateElem(fd, u32(k), u32(k));
      return walk(d, fd);
    };
    expect(order(1)).toEqual(order(1));
    expect(order(1)).not.toEqual(order(2));
    expect(zero(1)).toEqual(zero(2));
  });

  it("memoryLimit: a map past it is ENOMEM and the driver stays usable", () => {
    const d = sim({ memoryLimit: 4 << 20 });
    expect(errName(d.mapCreate(attr(ARRAY, { valueSize: 64, maxEntries: 1 << 20 })))).toBe("ENOMEM");
    const fd = d.mapCreate(attr(HASH));
    expect(fd).toBe(3);
    expect(d.mapUpdateElem(fd, u32(1), u32(1))).toBe(0);
  });

  it("memoryLimit caps the whole wasm memory, the engine's first page included: below two pages it is refused, not a host where every map is ENOMEM", () => {
    for (const limit of [1, 65536, 131071]) {
      expect(() => sim({ memoryLimit: limit })).toThrow(
        new RangeError(`createSimDriver: memoryLimit ${limit} leaves no room for any map: it caps the simulator's whole ` +
          "wasm memory in 64 KiB pages (rounded down), and the first page is the engine's own; give at least 131072"));
    }
    // Two pages hold a map whose parts fit one small size class's page (an LPM trie's), no more:
    // each size class takes pages of its own, so even a small hash needs three.
    const d = sim({ memoryLimit: 131072 });
    expect(d.mapCreate(attr(LPM_TRIE, { keySize: 8, mapFlags: NO_PREALLOC }))).toBe(3);
    expect(errName(d.mapCreate(attr(HASH)))).toBe("ENOMEM");
    expect(d.memoryUsage().wasmBytes).toBe(131072);
    expect(sim({ memoryLimit: 3 * 65536 }).mapCreate(attr(HASH))).toBe(3);
  });

  it("memoryLimit: a preallocated map is ENOMEM at creation, never at an insert, as in the kernel", () => {
    const d = sim({ memoryLimit: 4 << 20 });
    // 300k elements of 16 bytes are more than 4 MiB: the kernel's prealloc fails at MAP_CREATE.
    expect(errName(d.mapCreate(attr(HASH, { maxEntries: 300_000 })))).toBe("ENOMEM");
    expect(errName(d.mapCreate(attr(LRU_HASH, { maxEntries: 300_000 })))).toBe("ENOMEM");
    const pre = d.mapCreate(attr(HASH, { maxEntries: 20_000 }));
    expect(pre).toBeGreaterThan(0);
    // A NO_PREALLOC map allocates per insert, so it is the one that meets the limit…
    const lazy = d.mapCreate(attr(HASH, { maxEntries: 1 << 18, mapFlags: NO_PREALLOC }));
    expect(lazy).toBeGreaterThan(0);
    let k = 0;
    let r = 0;
    while ((r = d.mapUpdateElem(lazy, u32(k), u32(k))) === 0) k++;
    expect(errName(r)).toBe("ENOMEM");
    expect(k).toBeGreaterThan(1000);
    // …and the preallocated one, created first, still takes all its entries after that.
    for (let i = 0; i < 20_000; i++) expect(d.mapUpdateElem(pre, u32(i), u32(i))).toBe(0);
    expect(errName(d.mapUpdateElem(pre, u32(20_000), u32(0)))).toBe("E2BIG");
  });

  it("memoryLimit: a large batch gives its scratch back, so the maps that fitted before it still fit", () => {
    // How many 256 KiB arrays the limit holds (each closed again).
    const arraysThatFit = (d: ReturnType<typeof sim>): number => {
      const fds: number[] = [];
      for (let fd; (fd = d.mapCreate(attr(ARRAY, { valueSize: 64, maxEntries: 4096 }))) > 0;) fds.push(fd);
      fds.forEach((fd) => d.close(fd));
      return fds.length;
    };
    const fresh = arraysThatFit(sim({ memoryLimit: 8 << 20 }));
    const d = sim({ memoryLimit: 8 << 20 });
    const big = d.mapCreate(attr(HASH, { valueSize: 64, maxEntries: 20_000, mapFlags: NO_PREALLOC }));
    const n = 20_000;
    const keys = new Uint8Array(4 * n), values = new Uint8Array(64 * n);
    for (let k = 0; k < n; k++) keys.set(u32(k), 4 * k);
    expect(d.mapUpdateBatch(big, keys, values, n)).toEqual({ errno: 0, count: n });
    expect(d.mapLookupBatch(big, null, new Uint8Array(4), keys, values, n).count).toBe(n);
    d.close(big);
    // As the kernel driver keeps 1 MiB of staging room: the 2 MiB these batches staged is not kept.
    expect(d.memoryUsage().used).toBeLessThanOrEqual(1 << 20);
    // A page or so may stay carved for the elements' small size classes; 2 MiB would be 8 arrays.
    expect(arraysThatFit(d)).toBeGreaterThanOrEqual(fresh - 2);
  });

  it("a large deleteBatch gives its scratch back too", () => {
    const d = sim();
    // 64-byte keys: the delete stages 1.25 MiB of keys alone, more than the 1 MiB kept.
    const big = d.mapCreate(attr(HASH, { keySize: 64, maxEntries: 20_000, mapFlags: NO_PREALLOC }));
    const n = 20_000;
    const keys = new Uint8Array(64 * n);
    for (let k = 0; k < n; k++) keys.set(u32(k), 64 * k);
    expect(d.mapUpdateBatch(big, keys, new Uint8Array(4 * n), n)).toEqual({ errno: 0, count: n });
    expect(d.mapDeleteBatch(big, keys, n)).toEqual({ errno: 0, count: n });
    d.close(big);
    expect(d.memoryUsage().used).toBeLessThanOrEqual(1 << 20);
  });

  it("scratch given back is not used again: maps made in its room keep their values through later batches", () => {
    const d = sim();
    const big = d.mapCreate(attr(HASH, { valueSize: 64, maxEntries: 20_000, mapFlags: NO_PREALLOC }));
    const n = 20_000;
    const keys = new Uint8Array(4 * n), values = new Uint8Array(64 * n).fill(0xee);
    for (let k = 0; k < n; k++) keys.set(u32(k), 4 * k);
    expect(d.mapUpdateBatch(big, keys, values, n)).toEqual({ errno: 0, count: n });
    // Made after the batch gave its 2 MiB back: the room may well be this array's now.
    const arr = d.mapCreate(attr(ARRAY, { valueSize: 64, maxEntries: 8192 }));
    for (let i = 0; i < 8192; i++) expect(d.mapUpdateElem(arr, u32(i), new Uint8Array(64).fill(i & 0xff))).toBe(0);
    // Small elements after it: none may be carved from the room the scratch had.
    const small = d.mapCreate(attr(HASH, { maxEntries: 4096, mapFlags: NO_PREALLOC }));
    for (let k = 0; k < 4096; k++) expect(d.mapUpdateElem(small, u32(k), u32(~k))).toBe(0);
    expect(d.mapLookupBatch(big, null, new Uint8Array(4), keys, values, n).count).toBe(n);
    expect(values.every((b) => b === 0xee)).toBe(true);
    const v = new Uint8Array(64);
    let wrong = 0;
    for (let i = 0; i < 8192; i++) {
      expect(d.mapLookupElem(arr, u32(i), v)).toBe(0);
      if (!v.every((b) => b === (i & 0xff))) wrong++;
    }
    expect(wrong).toBe(0);
    for (let k = 0; k < 4096; k++) {
      expect(d.mapLookupElem(small, u32(k), v.subarray(0, 4))).toBe(0);
      expect(readU32(v, 0)).toBe(~k >>> 0);
    }
  });

  it("bpffsMount moves or drops the boot-time bpffs", () => {
    const none = sim({ bpffsMount: null });
    // As on a host without bpffs: /sys/fs/bpf is sysfs's bare mount point.
    expect(none.host.statfsType("/sys/fs/bpf") >>> 0).toBe(0x62656572);
    expect(errName(none.host.mkdir("/sys/fs/bpf/tc", 0o755))).toBe("ENOENT");
    expect(errName(none.host.mkdirAll("/sys/fs/bpf/tc/globals", 0o755))).toBe("ENOENT");
    expect((none.host.mountInfo() as { fsType: string }[]).some((m) => m.fsType === "bpf")).toBe(false);
    const moved = sim({ bpffsMount: "/run/bpf" });
    expect(moved.host.statfsType("/run/bpf") >>> 0).toBe(0xcafe4a11);
    const fd = moved.mapCreate(attr(HASH));
    expect(moved.objPin(fd, "/run/bpf/x")).toBe(0);
    const def = sim();
    expect(def.host.statfsType("/sys/fs/bpf") >>> 0).toBe(0xcafe4a11);
    expect(errName(def.objPin(def.mapCreate(attr(HASH)), "/tmp/x"))).toBe("EPERM");
  });

  it("privileged: false answers the capability checks of ids, mounts and rlimits", () => {
    const d = sim({ privileged: false, unprivilegedBpfDisabled: 0 });
    const fd = d.mapCreate(attr(HASH));
    expect(fd).toBe(3);
    expect(errName(d.mapGetNextId(0))).toBe("EPERM");
    expect(errName(d.mapGetFdById(1))).toBe("EPERM");
    expect(errName(d.host.mount("bpf", "/tmp", "bpf"))).toBe("EPERM");
    const { cur, max } = d.host.getRlimitMemlock();
    expect(errName(d.host.setRlimitMemlock(cur, max + 1n))).toBe("EPERM");
    expect(d.host.setRlimitMemlock(cur / 2n, max)).toBe(0);
    // cur above max is EINVAL before the hard limit's raise is judged (do_prlimit).
    expect(errName(d.host.setRlimitMemlock(max + 2n, max + 1n))).toBe("EINVAL");
    expect(errName(d.progLoad({ progType: 6, insns: new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" }))).toBe("EPERM");
  });

  it("privileged: false answers as a process without CAP_BPF/CAP_SYS_ADMIN did on this kernel", () => {
    // Recorded by a child that dropped CAP_BPF and CAP_SYS_ADMIN (unprivileged_bpf_disabled=2):
    // element ops, info and freeze work on an fd it holds; the id commands check their flags and
    // start id before the capability.
    // The id commands answer EPERM before looking the id up, so a fresh world shows them.
    const d = sim({ privileged: false });
    expect(errName(d.mapGetNextId(0))).toBe("EPERM");
    expect(errName(d.mapGetFdById(1))).toBe("EPERM");
    expect(errName(d.mapGetFdById(1, 3))).toBe("EINVAL");
    // RDONLY|WRONLY passes the flag mask; bpf_get_file_flag refuses it only after the capability.
    expect(errName(d.mapGetFdById(1, 0x18))).toBe("EPERM");
    expect(errName(d.mapGetNextId(0x7fffffff))).toBe("EINVAL");
    expect(errName(d.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" }))).toBe("EPERM");
    const open = sim({ privileged: false, unprivilegedBpfDisabled: 0 });
    const ufd = open.mapCreate(attr(HASH));
    expect(open.mapUpdateElem(ufd, u32(2), u32(7))).toBe(0);
    expect(open.mapLookupElem(ufd, u32(2), new Uint8Array(4))).toBe(0);
    expect(open.objGetInfoByFd(ufd, new Uint8Array(104))).toBe(104);
    expect(open.mapFreeze(ufd)).toBe(0);
    // Without CAP_BPF a program has at most BPF_MAXINSNS (4096) instructions: r0 = 0 …, exit.
    const filter = (n: number) => {
      const insns = new Uint8Array(8 * n);
      for (let i = 0; i < n - 1; i++) insns[8 * i] = 0xb7;
      insns[8 * (n - 1)] = 0x95;
      return insns;
    };
    const at = open.progLoad({ progType: 1, insns: filter(4096), license: "GPL" });
    expect(at).toBeGreaterThan(0);
    expect(open.close(at)).toBe(0);
    expect(errName(open.progLoad({ progType: 1, insns: filter(4097), license: "GPL" }))).toBe("E2BIG");
    // A cgroup_skb program loads without CAP_BPF, but attaching it wants CAP_NET_ADMIN: EINVAL
    // (bpf_prog_attach_check_attach_type's EPERM is collapsed), before any cgroup fd is looked at.
    const skb = open.progLoad({ progType: 8, insns: filter(2), license: "GPL" });
    expect(skb).toBeGreaterThan(0);
    expect(errName(open.progAttach(0, skb, 0))).toBe("EINVAL");
    // The capability a type needs (CGROUP_SOCK: CAP_BPF) before its expected attach type is judged.
    expect(errName(open.progLoad({ progType: 9, insns: filter(2), license: "GPL", expectedAttachType: 100 }))).toBe("EPERM");
  });

  it("privileged: false: mount and umount look the target up before they ask for CAP_SYS_ADMIN", () => {
    // Recorded as `nobody` on this kernel (a missing target ENOENT, a path through a file
    // ENOTDIR, anything found EPERM, whatever the type or data).
    const d = sim({ privileged: false });
    expect(d.host.mkdirAll("/tmp/dir", 0o755)).toBe(0);
    expect(errName(d.host.mount("bpf", "/tmp/missing", "bpf"))).toBe("ENOENT");
    expect(errName(d.host.mount("x", "/tmp/missing", "nosuchfs"))).toBe("ENOENT");
    expect(errName(d.host.mount("bpf", "/sys/fs/bpf/maps.debug/x", "bpf"))).toBe("ENOTDIR");
    expect(errName(d.host.mount("bpf", "/tmp/dir", "bpf"))).toBe("EPERM");
    expect(errName(d.host.mount("x", "/tmp/dir", "nosuchfs"))).toBe("EPERM");
    expect(errName(d.host.mount("bpf", "/tmp/dir", "bpf", 0, "uid=abc"))).toBe("EPERM");
    expect(errName(d.host.umount("/tmp/missing"))).toBe("ENOENT");
    expect(errName(d.host.umount("/tmp/dir"))).toBe("EPERM");
    expect(errName(d.host.umount("/sys/fs/bpf/maps.debug/x"))).toBe("ENOTDIR");
  });

  it("rejects bad options", () => {
    expect(() => sim({ possibleCpus: 0 })).toThrow(RangeError);
    expect(() => sim({ possibleCpus: 8193 })).toThrow(RangeError);
    expect(sim({ possibleCpus: 8192 }).possibleCpus).toBe(8192);
    expect(() => sim({ unprivilegedBpfDisabled: 3 })).toThrow(RangeError);
    expect(() => sim({ memoryLimit: 0 })).toThrow(RangeError);
    expect(() => sim({ seed: -1 })).toThrow(RangeError);
    expect(() => sim({ bpffsMount: "relative" })).toThrow(TypeError);
    expect(() => sim({ privileged: "yes" as unknown as boolean })).toThrow(TypeError);
  });
});

describe("host services", () => {
  it("a virtual filesystem: mkdir, readdir, stat, rmdir, unlink, removeAll", () => {
    const h = sim().host;
    expect(h.mkdir("/tmp/a", 0o755)).toBe(0);
    expect(errName(h.mkdir("/tmp/a", 0o755))).toBe("EEXIST");
    expect(errName(h.mkdir("/tmp/none/b", 0o755))).toBe("ENOENT");
    expect(h.mkdirAll("/tmp/a/b/c", 0o755)).toBe(0);
    expect(h.mkdirAll("/tmp/a/b/c", 0o755)).toBe(0);
    expect(h.readdir("/tmp/a")).toEqual(["b"]);
    expect(h.stat("/tmp/a/b")).toEqual({ errno: 0, isDirectory: true, isFile: false });
    expect(h.stat("/tmp/zz").errno).toBe(2);
    expect(errName(h.rmdir("/tmp/a"))).toBe("ENOTEMPTY");
    expect(errName(h.unlink("/tmp/a"))).toBe("EISDIR");
    expect(h.removeAll("/tmp/a")).toBe(0);
    expect(h.removeAll("/tmp/a")).toBe(0);
    expect(h.stat("/tmp/a").errno).toBe(2);
    expect(h.statfsType("/tmp") >>> 0).toBe(0x01021994);
    expect(() => h.stat("/tmp/a\0b")).toThrow(TypeError);
  });

  it("each bpffs mount is its own instance; umount releases its pins; pins in a removed tree are released", () => {
    const d = sim();
    const h = d.host;
    h.mkdirAll("/tmp/one", 0o700);
    h.mkdirAll("/tmp/two", 0o700);
    expect(h.mount("bpf", "/tmp/one", "bpf")).toBe(0);
    expect(h.mount("bpf", "/tmp/two", "bpf")).toBe(0);
    expect(errName(h.mount("x", "/tmp/one", "ext9"))).toBe("ENODEV");
    const fd = d.mapCreate(attr(HASH));
    const id = mapInfo(d, fd).id;
    expect(d.objPin(fd, "/tmp/one/m")).toBe(0);
    expect(errName(d.objGet("/tmp/two/m"))).toBe("ENOENT");
    expect(h.mkdir("/tmp/two/sub", 0o700)).toBe(0);
    expect(d.objPin(fd, "/tmp/two/sub/m")).toBe(0);
    const mounts = h.mountInfo() as { mountPoint: string; fsType: string; parentId: number; mountId: number }[];
    expect(mounts.filter((m) => m.fsType === "bpf").map((m) => m.mountPoint)).toEqual(["/sys/fs/bpf", "/tmp/one", "/tmp/two"]);
    d.close(fd);
    expect(d.mapGetNextId(id - 1)).toBe(id);
    expect(h.removeAll("/tmp/two/sub")).toBe(0);
    expect(d.mapGetNextId(id - 1)).toBe(id); // still pinned in /tmp/one
    expect(errName(h.rmdir("/tmp/one"))).toBe("EBUSY");
    expect(h.umount("/tmp/one")).toBe(0);
    expect(errName(d.mapGetNextId(id - 1))).toBe("ENOENT");
    expect(h.statfsType("/tmp/one") >>> 0).toBe(0x01021994);
    expect(errName(h.umount("/tmp/one"))).toBe("EINVAL");
    // rm -rf of a mount point is EBUSY with its contents untouched (Node's rmSync tries rmdir first).
    const fd2 = d.mapCreate(attr(HASH));
    const id2 = mapInfo(d, fd2).id;
    expect(d.objPin(fd2, "/tmp/two/p")).toBe(0);
    d.close(fd2);
    expect(errName(h.removeAll("/tmp/two"))).toBe("EBUSY");
    expect(h.readdir("/tmp/two")).toEqual(["maps.debug", "p", "progs.debug"]);
    expect(d.mapGetNextId(id2 - 1)).toBe(id2);
    expect(h.umount("/tmp/two")).toBe(0);
    expect(errName(d.mapGetNextId(id2 - 1))).toBe("ENOENT");
  });

  it("the monotonic clock moves with syscalls and by the test's hand, never back", () => {
    const d = sim({ syscallNs: 500 });
    const t0 = d.host.monotonicNs();
    expect(d.host.monotonicNs()).toBe(t0);
    d.mapCreate(attr(HASH));
    expect(d.host.monotonicNs()).toBe(t0 + 500n);
    d.clock.advance(1_000_000n);
    expect(d.clock.now()).toBe(t0 + 1_000_500n);
    d.clock.set(t0 + 2_000_000n);
    expect(d.host.monotonicNs()).toBe(t0 + 2_000_000n);
    expect(() => d.clock.set(t0)).toThrow(RangeError);
    d.clock.set(t0 + 2_000_000n); // now itself is not going back
    const fd = d.progLoad({ progType: 1, insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: "GPL" });
    const info = new Uint8Array(232);
    d.objGetInfoByFd(fd, info);
    expect(new DataView(info.buffer).getBigUint64(40, true)).toBe(t0 + 2_000_500n);
  });

  it("RLIMIT_MEMLOCK: 8 MiB at boot, root may raise it, cur above max is EINVAL", () => {
    const h = sim().host;
    expect(h.getRlimitMemlock()).toEqual({ errno: 0, cur: 8n << 20n, max: 8n << 20n });
    const inf = 0xffff_ffff_ffff_ffffn;
    expect(h.setRlimitMemlock(inf, inf)).toBe(0);
    expect(h.getRlimitMemlock().cur).toBe(inf);
    expect(errName(h.setRlimitMemlock(10n, 5n))).toBe("EINVAL");
    expect(() => h.setRlimitMemlock(1 as unknown as bigint, 2n)).toThrow(TypeError);
  });
});

describe("bad input: the kernel driver's TypeError/RangeError contract", () => {
  it("wrong buffer sizes are RangeErrors naming the map fd; wrong types are TypeErrors", () => {
    const d = sim({ possibleCpus: 2 });
    const fd = d.mapCreate(attr(PERCPU_HASH, { keySize: 8, valueSize: 3 }));
    const k = new Uint8Array(8);
    expect(() => d.mapLookupElem(fd, new Uint8Array(4), new Uint8Array(16))).toThrow(/key is 4 bytes, map fd 3 needs 8/);
    expect(() => d.mapUpdateElem(fd, k, new Uint8Array(6))).toThrow(/value is 6 bytes, map fd 3 needs 16/);
    expect(() => d.mapGetNextKey(fd, null, new Uint8Array(4))).toThrow(RangeError);
    expect(() => d.mapLookupBatch(fd, new Uint8Array(8), new Uint8Array(4), new Uint8Array(16), new Uint8Array(32), 2)).toThrow(RangeError);
    expect(() => d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(8), new Uint8Array(32), 2)).toThrow(/keys is 8 bytes, 2 elements/);
    expect(() => d.mapUpdateBatch(fd, new Uint8Array(16), new Uint8Array(16), 2)).toThrow(RangeError);
    expect(() => d.mapLookupElem(fd, "k" as unknown as Uint8Array, new Uint8Array(16))).toThrow(TypeError);
    expect(() => d.mapLookupElem(1.5, k, new Uint8Array(16))).toThrow(TypeError);
    expect(() => d.mapUpdateElem(fd, k, new Uint8Array(16), -1)).toThrow(RangeError);
    expect(() => d.mapDeleteBatch(fd, k, -1)).toThrow(RangeError);
    expect(() => d.objPin(fd, "")).toThrow(TypeError);
    expect(() => d.progLoad({ progType: 1, insns: new Uint8Array(12), license: "GPL" })).toThrow(RangeError);
    // State is untouched by rejected calls.
    expect(d.mapGetNextKey(fd, null, k)).toBe(-2);
    // fds that are not maps cannot be size-checked: the call answers like the kernel.
    expect(errName(d.mapLookupElem(77, new Uint8Array(1), new Uint8Array(1)))).toBe("EBADF");
    expect(errName(d.mapLookupElem(1, new Uint8Array(1), new Uint8Array(1)))).toBe("EINVAL");
  });
});
