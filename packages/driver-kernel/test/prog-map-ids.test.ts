// progGetMapIds past the verifier's MAX_USED_MAPS: BPF_PROG_BIND_MAP (no Driver method; a bare
// bpf(2) here) adds maps to a loaded program without that limit, and the driver must still write
// every id the caller made room for, not 64 of them and leave the rest as it found it.
import { createRequire } from "node:module";
import { expect, it } from "vitest";
import { createBpf, getProgMapIds, MapType, ProgType } from "@bpfkit/core";
import { NR_BPF } from "@bpfkit/driver-kernel";
import { describeKernel, kernelForFile, RET0_INSNS, withFds } from "./helpers.js";

/** enum bpf_cmd's BPF_PROG_BIND_MAP (core's BpfCmd lists only the commands it issues). */
const BPF_PROG_BIND_MAP = 35;

/** BPF_PROG_BIND_MAP: union bpf_attr's prog_bind_map is { u32 prog_fd; u32 map_fd; u32 flags }. */
function bindMap(progFd: number, mapFd: number): void {
  const koffi = createRequire(import.meta.url)("koffi");
  const syscall = koffi.load("libc.so.6").func("long syscall(long nr, int cmd, _Inout_ uint8_t *attr, unsigned int size)");
  const attr = new Uint8Array(12);
  const dv = new DataView(attr.buffer);
  dv.setUint32(0, progFd, true);
  dv.setUint32(4, mapFd, true);
  const r = Number(syscall(NR_BPF[process.arch as keyof typeof NR_BPF], BPF_PROG_BIND_MAP, attr, attr.length));
  if (r !== 0) throw new Error(`BPF_PROG_BIND_MAP: errno ${koffi.errno()}`);
}

describeKernel("kernel driver: progGetMapIds", () => {
  const k = kernelForFile();

  it("a program bound to more than MAX_USED_MAPS (64) maps gets every id written, and core lists them all", () => {
    const d = k.d;
    withFds(d, (keep) => {
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      const maps = Array.from({ length: 66 }, () => keep(d.mapCreate({ mapType: MapType.Array, keySize: 4, valueSize: 4, maxEntries: 1 })));
      for (const m of maps) bindMap(prog, m);
      const bpf = createBpf({ driver: d, mapRoot: "/nonexistent" });
      const want = maps.map((m) => bpf.getMapInfoByFd(m).id);

      const ids = new Uint32Array(70).fill(0xffffffff);
      expect(d.progGetMapIds(prog, ids)).toBe(66);
      expect([...ids.subarray(0, 66)]).toEqual(want);
      expect([...ids.subarray(66)]).toEqual([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]); // past the count: as it was

      // Less room than the program has: the first ids.length are written, the count is the whole.
      const few = new Uint32Array(65);
      expect(d.progGetMapIds(prog, few)).toBe(66);
      expect([...few]).toEqual(want.slice(0, 65));

      // Room for 2^29 ids (2 GiB, never touched past the first few): the first ask stages room
      // for 64 and the second for the 66 the program has, not the caller's 2 GiB, which is more
      // than one call can stage (a RangeError).
      const huge = new Uint32Array(2 ** 29);
      expect(d.progGetMapIds(prog, huge)).toBe(66);
      expect([...huge.subarray(0, 66)]).toEqual(want);
      expect(huge[66]).toBe(0);

      expect(bpf.getProgInfoByFd(prog).mapIds).toEqual(want);
      expect(getProgMapIds(d, prog, 0)).toEqual(want);
    });
  });
});
