// A program's bpf_map_update_elem with BPF_F_LOCK on a map whose value holds a bpf_spin_lock:
// htab_map_update_elem and array_map_update_elem take the flag from a program as from the
// syscall. The simulator's datapath facet must answer what an XDP program's helper call answers
// on the kernel (run here by BPF_PROG_TEST_RUN where the kernel driver is usable), and what 6.18
// answered when this test was written (recorded below, so the simulator is held to it anywhere).
import { describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, bpfSpinLock, btfForMap, struct, u32, u64, type Driver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { insn } from "../src/ringbuf/programs.js";
import { kernelUnderTest } from "../src/drivers.js";

const value = struct({ lock: bpfSpinLock, a: u32, b: u64 }, { name: "locked" });
const BTF = btfForMap(u32, value);
const F_LOCK = 4, NOEXIST = 1, EXIST = 2;

/** [map type, value holds a lock, flags, first update's answer, second's], as 6.18 answered. */
const ANSWERS: readonly (readonly [number, boolean, number, number, number])[] = [
  [BPF_MAP_TYPE_HASH, true, F_LOCK, 0, 0],
  [BPF_MAP_TYPE_HASH, true, 0, 0, 0],
  [BPF_MAP_TYPE_HASH, false, F_LOCK, -22, -22],
  [BPF_MAP_TYPE_HASH, true, F_LOCK | NOEXIST, 0, -17],
  [BPF_MAP_TYPE_HASH, true, F_LOCK | EXIST, -2, -2],
  [BPF_MAP_TYPE_HASH, true, 8, -22, -22],
  [BPF_MAP_TYPE_ARRAY, true, F_LOCK, 0, 0],
  [BPF_MAP_TYPE_ARRAY, true, 0, 0, 0],
  [BPF_MAP_TYPE_ARRAY, false, F_LOCK, -22, -22],
  [BPF_MAP_TYPE_ARRAY, true, F_LOCK | NOEXIST, -17, -17],
  [BPF_MAP_TYPE_ARRAY, true, F_LOCK | EXIST, 0, 0],
  [BPF_MAP_TYPE_ARRAY, true, 8, -22, -22],
];

/** Key 1 and value { b: 77 } on the stack, then bpf_map_update_elem(map, &key, &value, flags); r0 out. */
function updateProgram(mapFd: number, flags: number): Uint8Array {
  return Uint8Array.from([
    ...insn(0x62, 10, 0, -4, 1), // *(u32 *)(r10 - 4) = 1
    ...insn(0x7a, 10, 0, -24, 0), // *(u64 *)(r10 - 24) = 0: the lock and `a`
    ...insn(0x7a, 10, 0, -16, 77), // *(u64 *)(r10 - 16) = 77: `b`
    ...insn(0x18, 1, 1, 0, mapFd), ...insn(0, 0, 0, 0, 0), // r1 = the map (BPF_PSEUDO_MAP_FD)
    ...insn(0xbf, 2, 10, 0, 0), ...insn(0x07, 2, 0, 0, -4), // r2 = &key
    ...insn(0xbf, 3, 10, 0, 0), ...insn(0x07, 3, 0, 0, -24), // r3 = &value
    ...insn(0xb7, 4, 0, 0, flags), // r4 = flags
    ...insn(0x85, 0, 0, 0, 2), // call bpf_map_update_elem
    ...insn(0x95, 0, 0, 0, 0), // exit: its answer is the run's retval
  ]);
}

function makeMap(d: Driver, btf: number, type: number, lock: boolean): number {
  const fd = d.mapCreate({
    mapType: type, keySize: 4, valueSize: value.size, maxEntries: 4,
    ...(lock ? { btfFd: btf, btfKeyTypeId: BTF.keyTypeId, btfValueTypeId: BTF.valueTypeId } : {}),
  });
  expect(fd).toBeGreaterThan(0);
  return fd;
}

describe("a program's update with BPF_F_LOCK", () => {
  it("the simulator's datapath answers as 6.18 did, and stores the value (its lock's bytes read back as zeros)", () => {
    const d = createSimDriver();
    const btf = d.btfLoad({ btf: BTF.btf });
    const key = Uint8Array.of(1, 0, 0, 0);
    const v = new Uint8Array(value.size);
    v[8] = 77;
    for (const [type, lock, flags, first, second] of ANSWERS) {
      const fd = makeMap(d, btf, type, lock);
      const got = [d.datapath.update({ fd }, key, v, flags), d.datapath.update({ fd }, key, v, flags)];
      expect(got, `type ${type}, lock ${lock}, flags ${flags}`).toEqual([first, second]);
      if (first === 0) {
        const out = new Uint8Array(value.size).fill(0xee);
        expect(d.mapLookupElem(fd, key, out)).toBe(0);
        expect(out[8]).toBe(77);
        expect([...out.subarray(0, 4)]).toEqual([0, 0, 0, 0]);
      }
      d.close(fd);
    }
    d.close(btf);
  });

  const k = kernelUnderTest();
  it.skipIf(k.unavailable !== undefined)(`the kernel answers the same to an XDP program run by BPF_PROG_TEST_RUN${k.unavailable !== undefined ? ` (skipped: ${k.unavailable})` : ""}`, () => {
    const d = k.create();
    const btf = d.btfLoad!({ btf: BTF.btf });
    try {
      for (const [type, lock, flags, first, second] of ANSWERS) {
        const map = makeMap(d, btf, type, lock);
        const prog = d.progLoad({ progType: 6 /* XDP */, insns: updateProgram(map, flags), license: "GPL" });
        expect(prog, `XDP program for type ${type}, lock ${lock}, flags ${flags}`).toBeGreaterThan(0);
        try {
          const run = () => {
            const r = d.progTestRun!(prog, { dataIn: new Uint8Array(64) });
            expect(r.errno).toBe(0);
            return r.retval | 0;
          };
          expect([run(), run()], `type ${type}, lock ${lock}, flags ${flags}`).toEqual([first, second]);
        } finally {
          d.close(prog);
          d.close(map);
        }
      }
    } finally {
      d.close(btf);
    }
  });
});
