// Every pointer the driver hands bpf(2) must have room, inside the scratch region it points
// into, for all the bytes the kernel reads or writes there for that map. Most overruns of one
// region land in the next region of the same block (value → aux), so the call still gives the
// right answer and no guard page faults: a test of results alone cannot see them. Here a spy
// sits in front of the driver's syscall and checks each attr before the kernel runs it, against
// the map's shape as the kernel reports it (BPF_OBJ_GET_INFO_BY_FD through another driver) and
// the regions the audited driver says it has.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import {
  BATCH_ATTR, BPF_BTF_INFO, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BPF_PROG_INFO, BpfCmd, countCpuList, decodeMapInfo,
  BtfBuilder, BtfIntEncoding, BTF_INFO_SIZE, BTF_LOAD_ATTR, ELEM_ATTR, Errno, INFO_ATTR, isHashMapType, isPerCpuMapType, MAP_INFO_SIZE, OBJ_ATTR, PROG_LOAD_ATTR, PROG_TEST_RUN_ATTR, ProgType,
  type Driver,
} from "@bpfkit/core";
import { createKernelDriver, type KernelDriver } from "@bpfkit/driver-kernel";
import { btfBlob, btfInt, btfStrings } from "../../testkit/src/conformance/btf-blob.js";
import { describeKernel, kernelForFile, RET0_INSNS, withFds } from "./helpers.js";

const k = kernelForFile();

/** num_possible_cpus(), read here rather than taken from the driver under test. */
const cpus = countCpuList(readFileSync("/sys/devices/system/cpu/possible", "utf8"));

/** The driver's own view of its block (private fields, read as they are at the syscall). */
interface Inside {
  libc: { syscall: (nr: number, cmd: number, attr: number, size: number) => number; nrBpf: number };
  u8: Uint8Array;
  base: number;
  keyOff: number;
  nextOff: number;
  valueOff: number;
  auxOff: number;
  keyCap: number;
  valueCap: number;
  auxCap: number;
}

interface Audit {
  d: KernelDriver;
  /** One line per pointer with less room than the kernel uses; empty when all is well. */
  problems: string[];
  /** Commands audited, by number. */
  seen: Map<number, number>;
}

const pattern = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 29 + seed) & 0xff);

/**
 * A fresh driver (the first, small block) whose every bpf(2) is audited first. `oracle` answers
 * what each fd is; it is another driver, so its calls do not touch the audited block.
 */
function auditedDriver(oracle: Driver): Audit {
  const libc = (oracle as unknown as Inside).libc;
  const real = libc.syscall;
  const problems: string[] = [];
  const seen = new Map<number, number>();
  let a: Inside | undefined;

  const shape = (fd: number) => {
    const kind = oracle.host.objKind?.(fd);
    if (typeof kind !== "object" || kind.kind !== "map") return undefined;
    const info = new Uint8Array(MAP_INFO_SIZE);
    if (oracle.objGetInfoByFd(fd, info) < 0) return undefined;
    const m = decodeMapInfo(info);
    const value = isPerCpuMapType(m.type) ? Math.ceil(m.valueSize / 8) * 8 * cpus : m.valueSize;
    return { key: m.keySize, value, token: isHashMapType(m.type) ? 4 : m.keySize };
  };

  const spy = (nr: number, cmd: number, attrAddr: number, size: number): number => {
    if (a !== undefined && nr === libc.nrBpf) {
      seen.set(cmd, (seen.get(cmd) ?? 0) + 1);
      const blk = a;
      const dv = new DataView(blk.u8.buffer, blk.u8.byteOffset + (attrAddr - blk.base), size);
      const ptr = (at: number) => Number(dv.getBigUint64(at, true));
      const regions = [
        ["key", blk.keyOff, blk.keyOff + blk.keyCap],
        ["next", blk.nextOff, blk.nextOff + blk.keyCap],
        ["value", blk.valueOff, blk.valueOff + blk.valueCap],
        ["aux", blk.auxOff, blk.auxOff + blk.auxCap],
      ] as const;
      // The regions themselves: in order, apart, and inside the block (its guard page follows).
      for (let i = 0; i < regions.length; i++) {
        const [name, s, e] = regions[i]!;
        const before = i === 0 ? 0 : regions[i - 1]![2];
        if (s < before || e > blk.u8.byteLength) problems.push(`cmd ${cmd}: the ${name} region [${s}, ${e}) overlaps another or leaves the block`);
      }
      const spans: [string, number, number][] = [];
      /** The kernel uses `bytes` at `p`: they must lie in the one region `p` points into. */
      const room = (what: string, p: number, bytes: number) => {
        if (p === 0 || bytes === 0) return;
        const off = p - blk.base;
        const r = regions.find(([, s, e]) => off >= s && off < e);
        if (r === undefined) problems.push(`cmd ${cmd}: ${what} points outside every region (offset ${off})`);
        else if (off + bytes > r[2]) problems.push(`cmd ${cmd}: ${what} needs ${bytes} bytes, its ${r[0]} region has ${r[2] - off}`);
        for (const [other, s, e] of spans) if (off < e && s < off + bytes) problems.push(`cmd ${cmd}: ${what} overlaps ${other}`);
        spans.push([what, off, off + bytes]);
      };
      const E = ELEM_ATTR.off, B = BATCH_ATTR.off, N = INFO_ATTR.off, O = OBJ_ATTR.off, P = PROG_LOAD_ATTR.off;
      switch (cmd) {
        case BpfCmd.MAP_LOOKUP_ELEM: case BpfCmd.MAP_UPDATE_ELEM: case BpfCmd.MAP_DELETE_ELEM:
        case BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM: case BpfCmd.MAP_GET_NEXT_KEY: {
          const m = shape(dv.getUint32(E.map_fd, true));
          if (m === undefined) break;
          room("key", ptr(E.key), m.key);
          if (cmd !== BpfCmd.MAP_DELETE_ELEM) room(cmd === BpfCmd.MAP_GET_NEXT_KEY ? "next_key" : "value", ptr(E.value), cmd === BpfCmd.MAP_GET_NEXT_KEY ? m.key : m.value);
          break;
        }
        case BpfCmd.MAP_LOOKUP_BATCH: case BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH:
        case BpfCmd.MAP_UPDATE_BATCH: case BpfCmd.MAP_DELETE_BATCH: {
          const m = shape(dv.getUint32(B.map_fd, true));
          if (m === undefined) break;
          const count = dv.getUint32(B.count, true);
          room("in_batch", ptr(B.in_batch), m.token);
          room("out_batch", ptr(B.out_batch), m.token);
          room("keys", ptr(B.keys), count * m.key);
          room("values", ptr(B.values), count * m.value);
          break;
        }
        case BpfCmd.OBJ_GET_INFO_BY_FD: {
          // Above a page the kernel refuses the call (E2BIG) before it touches the buffer.
          const len = dv.getUint32(N.info_len, true);
          if (len > 4096) break;
          room("info", ptr(N.info), len);
          const info = ptr(N.info) - blk.base;
          const kind = oracle.host.objKind?.(dv.getUint32(N.bpf_fd, true));
          if (len === BTF_INFO_SIZE && typeof kind === "object" && kind.kind === "btf") {
            const bdv = new DataView(blk.u8.buffer, blk.u8.byteOffset + info, len);
            const BI = BPF_BTF_INFO.off;
            room("btf_info.btf", Number(bdv.getBigUint64(BI.btf, true)), bdv.getUint32(BI.btf_size, true));
            room("btf_info.name", Number(bdv.getBigUint64(BI.name, true)), bdv.getUint32(BI.name_len, true));
          }
          if (len >= BPF_PROG_INFO.off.map_ids + 8) {
            const idv = new DataView(blk.u8.buffer, blk.u8.byteOffset + info, len);
            room("map_ids", Number(idv.getBigUint64(BPF_PROG_INFO.off.map_ids, true)), 4 * idv.getUint32(BPF_PROG_INFO.off.nr_map_ids, true));
          }
          break;
        }
        case BpfCmd.OBJ_PIN: case BpfCmd.OBJ_GET: {
          const path = ptr(O.pathname) - blk.base;
          room("pathname", ptr(O.pathname), blk.u8.indexOf(0, path) - path + 1);
          break;
        }
        case BpfCmd.PROG_LOAD: {
          room("insns", ptr(P.insns), 8 * dv.getUint32(P.insn_cnt, true));
          const lic = ptr(P.license) - blk.base;
          room("license", ptr(P.license), blk.u8.indexOf(0, lic) - lic + 1);
          room("log_buf", ptr(P.log_buf), dv.getUint32(P.log_size, true));
          room("func_info", ptr(P.func_info), dv.getUint32(P.func_info_cnt, true) * dv.getUint32(P.func_info_rec_size, true));
          room("line_info", ptr(P.line_info), dv.getUint32(P.line_info_cnt, true) * dv.getUint32(P.line_info_rec_size, true));
          // A count without records would have the kernel read from address 0 on.
          for (const [what, at, cnt] of [["func_info", P.func_info, P.func_info_cnt], ["line_info", P.line_info, P.line_info_cnt]] as const) {
            if (ptr(at) === 0 && dv.getUint32(cnt, true) !== 0) problems.push(`cmd ${cmd}: ${what} is 0 with a count`);
          }
          break;
        }
        case BpfCmd.BTF_LOAD: {
          const L = BTF_LOAD_ATTR.off;
          room("btf", ptr(L.btf), dv.getUint32(L.btf_size, true));
          room("btf_log_buf", ptr(L.btf_log_buf), dv.getUint32(L.btf_log_size, true));
          break;
        }
        case BpfCmd.PROG_TEST_RUN: {
          const T = PROG_TEST_RUN_ATTR.off;
          for (const [what, p, size] of [["data_in", T.data_in, T.data_size_in], ["data_out", T.data_out, T.data_size_out],
            ["ctx_in", T.ctx_in, T.ctx_size_in], ["ctx_out", T.ctx_out, T.ctx_size_out]] as const) {
            const bytes = dv.getUint32(size, true);
            room(what, ptr(p), bytes);
            // bpf_test_finish copies the whole packet through a data_out whose size is 0.
            if (ptr(p) !== 0 && bytes === 0) problems.push(`cmd ${cmd}: ${what} is set with size 0`);
          }
          break;
        }
      }
    }
    return real(nr, cmd, attrAddr, size);
  };

  libc.syscall = spy;
  try {
    const d = createKernelDriver();
    a = d as unknown as Inside;
    return { d, problems, seen };
  } finally {
    libc.syscall = real;
  }
}

describeKernel("kernel driver: every pointer has room for what the kernel uses there", () => {
  // Each map is made by another driver, so the audited driver's first block (64-byte key and
  // 256-byte value regions) does not fit it, by one 8-byte step, or by much more.
  const maps = [
    ["key 72", { mapType: BPF_MAP_TYPE_HASH, keySize: 72, valueSize: 8 }],
    ["key 512 (the hash maximum)", { mapType: BPF_MAP_TYPE_HASH, keySize: 512, valueSize: 8 }],
    ["value 264", { mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 264 }],
    ["per-CPU value 257 (264 a CPU)", { mapType: BPF_MAP_TYPE_PERCPU_HASH, keySize: 4, valueSize: 257 }],
  ] as const;
  for (const [name, attr] of maps) {
    it(`element ops, checked and hot, on a map with ${name}`, () => {
      const { d } = k;
      withFds(d, (keep) => {
        const fd = keep(d.mapCreate({ ...attr, maxEntries: 4 }));
        const a = auditedDriver(d);
        const vs = attr.mapType === BPF_MAP_TYPE_PERCPU_HASH ? Math.ceil(attr.valueSize / 8) * 8 * cpus : attr.valueSize;
        const key1 = pattern(attr.keySize, 1), key2 = pattern(attr.keySize, 2);
        // Twice each: the first call goes the checked way and fits the block, the second may be hot.
        for (let round = 0; round < 2; round++) {
          expect(a.d.mapUpdateElem(fd, key1, pattern(vs, 10 + round))).toBe(0);
          expect(a.d.mapUpdateElem(fd, key2, pattern(vs, 20 + round))).toBe(0);
          const out = new Uint8Array(vs);
          expect(a.d.mapLookupElem(fd, key1, out)).toBe(0);
          expect(out).toEqual(pattern(vs, 10 + round));
          const first = new Uint8Array(attr.keySize), second = new Uint8Array(attr.keySize);
          expect(a.d.mapGetNextKey(fd, null, first)).toBe(0);
          expect(a.d.mapGetNextKey(fd, first, second)).toBe(0);
          expect([first, second].sort((x, y) => x[0]! - y[0]!)).toEqual([key1, key2]);
          expect(a.d.mapLookupAndDeleteElem(fd, key2, out)).toBe(0);
          expect(out).toEqual(pattern(vs, 20 + round));
          expect(a.d.mapDeleteElem(fd, key1)).toBe(0);
        }
        // Each op again as the first call of a fresh driver, so that it alone must size the block.
        const firsts = Array.from({ length: 6 }, () => auditedDriver(d));
        expect(firsts[0]!.d.mapGetNextKey(fd, null, new Uint8Array(attr.keySize))).toBe(-Errno.ENOENT);
        expect(firsts[1]!.d.mapUpdateElem(fd, key1, pattern(vs, 30))).toBe(0);
        expect(firsts[2]!.d.mapGetNextKey(fd, key2, new Uint8Array(attr.keySize))).toBe(0);
        const out = new Uint8Array(vs);
        expect(firsts[3]!.d.mapLookupElem(fd, key1, out)).toBe(0);
        expect(out).toEqual(pattern(vs, 30));
        expect(firsts[4]!.d.mapLookupAndDeleteElem(fd, key1, out)).toBe(0);
        expect(firsts[5]!.d.mapDeleteElem(fd, key1)).toBe(-Errno.ENOENT);
        for (const f of firsts) a.problems.push(...f.problems);
        expect(a.problems).toEqual([]);
        for (const cmd of [BpfCmd.MAP_UPDATE_ELEM, BpfCmd.MAP_LOOKUP_ELEM, BpfCmd.MAP_GET_NEXT_KEY, BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, BpfCmd.MAP_DELETE_ELEM]) {
          expect(a.seen.get(cmd), `calls of cmd ${cmd}`).toBeGreaterThan(0);
        }
      });
    });
  }

  it("BTF: a blob and its log, and bpf_btf_info's data and name, each have their room, around the first block's 4 KiB of aux", () => {
    const { d } = k;
    withFds(d, (keep) => {
      for (const pad of [0, 3900, 4050, 8000]) {
        // An INT named by a long string: the blob is 40 + pad bytes or so.
        const s = btfStrings(`i${"x".repeat(pad)}`);
        const blob = btfBlob({ types: btfInt(1, 4, 32), strings: s.bytes });
        // Room for the level-1 log, which names the type (the long string) too.
        for (const logBytes of [0, pad + 512, pad + 5000]) {
          const a = auditedDriver(d);
          const fd = keep(a.d.btfLoad({ btf: blob, ...(logBytes > 0 ? { logBuf: new Uint8Array(logBytes), logLevel: 1 } : {}) }));
          for (const n of [0, 10, blob.length, blob.length + 100, 5000]) {
            const b = auditedDriver(d);
            const data = new Uint8Array(n);
            const got = b.d.btfGetInfo(fd, data);
            expect(typeof got === "object" && got.btfSize).toBe(blob.length);
            expect(data.subarray(0, Math.min(n, blob.length))).toEqual(blob.subarray(0, n));
            a.problems.push(...b.problems);
            expect(b.seen.get(BpfCmd.OBJ_GET_INFO_BY_FD)).toBe(2);
          }
          expect(a.seen.get(BpfCmd.BTF_LOAD)).toBe(1);
          expect(a.problems).toEqual([]);
        }
      }
    });
  });

  it("a dup of a map another driver made takes its shape from the table (no bpf(2)) and fits this driver's regions at once", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 72, valueSize: 264, maxEntries: 4 }));
      const a = auditedDriver(d);
      const copy = keep(a.d.dup!(fd));
      expect(copy).toBeGreaterThan(2);
      // The source's row is copied: no OBJ_GET_INFO_BY_FD (nor any other bpf(2)) to learn it.
      expect([...a.seen.keys()]).toEqual([]);
      // The regions are grown by the dup, so the first element call is already the hot one.
      const inside = a.d as unknown as Inside;
      expect([inside.keyCap >= 72, inside.valueCap >= 264]).toEqual([true, true]);
      const key = pattern(72, 1), out = new Uint8Array(264);
      expect(a.d.mapUpdateElem(copy, key, pattern(264, 2))).toBe(0);
      expect(a.d.mapLookupElem(copy, key, out)).toBe(0);
      expect(out).toEqual(pattern(264, 2));
      expect(a.problems).toEqual([]);
    });
  });

  it("batches of many counts, each op the first call of a fresh driver, with 12-byte values", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const n = 1500;
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 12, maxEntries: n }));
      const keys = new Uint8Array(4 * n), values = pattern(12 * n, 3);
      for (let i = 0; i < n; i++) new DataView(keys.buffer).setUint32(4 * i, i, true);
      const problems: string[] = [];
      const seen = new Set<number>();
      /** `op` run as the first call of a fresh audited driver: its block is sized for this call alone. */
      const first = <T>(op: (a: KernelDriver) => T): T => {
        const a = auditedDriver(d);
        const r = op(a.d);
        problems.push(...a.problems);
        for (const cmd of a.seen.keys()) seen.add(cmd);
        return r;
      };
      // 1024 four-byte keys fill the first 4 KiB of aux exactly; 1025 is one key past it.
      for (const count of [1, 7, 341, 342, 1024, 1025, n]) {
        expect(first((a) => a.mapUpdateBatch(fd, keys, values, count))).toEqual({ errno: 0, count });
        const outKeys = new Uint8Array(4 * count), outValues = new Uint8Array(12 * count);
        const r = first((a) => a.mapLookupBatch(fd, null, new Uint8Array(4), outKeys, outValues, count));
        expect([0, Errno.ENOENT, Errno.ENOSPC]).toContain(r.errno);
        expect(first((a) => a.mapDeleteBatch(fd, keys, count))).toEqual({ errno: 0, count });
        expect(first((a) => a.mapUpdateBatch(fd, keys, values, count)).errno).toBe(0);
        const gone = first((a) => a.mapLookupAndDeleteBatch(fd, null, new Uint8Array(4), outKeys, outValues, count));
        expect([0, Errno.ENOENT, Errno.ENOSPC]).toContain(gone.errno);
        d.mapDeleteBatch(fd, keys, count);
      }
      expect(problems).toEqual([]);
      expect([...seen].sort((x, y) => x - y)).toEqual([BpfCmd.MAP_LOOKUP_BATCH, BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH, BpfCmd.MAP_UPDATE_BATCH, BpfCmd.MAP_DELETE_BATCH]);
    });
  });

  it("info of every length up to a page, a program's verifier log, and paths up to PATH_MAX", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1 }));
      const a = auditedDriver(d);
      for (const len of [0, 1, 8, MAP_INFO_SIZE, 4095, 4096, 8192]) {
        const r = a.d.objGetInfoByFd(fd, new Uint8Array(len));
        expect(r).toBe(len > 4096 ? -Errno.E2BIG : Math.min(len, MAP_INFO_SIZE));
      }
      // 16 bytes cannot hold the log: the load fails with ENOSPC, having written the 16.
      expect(a.d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 1, log: new Uint8Array(16) })).toBe(-Errno.ENOSPC);
      for (const size of [1000, 5000, 70_000]) {
        const log = new Uint8Array(size);
        keep(a.d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", logLevel: 1, log }));
        expect(Buffer.from(log.subarray(0, log.indexOf(0))).toString()).toMatch(/processed 2 insns/);
      }
      // The longest paths the kernel reads (PATH_MAX, 4096 with the NUL): ENAMETOOLONG, their
      // bytes and NUL staged all the same.
      // bytes and NUL staged all the same. A fresh driver: its aux region is the first 4 KiB.
      const p = auditedDriver(d);
      expect(p.d.objGet("/" + "a".repeat(4095))).toBe(-Errno.ENAMETOOLONG);
      expect(p.d.objGet("/" + "a".repeat(4094))).toBe(-Errno.ENAMETOOLONG);
      expect([...a.problems, ...p.problems]).toEqual([]);
      expect(a.seen.get(BpfCmd.PROG_LOAD)).toBe(4);
      expect(p.seen.get(BpfCmd.OBJ_GET)).toBe(2);
    });
  });

  it("a program's func_info and line_info, at their full length around the first block's 4 KiB of aux; a RangeError makes no syscall", () => {
    const { d } = k;
    withFds(d, (keep) => {
      // One function: one func_info record. line_info records all at insn 0: one loads, more are
      // EINVAL at the second (a repeated insn_off); the room is checked for every record given.
      const b = new BtfBuilder();
      const int = b.int("int", 4, BtfIntEncoding.SIGNED);
      const main = b.func("main", b.funcProto(int, []));
      const btf = keep(d.btfLoad!({ btf: b.encode() }));
      const func = (rec: number) => { const r = new Uint8Array(rec); new DataView(r.buffer).setUint32(4, main, true); return r; };
      let loads = 0;
      for (const [funcRec, logBytes] of [[8, 0], [252, 0], [8, 4000], [252, 3900]] as const) {
        for (const lines of [0, 1, 200, 300]) {
          const a = auditedDriver(d);
          const lineInfo = new Uint8Array(16 * lines);
          const r = a.d.progLoad({
            progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progBtfFd: btf, funcInfo: func(funcRec), funcInfoRecSize: funcRec,
            lineInfo, ...(logBytes > 0 ? { logLevel: 1, log: new Uint8Array(logBytes) } : {}),
          });
          if (lines <= 1) keep(r);
          else expect(r).toBe(-Errno.EINVAL);
          loads += a.seen.get(BpfCmd.PROG_LOAD) ?? 0;
          expect(a.problems).toEqual([]);
        }
      }
      expect(loads).toBe(16);
      const a = auditedDriver(d);
      expect(() => a.d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progBtfFd: btf, funcInfo: new Uint8Array(9) })).toThrow(RangeError);
      expect(() => a.d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progBtfFd: btf, funcInfo: func(8), lineInfo: new Uint8Array(17) })).toThrow(RangeError);
      expect([...a.seen.keys()]).toEqual([]);
    });
  });

  it("a test run's four buffers, each the first call of a fresh driver, and none set with size 0", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      const problems: string[] = [];
      let runs = 0;
      const first = (attr: Parameters<NonNullable<Driver["progTestRun"]>>[1]) => {
        const a = auditedDriver(d);
        const r = a.d.progTestRun(fd, attr);
        problems.push(...a.problems);
        runs += a.seen.get(BpfCmd.PROG_TEST_RUN) ?? 0;
        return r.errno;
      };
      // 4096 bytes fill the first aux region exactly; 4097 and 3000 (+ 1100 more) go past it.
      expect(first({ dataIn: pattern(14, 1) })).toBe(0);
      expect(first({ dataIn: pattern(14, 1), dataOut: new Uint8Array(0) })).toBe(0);
      expect(first({ dataIn: pattern(14, 1), dataOut: new Uint8Array(4) })).toBe(Errno.ENOSPC);
      expect(first({ dataIn: pattern(3000, 1), dataOut: new Uint8Array(3000), ctxIn: new Uint8Array(0), ctxOut: new Uint8Array(192) })).toBe(0);
      expect(first({ dataIn: pattern(14, 1), dataOut: new Uint8Array(4096 - 16 - 192), ctxIn: new Uint8Array(8), ctxOut: new Uint8Array(192) })).toBe(0);
      expect(first({ dataIn: pattern(14, 1), ctxOut: new Uint8Array(0) })).toBe(0);
      expect(first({ dataIn: new Uint8Array(0), dataOut: new Uint8Array(5000) })).toBe(Errno.EINVAL);
      expect(problems).toEqual([]);
      expect(runs).toBe(7);
    });
  });
});
