// kernel-maps.md §5.3: with BPF_F_ZERO_SEED the hash walk order is the kernel's bucket order,
// exactly. These are the four worked examples, plus next-key from an absent key (a restart).
import { expect, it } from "vitest";
import { BPF_F_ZERO_SEED, BPF_MAP_TYPE_HASH, Errno } from "@bpfkit/core";
import { describeKernel, kernelForFile, u32, u64, walkKeys, withFds } from "./helpers.js";

const k = kernelForFile();
const text = (s: string) => new TextEncoder().encode(s);
const untext = (b: Uint8Array) => new TextDecoder().decode(b);

interface Example {
  name: string;
  keySize: number;
  maxEntries: number;
  keys: Uint8Array[];
  walk: Uint8Array[];
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const EXAMPLES: Example[] = [
  {
    name: "HASH k4 max16, u32 0..15",
    keySize: 4, maxEntries: 16, keys: range(16).map(u32),
    walk: [10, 4, 15, 5, 0, 14, 7, 2, 13, 1, 8, 12, 11, 9, 6, 3].map(u32),
  },
  {
    name: "HASH k8 max10 (16 buckets), u64 0,1000..9000",
    keySize: 8, maxEntries: 10, keys: range(10).map((i) => u64(i * 1000)),
    walk: [7000, 4000, 2000, 9000, 1000, 6000, 3000, 5000, 8000, 0].map(u64),
  },
  {
    name: "HASH k3 max4, abc foo bar zzz",
    keySize: 3, maxEntries: 4, keys: ["abc", "foo", "bar", "zzz"].map(text),
    walk: ["bar", "abc", "zzz", "foo"].map(text),
  },
  {
    name: "HASH k4 max8, u32 0..5",
    keySize: 4, maxEntries: 8, keys: range(6).map(u32),
    walk: [0, 4, 2, 1, 5, 3].map(u32),
  },
];

describeKernel("kernel driver: §5.3 walk order under BPF_F_ZERO_SEED", () => {
  it.each(EXAMPLES)("$name", (ex) => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: ex.keySize, valueSize: 4, maxEntries: ex.maxEntries, mapFlags: BPF_F_ZERO_SEED }));
      for (const key of ex.keys) expect(d.mapUpdateElem(fd, key, u32(1))).toBe(0);
      expect(walkKeys(d, fd, ex.keySize)).toEqual(ex.walk);
    });
  });

  it("next-key from an absent key restarts at the first; past the last it is ENOENT", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 3, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_ZERO_SEED }));
      for (const key of ["abc", "foo", "bar", "zzz"]) d.mapUpdateElem(fd, text(key), u32(0));
      const next = new Uint8Array(3);
      expect(d.mapGetNextKey(fd, text("qqq"), next)).toBe(0);
      expect(untext(next)).toBe("bar");
      expect(d.mapGetNextKey(fd, text("foo"), next)).toBe(-Errno.ENOENT);
    });
  });
});
