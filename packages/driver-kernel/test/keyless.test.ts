// Maps without a key (key_size 0): QUEUE, STACK and BLOOM_FILTER. The simulator does not model
// them, but the kernel driver creates them, so it must call them the way the kernel accepts:
// a NULL key (any key pointer is EINVAL, __bpf_copy_key), and for a bloom filter the value of
// LOOKUP is the query the kernel reads, not an output.
import { expect, it } from "vitest";
import { Errno } from "@bpfkit/core";
import { describeKernel, kernelForFile, u32, withFds } from "./helpers.js";

const k = kernelForFile();

/** UAPI enum bpf_map_type values; core names only the types the simulator models. */
const BPF_MAP_TYPE_QUEUE = 22;
const BPF_MAP_TYPE_STACK = 23;
const BPF_MAP_TYPE_BLOOM_FILTER = 30;

const none = new Uint8Array(0);

describeKernel("kernel driver: keyless maps", () => {
  for (const [name, type, order] of [["QUEUE", BPF_MAP_TYPE_QUEUE, [1, 2]], ["STACK", BPF_MAP_TYPE_STACK, [2, 1]]] as const) {
    it(`${name}: push, peek and pop with a 0-byte key, on the hot path's second call too`, () => {
      const { d } = k;
      withFds(d, (keep) => {
        const fd = keep(d.mapCreate({ mapType: type, keySize: 0, valueSize: 4, maxEntries: 4 }));
        expect(d.mapUpdateElem(fd, none, u32(1))).toBe(0);
        expect(d.mapUpdateElem(fd, none, u32(2))).toBe(0);
        const v = new Uint8Array(4);
        expect(d.mapLookupElem(fd, none, v)).toBe(0);
        expect(v).toEqual(u32(order[0]));
        for (const want of order) {
          v.fill(0);
          expect(d.mapLookupAndDeleteElem(fd, none, v)).toBe(0);
          expect(v).toEqual(u32(want));
        }
        expect(d.mapLookupAndDeleteElem(fd, none, v)).toBe(-Errno.ENOENT);
        // A key is still checked against key_size 0 before any syscall.
        expect(() => d.mapUpdateElem(fd, u32(0), u32(3))).toThrow(RangeError);
        expect(d.mapLookupElem(fd, none, v)).toBe(-Errno.ENOENT);
      });
    });
  }

  it("BLOOM_FILTER: LOOKUP tests the caller's value, not the bytes of an earlier call", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 8, maxEntries: 64 }));
      const present = new Uint8Array(8).fill(7);
      expect(d.mapUpdateElem(fd, none, present)).toBe(0);
      expect(d.mapLookupElem(fd, none, present.slice())).toBe(0);
      // Right after a call that staged `present`: a driver that does not send this value would
      // report a hit.
      const absent = new Uint8Array(8).fill(9);
      expect(d.mapLookupElem(fd, none, absent)).toBe(-Errno.ENOENT);
      expect(absent).toEqual(new Uint8Array(8).fill(9));
    });
  });
});
