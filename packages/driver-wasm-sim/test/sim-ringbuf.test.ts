// BPF_MAP_TYPE_RINGBUF's syscall surface on the simulator, run against this machine's kernel
// where it has one: MAP_CREATE's checks, every element call's errno, bpf_map_info, fdinfo's
// memlock, a ring buffer as an inner map, and mmap's checks in the kernel's order. Each answer
// was first measured on 6.18 with scripts/probe-ringbuf-sim.py.
import { BPF_F_MMAPABLE, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG } from "@bpfkit/core";
import type { MapCreateAttr } from "@bpfkit/core";
import { describe, expect, it } from "vitest";
import { check, errName, mapInfo, onBoth, progUsingMap, sim, u32 } from "./sim-helpers.js";

const RINGBUF = 27, ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13;
const PAGE = 4096;
const rb = (maxEntries = PAGE, more: Partial<MapCreateAttr> = {}): MapCreateAttr =>
  ({ mapType: RINGBUF, keySize: 0, valueSize: 0, maxEntries, ...more });
const none = new Uint8Array(0);

describe("RINGBUF MAP_CREATE", () => {
  it("takes key and value size 0, a power-of-2 multiple of the page, and only BPF_F_NUMA_NODE", () => {
    const cases: Array<[string, MapCreateAttr]> = [
      ["4096", rb()], ["8192", rb(2 * PAGE)], ["1 MiB", rb(1 << 20)], ["0", rb(0)], ["4095", rb(4095)],
      ["2048", rb(2048)], ["12288", rb(3 * PAGE)], ["key 4", rb(PAGE, { keySize: 4 })], ["value 4", rb(PAGE, { valueSize: 4 })],
      ["key 4, 12288", rb(3 * PAGE, { keySize: 4 })], ["NUMA_NODE", rb(PAGE, { mapFlags: BPF_F_NUMA_NODE })],
      ["RDONLY", rb(PAGE, { mapFlags: BPF_F_RDONLY })], ["WRONLY", rb(PAGE, { mapFlags: BPF_F_WRONLY })],
      ["RDONLY_PROG", rb(PAGE, { mapFlags: BPF_F_RDONLY_PROG })], ["WRONLY_PROG", rb(PAGE, { mapFlags: BPF_F_WRONLY_PROG })],
      ["MMAPABLE", rb(PAGE, { mapFlags: BPF_F_MMAPABLE })], ["NO_PREALLOC", rb(PAGE, { mapFlags: BPF_F_NO_PREALLOC })],
      ["flag 1<<16", rb(PAGE, { mapFlags: 1 << 16 })], ["map_extra 1", rb(PAGE, { mapExtra: 1n })],
    ];
    const r = onBoth((s) => {
      for (const [label, attr] of cases) s.keep(s.rec(label, s.d.mapCreate(attr), "fd"));
    });
    check(r, [["4096", "fd"], ["8192", "fd"], ["1 MiB", "fd"], ["NUMA_NODE", "fd"], ["0", "EINVAL"], ["4095", "EINVAL"],
      ["2048", "EINVAL"], ["12288", "EINVAL"], ["key 4", "EINVAL"], ["value 4", "EINVAL"], ["RDONLY", "EINVAL"],
      ["RDONLY_PROG", "EINVAL"], ["MMAPABLE", "EINVAL"], ["map_extra 1", "EINVAL"]]);
  });

  it("reports its attributes in bpf_map_info and its pages in fdinfo's memlock", () => {
    const r = onBoth((s) => {
      for (const n of [PAGE, 2 * PAGE, 16 * PAGE]) {
        const fd = s.keep(s.d.mapCreate(rb(n, { mapName: "ring" })));
        const i = mapInfo(s.d, fd);
        s.log.push([`info ${n}`, i.type, i.keySize, i.valueSize, i.maxEntries, i.mapFlags, i.name]);
        const fi = s.d.mapFdInfo!(fd);
        s.log.push([`memlock ${n}`, typeof fi === "number" ? errName(fi) : fi.memlock]);
      }
    });
    // sizeof(struct bpf_ringbuf_map) 304, the 3 + n pages, and 3 + 2n page pointers.
    check(r, [["info 4096", RINGBUF, 0, 0, PAGE, 0, "ring"], ["memlock 4096", 16728], ["memlock 8192", 20840], ["memlock 65536", 78408]]);
  });

  it("gives the 1 MiB ring's memlock as measured", () => {
    const d = sim();
    const fi = d.mapFdInfo(d.mapCreate(rb(1 << 20)));
    expect(typeof fi === "number" ? fi : fi.memlock).toBe(1065288);
  });
});

describe("RINGBUF and the capability gate", () => {
  it("is an unprivileged type, behind unprivileged_bpf_disabled, whose own checks come after the gate", () => {
    const open = sim({ privileged: false, unprivilegedBpfDisabled: 0 });
    expect(open.mapCreate(rb())).toBeGreaterThanOrEqual(3);
    expect(errName(open.mapCreate(rb(4095)))).toBe("EINVAL");
    const gated = sim({ privileged: false });
    expect(errName(gated.mapCreate(rb()))).toBe("EPERM");
    expect(errName(gated.mapCreate(rb(4095)))).toBe("EPERM");
  });

  it("is a map a program may reference", () => {
    const r = onBoth((s) => {
      const fd = s.keep(s.d.mapCreate(rb()));
      s.keep(s.rec("load", s.d.progLoad({ progType: 1, insns: progUsingMap(fd), license: "GPL" }), "fd"));
    });
    check(r, [["load", "fd"]]);
  });
});

describe("RINGBUF element calls", () => {
  it("answers ENOTSUPP to every element and batch call, and freezes", () => {
    const r = onBoth((s) => {
      const fd = s.keep(s.d.mapCreate(rb()));
      const ro = s.keep(s.d.mapGetFdById(mapInfo(s.d, fd).id, BPF_F_RDONLY));
      s.rec("lookup", s.d.mapLookupElem(fd, none, none));
      s.rec("lookup F_LOCK", s.d.mapLookupElem(fd, none, none, 4));
      s.rec("update", s.d.mapUpdateElem(fd, none, none));
      s.rec("update EXIST", s.d.mapUpdateElem(fd, none, none, 2));
      s.rec("update F_LOCK", s.d.mapUpdateElem(fd, none, none, 4));
      s.rec("delete", s.d.mapDeleteElem(fd, none));
      s.rec("get_next_key", s.d.mapGetNextKey(fd, null, none));
      s.rec("lookup_and_delete", s.d.mapLookupAndDeleteElem(fd, none, none));
      s.rec("lookup via RDONLY", s.d.mapLookupElem(ro, none, none));
      s.rec("update via RDONLY", s.d.mapUpdateElem(ro, none, none));
      for (const count of [0, 1]) {
        const lb = s.d.mapLookupBatch(fd, null, none, none, none, count);
        s.log.push([`lookup_batch ${count}`, errName(-lb.errno)]);
        const ldb = s.d.mapLookupAndDeleteBatch(fd, null, none, none, none, count);
        s.log.push([`lookup_and_delete_batch ${count}`, errName(-ldb.errno)]);
        const ub = s.d.mapUpdateBatch(fd, none, none, count);
        s.log.push([`update_batch ${count}`, errName(-ub.errno)]);
        const db = s.d.mapDeleteBatch(fd, none, count);
        s.log.push([`delete_batch ${count}`, errName(-db.errno)]);
      }
      s.rec("freeze", s.d.mapFreeze(fd));
      s.rec("freeze again", s.d.mapFreeze(fd));
    });
    check(r, [["lookup", "ENOTSUPP"], ["lookup F_LOCK", "EINVAL"], ["update", "ENOTSUPP"], ["update EXIST", "ENOTSUPP"],
      ["update F_LOCK", "EINVAL"], ["delete", "ENOTSUPP"], ["get_next_key", "ENOTSUPP"], ["lookup_and_delete", "ENOTSUPP"],
      ["lookup via RDONLY", "ENOTSUPP"], ["update via RDONLY", "EPERM"], ["lookup_batch 0", "ENOTSUPP"], ["update_batch 1", "ENOTSUPP"],
      ["lookup_and_delete_batch 1", "ENOTSUPP"], ["delete_batch 0", "ENOTSUPP"], ["freeze", 0], ["freeze again", "EPERM"]]);
  });

  it("is ENOTSUPP to an update whatever its flags, past u32 too", () => {
    const d = sim();
    expect(errName(d.mapUpdateElem(d.mapCreate(rb()), none, none, 2 ** 32))).toBe("ENOTSUPP");
  });
});

describe("RINGBUF as an inner map", () => {
  it("is a template for both map-in-map kinds, and rings of other sizes fit it", () => {
    const r = onBoth((s) => {
      const inner = s.keep(s.d.mapCreate(rb()));
      const other = s.keep(s.d.mapCreate(rb(2 * PAGE)));
      for (const [name, t] of [["array_of_maps", ARRAY_OF_MAPS], ["hash_of_maps", HASH_OF_MAPS]] as const) {
        const o = s.keep(s.rec(name, s.d.mapCreate({ mapType: t, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner }), "fd"));
        s.rec(`${name} same size`, s.d.mapUpdateElem(o, u32(0), u32(inner)));
        s.rec(`${name} 8192`, s.d.mapUpdateElem(o, u32(1), u32(other)));
      }
    });
    check(r, [["array_of_maps", "fd"], ["hash_of_maps", "fd"], ["array_of_maps 8192", 0], ["hash_of_maps 8192", 0]]);
  });
});

describe("RINGBUF mmap", () => {
  it("maps the consumer page writable alone, the rest read-only, within the data's two copies", () => {
    const r = onBoth((s) => {
      const fd = s.keep(s.d.mapCreate(rb()));
      const id = mapInfo(s.d, fd).id;
      const ro = s.keep(s.d.mapGetFdById(id, BPF_F_RDONLY));
      const wo = s.keep(s.d.mapGetFdById(id, BPF_F_WRONLY));
      const frozen = s.keep(s.d.mapCreate(rb()));
      s.d.mapFreeze(frozen);
      const tries: Array<[string, number, number, boolean, number]> = [
        ["w 0 1pg", fd, PAGE, true, 0], ["w 0 100B", fd, 100, true, 0], ["w 0 2pg", fd, 2 * PAGE, true, 0],
        ["w 4096 1pg", fd, PAGE, true, PAGE], ["w 16384 1pg", fd, PAGE, true, 4 * PAGE], ["w 0 5pg", fd, 5 * PAGE, true, 0],
        ["r 0 1pg", fd, PAGE, false, 0], ["r 4096 1pg", fd, PAGE, false, PAGE], ["r 0 4pg", fd, 4 * PAGE, false, 0],
        ["r 0 5pg", fd, 5 * PAGE, false, 0], ["r 4096 3pg", fd, 3 * PAGE, false, PAGE], ["r 4096 4pg", fd, 4 * PAGE, false, PAGE],
        ["r 16384 1pg", fd, PAGE, false, 4 * PAGE], ["r off 100", fd, PAGE, false, 100],
        ["ro fd r", ro, PAGE, false, 0], ["wo fd w", wo, PAGE, true, 0],
        ["frozen w 1pg", frozen, PAGE, true, 0], ["frozen w 2pg", frozen, 2 * PAGE, true, 0], ["frozen r", frozen, 4 * PAGE, false, 0],
      ];
      for (const [label, f, len, w, off] of tries) {
        const h = s.d.mapMmap!(f, len, w, off);
        s.rec(label, h < 0 ? h : 0);
        if (h >= 0) s.d.munmap!(h);
      }
      // A writable consumer mapping counts as a writer: FREEZE waits for its munmap.
      const other = s.keep(s.d.mapCreate(rb()));
      const w = s.d.mapMmap!(other, PAGE, true, 0);
      s.rec("freeze while consumer mapped", s.d.mapFreeze(other));
      s.d.munmap!(w);
      const rd = s.d.mapMmap!(other, 4 * PAGE, false, 0);
      s.rec("freeze with a read mapping", s.d.mapFreeze(other));
      s.d.munmap!(rd);
    });
    check(r, [["w 0 1pg", 0], ["w 0 100B", 0], ["w 0 2pg", "EPERM"], ["w 4096 1pg", "EPERM"], ["w 16384 1pg", "EPERM"],
      ["w 0 5pg", "EPERM"], ["r 0 1pg", 0], ["r 4096 1pg", 0], ["r 0 4pg", 0], ["r 0 5pg", "EINVAL"], ["r 4096 3pg", 0],
      ["r 4096 4pg", "EINVAL"], ["r 16384 1pg", "EINVAL"], ["r off 100", "EINVAL"], ["ro fd r", "EINVAL"], ["wo fd w", "EACCES"],
      ["frozen w 1pg", "EPERM"], ["frozen w 2pg", "EPERM"], ["frozen r", 0], ["freeze while consumer mapped", "EBUSY"],
      ["freeze with a read mapping", 0]]);
  });

  it("gives a consumer position written through the mapping back, zero at first", () => {
    const r = onBoth((s) => {
      const fd = s.keep(s.d.mapCreate(rb()));
      const cons = s.d.mapMmap!(fd, PAGE, true, 0);
      const all = s.d.mapMmap!(fd, 4 * PAGE, false, 0);
      const b = new Uint8Array(16);
      s.d.mmapRead!(all, 0, b.subarray(0, 8));
      s.d.mmapRead!(all, PAGE, b.subarray(8, 16));
      s.log.push(["positions", Buffer.from(b).toString("hex")]);
      s.rec("write consumer", s.d.mmapWrite!(cons, 0, Uint8Array.of(0xa8, 0x0f, 0, 0, 0, 0, 0, 0)));
      s.rec("write through read-only", s.d.mmapWrite!(all, PAGE, new Uint8Array(8)));
      s.d.mmapRead!(all, 0, b.subarray(0, 8));
      s.log.push(["consumer", Buffer.from(b.subarray(0, 8)).toString("hex")]);
      s.d.munmap!(cons);
      s.d.munmap!(all);
    });
    check(r, [["positions", "00".repeat(16)], ["write through read-only", "EACCES"], ["consumer", "a80f000000000000"]]);
  });
});
