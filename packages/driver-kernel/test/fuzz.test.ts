// Property: whatever sizes, fds, flags and counts a caller passes, every Driver method either
// returns (a number that is >= 0 or a -errno, or a BatchResult with a positive errno or 0) or
// throws a RangeError/TypeError — the process never crashes and never sees another outcome.
// The fds are this file's own maps and program, closed/negative/huge numbers and stdio; the
// fuzzer never closes an fd it did not create and never opens other processes' maps by id.
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE,
  BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PROG_ARRAY, decodeMapInfo,
  MAP_INFO_SIZE, ProgType, type BatchResult, type Driver, type ProgLoadAttr,
} from "@bpfkit/core";
import { mountPrivateBpffs, type PrivateBpffs } from "../../testkit/src/bpffs.js";
import { describeKernel, kernelForFile, kernelUnavailable, RET0_INSNS } from "./helpers.js";

const k = kernelForFile();
let fs: PrivateBpffs;
const owned: number[] = [];
const ownedIds: number[] = [];
let fdPool: number[] = [];

beforeAll(() => {
  if (kernelUnavailable !== undefined) return;
  const d = k.d;
  fs = mountPrivateBpffs(d);
  const make = (mapType: number, keySize: number, valueSize: number, mapFlags = 0) => {
    const fd = d.mapCreate({ mapType, keySize, valueSize, maxEntries: 8, mapFlags });
    expect(fd).toBeGreaterThan(0);
    owned.push(fd);
    const info = new Uint8Array(MAP_INFO_SIZE);
    d.objGetInfoByFd(fd, info);
    ownedIds.push(decodeMapInfo(info).id);
    return fd;
  };
  make(BPF_MAP_TYPE_HASH, 4, 8);
  make(BPF_MAP_TYPE_PERCPU_HASH, 3, 5);
  make(BPF_MAP_TYPE_ARRAY, 4, 12);
  make(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 1);
  make(BPF_MAP_TYPE_LPM_TRIE, 8, 4, BPF_F_NO_PREALLOC);
  make(BPF_MAP_TYPE_PROG_ARRAY, 4, 4);
  const prog = d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" });
  expect(prog).toBeGreaterThan(0);
  owned.push(prog);
  const closed = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
  d.close(closed);
  fdPool = [...owned, closed, -1, -100, 0, 1, 2, 9999, 0x7fffffff];
});

afterAll(() => {
  if (kernelUnavailable !== undefined) return;
  for (const fd of owned) k.d.close(fd);
  fs.dispose();
});

const size = fc.oneof(fc.constantFrom(0, 1, 3, 4, 5, 8, 12, 16, 24, 32), fc.integer({ min: 0, max: 96 }));
const bytes = size.map((n) => new Uint8Array(n).fill(0xa5));
const maybeBytes = fc.option(bytes, { nil: null });
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.integer({ min: -3, max: 0x1_0000_0000 }),
  fc.constantFrom(0.5, -0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 2 ** 60),
);
const flags = fc.oneof(fc.constantFrom(undefined, 0, 1, 2, 4, 8, 16, 1 << 20), anyNumber);
const count = fc.oneof(fc.integer({ min: 0, max: 6 }), anyNumber);
const fdArb = fc.oneof(fc.integer({ min: 0, max: 16 }).map((i) => fdPool[i % fdPool.length]!), fc.constantFrom(1.5, Number.NaN));
const name = fc.stringMatching(/^[a-z_.\-\0]{0,18}$/);
const pathArb = fc.oneof(
  name.map((n) => `${fs.path}/${n}`),
  fc.constantFrom("/tmp", "/proc/self", "", "/nonexistent/x", `${"/a".repeat(3000)}`),
);

type Call = (d: Driver, keep: (fd: number) => void) => unknown;

const calls: fc.Arbitrary<Call> = fc.oneof(
  fc.tuple(fdArb, bytes, bytes, flags).map(([fd, key, v, f]): Call => (d) => d.mapLookupElem(fd, key, v, f)),
  fc.tuple(fdArb, bytes, bytes, flags).map(([fd, key, v, f]): Call => (d) => d.mapUpdateElem(fd, key, v, f)),
  fc.tuple(fdArb, bytes).map(([fd, key]): Call => (d) => d.mapDeleteElem(fd, key)),
  fc.tuple(fdArb, maybeBytes, bytes).map(([fd, key, nk]): Call => (d) => d.mapGetNextKey(fd, key, nk)),
  fc.tuple(fdArb, bytes, bytes).map(([fd, key, v]): Call => (d) => d.mapLookupAndDeleteElem(fd, key, v)),
  fc.tuple(fdArb, maybeBytes, bytes, bytes, bytes, count, fc.boolean()).map(([fd, inB, outB, ks, vs, n, del]): Call => (d) =>
    del ? d.mapLookupAndDeleteBatch(fd, inB, outB, ks, vs, n) : d.mapLookupBatch(fd, inB, outB, ks, vs, n)),
  fc.tuple(fdArb, bytes, bytes, count, flags).map(([fd, ks, vs, n, f]): Call => (d) => d.mapUpdateBatch(fd, ks, vs, n, f)),
  fc.tuple(fdArb, bytes, count).map(([fd, ks, n]): Call => (d) => d.mapDeleteBatch(fd, ks, n)),
  fc.tuple(fdArb, pathArb).map(([fd, p]): Call => (d) => d.objPin(fd, p)),
  fc.tuple(pathArb, flags).map(([p, f]): Call => (d, keep) => keepFd(d.objGet(p, f), keep)),
  anyNumber.map((id): Call => (d) => d.mapGetNextId(id)),
  anyNumber.map((id): Call => (d) => d.progGetNextId(id)),
  // Only this file's own map ids, or ids no map has: never another process's map.
  fc.tuple(fc.oneof(fc.integer({ min: 0, max: 5 }).map((i) => ownedIds[i]!), fc.constantFrom(0, -1, 0x7fffffff, 2 ** 32, 0.5)), flags)
    .map(([id, f]): Call => (d, keep) => keepFd(d.mapGetFdById(id, f), keep)),
  fc.tuple(fdArb, size).map(([fd, n]): Call => (d) => d.objGetInfoByFd(fd, new Uint8Array(n))),
  fc.tuple(anyNumber, size, fc.constantFrom("GPL", "", "Proprietary", "GPL\0"), name, fc.option(size, { nil: undefined }), fc.constantFrom(undefined, 0, 1, 2, 7))
    .map(([type, n, license, progName, logBytes, logLevel]): Call => (d, keep) =>
      // The kernel driver's extension: a verifier log buffer of any size.
      keepFd(d.progLoad({ progType: type, insns: RET0_INSNS.length === n ? RET0_INSNS : new Uint8Array(n), license, progName,
        logLevel, log: logBytes === undefined ? undefined : new Uint8Array(logBytes * 8) } as ProgLoadAttr), keep)),
  fc.tuple(fdArb, fdArb, anyNumber, flags).map(([t, p, type, f]): Call => (d) => d.progAttach(t, p, type, f)),
  fc.tuple(anyNumber, anyNumber, anyNumber, anyNumber, flags, name).map(([mapType, keySize, valueSize, maxEntries, mapFlags, mapName]): Call => (d, keep) =>
    // Sizes are kept small when valid so a create cannot ask for gigabytes.
    keepFd(d.mapCreate({ mapType, keySize: keySize % 4097, valueSize: valueSize % 4097, maxEntries: maxEntries % 65, mapFlags: mapFlags as number, mapName }), keep)),
  fdArb.map((fd): Call => (d) => d.mapFreeze(fd)),
);

function keepFd(r: number, keep: (fd: number) => void): number {
  if (r >= 0) keep(r);
  return r;
}

/** How often each outcome was seen: the fuzzer must reach the kernel, not only the checks. */
const seen = { ok: 0, errno: 0, RangeError: 0, TypeError: 0 };

function checkOutcome(run: () => unknown): void {
  let out: unknown;
  try {
    out = run();
  } catch (e) {
    expect(e instanceof RangeError || e instanceof TypeError, `threw ${(e as Error)?.name}: ${(e as Error)?.message}`).toBe(true);
    seen[e instanceof RangeError ? "RangeError" : "TypeError"]++;
    return;
  }
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

describeKernel("kernel driver: fuzz", () => {
  it("random calls give only results, -errno, RangeError or TypeError", () => {
    const d = k.d;
    fc.assert(
      fc.property(fc.array(calls, { minLength: 1, maxLength: 25 }), (seq) => {
        const mine: number[] = [];
        try {
          for (const call of seq) checkOutcome(() => call(d, (fd) => mine.push(fd)));
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
