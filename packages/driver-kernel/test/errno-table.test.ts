// kernel-maps.md §4.1, row by row: the errno each element operation gives per map type, as the
// driver reports it (-errno, never a throw). Every map has max_entries 2 so "full" is cheap.
import { expect, it } from "vitest";
import {
  BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS,
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PROG_ARRAY, BPF_NOEXIST, Errno, ProgType, type Driver,
} from "@bpfkit/core";
import { describeKernel, kernelForFile, RET0_INSNS, u32, withFds } from "./helpers.js";

const k = kernelForFile();

// HASH_OF_MAPS follows the hash rules except lookup_and_delete, which it lacks (ENOTSUPP,
// measured here; kernel-maps.md §4.1 lists it with the hash family).
type Group = "hash" | "hom" | "lru" | "array" | "lpm" | "aom" | "prog";

interface Subject {
  name: string;
  group: Group;
  fd: number;
  key(i: number): Uint8Array;
  value(i: number): Uint8Array;
  valueSize: number;
}

/** Creates the subject map (max_entries 2) and whatever its values need (inner map, prog). */
function subject(d: Driver, keep: (fd: number) => number, name: string): Subject {
  const cpus = d.possibleCpus;
  const plainValue = (size: number) => (i: number) => new Uint8Array(size).fill(i + 1);
  const create = (mapType: number, keySize: number, valueSize: number, extra: { mapFlags?: number; innerMapFd?: number } = {}) =>
    keep(d.mapCreate({ mapType, keySize, valueSize, maxEntries: 2, ...extra }));
  switch (name) {
    case "HASH": return { name, group: "hash", fd: create(BPF_MAP_TYPE_HASH, 4, 8), key: u32, value: plainValue(8), valueSize: 8 };
    case "PERCPU_HASH": return { name, group: "hash", fd: create(BPF_MAP_TYPE_PERCPU_HASH, 4, 8), key: u32, value: plainValue(8 * cpus), valueSize: 8 * cpus };
    case "LRU_HASH": return { name, group: "lru", fd: create(BPF_MAP_TYPE_LRU_HASH, 4, 8), key: u32, value: plainValue(8), valueSize: 8 };
    case "LRU_PERCPU_HASH": return { name, group: "lru", fd: create(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8), key: u32, value: plainValue(8 * cpus), valueSize: 8 * cpus };
    case "ARRAY": return { name, group: "array", fd: create(BPF_MAP_TYPE_ARRAY, 4, 8), key: u32, value: plainValue(8), valueSize: 8 };
    case "PERCPU_ARRAY": return { name, group: "array", fd: create(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8), key: u32, value: plainValue(8 * cpus), valueSize: 8 * cpus };
    case "LPM_TRIE": {
      // 4-byte prefixlen + 4 data bytes: max_prefixlen 32; key(i) is i.0.0.0/32.
      const key = (i: number) => new Uint8Array([32, 0, 0, 0, i, 0, 0, 0]);
      return { name, group: "lpm", fd: create(BPF_MAP_TYPE_LPM_TRIE, 8, 8, { mapFlags: BPF_F_NO_PREALLOC }), key, value: plainValue(8), valueSize: 8 };
    }
    case "HASH_OF_MAPS":
    case "ARRAY_OF_MAPS": {
      const inner = create(BPF_MAP_TYPE_ARRAY, 4, 4);
      const type = name === "HASH_OF_MAPS" ? BPF_MAP_TYPE_HASH_OF_MAPS : BPF_MAP_TYPE_ARRAY_OF_MAPS;
      const group = name === "HASH_OF_MAPS" ? "hom" : "aom";
      return { name, group, fd: create(type, 4, 4, { innerMapFd: inner }), key: u32, value: () => u32(inner), valueSize: 4 };
    }
    case "PROG_ARRAY": {
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      return { name, group: "prog", fd: create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4), key: u32, value: () => u32(prog), valueSize: 4 };
    }
  }
  throw new Error(`no subject ${name}`);
}

const SUBJECTS = ["HASH", "PERCPU_HASH", "HASH_OF_MAPS", "LRU_HASH", "LRU_PERCPU_HASH", "ARRAY", "PERCPU_ARRAY", "LPM_TRIE", "ARRAY_OF_MAPS", "PROG_ARRAY"];

interface Row {
  what: string;
  run(d: Driver, s: Subject): number;
  expect: Record<Group, number>;
}

const { ENOENT, EINVAL, EEXIST, E2BIG, ENOSPC, ENOTSUPP } = Errno;
const fill = (d: Driver, s: Subject) => {
  expect(d.mapUpdateElem(s.fd, s.key(0), s.value(0))).toBe(0);
  expect(d.mapUpdateElem(s.fd, s.key(1), s.value(1))).toBe(0);
};

const ROWS: Row[] = [
  {
    what: "lookup, missing key (arrays: index ≥ max)",
    run: (d, s) => d.mapLookupElem(s.fd, s.key(5), new Uint8Array(s.valueSize)),
    expect: { hash: ENOENT, hom: ENOENT, lru: ENOENT, array: ENOENT, lpm: ENOENT, aom: ENOENT, prog: ENOENT },
  },
  {
    what: "lookup, index 1 never written (arrays read zeros; fd arrays are empty)",
    run: (d, s) => d.mapLookupElem(s.fd, s.key(1), new Uint8Array(s.valueSize)),
    expect: { hash: ENOENT, hom: ENOENT, lru: ENOENT, array: 0, lpm: ENOENT, aom: ENOENT, prog: ENOENT },
  },
  {
    what: "update, flags 8 (not ANY/NOEXIST/EXIST/F_LOCK)",
    run: (d, s) => d.mapUpdateElem(s.fd, s.key(0), s.value(0), 8),
    expect: { hash: EINVAL, hom: EINVAL, lru: EINVAL, array: EINVAL, lpm: EINVAL, aom: EINVAL, prog: EINVAL },
  },
  {
    what: "update, BPF_F_LOCK without a spin lock",
    run: (d, s) => d.mapUpdateElem(s.fd, s.key(0), s.value(0), BPF_F_LOCK),
    expect: { hash: EINVAL, hom: EINVAL, lru: EINVAL, array: EINVAL, lpm: EINVAL, aom: EINVAL, prog: EINVAL },
  },
  {
    what: "update NOEXIST on an existing key",
    run: (d, s) => {
      expect(d.mapUpdateElem(s.fd, s.key(0), s.value(0), BPF_ANY)).toBe(0);
      return d.mapUpdateElem(s.fd, s.key(0), s.value(0), BPF_NOEXIST);
    },
    expect: { hash: EEXIST, hom: EEXIST, lru: EEXIST, array: EEXIST, lpm: EEXIST, aom: EINVAL, prog: EINVAL },
  },
  {
    what: "update EXIST on a missing key",
    run: (d, s) => d.mapUpdateElem(s.fd, s.key(1), s.value(1), BPF_EXIST),
    expect: { hash: ENOENT, hom: ENOENT, lru: ENOENT, array: 0, lpm: ENOENT, aom: EINVAL, prog: EINVAL },
  },
  {
    what: "update a new key when full (arrays: index = max)",
    run: (d, s) => {
      fill(d, s);
      return d.mapUpdateElem(s.fd, s.key(2), s.value(2), BPF_ANY);
    },
    expect: { hash: E2BIG, hom: E2BIG, lru: 0, array: E2BIG, lpm: ENOSPC, aom: E2BIG, prog: E2BIG },
  },
  {
    what: "update an existing key when full",
    run: (d, s) => {
      fill(d, s);
      return d.mapUpdateElem(s.fd, s.key(0), s.value(3), BPF_ANY);
    },
    expect: { hash: 0, hom: 0, lru: 0, array: 0, lpm: 0, aom: 0, prog: 0 },
  },
  {
    what: "delete a missing key (index 1, in range)",
    run: (d, s) => d.mapDeleteElem(s.fd, s.key(1)),
    expect: { hash: ENOENT, hom: ENOENT, lru: ENOENT, array: EINVAL, lpm: ENOENT, aom: ENOENT, prog: ENOENT },
  },
  {
    what: "delete index 5 (≥ max)",
    run: (d, s) => d.mapDeleteElem(s.fd, s.key(5)),
    expect: { hash: ENOENT, hom: ENOENT, lru: ENOENT, array: EINVAL, lpm: ENOENT, aom: E2BIG, prog: E2BIG },
  },
  {
    what: "lookup_and_delete, missing key",
    run: (d, s) => d.mapLookupAndDeleteElem(s.fd, s.key(1), new Uint8Array(s.valueSize)),
    expect: { hash: ENOENT, hom: ENOTSUPP, lru: ENOENT, array: ENOTSUPP, lpm: ENOTSUPP, aom: ENOTSUPP, prog: ENOTSUPP },
  },
  {
    what: "lookup_and_delete, present key (then it is gone)",
    run: (d, s) => {
      fill(d, s);
      const out = new Uint8Array(s.valueSize);
      const r = d.mapLookupAndDeleteElem(s.fd, s.key(0), out);
      if (r === 0) {
        expect(out).toEqual(s.value(0));
        expect(d.mapLookupElem(s.fd, s.key(0), new Uint8Array(s.valueSize))).toBe(-ENOENT);
      }
      return r;
    },
    expect: { hash: 0, hom: ENOTSUPP, lru: 0, array: ENOTSUPP, lpm: ENOTSUPP, aom: ENOTSUPP, prog: ENOTSUPP },
  },
];

describeKernel("kernel driver: kernel-maps.md §4.1 errno table", () => {
  for (const row of ROWS) {
    it.each(SUBJECTS)(`${row.what}: %s`, (name) => {
      const { d } = k;
      withFds(d, (keep) => {
        const s = subject(d, keep, name);
        const want = row.expect[s.group];
        expect(row.run(d, s), `${row.what} on ${name}`).toBe(want === 0 ? 0 : -want);
      });
    });
  }

  it("LPM: prefixlen above max is ENOENT for lookup and EINVAL for delete", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const s = subject(d, keep, "LPM_TRIE");
      const wide = new Uint8Array([33, 0, 0, 0, 1, 0, 0, 0]);
      expect(d.mapLookupElem(s.fd, wide, new Uint8Array(8))).toBe(-ENOENT);
      expect(d.mapDeleteElem(s.fd, wide)).toBe(-EINVAL);
    });
  });

  it("map-in-map update with a bad inner fd: closed EBADF, not a map EINVAL, incompatible EINVAL", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const s = subject(d, keep, "ARRAY_OF_MAPS");
      const gone = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      expect(d.close(gone)).toBe(0);
      expect(d.mapUpdateElem(s.fd, u32(0), u32(gone))).toBe(-Errno.EBADF);
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      expect(d.mapUpdateElem(s.fd, u32(0), u32(prog))).toBe(-EINVAL);
      const hash = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 }));
      expect(d.mapUpdateElem(s.fd, u32(0), u32(hash))).toBe(-EINVAL);
    });
  });
});
