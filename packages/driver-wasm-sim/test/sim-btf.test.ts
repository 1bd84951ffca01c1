// The simulator's BTF beyond what the conformance cases ask of every driver: the checker's log
// text (the kernel's, byte for byte, for the blobs below as 6.18 logged them), the BTF id space,
// special fields zeroed in every CPU's slot, faults and the capability checks, vmlinux's BTF as a
// large real input.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { btfBlob } from "@bpfkit/testkit";
import { sim, u32 } from "./sim-helpers.js";

const hex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

/** Blobs and what 6.18 wrote to a 64 KiB log at level 1 (docs/probes/btf_load.py). */
const LOGGED: readonly { what: string; blob: string; errno: number; log: string }[] = [
  {
    what: "an enum bitfield of 33 bits in a kind_flag struct",
    blob: "9feb01001800000000000000500000005000000013000000010000000000000104000000200000010900000002000086040000000b000000ffffffff0e0000000700000005000000020000840800000007000000010000000000000011000000020000002000002100696e74006b00610065004531004532007000",
    errno: Errno.EINVAL,
    log: "magic: 0xeb9f\nversion: 1\nflags: 0x0\nhdr_len: 24\ntype_off: 0\ntype_len: 80\nstr_off: 80\nstr_len: 19\nbtf_total_size: 123\n[1] INT int size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n[2] ENUM e size=4 vlen=2\n\tE1 val=-1\n\tE2 val=7\n[3] STRUCT k size=8 vlen=2\n\ta type_id=1 bitfield_size=0 bits_offset=0\n\tp type_id=2 bitfield_size=33 bits_offset=32\n[3] STRUCT k size=8 vlen=2\n\tp type_id=2 bitfield_size=33 bits_offset=32 Invalid member bitfield_size\n",
  },
  {
    what: "a struct holding itself through a typedef",
    blob: "9feb010018000000000000004000000040000000130000000100000000000001040000002000000005000000020000040800000007000000010000000000000011000000030000002000000005000000000000080200000000696e74006b00610065004531004532007000",
    errno: Errno.EEXIST,
    log: "magic: 0xeb9f\nversion: 1\nflags: 0x0\nhdr_len: 24\ntype_off: 0\ntype_len: 64\nstr_off: 64\nstr_len: 19\nbtf_total_size: 107\n[1] INT int size=4 bits_offset=0 nr_bits=32 encoding=(none)\n[2] STRUCT k size=8 vlen=2\n\ta type_id=1 bits_offset=0\n\tp type_id=3 bits_offset=32\n[3] TYPEDEF k type_id=2\n[2] STRUCT k size=8 vlen=2 Loop detected\n",
  },
  {
    what: "a func proto whose second argument's name is past the strings",
    blob: "9feb0100180000000000000034000000340000001300000001000000000000010400000020000000000000000300000d010000001100000001000000e703000001000000000000000000000000696e74006b00610065004531004532007000",
    errno: Errno.EINVAL,
    log: "magic: 0xeb9f\nversion: 1\nflags: 0x0\nhdr_len: 24\ntype_off: 0\ntype_len: 52\nstr_off: 52\nstr_len: 19\nbtf_total_size: 95\n[1] INT int size=4 bits_offset=0 nr_bits=32 encoding=(none)\n[2] FUNC_PROTO (anon) return=1 args=(1 p, 1 (invalid-name-offset), vararg)\n[2] FUNC_PROTO (anon) return=1 args=(1 p, 1 (invalid-name-offset), vararg) Invalid arg#2\n",
  },
];

/** A valid BTF: 1 int, 2 struct bpf_spin_lock, 3 struct val { lock; int x }. */
const LOCK_BTF = (() => {
  const strings = "\0int\0bpf_spin_lock\0val\0lock\0x\0";
  const s = (n: string) => strings.indexOf(`\0${n}\0`) + 1;
  const w = [
    s("int"), 0x01000000, 4, 0x01000020,
    s("bpf_spin_lock"), 0x04000001, 4, s("val"), 1, 0,
    s("val"), 0x04000002, 8, s("lock"), 2, 0, s("x"), 1, 32,
  ];
  return btfBlob({ types: w, strings: new Uint8Array(Buffer.from(strings, "latin1")) });
})();

describe("the simulator's BTF checker", () => {
  for (const c of LOGGED) {
    it(`writes the kernel's log, byte for byte: ${c.what}`, () => {
      const d = sim();
      const log = new Uint8Array(65536);
      expect(d.btfLoad({ btf: hex(c.blob), logBuf: log, logLevel: 1 })).toBe(-c.errno);
      expect(Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1")).toBe(c.log);
    });
  }

  it("loads the running kernel's own BTF (/sys/kernel/btf/vmlinux) as user BTF, as 6.18 does", (t) => {
    if (!existsSync("/sys/kernel/btf/vmlinux")) {
      t.skip();
      console.log("no /sys/kernel/btf/vmlinux here: the large-input check is skipped");
      return;
    }
    const d = sim();
    const data = new Uint8Array(readFileSync("/sys/kernel/btf/vmlinux"));
    const fd = d.btfLoad({ btf: data });
    expect(fd).toBeGreaterThan(0);
    const info = d.btfGetInfo(fd, null);
    expect(typeof info === "number" ? info : info.btfSize).toBe(data.length);
    // Its log is longer than 64 KiB: ENOSPC, as on the kernel.
    expect(d.btfLoad({ btf: data, logBuf: new Uint8Array(65536), logLevel: 1 })).toBe(-Errno.ENOSPC);
  });
});

describe("the simulator's BTF objects", () => {
  it("have their own id space from 1 (no vmlinux or module BTF), not shared with maps or programs", () => {
    const d = sim();
    const m = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const b1 = d.btfLoad({ btf: LOCK_BTF });
    const b2 = d.btfLoad({ btf: LOCK_BTF });
    const id = (fd: number) => {
      const i = d.btfGetInfo(fd, null);
      return typeof i === "number" ? i : i.id;
    };
    expect([id(b1), id(b2)]).toEqual([1, 2]);
    expect(d.btfGetNextId(0)).toBe(1);
    expect(d.btfGetNextId(2)).toBe(-Errno.ENOENT);
    // A freed id is not reused (idr_alloc_cyclic).
    d.close(b1);
    expect(id(d.btfLoad({ btf: LOCK_BTF }))).toBe(3);
    d.close(m);
  });

  it("a dup of a BTF fd holds the object, and the last of the fd, the dup and the maps frees the id", () => {
    const d = sim();
    const b = d.btfLoad({ btf: LOCK_BTF });
    const dup = d.dup(b);
    const m = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 2, btfFd: dup, btfKeyTypeId: 1, btfValueTypeId: 3 });
    expect(m).toBeGreaterThan(0);
    d.close(b);
    d.close(dup);
    expect(d.btfGetNextId(0)).toBe(1);
    d.close(m);
    expect(d.btfGetNextId(0)).toBe(-Errno.ENOENT);
    expect(d.btfGetFdById(1)).toBe(-Errno.ENOENT);
  });

  it("a map created with BTF that then fails (a bad name) holds nothing", () => {
    const d = sim();
    const b = d.btfLoad({ btf: LOCK_BTF });
    expect(d.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 2, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3, mapName: "bad-name" })).toBe(-Errno.EINVAL);
    d.close(b);
    expect(d.btfGetNextId(0)).toBe(-Errno.ENOENT);
  });

  it("the four methods are syscalls the faults and the hook see", () => {
    const d = sim();
    const seen: string[] = [];
    d.setInterleavingHook((op) => seen.push(op));
    d.faults.inject("btfLoad", { errno: Errno.ENOMEM, count: 1 });
    expect(d.btfLoad({ btf: LOCK_BTF })).toBe(-Errno.ENOMEM);
    const b = d.btfLoad({ btf: LOCK_BTF });
    d.btfGetInfo(b, null);
    d.btfGetNextId(0);
    d.btfGetFdById(1);
    expect(seen).toEqual(["btfLoad", "btfLoad", "btfGetInfo", "btfGetNextId", "btfGetFdById"]);
  });

  it("without CAP_BPF and CAP_SYS_ADMIN: BTF_LOAD, GET_NEXT_ID and GET_FD_BY_ID are EPERM", () => {
    const d = sim({ privileged: false, unprivilegedBpfDisabled: 0 });
    expect(d.btfLoad({ btf: LOCK_BTF })).toBe(-Errno.EPERM);
    expect(d.btfGetNextId(0)).toBe(-Errno.EPERM);
    expect(d.btfGetFdById(1)).toBe(-Errno.EPERM);
  });

  it("bad arguments are TypeErrors before any syscall", () => {
    const d = sim();
    expect(() => d.btfLoad({ btf: "x" as unknown as Uint8Array })).toThrow(TypeError);
    expect(() => d.btfLoad({ btf: LOCK_BTF, logBuf: [] as unknown as Uint8Array, logLevel: 1 })).toThrow(TypeError);
    expect(() => d.btfGetInfo(3, {} as Uint8Array)).toThrow(TypeError);
    expect(() => d.mapCreate({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 1, btfValueTypeId: -1 })).toThrow();
  });
});

describe("special fields in the simulator's values", () => {
  it("a program (the datapath) reads a value's bpf_spin_lock as zeros too, and F_LOCK lookups of a hash and an array agree", () => {
    const d = sim();
    const b = d.btfLoad({ btf: LOCK_BTF });
    for (const t of [1, 2]) {
      const m = d.mapCreate({ mapType: t, keySize: 4, valueSize: 8, maxEntries: 2, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 3 });
      expect(d.datapath.update({ fd: m }, u32(1), new Uint8Array([1, 2, 3, 4, 5, 0, 0, 0]))).toBe(0);
      const v = new Uint8Array(8);
      expect(d.datapath.lookup({ fd: m }, u32(1), v)).toBe(0);
      expect([...v]).toEqual([0, 0, 0, 0, 5, 0, 0, 0]);
      const w = new Uint8Array(8);
      expect(d.mapLookupElem(m, u32(1), w, 4)).toBe(0);
      expect([...w]).toEqual([0, 0, 0, 0, 5, 0, 0, 0]);
      // A lookup batch zeroes the lock of every value it copies.
      const keys = new Uint8Array(8), vals = new Uint8Array(16);
      const r = d.mapLookupBatch(m, null, new Uint8Array(t === 1 ? 4 : 4), keys, vals, 2);
      expect(r.count).toBeGreaterThan(0);
      expect([...vals.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
    }
  });

  it("a per-CPU hash with a kptr: each CPU's slot has the kptr's 8 bytes zeroed", () => {
    const strings = "\0int\0k\0kptr\0val\0p\0x\0";
    const s = (n: string) => strings.indexOf(`\0${n}\0`) + 1;
    const w = [
      s("int"), 0x01000000, 4, 0x01000020, // 1 int
      s("k"), 0x04000001, 4, s("x"), 1, 0, // 2 struct k
      s("kptr"), 0x12000000, 2, // 3 type_tag kptr -> struct k
      0, 0x02000000, 3, // 4 ptr
      s("val"), 0x04000002, 16, s("p"), 4, 0, s("x"), 1, 64, // 5 struct val { struct k __kptr *p; int x }
    ];
    const d = sim({ possibleCpus: 2 });
    const b = d.btfLoad({ btf: btfBlob({ types: w, strings: new Uint8Array(Buffer.from(strings, "latin1")) }) });
    expect(b).toBeGreaterThan(0);
    const m = d.mapCreate({ mapType: 5, keySize: 4, valueSize: 16, maxEntries: 2, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: 5 });
    expect(m).toBeGreaterThan(0);
    const v = new Uint8Array(32).fill(0xab);
    expect(d.mapUpdateElem(m, u32(1), v)).toBe(0);
    const got = new Uint8Array(32);
    expect(d.mapLookupElem(m, u32(1), got)).toBe(0);
    expect(Buffer.from(got).toString("hex")).toBe(`${"00".repeat(8)}${"ab".repeat(8)}${"00".repeat(8)}${"ab".repeat(8)}`);
    // F_LOCK needs a bpf_spin_lock, which a kptr is not.
    expect(d.mapLookupElem(m, u32(1), got, 4)).toBe(-Errno.EINVAL);
  });
});
