// The element hot paths take only exact buffers; anything else goes to the checked path, which
// throws. A hot path that took a longer buffer would pass only its first bytes (a lookup that
// "works" with the wrong key); one that took a shorter one would send or fill bytes the caller
// never gave. Each case runs right after a successful call on the same fd, so the fd is hot.
import { expect, it } from "vitest";
import { BPF_F_ZERO_SEED, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH } from "@bpfkit/core";
import { describeKernel, kernelForFile, u32, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();

describeKernel("kernel driver: the hot path's exact sizes", () => {
  for (const [name, mapType] of [["HASH", BPF_MAP_TYPE_HASH], ["PERCPU_HASH", BPF_MAP_TYPE_PERCPU_HASH]] as const) {
    it(`${name}: a key or value of another size is a RangeError on every element op, and changes nothing`, () => {
      const { d } = k;
      withFds(d, (keep) => {
        const fd = keep(d.mapCreate({ mapType, keySize: 4, valueSize: 8, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED }));
        // Per-CPU: one 8-byte slot per possible CPU.
        const vs = mapType === BPF_MAP_TYPE_HASH ? 8 : 8 * d.possibleCpus;
        const value = new Uint8Array(vs).fill(6);
        expect(d.mapUpdateElem(fd, u32(1), value)).toBe(0);
        const out = new Uint8Array(vs);
        const hot = () => expect(d.mapLookupElem(fd, u32(1), out)).toBe(0);
        for (const n of [3, 5]) {
          const key = new Uint8Array(n);
          hot();
          expect(() => d.mapLookupElem(fd, key, out)).toThrow(RangeError);
          hot();
          expect(() => d.mapUpdateElem(fd, key, value)).toThrow(RangeError);
          hot();
          expect(() => d.mapDeleteElem(fd, key)).toThrow(RangeError);
          hot();
          expect(() => d.mapLookupAndDeleteElem(fd, key, out)).toThrow(RangeError);
          hot();
          expect(() => d.mapGetNextKey(fd, key, new Uint8Array(4))).toThrow(RangeError);
          hot();
          expect(() => d.mapGetNextKey(fd, u32(1), key)).toThrow(RangeError);
          hot();
          expect(() => d.mapGetNextKey(fd, null, key)).toThrow(RangeError);
        }
        // 4 is the key size: a check against the wrong size would take it.
        for (const n of [vs - 1, vs + 1, 4]) {
          const v = new Uint8Array(n);
          hot();
          expect(() => d.mapLookupElem(fd, u32(1), v)).toThrow(RangeError);
          hot();
          expect(() => d.mapUpdateElem(fd, u32(2), v)).toThrow(RangeError);
          hot();
          expect(() => d.mapLookupAndDeleteElem(fd, u32(1), v)).toThrow(RangeError);
        }
        // A key of the value's size with a value of the key's size: each length is one the hot fd
        // knows, but for the other buffer.
        const swappedKey = new Uint8Array(vs), swappedValue = new Uint8Array(4);
        hot();
        expect(() => d.mapLookupElem(fd, swappedKey, swappedValue)).toThrow(RangeError);
        hot();
        expect(() => d.mapUpdateElem(fd, swappedKey, swappedValue)).toThrow(RangeError);
        hot();
        expect(() => d.mapLookupAndDeleteElem(fd, swappedKey, swappedValue)).toThrow(RangeError);
        // Flags the hot path cannot pass as a u32 go to the checked path too.
        hot();
        expect(() => d.mapUpdateElem(fd, u32(2), value, -1)).toThrow(RangeError);
        hot();
        expect(() => d.mapLookupElem(fd, u32(1), out, 0.5)).toThrow(TypeError);
        expect(walkKeys(d, fd, 4)).toEqual([u32(1)]);
        expect(out).toEqual(value);
      });
    });
  }
});
