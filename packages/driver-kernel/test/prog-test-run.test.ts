// BPF_PROG_TEST_RUN through the kernel driver: what the kernel writes back, and that it never
// writes past a buffer the caller handed over. net/bpf/test_run.c's bpf_test_finish copies the
// whole packet when data_out is set and data_size_out is 0, so an absent or empty output buffer
// must go as pointer 0 (region-audit.test.ts checks every pointer against its size).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, Errno, PROG_TEST_RUN_ATTR, ProgType, type Driver } from "@bpfkit/core";
import { describeKernel, kernelForFile, readU64, u32, withFds } from "./helpers.js";
import { insn } from "../../testkit/src/ringbuf/programs.js";

const k = kernelForFile();
const run = (d: Driver) => d.progTestRun!.bind(d);

/** r0 = 7; exit. */
const RET7 = new Uint8Array([0xb7, 0, 0, 0, 7, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** A socket filter that adds 1 to value 0 of the ARRAY `mapFd` (u64 values) each run, and returns 0. */
function counterProg(d: Driver, mapFd: number): number {
  const prog = new Uint8Array([
    ...insn(0x62, 10, 0, -4, 0), // *(u32 *)(r10 - 4) = 0
    ...insn(0x18, 1, 1, 0, mapFd), ...insn(0, 0, 0, 0, 0), // r1 = map (BPF_PSEUDO_MAP_FD)
    ...insn(0xbf, 2, 10, 0, 0), // r2 = r10
    ...insn(0x07, 2, 0, 0, -4), // r2 += -4
    ...insn(0x85, 0, 0, 0, 1), // call bpf_map_lookup_elem
    ...insn(0x15, 0, 0, 2, 0), // if r0 == 0 goto +2
    ...insn(0xb7, 1, 0, 0, 1), // r1 = 1
    ...insn(0xdb, 0, 1, 0, 0), // lock *(u64 *)(r0 + 0) += r1
    ...insn(0xb7, 0, 0, 0, 0), // r0 = 0
    ...insn(0x95, 0, 0, 0, 0), // exit
  ]);
  return d.progLoad({ progType: ProgType.SocketFilter, insns: prog, license: "GPL" });
}

const packet = (n: number) => new Uint8Array(n).map((_, i) => i + 1);

describeKernel("kernel driver: BPF_PROG_TEST_RUN", () => {
  it("a socket filter r0 = 7; exit gives retval 7 on a 14-byte packet", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const r = run(d)(fd, { dataIn: packet(14) });
      expect([r.errno, r.retval, r.dataSizeOut, r.ctxSizeOut]).toEqual([0, 7, 14, 0]);
      expect(Number.isInteger(r.duration) && r.duration >= 0).toBe(true);
    });
  });

  it("dataOut gets the packet as the program left it (a socket filter's Ethernet header zeroed) and dataSizeOut its size; bytes past it stay", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const out = new Uint8Array(32).fill(0xee);
      const r = run(d)(fd, { dataIn: packet(20), dataOut: out });
      expect([r.errno, r.retval, r.dataSizeOut]).toEqual([0, 7, 20]);
      expect(out).toEqual(Uint8Array.of(...new Uint8Array(14), ...packet(20).subarray(14), ...new Uint8Array(12).fill(0xee)));
      // Exactly the packet's size is room enough.
      const exact = new Uint8Array(20);
      expect(run(d)(fd, { dataIn: packet(20), dataOut: exact }).errno).toBe(0);
      expect(exact.subarray(14)).toEqual(packet(20).subarray(14));
    });
  });

  it("a short dataOut is ENOSPC: its own bytes filled, dataSizeOut the whole packet's, and no byte past it written", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const big = new Uint8Array(64).fill(0xee);
      const out = big.subarray(8, 26); // 18 of the packet's 40 bytes
      const r = run(d)(fd, { dataIn: packet(40), dataOut: out });
      expect([r.errno, r.retval, r.dataSizeOut]).toEqual([Errno.ENOSPC, 7, 40]);
      expect(big.subarray(0, 8)).toEqual(new Uint8Array(8).fill(0xee));
      expect(out).toEqual(Uint8Array.of(...new Uint8Array(14), ...packet(40).subarray(14, 18)));
      expect(big.subarray(26)).toEqual(new Uint8Array(38).fill(0xee));
    });
  });

  it("an empty dataOut, like none, gets nothing (the kernel would copy the whole packet through data_out with data_size_out 0)", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const big = new Uint8Array(64).fill(0xee);
      const r = run(d)(fd, { dataIn: packet(40), dataOut: big.subarray(8, 8) });
      expect([r.errno, r.retval, r.dataSizeOut]).toEqual([0, 7, 40]);
      expect(big).toEqual(new Uint8Array(64).fill(0xee));
      expect(run(d)(fd, { dataIn: packet(40), dataOut: undefined })).toMatchObject({ errno: 0, retval: 7, dataSizeOut: 40 });
    });
  });

  it("ctxOut too short for a __sk_buff is ENOSPC with ctxSizeOut 192; the bytes after the buffer stay", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const big = new Uint8Array(16).fill(0xee);
      const r = run(d)(fd, { dataIn: packet(14), ctxIn: new Uint8Array(8), ctxOut: big.subarray(0, 4) });
      expect([r.errno, r.retval, r.ctxSizeOut]).toEqual([Errno.ENOSPC, 7, 192]);
      expect(big.subarray(4)).toEqual(new Uint8Array(12).fill(0xee));
      const ctx = new Uint8Array(192).fill(0xee);
      expect(run(d)(fd, { dataIn: packet(14), ctxOut: ctx })).toMatchObject({ errno: 0, retval: 7, ctxSizeOut: 192 });
    });
  });

  it("repeat runs the program that many times (a counter in an ARRAY); 0 runs it once", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const map = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }));
      const fd = keep(counterProg(d, map));
      const count = () => {
        const v = new Uint8Array(8);
        expect(d.mapLookupElem(map, u32(0), v)).toBe(0);
        return readU64(v);
      };
      expect(run(d)(fd, { dataIn: packet(14), repeat: 25 })).toMatchObject({ errno: 0, retval: 0 });
      expect(count()).toBe(25n);
      expect(run(d)(fd, { dataIn: packet(14), repeat: 0 }).errno).toBe(0);
      expect(count()).toBe(26n);
      expect(run(d)(fd, { dataIn: packet(14) }).errno).toBe(0);
      expect(count()).toBe(27n);
    });
  });

  it("the kernel's refusals: EBADF for an fd not open, EINVAL for a map's fd, a 13-byte packet, no packet, or BPF_F_TEST_RUN_ON_CPU on a socket filter", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      const map = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }));
      const none = { errno: 0, retval: 0, duration: 0, dataSizeOut: 0, ctxSizeOut: 0 };
      expect(run(d)(0x3fff_fff0, { dataIn: packet(14) })).toEqual({ ...none, errno: Errno.EBADF });
      expect(run(d)(-1, { dataIn: packet(14) })).toEqual({ ...none, errno: Errno.EBADF });
      expect(run(d)(map, { dataIn: packet(14) })).toEqual({ ...none, errno: Errno.EINVAL });
      expect(run(d)(fd, { dataIn: packet(13) })).toEqual({ ...none, errno: Errno.EINVAL });
      expect(run(d)(fd, {})).toEqual({ ...none, errno: Errno.EINVAL });
      expect(run(d)(fd, { dataIn: packet(14), flags: 1, cpu: 0 })).toEqual({ ...none, errno: Errno.EINVAL });
      // A failed run leaves the output buffers as they were.
      const out = new Uint8Array(16).fill(0xee);
      expect(run(d)(fd, { dataIn: packet(13), dataOut: out }).errno).toBe(Errno.EINVAL);
      expect(out).toEqual(new Uint8Array(16).fill(0xee));
    });
  });

  it("bad input is a TypeError or RangeError naming BPF_PROG_TEST_RUN, before any syscall (a closed fd would be EBADF)", () => {
    const { d } = k;
    const closed = 0x3fff_fff0;
    const pkt = packet(14);
    const bad: Array<[unknown, unknown, RegExp, ErrorConstructor]> = [
      [closed, null, /BPF_PROG_TEST_RUN: attr must be an object/, TypeError],
      [closed, 7, /attr must be an object/, TypeError],
      ["3", { dataIn: pkt }, /BPF_PROG_TEST_RUN: fd must be an integer/, TypeError],
      [1.5, { dataIn: pkt }, /fd must be an integer/, TypeError],
      [2 ** 31, { dataIn: pkt }, /fd 2147483648 is out of range/, RangeError],
      [closed, { dataIn: [1, 2, 3] }, /BPF_PROG_TEST_RUN: dataIn must be a Uint8Array, got Array/, TypeError],
      [closed, { dataIn: pkt, dataOut: new Uint16Array(8) }, /dataOut must be a Uint8Array, got Uint16Array/, TypeError],
      [closed, { dataIn: pkt, ctxIn: "ctx" }, /ctxIn must be a Uint8Array, got "ctx"/, TypeError],
      [closed, { dataIn: pkt, ctxOut: new DataView(new ArrayBuffer(8)) }, /ctxOut must be a Uint8Array, got DataView/, TypeError],
      [closed, { dataIn: pkt, repeat: -1 }, /BPF_PROG_TEST_RUN: repeat -1 is not a u32/, RangeError],
      [closed, { dataIn: pkt, repeat: 2 ** 32 }, /repeat 4294967296 is not a u32/, RangeError],
      [closed, { dataIn: pkt, flags: -1 }, /flags -1 is not a u32/, RangeError],
      [closed, { dataIn: pkt, flags: 2 ** 32 }, /flags 4294967296 is not a u32/, RangeError],
      [closed, { dataIn: pkt, cpu: 2 ** 40 }, /cpu 1099511627776 is not a u32/, RangeError],
      [closed, { dataIn: pkt, cpu: 0.5 }, /cpu must be an integer, got 0.5/, TypeError],
      [closed, { dataIn: pkt, repeat: "1" }, /repeat must be an integer, got "1"/, TypeError],
    ];
    for (const [fd, attr, message, type] of bad) {
      expect(() => run(d)(fd as number, attr as never), `${String(fd)} ${JSON.stringify(attr)}`).toThrow(type);
      expect(() => run(d)(fd as number, attr as never)).toThrow(message);
    }
    // A subclass lying about its length is staged by its real bytes.
    class Liar extends Uint8Array {
      override get byteLength(): number {
        return 4;
      }
    }
    withFds(d, (keep) => {
      const fd = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET7, license: "GPL" }));
      expect(run(d)(fd, { dataIn: new Liar(20) })).toMatchObject({ errno: 0, dataSizeOut: 20 });
    });
  });

  it("PROG_TEST_RUN_ATTR's offsets and size are those of <linux/bpf.h>'s attr.test", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-test-attr-"));
    try {
      const fields = PROG_TEST_RUN_ATTR.fields.map((f) => f.name);
      const lines = [
        "#include <stdio.h>", "#include <stddef.h>", "#include <linux/bpf.h>", "int main(void) {",
        ...fields.map((f) => `  printf("${f} %zu %zu\\n", offsetof(union bpf_attr, test.${f}), sizeof(((union bpf_attr *)0)->test.${f}));`),
        "  return 0;", "}",
      ];
      writeFileSync(join(dir, "attr.c"), lines.join("\n"));
      execFileSync("gcc", ["-o", join(dir, "attr"), join(dir, "attr.c")]);
      const out = execFileSync(join(dir, "attr"), { encoding: "utf8" });
      expect(out.trim().split("\n")).toEqual(PROG_TEST_RUN_ATTR.fields.map((f) => `${f.name} ${f.offset} ${f.size}`));
      const last = PROG_TEST_RUN_ATTR.fields.at(-1)!;
      expect(PROG_TEST_RUN_ATTR.size).toBe(last.offset + last.size);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
