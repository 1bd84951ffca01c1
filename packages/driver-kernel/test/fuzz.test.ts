// Property: whatever sizes, fds, flags and counts a caller passes, every Driver method either
// returns (a number that is >= 0 or a -errno, or a BatchResult with a positive errno or 0) or
// throws a RangeError/TypeError — the process never crashes and never sees another outcome.
// The fds are this file's own maps and program, a dup of one map the driver never saw, an fd of
// /dev/null, closed/negative/huge numbers and stdio; the fuzzer never closes an fd it did not
// create and never opens other processes' maps by id. Buffers come plain, as views into larger
// (and shared) buffers with guard bytes around them, as Node Buffers, and detached: after every
// call the bytes around each view must be as they were, so no write ever lands past a buffer.
import { openSync } from "node:fs";
import { createRequire } from "node:module";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PROG_ARRAY, decodeMapInfo,
  batchTokenSize, MAP_INFO_SIZE, ProgType, userValueSize, type BatchResult, type Driver, type ProgLoadAttr,
} from "@bpfkit/core";
import { readPossibleCpus } from "@bpfkit/driver-kernel";
import { mountPrivateBpffs, type PrivateBpffs } from "../../testkit/src/bpffs.js";
import { pairBlob } from "../../testkit/src/conformance/btf-blob.js";
import { describeKernel, kernelForFile, kernelUnavailable, RET0_INSNS } from "./helpers.js";

const k = kernelForFile();
/** UAPI enum bpf_map_type values of keyless maps, which core does not name. */
const BPF_MAP_TYPE_QUEUE = 22;
const BPF_MAP_TYPE_BLOOM_FILTER = 30;
let fs: PrivateBpffs;
const owned: number[] = [];
/** Fds opened here without the driver: a dup of a map, /dev/null. */
const foreign: number[] = [];
const ownedIds: number[] = [];
/** The ids of this file's BTF objects: the only ones the fuzzer opens by id. */
const ownedBtfIds: number[] = [];
let fdPool: number[] = [];
/** Key, user value and batch token bytes of the pool's maps: "fitting" calls use exactly these. */
const shapeByFd = new Map<number, { key: number; value: number; token: number }>();

beforeAll(() => {
  if (kernelUnavailable !== undefined) return;
  const d = k.d;
  fs = mountPrivateBpffs(d);
  const make = (mapType: number, keySize: number, valueSize: number, mapFlags = 0, innerMapFd?: number) => {
    const fd = d.mapCreate({ mapType, keySize, valueSize, maxEntries: 8, mapFlags, innerMapFd });
    expect(fd).toBeGreaterThan(0);
    owned.push(fd);
    const info = new Uint8Array(MAP_INFO_SIZE);
    d.objGetInfoByFd(fd, info);
    ownedIds.push(decodeMapInfo(info).id);
    shapeByFd.set(fd, { key: keySize, value: userValueSize(mapType, valueSize, d.possibleCpus), token: batchTokenSize(mapType, keySize) });
    return fd;
  };
  make(BPF_MAP_TYPE_HASH, 4, 8);
  make(BPF_MAP_TYPE_PERCPU_HASH, 3, 5);
  make(BPF_MAP_TYPE_ARRAY, 4, 12);
  make(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 1);
  make(BPF_MAP_TYPE_LPM_TRIE, 8, 4, BPF_F_NO_PREALLOC);
  make(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
  make(BPF_MAP_TYPE_QUEUE, 0, 6);
  make(BPF_MAP_TYPE_BLOOM_FILTER, 0, 3);
  make(BPF_MAP_TYPE_LRU_PERCPU_HASH, 2, 9);
  make(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 0, owned[0]);
  // A dup the driver never saw: it must learn the map's shape (PERCPU_HASH 3/5) on first use.
  const dup = createRequire(import.meta.url)("koffi").load("libc.so.6").func("int dup(int)") as (fd: number) => number;
  foreign.push(dup(owned[1]!), openSync("/dev/null", "r"));
  expect(foreign[0]).toBeGreaterThan(0);
  shapeByFd.set(foreign[0]!, shapeByFd.get(owned[1]!)!);
  const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
  expect(prog).toBeGreaterThan(0);
  owned.push(prog);
  // A program using three of the maps (ld_imm64 of each), so that map ids are written back.
  const uses = [owned[0]!, owned[2]!, owned[4]!];
  const usingMaps = new Uint8Array(16 * uses.length + RET0_INSNS.length);
  uses.forEach((fd, i) => {
    usingMaps.set([0x18, 0x11], 16 * i); // ld_imm64 r1, src BPF_PSEUDO_MAP_FD
    new DataView(usingMaps.buffer).setInt32(16 * i + 4, fd, true);
  });
  usingMaps.set(RET0_INSNS, 16 * uses.length);
  const user = d.progLoad({ progType: ProgType.SocketFilter, insns: usingMaps, license: "GPL" });
  expect(user).toBeGreaterThan(0);
  owned.push(user);
  // A BTF object (int, struct pair of two ints): btfGetInfo, and map creates that name it.
  const btf = d.btfLoad!({ btf: pairBlob() });
  expect(btf).toBeGreaterThan(0);
  owned.push(btf);
  const btfInfo = d.btfGetInfo!(btf, null);
  if (typeof btfInfo === "number") throw new Error(`btfGetInfo: errno ${-btfInfo}`);
  ownedBtfIds.push(btfInfo.id);
  const closed = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  d.close(closed);
  fdPool = [...owned, ...foreign, closed, -1, -100, 0, 1, 2, 9999, 0x7fffffff];
});

afterAll(() => {
  if (kernelUnavailable !== undefined) return;
  for (const fd of [...owned, ...foreign]) k.d.close(fd);
  fs.dispose();
});

/** The pool's key and value sizes (per-CPU: 8 or 16 bytes a CPU) come most often, so calls reach the kernel. */
const cpus = readPossibleCpus();
const size = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 2, 3, 4, 6, 8, 12, 8 * cpus, 16 * cpus) },
  { weight: 1, arbitrary: fc.constantFrom(1, 5, 16, 24, 32, 48) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 96 }) },
);

/** Bytes either side of a view, which no call may change. */
const GUARD = 16;
const GUARD_BYTE = 0x5a;
/** The backing arrays of this call's views: checked after it. */
let guarded: { backing: Uint8Array; at: number; n: number }[] = [];

/** `n` bytes of `fill` at `GUARD` in a backing of `n + 2 × GUARD` guard bytes. */
function guardedView(backing: Uint8Array, n: number, fill: number): Uint8Array {
  backing.fill(GUARD_BYTE);
  backing.fill(fill, GUARD, GUARD + n);
  guarded.push({ backing, at: GUARD, n });
  return backing.subarray(GUARD, GUARD + n);
}

type Shape = "plain" | "view" | "shared" | "buffer" | "detached";
/**
 * A buffer made afresh for each call (a view's guard bytes are checked per call), of its drawn
 * size or, for a call fitted to its map, of `fit` bytes.
 */
type Bytes = (fit?: number) => Uint8Array;
// Zeros too, so that keys name array slot 0 and lookups find something to write back.
const bytes: fc.Arbitrary<Bytes> = fc.tuple(size, fc.constantFrom<Shape>("plain", "view", "view", "view", "shared", "buffer", "detached"), fc.constantFrom(0, 0, 0, 1, 0xa5))
  .map(([drawn, shape, fill]): Bytes => (fit) => {
    const n = fit ?? drawn;
    switch (shape) {
      case "plain": return new Uint8Array(n).fill(fill);
      case "view": return guardedView(new Uint8Array(n + 2 * GUARD), n, fill);
      case "shared": return guardedView(new Uint8Array(new SharedArrayBuffer(n + 2 * GUARD)), n, fill);
      case "buffer": {
        const view = guardedView(new Uint8Array(n + 2 * GUARD), n, fill);
        return Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      }
      case "detached": {
        const b = new Uint8Array(n);
        structuredClone(b.buffer, { transfer: [b.buffer] });
        return b;
      }
    }
  });
const maybeBytes = fc.option(bytes, { nil: null });
/** A `logTrueSize` cell: none, a good one, one of none or many words, or no Uint32Array at all. */
const trueSizeCell = fc.constantFrom<() => unknown>(() => undefined, () => new Uint32Array(1), () => new Uint32Array(0),
  () => new Uint32Array(3).fill(7), () => new Uint8Array(4), () => [0], () => new Proxy(new Uint32Array(1), {}));
const make = (b: Bytes | null, fit?: number) => (b === null ? null : b(fit));
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: -3, max: 0x1_0000_0000 }),
  fc.constantFrom(0.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 60),
);
const flags = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(undefined, 0) },
  { weight: 1, arbitrary: fc.constantFrom(1, 2, 4, 8, 16, 1 << 20) },
  { weight: 1, arbitrary: anyNumber },
);
const count = fc.oneof(fc.integer({ min: 0, max: 6 }), anyNumber);
const fdArb = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 31 }).map((i) => fdPool[i % fdPool.length]!) },
  { weight: 1, arbitrary: fc.constantFrom(1.5, Number.NaN) },
);
const name = fc.stringMatching(/^[a-z_.\-\0]{0,18}$/);
const pathArb = fc.oneof(
  name.map((n) => `${fs.path}/${n}`),
  fc.constantFrom("/tmp", "/proc/self", "", "/nonexistent/x", `${"/a".repeat(3000)}`),
);

type Call = (d: Driver, keep: (fd: number) => void, closeNewest: () => number) => unknown;

/**
 * The sizes a call uses: its map's exact key, value and token bytes, and `n` elements for a
 * batch, when it is drawn to fit a map of the pool (else each buffer keeps its drawn size).
 * Random sizes alone almost never match a map, so the kernel would seldom write back at all.
 */
const fitArb = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.constant(0) });
function fitted(fd: number, n: number) {
  const s = n > 0 ? shapeByFd.get(fd) : undefined;
  return s === undefined ? {} : { key: s.key, value: s.value, token: s.token, keys: n * s.key, values: n * s.value, count: n };
}

const elementCalls: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(fdArb, fitArb, bytes, bytes, flags).map(([fd, fit, key, v, f]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapLookupElem(fd, key(z.key), v(z.value), f);
  }),
  fc.tuple(fdArb, fitArb, bytes, bytes, flags).map(([fd, fit, key, v, f]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapUpdateElem(fd, key(z.key), v(z.value), f);
  }),
  fc.tuple(fdArb, fitArb, bytes).map(([fd, fit, key]): Call => (d) => d.mapDeleteElem(fd, key(fitted(fd, fit).key))),
  fc.tuple(fdArb, fitArb, maybeBytes, bytes).map(([fd, fit, key, nk]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapGetNextKey(fd, make(key, z.key), nk(z.key));
  }),
  fc.tuple(fdArb, fitArb, bytes, bytes).map(([fd, fit, key, v]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapLookupAndDeleteElem(fd, key(z.key), v(z.value));
  }),
  fc.tuple(fdArb, fitArb, maybeBytes, bytes, bytes, bytes, count, fc.boolean()).map(([fd, fit, inB, outB, ks, vs, n, del]): Call => (d) => {
    const z = fitted(fd, fit);
    const args = [fd, make(inB, z.token), outB(z.token), ks(z.keys), vs(z.values), z.count ?? n] as const;
    return del ? d.mapLookupAndDeleteBatch(...args) : d.mapLookupBatch(...args);
  }),
  fc.tuple(fdArb, fitArb, bytes, bytes, count, flags).map(([fd, fit, ks, vs, n, f]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapUpdateBatch(fd, ks(z.keys), vs(z.values), z.count ?? n, f);
  }),
  fc.tuple(fdArb, fitArb, bytes, count).map(([fd, fit, ks, n]): Call => (d) => {
    const z = fitted(fd, fit);
    return d.mapDeleteBatch(fd, ks(z.keys), z.count ?? n);
  }),
);

const calls: fc.Arbitrary<Call> = fc.oneof(
  // The map element and batch calls, where the kernel reads and writes buffers, most often.
  { weight: 12, arbitrary: elementCalls },
  fc.tuple(fdArb, pathArb).map(([fd, p]): Call => (d) => d.objPin(fd, p)),
  fc.tuple(pathArb, flags).map(([p, f]): Call => (d, keep) => keepFd(d.objGet(p, f), keep)),
  anyNumber.map((id): Call => (d) => d.mapGetNextId(id)),
  anyNumber.map((id): Call => (d) => d.progGetNextId(id)),
  // Only this file's own map ids, or ids no map has: never another process's map.
  fc.tuple(fc.oneof(fc.integer({ min: 0, max: 5 }).map((i) => ownedIds[i]!), fc.constantFrom(0, -1, 0x7fffffff, 2 ** 32, 0.5)), flags)
    .map(([id, f]): Call => (d, keep) => keepFd(d.mapGetFdById(id, f), keep)),
  fc.tuple(fdArb, bytes).map(([fd, info]): Call => (d) => d.objGetInfoByFd(fd, info())),
  // The kernel writes the ids through a pointer into the driver's scratch, never past `ids`.
  fc.tuple(fdArb, fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 80 }))).map(([fd, n]): Call => (d) => {
    const v = guardedView(new Uint8Array(4 * n + 2 * GUARD), 4 * n, 0xa5);
    return d.progGetMapIds(fd, new Uint32Array(v.buffer, v.byteOffset, n));
  }),
  fc.tuple(fdArb, fc.constantFrom<unknown>(new Uint8Array(4), new Int32Array(2), [1, 2], null)).map(([fd, ids]): Call => (d) =>
    d.progGetMapIds(fd, ids as Uint32Array)),
  fc.tuple(anyNumber, size, fc.constantFrom("GPL", "", "Proprietary", "GPL\0"), name, fc.option(bytes, { nil: undefined }), fc.constantFrom(undefined, 0, 1, 2, 7), trueSizeCell)
    .map(([type, n, license, progName, log, logLevel, cell]): Call => (d, keep) =>
      // The kernel driver's extension: a verifier log buffer of any size and shape.
      keepFd(d.progLoad({ progType: type, insns: RET0_INSNS.length === n ? RET0_INSNS : new Uint8Array(n), license, progName,
        logLevel, log: log?.(), logTrueSize: cell() } as ProgLoadAttr), keep)),
  // Program BTF: any fd as prog_btf_fd, record arrays of any size and shape, record sizes in and out of range.
  fc.tuple(fdArb, fc.option(bytes, { nil: undefined }), fc.constantFrom<unknown>(undefined, 0, 4, 8, 12, 252, 256, -1, 0.5),
    fc.option(bytes, { nil: undefined }), fc.constantFrom<unknown>(undefined, 0, 8, 16, 20, 2 ** 32))
    .map(([progBtfFd, fi, funcInfoRecSize, li, lineInfoRecSize]): Call => (d, keep) =>
      keepFd(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL", progBtfFd, funcInfo: fi?.(),
        funcInfoRecSize, lineInfo: li?.(), lineInfoRecSize } as ProgLoadAttr), keep)),
  fc.tuple(fdArb, fdArb, anyNumber, flags).map(([t, p, type, f]): Call => (d) => d.progAttach(t, p, type, f)),
  fc.tuple(anyNumber, anyNumber, anyNumber, anyNumber, flags, name).map(([mapType, keySize, valueSize, maxEntries, mapFlags, mapName]): Call => (d, keep) =>
    // Sizes are kept small when valid so a create cannot ask for gigabytes.
    keepFd(d.mapCreate({ mapType, keySize: keySize % 4097, valueSize: valueSize % 4097, maxEntries: maxEntries % 65, mapFlags: mapFlags as number, mapName }), keep)),
  // BTF: blobs valid, cut or of random bytes, logs of any size and shape, levels in and out of range.
  fc.tuple(fc.oneof(fc.constant(pairBlob()), fc.integer({ min: 0, max: 120 }).map((n) => pairBlob().subarray(0, n)), bytes.map((b) => b())),
    fc.option(bytes, { nil: undefined }), fc.constantFrom<unknown>(undefined, 0, 1, 2, 3, 4, 8, 16, -1, 0.5, 2 ** 32), trueSizeCell)
    .map(([btf, log, logLevel, cell]): Call => (d, keep) =>
      keepFd(d.btfLoad!({ btf, logBuf: log?.(), logLevel: logLevel as number, logTrueSize: cell() as Uint32Array }), keep)),
  // Only this file's BTF ids, or ids none has: never another process's BTF.
  fc.oneof(fc.constant(0).map(() => ownedBtfIds[0]!), fc.constantFrom(0, -1, 0x7fffffff, 2 ** 32, 0.5))
    .map((id): Call => (d, keep) => keepFd(d.btfGetFdById!(id), keep)),
  anyNumber.map((id): Call => (d) => d.btfGetNextId!(id)),
  fc.tuple(fdArb, maybeBytes).map(([fd, data]): Call => (d) => {
    const r = d.btfGetInfo!(fd, make(data));
    if (typeof r === "number") return r;
    expect(r.btfSize).toBeGreaterThan(0);
    return 0;
  }),
  fc.tuple(fdArb, anyNumber, anyNumber, fc.constantFrom(4, 8, 12)).map(([btfFd, key, value, valueSize]): Call => (d, keep) =>
    keepFd(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize, maxEntries: 2, btfFd, btfKeyTypeId: key % 4, btfValueTypeId: value % 4 }), keep)),
  // Not the pool's maps: frozen, they would refuse every update for the rest of the run.
  fdArb.filter((fd) => !shapeByFd.has(fd)).map((fd): Call => (d) => d.mapFreeze(fd)),
  // Closes the newest fd this sequence made: the next create takes its number, and the driver
  // must know the new object, not the old shape.
  fc.constant<Call>((d, _keep, closeNewest) => closeNewest()),
);

function keepFd(r: number, keep: (fd: number) => void): number {
  if (r >= 0) keep(r);
  return r;
}

/** How often each outcome was seen: the fuzzer must reach the kernel, not only the checks. */
const seen = { ok: 0, errno: 0, RangeError: 0, TypeError: 0 };

function checkOutcome(run: () => unknown): void {
  let out: unknown;
  guarded = [];
  try {
    out = run();
  } catch (e) {
    checkGuards();
    expect(e instanceof RangeError || e instanceof TypeError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`).toBe(true);
    // Named by the command (or close), as a caller needs to find what it got wrong.
    expect((e as Error).message).toMatch(/^(BPF_[A-Z_]+|close): /);
    seen[e instanceof RangeError ? "RangeError" : "TypeError"]++;
    return;
  }
  checkGuards();
  if (typeof out === "number") {
    expect(Number.isInteger(out)).toBe(true);
    if (out < 0) expect(-out).toBeLessThan(4096);
    seen[out < 0 ? "errno" : "ok"]++;
  } else {
    const b = out as BatchResult;
    expect(Number.isInteger(b.errno) && b.errno >= 0 && b.errno < 4096).toBe(true);
    expect(Number.isInteger(b.count) && b.count >= 0).toBe(true);
    seen[b.errno > 0 ? "errno" : "ok"]++;
  }
}

/** No byte around a view changed: nothing wrote past the buffer it was handed. */
function checkGuards(): void {
  for (const { backing, at, n } of guarded) {
    for (let i = 0; i < backing.length; i++) {
      if (i >= at && i < at + n) continue;
      if (backing[i] !== GUARD_BYTE) expect.fail(`byte ${i - at} of a ${n}-byte view's surroundings changed`);
    }
  }
}

describeKernel("kernel driver: fuzz", () => {
  it("random calls give only results, -errno, RangeError or TypeError", () => {
    const d = k.d;
    fc.assert(
      fc.property(fc.array(calls, { minLength: 1, maxLength: 25 }), (seq) => {
        const mine: number[] = [];
        try {
          const closeNewest = () => {
            const fd = mine.pop();
            return fd === undefined ? 0 : d.close(fd);
          };
          for (const call of seq) checkOutcome(() => call(d, (fd) => mine.push(fd), closeNewest));
        } finally {
          for (const fd of mine) expect(d.close(fd)).toBe(0);
        }
      }),
      { numRuns: 1000 },
    );
    for (const [kind, n] of Object.entries(seen)) expect(n, `${kind} outcomes`).toBeGreaterThan(100);
    // The driver still works afterwards (the fuzzer may have frozen the pool's maps).
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 1 });
    expect(d.mapUpdateElem(fd, new Uint8Array(4), new Uint8Array(8))).toBe(0);
    expect(d.close(fd)).toBe(0);
  });
});
