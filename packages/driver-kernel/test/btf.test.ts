// The kernel driver's BTF methods on the real bpf(2): BPF_BTF_LOAD with and without a log,
// ids, bpf_btf_info (the raw data back, the kernel's own vmlinux BTF), maps created with BTF,
// and fds of one kind never taken for another. Every fd is closed; the file ends with the fds
// it started with (kernelForFile).
import { closeSync, openSync } from "node:fs";
import { expect, it } from "vitest";
import {
  BPF_BTF_INFO, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BTF_INFO_SIZE, BTF_LOAD_ATTR, decodeMapInfo, Errno, MAP_INFO_SIZE,
  ProgType, type BtfInfo, type Driver, type Layout,
} from "@bpfkit/core";
import type { KernelDriver } from "@bpfkit/driver-kernel";
import { btfBlob, btfInt, btfStrings, btfStruct, pairBlob } from "../../testkit/src/conformance/btf-blob.js";
import { describeKernel, kernelForFile, noVmlinuxBtf, RET0_INSNS, u32, vmlinuxStructs, withFds } from "./helpers.js";

const k = kernelForFile();

/** A pair's map: HASH, key int (type 1), value struct pair (type 2, 8 bytes). */
const pairMap = (btfFd: number, over: object = {}) =>
  ({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd, btfKeyTypeId: 1, btfValueTypeId: 2, ...over });

function info(d: Driver, fd: number, data: Uint8Array | null = null): BtfInfo {
  const r = d.btfGetInfo!(fd, data);
  if (typeof r === "number") throw new Error(`btfGetInfo(${fd}): errno ${-r}`);
  return r;
}

/** Every BTF id from BTF_GET_NEXT_ID, from 0 to ENOENT. */
function btfIds(d: Driver): number[] {
  const ids: number[] = [];
  for (let id = 0; ;) {
    const r = d.btfGetNextId!(id);
    if (r === -Errno.ENOENT) return ids;
    expect(r, "BTF_GET_NEXT_ID").toBeGreaterThan(id);
    ids.push(r);
    id = r;
  }
}

/** The text of a NUL-terminated log. */
const logText = (log: Uint8Array) => Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1");

/** Polls `cond` for up to `ms` (a map's BTF is put by a deferred free after its last fd closes). */
function eventually(cond: () => boolean, ms = 5000): boolean {
  const end = Date.now() + ms;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!cond()) {
    if (Date.now() > end) return false;
    Atomics.wait(cell, 0, 0, 10);
  }
  return true;
}

if (noVmlinuxBtf !== undefined) console.warn(`BTF layout test skipped: ${noVmlinuxBtf}`);

/**
 * "name offset" of each member of the running kernel's struct whose members are exactly
 * `names`, in order, then "size N".
 */
function kernelStruct(names: readonly string[]): string[] {
  const s = vmlinuxStructs().find((x) => x.members.map((m) => m.slice(0, m.lastIndexOf(" "))).join() === names.join());
  return s === undefined ? [] : [...s.members, `size ${s.size}`];
}

describeKernel("kernel driver: BTF", () => {
  it.skipIf(noVmlinuxBtf !== undefined)("BTF_LOAD_ATTR and BPF_BTF_INFO are the running kernel's attr.btf_* and struct bpf_btf_info", () => {
    for (const l of [BTF_LOAD_ATTR, BPF_BTF_INFO] as Layout<string>[]) {
      expect(kernelStruct(l.fields.map((f) => f.name)), l.name).toEqual([...l.fields.map((f) => `${f.name} ${f.offset}`), `size ${l.size}`]);
    }
    expect(BTF_INFO_SIZE).toBe(32);
  });

  it("a valid blob (int, struct) loads: a BTF fd, which host.objKind names, with its id, size and exact bytes", () => {
    const { d } = k;
    const blob = pairBlob();
    withFds(d, (keep) => {
      const fd = keep(d.btfLoad!({ btf: blob }));
      expect(d.host.objKind!(fd)).toEqual({ kind: "btf" });
      const data = new Uint8Array(blob.length);
      const got = info(d, fd, data);
      expect(got).toMatchObject({ btfSize: blob.length, name: "", kernelBtf: false });
      expect(got.id).toBeGreaterThan(0);
      expect(data).toEqual(blob);
      // Without data: the same answer, and the size to ask with.
      expect(info(d, fd)).toEqual(got);
      // A short `data` gets the prefix; a long one the whole blob, its tail as it was.
      const short = new Uint8Array(10).fill(0xee);
      expect(info(d, fd, short).btfSize).toBe(blob.length);
      expect(short).toEqual(blob.subarray(0, 10));
      const long = new Uint8Array(blob.length + 16).fill(0xee);
      info(d, fd, long);
      expect(long.subarray(0, blob.length)).toEqual(blob);
      expect([...long.subarray(blob.length)]).toEqual(new Array(16).fill(0xee));
      // A view into a larger buffer: nothing around it is written.
      const backing = new Uint8Array(blob.length + 32).fill(0x5a);
      info(d, fd, backing.subarray(16, 16 + blob.length));
      expect(backing.subarray(16, 16 + blob.length)).toEqual(blob);
      expect([...backing.subarray(0, 16), ...backing.subarray(16 + blob.length)]).toEqual(new Array(32).fill(0x5a));
    });
  });

  it("a refused blob: EINVAL, and at level 1 the checker's log, NUL-terminated, in logBuf", () => {
    const { d } = k;
    const logBuf = new Uint8Array(4096).fill(0xff);
    expect(d.btfLoad!({ btf: pairBlob({ magic: 0x1234 }), logBuf, logLevel: 1 })).toBe(-Errno.EINVAL);
    expect(logBuf.indexOf(0)).toBeGreaterThan(0);
    expect(logText(logBuf)).toMatch(/^magic: 0x1234\n[^]*Invalid magic/);
    // The log buffer is staged at its length: a 1-byte log is too short (ENOSPC), and the kernel
    // still NUL-terminates what it wrote.
    const tiny = new Uint8Array(1).fill(0xff);
    expect(d.btfLoad!({ btf: pairBlob({ magic: 0x1234 }), logBuf: tiny, logLevel: 1 })).toBe(-Errno.ENOSPC);
    expect(tiny[0]).toBe(0);
    // A level without a buffer loads; a buffer without a level, or of 0 bytes, is EINVAL.
    withFds(d, (keep) => keep(d.btfLoad!({ btf: pairBlob(), logLevel: 1 })));
    expect(d.btfLoad!({ btf: pairBlob(), logBuf: new Uint8Array(64) })).toBe(-Errno.EINVAL);
    expect(d.btfLoad!({ btf: pairBlob(), logBuf: new Uint8Array(0), logLevel: 1 })).toBe(-Errno.EINVAL);
    // A successful load at level 1 logs every type too.
    withFds(d, (keep) => {
      const log = new Uint8Array(4096);
      keep(d.btfLoad!({ btf: pairBlob(), logBuf: log, logLevel: 1 }));
      expect(logText(log)).toContain("[2] STRUCT pair size=8 vlen=2");
    });
  });

  it("a log buffer's bytes past the kernel's NUL come back as the caller left them, for the BTF checker and the verifier", () => {
    const { d } = k;
    // The kernel writes its text and a NUL and nothing after; the staging must not either.
    const past = (log: Uint8Array) => log.subarray(log.indexOf(0) + 1);
    withFds(d, (keep) => {
      const log = new Uint8Array(4096).fill(0xee);
      keep(d.btfLoad!({ btf: pairBlob(), logBuf: log, logLevel: 1 }));
      expect(log.indexOf(0)).toBeGreaterThan(0);
      expect(past(log).every((b) => b === 0xee)).toBe(true);
      const vlog = new Uint8Array(4096).fill(0xee);
      keep((d as KernelDriver).progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 1, log: vlog }));
      expect(logText(vlog)).toMatch(/processed 2 insns/);
      expect(past(vlog).every((b) => b === 0xee)).toBe(true);
    });
  });

  it("an empty blob goes to the kernel (EINVAL, hdr_len not found); a longer header's non-zero tail is E2BIG; over 16 MiB E2BIG", () => {
    const { d } = k;
    const log = new Uint8Array(256);
    expect(d.btfLoad!({ btf: new Uint8Array(0), logBuf: log, logLevel: 1 })).toBe(-Errno.EINVAL);
    expect(logText(log)).toContain("hdr_len not found");
    expect(d.btfLoad!({ btf: pairBlob({ hdrLen: 32, tail: new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]) }) })).toBe(-Errno.E2BIG);
    withFds(d, (keep) => keep(d.btfLoad!({ btf: pairBlob({ hdrLen: 32 }) })));
    expect(d.btfLoad!({ btf: new Uint8Array(16 * 1024 * 1024 + 1) })).toBe(-Errno.E2BIG);
  });

  it("bad arguments are TypeError/RangeError naming the command, before bpf(2)", () => {
    const { d } = k;
    const before = btfIds(d).length;
    expect(() => d.btfLoad!(null as never)).toThrow(/^BPF_BTF_LOAD: attr must be an object$/);
    expect(() => d.btfLoad!({ btf: [1, 2] as never })).toThrow(new TypeError("BPF_BTF_LOAD: btf must be a Uint8Array, got Array"));
    expect(() => d.btfLoad!({ btf: pairBlob(), logBuf: "x" as never, logLevel: 1 })).toThrow(/^BPF_BTF_LOAD: logBuf must be a Uint8Array/);
    expect(() => d.btfLoad!({ btf: pairBlob(), logLevel: -1 })).toThrow(RangeError);
    expect(() => d.btfLoad!({ btf: pairBlob(), logLevel: 2 ** 32 })).toThrow(/^BPF_BTF_LOAD: logLevel 4294967296 is not a u32$/);
    expect(() => d.btfLoad!({ btf: pairBlob(), logLevel: 0.5 })).toThrow(TypeError);
    expect(() => d.btfGetFdById!(-1)).toThrow(/^BPF_BTF_GET_FD_BY_ID: id -1 is not a u32$/);
    expect(() => d.btfGetNextId!(1.5)).toThrow(/^BPF_BTF_GET_NEXT_ID: startId must be an integer/);
    expect(() => d.btfGetInfo!(0.5, null)).toThrow(TypeError);
    expect(() => d.btfGetInfo!(0, new Uint32Array(4) as never)).toThrow(/^BPF_OBJ_GET_INFO_BY_FD: data must be a Uint8Array/);
    expect(() => d.mapCreate(pairMap(-1))).toThrow(/^BPF_MAP_CREATE: btfFd -1 is not a u32$/);
    expect(() => d.mapCreate(pairMap(0, { btfKeyTypeId: 2 ** 32 }))).toThrow(RangeError);
    expect(() => d.mapCreate(pairMap(0, { btfValueTypeId: 1.5 }))).toThrow(TypeError);
    // A throw left nothing loaded behind.
    expect(btfIds(d).length).toBe(before);
  });

  it("ids: BTF_GET_NEXT_ID walks to ours; BTF_GET_FD_BY_ID opens it; vmlinux is kernel BTF named vmlinux", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.btfLoad!({ btf: pairBlob() }));
      const id = info(d, fd).id;
      const ids = btfIds(d);
      expect(ids).toContain(id);
      const again = keep(d.btfGetFdById!(id));
      expect(again).not.toBe(fd);
      expect(d.host.objKind!(again)).toEqual({ kind: "btf" });
      const data = new Uint8Array(pairBlob().length);
      expect(info(d, again, data).id).toBe(id);
      expect(data).toEqual(pairBlob());
      // The running kernel's own BTF: the first BTF object whose info says so and is named vmlinux.
      const vmlinux = ids.map((i) => {
        const f = d.btfGetFdById!(i);
        if (f < 0) return undefined;
        const got = info(d, f);
        d.close(f);
        return got;
      }).find((x) => x?.name === "vmlinux");
      expect(vmlinux).toMatchObject({ kernelBtf: true, name: "vmlinux" });
      expect(vmlinux!.btfSize).toBeGreaterThan(1 << 20);
      // Its raw data is /sys/kernel/btf/vmlinux's, the header first.
      const vfd = keep(d.btfGetFdById!(vmlinux!.id));
      const head = new Uint8Array(24);
      info(d, vfd, head);
      expect(new DataView(head.buffer).getUint16(0, true)).toBe(0xeb9f);
      expect(d.btfGetFdById!(0)).toBe(-Errno.ENOENT);
      expect(d.btfGetFdById!(0xffff_fff0)).toBe(-Errno.ENOENT);
    });
  });

  it("a map created with BTF: its info names the BTF and both types; sizes are checked; a btfFd that is no BTF is refused", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const btf = keep(d.btfLoad!({ btf: pairBlob() }));
      const id = info(d, btf).id;
      const m = keep(d.mapCreate(pairMap(btf)));
      const buf = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(m, buf)).toBeGreaterThan(0);
      expect(decodeMapInfo(buf)).toMatchObject({ btfId: id, btfKeyTypeId: 1, btfValueTypeId: 2, keySize: 4, valueSize: 8 });
      // Elements work as on a map without BTF: the same key and value sizes.
      expect(d.mapUpdateElem(m, u32(7), new Uint8Array(8).fill(3))).toBe(0);
      const v = new Uint8Array(8);
      expect(d.mapLookupElem(m, u32(7), v)).toBe(0);
      expect([...v]).toEqual(new Array(8).fill(3));
      expect(() => d.mapLookupElem(m, u32(7), new Uint8Array(4))).toThrow(RangeError);
      // Each size against its type, a key type without a value type, a type id past the last.
      expect(d.mapCreate(pairMap(btf, { valueSize: 4 }))).toBe(-Errno.EINVAL);
      expect(d.mapCreate(pairMap(btf, { keySize: 8 }))).toBe(-Errno.EINVAL);
      expect(d.mapCreate(pairMap(btf, { btfValueTypeId: 0 }))).toBe(-Errno.EINVAL);
      expect(d.mapCreate(pairMap(btf, { btfValueTypeId: 3 }))).toBe(-Errno.EINVAL);
      // btf_fd: a map's fd is EINVAL, a closed one EBADF, the kernel's own BTF EACCES.
      expect(d.mapCreate(pairMap(m))).toBe(-Errno.EINVAL);
      expect(d.mapCreate(pairMap(0x3fff_fff0))).toBe(-Errno.EBADF);
      const vmlinuxId = btfIds(d).find((i) => {
        const f = d.btfGetFdById!(i);
        if (f < 0) return false;
        const kernel = info(d, f).name === "vmlinux";
        d.close(f);
        return kernel;
      })!;
      const vfd = keep(d.btfGetFdById!(vmlinuxId));
      expect(d.mapCreate(pairMap(vfd))).toBe(-Errno.EACCES);
      // btfFd without type ids: not read at all (a map without BTF).
      const plain = keep(d.mapCreate(pairMap(m, { btfKeyTypeId: 0, btfValueTypeId: 0 })));
      expect(d.objGetInfoByFd(plain, buf)).toBeGreaterThan(0);
      expect(decodeMapInfo(buf).btfId).toBe(0);
    });
  });

  it("the BTF lives while an fd or a map holds it: gone (ENOENT by id) once both are closed", () => {
    const { d } = k;
    const btf = d.btfLoad!({ btf: pairBlob() });
    expect(btf).toBeGreaterThanOrEqual(0);
    const id = info(d, btf).id;
    const m = d.mapCreate(pairMap(btf));
    expect(m).toBeGreaterThanOrEqual(0);
    expect(d.close(btf)).toBe(0);
    // The map holds it: it can be opened again by id.
    const again = d.btfGetFdById!(id);
    expect(again).toBeGreaterThanOrEqual(0);
    expect(d.close(again)).toBe(0);
    expect(d.close(m)).toBe(0);
    // The map's free (and its btf_put) is deferred work: the id goes soon after.
    expect(eventually(() => {
      const r = d.btfGetFdById!(id);
      if (r >= 0) d.close(r);
      return r === -Errno.ENOENT;
    })).toBe(true);
    expect(btfIds(d)).not.toContain(id);
  });

  it("no fd is taken for another kind: btfGetInfo of a map, program, file or closed fd; map calls on a BTF fd", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const m = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }));
      const p = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      // The kernel would answer these with the map's or program's own info (OK); the driver says EINVAL.
      const data = new Uint8Array(64).fill(0xee);
      expect(d.btfGetInfo!(m, data)).toBe(-Errno.EINVAL);
      expect(d.btfGetInfo!(p, data)).toBe(-Errno.EINVAL);
      expect([...data]).toEqual(new Array(64).fill(0xee));
      const file = openSync("/dev/null", "r");
      try {
        expect(d.btfGetInfo!(file, null)).toBe(-Errno.EINVAL);
      } finally {
        closeSync(file);
      }
      // 6.18's bpf_obj_get_info_by_fd answers an fd that is not open with EBADFD, not EBADF.
      expect(d.btfGetInfo!(0x3fff_fff0, null)).toBe(-Errno.EBADFD);
      expect(d.btfGetInfo!(-1, null)).toBe(-Errno.EBADFD);
      // A BTF fd under the number a map just had: map calls see a BTF fd, not the old shape.
      const old = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
      expect(d.close(old)).toBe(0);
      const btf = keep(d.btfLoad!({ btf: pairBlob() }));
      expect(btf).toBe(old);
      expect(d.mapLookupElem(btf, u32(1), new Uint8Array(8))).toBe(-Errno.EINVAL);
      expect(d.mapUpdateElem(btf, u32(1), new Uint8Array(8))).toBe(-Errno.EINVAL);
      expect(d.mapGetNextKey(btf, null, new Uint8Array(4))).toBe(-Errno.EINVAL);
      expect(d.objGetInfoByFd(btf, new Uint8Array(MAP_INFO_SIZE))).toBeGreaterThan(0);
      expect(d.progGetMapIds(btf, new Uint32Array(4))).toBe(-Errno.EINVAL);
    });
  });

  it("a blob the kernel reads at its own length: a view into a larger buffer, and bytes after it, are not read", () => {
    const { d } = k;
    const s = btfStrings("int", "pair", "a", "b");
    const types = [...btfInt(s.off.int!, 4, 32), ...btfStruct(s.off.pair!, 8, [[s.off.a!, 1, 0], [s.off.b!, 1, 32]])];
    const blob = btfBlob({ types, strings: s.bytes });
    // The blob in a buffer whose next byte would make the string section's last byte non-NUL if
    // read: btf_size is the view's length, so it loads.
    const backing = new Uint8Array(blob.length + 8).fill(0x41);
    backing.set(blob, 4);
    withFds(d, (keep) => {
      const fd = keep(d.btfLoad!({ btf: backing.subarray(4, 4 + blob.length) }));
      expect(info(d, fd).btfSize).toBe(blob.length);
    });
  });
});
