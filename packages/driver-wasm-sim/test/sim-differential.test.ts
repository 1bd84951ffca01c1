// The differential test: random operation sequences from fast-check, run on the simulator and on
// this machine's kernel, every answer compared — return values, values read, whole walks and
// batches. Zero divergences. Bounded to a few seconds with fixed seeds; BPFKIT_SIM_SOAK=<n>
// multiplies the runs for a longer soak (and BPFKIT_SIM_SEED picks another seed).
//
// Four parts: single-map programs over every modelled type (testkit's runner: ZERO_SEED hashes,
// arrays, per-CPU maps, LPM tries, non-evicting LRU, valid and invalid creates); LRU maps driven
// into eviction by insert-only traffic with the process on CPU 0 (kernel-maps.md §7.2, §7.3);
// the object model (fds, pins, ids, access modes, freeze, liveness); and map-in-map outer maps
// over a pool of inner maps, where fds go in and ids come out.
import type { Driver, MapCreateAttr } from "@bpfkit/core";
import { canPinCpu, mountPrivateBpffs, onCpu0, runDifferential } from "@bpfkit/testkit";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { errName, eventually, hex, kernel, kernelDriver, readU32, sim } from "./sim-helpers.js";

const SOAK = Math.max(1, Number(process.env.BPFKIT_SIM_SOAK ?? 1));
const SEED = Number(process.env.BPFKIT_SIM_SEED ?? 20261127);
const runs = (n: number) => Math.round(n * SOAK);

const HASH = 1, ARRAY = 2, PERCPU_HASH = 5, PERCPU_ARRAY = 6, LRU_HASH = 9, LRU_PERCPU_HASH = 10, LPM = 11;
const ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13;
const ZERO_SEED = 0x40, NO_COMMON_LRU = 0x2;

// Only where bpf(2) is unusable (never on this machine or in CI), and then with the reason printed.
const withKernel = describe.skipIf(kernel.unavailable !== undefined);
if (kernel.unavailable !== undefined) console.log(`differential tests need the kernel: ${kernel.unavailable}`);

withKernel("single-map programs: simulator vs kernel (testkit's differential runner)", () => {
  const cases: Array<[string, Parameters<typeof runDifferential>[0]]> = [
    ["every modelled type, valid creates", { runs: runs(250), program: { maxOps: 40 } }],
    ["hash family: key sizes 1..24, up to 40 entries, long programs", { runs: runs(120), program: { types: [HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH], maxKeySize: 24, maxEntries: 40, maxOps: 80 } }],
    ["arrays and per-CPU arrays", { runs: runs(80), program: { types: [ARRAY, PERCPU_ARRAY], maxEntries: 16, maxOps: 60 } }],
    ["LPM tries", { runs: runs(120), program: { types: [LPM], maxKeySize: 8, maxEntries: 24, maxOps: 60 } }],
    ["invalid creates mixed in", { runs: runs(120), program: { invalid: "sometimes" } }],
  ];
  it.each(cases)("%s", async (_name, options) => {
    const s = await runDifferential({ left: "sim", right: "kernel", seed: SEED, ...options });
    expect(s.runs).toBeGreaterThan(0);
    expect(s.divergences, s.report).toEqual([]);
    expect(s.ok).toBe(true);
  });
});

// ---- LRU eviction: insert-only, one CPU ----

interface LruCase { mapType: number; maxEntries: number; keySize: number; perCpuLists: boolean; inserts: number; batchEvery: number }

const lruCaseArb: fc.Arbitrary<LruCase> = fc.record({
  mapType: fc.constantFrom(LRU_HASH, LRU_PERCPU_HASH),
  maxEntries: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constantFrom(33, 100, 127, 128, 129, 257, 500)),
  keySize: fc.constantFrom(4, 8, 13),
  perCpuLists: fc.boolean(),
  inserts: fc.integer({ min: 1, max: 600 }),
  batchEvery: fc.constantFrom(0, 7, 50),
});

/** Inserts distinct keys; after each, the count of present keys, and now and then a batch dump. */
function runLru(d: Driver, c: LruCase): string[] {
  const out: string[] = [];
  const vs = c.mapType === LRU_PERCPU_HASH ? 8 * d.possibleCpus : 8;
  const fd = d.mapCreate({ mapType: c.mapType, keySize: c.keySize, valueSize: 8, maxEntries: c.maxEntries, mapFlags: ZERO_SEED | (c.perCpuLists ? NO_COMMON_LRU : 0) });
  if (fd < 0) return [`create ${errName(fd)}`];
  try {
    const key = new Uint8Array(c.keySize), value = new Uint8Array(vs), next = new Uint8Array(c.keySize);
    const present = (): number => {
      let n = 0;
      let r = d.mapGetNextKey(fd, null, next);
      const prev = new Uint8Array(c.keySize);
      while (r === 0 && n <= c.maxEntries * 2) {
        n++;
        prev.set(next);
        r = d.mapGetNextKey(fd, prev, next);
      }
      return n;
    };
    for (let i = 0; i < c.inserts; i++) {
      new DataView(key.buffer).setUint32(0, i * 2654435761 >>> 0, true);
      key[c.keySize - 1] = i & 0xff;
      new DataView(value.buffer).setUint32(0, i, true);
      const r = d.mapUpdateElem(fd, key, value, i % 3 === 0 ? 1 : 0);
      // The count after every insert for small maps; for large ones every 16th (walks cost).
      out.push(`${i}: ${errName(r)}${c.maxEntries <= 33 || i % 16 === 0 || i === c.inserts - 1 ? ` count ${present()}` : ""}`);
      if (c.batchEvery > 0 && i % c.batchEvery === 0) {
        const n = c.maxEntries;
        const keys = new Uint8Array(n * c.keySize), vals = new Uint8Array(n * vs), tok = new Uint8Array(4);
        const b = d.mapLookupBatch(fd, null, tok, keys, vals, n);
        out.push(`batch ${errName(-b.errno)} ${b.count} ${hex(keys.subarray(0, b.count * c.keySize))} ${hex(vals.subarray(0, b.count * vs))}`);
      }
    }
  } finally {
    d.close(fd);
  }
  return out;
}

withKernel("LRU eviction, insert-only on CPU 0: simulator vs kernel (§7.2 common lists, §7.3 per-CPU lists)", () => {
  const pin = canPinCpu();
  if (!pin) console.log("LRU differential: this thread cannot be pinned to CPU 0 (sched_setaffinity needs Linux and koffi)");
  it.skipIf(!pin)("every insert's errno, the count after it and periodic batch dumps agree", () => {
    const k = kernelDriver();
    fc.assert(fc.property(lruCaseArb, (c) => {
      const s = runLru(sim({ possibleCpus: k.possibleCpus }), c);
      const kk = onCpu0(() => runLru(k, c));
      expect(s).toEqual(kk);
    }), { numRuns: runs(25), seed: SEED });
  });
});

// ---- map-in-map: fds in, ids out ----

type MimOp =
  | { kind: "update"; slot: number; inner: number; flags: number }
  | { kind: "delete"; slot: number }
  | { kind: "lookup"; slot: number }
  | { kind: "walk" }
  | { kind: "batch"; count: number; del: boolean }
  | { kind: "updateBatch"; slots: number[]; inner: number }
  | { kind: "closeInner"; inner: number };

interface MimCase { outerType: number; maxEntries: number; ops: MimOp[] }

const INNERS = 4;
const mimOpArb: fc.Arbitrary<MimOp> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("update" as const), slot: fc.nat(5), inner: fc.nat(INNERS + 1), flags: fc.constantFrom(0, 0, 0, 1, 2, 3) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("delete" as const), slot: fc.nat(5) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("lookup" as const), slot: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "walk" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("batch" as const), count: fc.integer({ min: 1, max: 6 }), del: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("updateBatch" as const), slots: fc.array(fc.nat(5), { maxLength: 4 }), inner: fc.nat(INNERS + 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("closeInner" as const), inner: fc.nat(INNERS - 1) }) },
);
const mimCaseArb: fc.Arbitrary<MimCase> = fc.record({
  outerType: fc.constantFrom(ARRAY_OF_MAPS, HASH_OF_MAPS),
  maxEntries: fc.integer({ min: 1, max: 5 }),
  ops: fc.array(mimOpArb, { maxLength: 30, size: "max" }),
});

/**
 * One map-in-map program. Inner maps 0..3 are compatible HASH maps; inner 4 is an ARRAY (not
 * compatible); index 5 stands for an fd that is not open. Ids are written down as the inner's
 * index, so the two worlds compare. At the end: which inner maps are still alive.
 */
function runMim(d: Driver, c: MimCase): string[] {
  const out: string[] = [];
  const h = (more: Partial<MapCreateAttr> = {}): number => d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, ...more });
  const tmpl = h();
  const outer = d.mapCreate({ mapType: c.outerType, keySize: 4, valueSize: 4, maxEntries: c.maxEntries, mapFlags: c.outerType === HASH_OF_MAPS ? ZERO_SEED : 0, innerMapFd: tmpl });
  d.close(tmpl);
  const inners: number[] = [];
  const ids: number[] = [];
  for (let i = 0; i < INNERS; i++) inners.push(h({ maxEntries: 2 + i }));
  inners.push(d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 }));
  const info = new Uint8Array(8);
  for (const fd of inners) {
    d.objGetInfoByFd(fd, info);
    ids.push(readU32(info, 4));
  }
  const closed = new Set<number>();
  const BAD_FD = 100_000;
  const fdOf = (i: number) => (i >= inners.length || closed.has(i) ? BAD_FD : inners[i]!);
  const name = (id: number) => (ids.includes(id) ? `inner${ids.indexOf(id)}` : `unknown id`);
  const u = (n: number) => { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, n, true); return b; };
  try {
    for (const op of c.ops) {
      switch (op.kind) {
        case "update":
          out.push(`update ${op.slot} inner${op.inner} flags ${op.flags}: ${errName(d.mapUpdateElem(outer, u(op.slot), u(fdOf(op.inner)), op.flags))}`);
          break;
        case "delete":
          out.push(`delete ${op.slot}: ${errName(d.mapDeleteElem(outer, u(op.slot)))}`);
          break;
        case "lookup": {
          const v = new Uint8Array(4);
          const r = d.mapLookupElem(outer, u(op.slot), v);
          out.push(`lookup ${op.slot}: ${r < 0 ? errName(r) : name(readU32(v))}`);
          break;
        }
        case "walk": {
          const keys: number[] = [];
          let prev: Uint8Array | null = null;
          const next = new Uint8Array(4);
          while (keys.length < 10 && d.mapGetNextKey(outer, prev, next) === 0) {
            keys.push(readU32(next));
            prev = next.slice();
          }
          out.push(`walk ${keys.join(",")}`);
          break;
        }
        case "batch": {
          const keys = new Uint8Array(op.count * 4), vals = new Uint8Array(op.count * 4), tok = new Uint8Array(4);
          const b = op.del ? d.mapLookupAndDeleteBatch(outer, null, tok, keys, vals, op.count) : d.mapLookupBatch(outer, null, tok, keys, vals, op.count);
          const got = Array.from({ length: b.count }, (_, i) => `${readU32(keys, i * 4)}=${name(readU32(vals, i * 4))}`);
          out.push(`${op.del ? "lookup-and-delete-batch" : "lookup-batch"} ${op.count}: ${b.errno} ${b.count} [${got.join(" ")}] token ${b.errno === 0 || b.count > 0 ? readU32(tok) : "-"}`);
          break;
        }
        case "updateBatch": {
          const n = op.slots.length;
          const keys = new Uint8Array(n * 4), vals = new Uint8Array(n * 4);
          op.slots.forEach((s, i) => { keys.set(u(s), i * 4); vals.set(u(fdOf(op.inner)), i * 4); });
          const b = d.mapUpdateBatch(outer, keys, vals, n);
          out.push(`update-batch [${op.slots.join(",")}] inner${op.inner}: ${b.errno} ${b.count}`);
          break;
        }
        case "closeInner":
          if (!closed.has(op.inner)) {
            closed.add(op.inner);
            out.push(`close inner${op.inner}: ${errName(d.close(inners[op.inner]!))}`);
          }
          break;
      }
    }
    // Inner maps whose fds were closed live exactly as long as an outer slot holds them.
    const live = (i: number) => d.mapGetNextId(ids[i]! - 1) === ids[i]!;
    const expectLive = (i: number) => {
      if (!closed.has(i)) return true;
      const v = new Uint8Array(4), next = new Uint8Array(4);
      let prev: Uint8Array | null = null;
      let held = false;
      for (let n = 0; n < 10 && d.mapGetNextKey(outer, prev, next) === 0; n++) {
        if (d.mapLookupElem(outer, next, v) === 0 && readU32(v) === ids[i]) held = true;
        prev = next.slice();
      }
      return held;
    };
    for (let i = 0; i < INNERS; i++) {
      const want = expectLive(i);
      out.push(`inner${i} alive ${want} ${eventually(() => live(i) === want)}`);
    }
    d.close(outer);
    for (let i = 0; i < INNERS; i++) if (closed.has(i)) out.push(`inner${i} freed with the outer map ${eventually(() => !live(i))}`);
  } finally {
    inners.forEach((fd, i) => { if (!closed.has(i)) d.close(fd); });
  }
  return out;
}

// ---- the object model: fds, pins, ids, modes, freeze ----

type ObjOp =
  | { kind: "create"; type: number; flags: number }
  | { kind: "close"; fd: number }
  | { kind: "pin"; fd: number; name: number }
  | { kind: "unpin"; name: number }
  | { kind: "get"; name: number; flags: number }
  | { kind: "byId"; map: number; flags: number }
  | { kind: "freeze"; fd: number }
  | { kind: "update"; fd: number; k: number }
  | { kind: "lookup"; fd: number; k: number }
  | { kind: "info"; fd: number };

const objOpArb: fc.Arbitrary<ObjOp> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("create" as const), type: fc.constantFrom(HASH, ARRAY, PERCPU_HASH), flags: fc.constantFrom(0, 0, 0x8, 0x10) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("close" as const), fd: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("pin" as const), fd: fc.nat(7), name: fc.nat(3) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("unpin" as const), name: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("get" as const), name: fc.nat(3), flags: fc.constantFrom(0, 0x8, 0x10, 0x18, 0x1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("byId" as const), map: fc.nat(5), flags: fc.constantFrom(0, 0x8, 0x10, 0x18) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("freeze" as const), fd: fc.nat(7) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("update" as const), fd: fc.nat(7), k: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("lookup" as const), fd: fc.nat(7), k: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("info" as const), fd: fc.nat(7) }) },
);

/**
 * A program over fds and pins. fds are named by the order they were opened (fd#0, fd#1, …) and
 * maps by the order they were created; a name that is not open stands for a closed fd. After
 * every step: which created maps are alive (their id listed by MAP_GET_NEXT_ID).
 */
function runObjects(d: Driver, bpffs: string, ops: ObjOp[]): string[] {
  const out: string[] = [];
  const fds: number[] = []; // by open order; -1 once closed
  const ids: number[] = []; // by creation order
  const closedFd = 100_000;
  const fdAt = (i: number) => (i < fds.length && fds[i]! >= 0 ? fds[i]! : closedFd);
  const info = new Uint8Array(104);
  const idOf = (fd: number) => (d.objGetInfoByFd(fd, info) === 104 ? readU32(info, 4) : -1);
  const opened = (label: string, r: number) => {
    if (r >= 0) fds.push(r);
    out.push(`${label}: ${r >= 0 ? `fd#${fds.length - 1}` : errName(r)}`);
  };
  const value = (fd: number) => new Uint8Array(idOf(fd) >= 0 && readU32(info, 0) === PERCPU_HASH ? 8 * d.possibleCpus : 4);
  try {
    for (const op of ops) {
      switch (op.kind) {
        case "create": {
          const r = d.mapCreate({ mapType: op.type, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: op.flags | (op.type === ARRAY ? 0 : ZERO_SEED) });
          opened(`create ${op.type} flags ${op.flags}`, r);
          if (r >= 0) ids.push(idOf(r));
          break;
        }
        case "close":
          out.push(`close fd#${op.fd}: ${errName(d.close(fdAt(op.fd)))}`);
          if (op.fd < fds.length) fds[op.fd] = -1;
          break;
        case "pin":
          out.push(`pin fd#${op.fd} p${op.name}: ${errName(d.objPin(fdAt(op.fd), `${bpffs}/p${op.name}`))}`);
          break;
        case "unpin":
          out.push(`unpin p${op.name}: ${errName(d.host.unlink(`${bpffs}/p${op.name}`))}`);
          break;
        case "get":
          opened(`get p${op.name} flags ${op.flags}`, d.objGet(`${bpffs}/p${op.name}`, op.flags));
          break;
        case "byId":
          opened(`by id map#${op.map} flags ${op.flags}`, d.mapGetFdById(op.map < ids.length ? ids[op.map]! : 0x7ffffffe, op.flags));
          break;
        case "freeze":
          out.push(`freeze fd#${op.fd}: ${errName(d.mapFreeze(fdAt(op.fd)))}`);
          break;
        case "update": {
          const fd = fdAt(op.fd);
          const v = value(fd);
          v.fill(op.k + 1);
          const k = new Uint8Array(4);
          k[0] = op.k;
          out.push(`update fd#${op.fd} ${op.k}: ${errName(d.mapUpdateElem(fd, k, v))}`);
          break;
        }
        case "lookup": {
          const fd = fdAt(op.fd);
          const v = value(fd);
          const k = new Uint8Array(4);
          k[0] = op.k;
          const r = d.mapLookupElem(fd, k, v);
          out.push(`lookup fd#${op.fd} ${op.k}: ${r < 0 ? errName(r) : hex(v)}`);
          break;
        }
        case "info": {
          const fd = fdAt(op.fd);
          const r = d.objGetInfoByFd(fd, info);
          out.push(`info fd#${op.fd}: ${r < 0 ? errName(r) : `type ${readU32(info, 0)} map#${ids.indexOf(readU32(info, 4))} flags ${readU32(info, 20)}`}`);
          break;
        }
      }
      out.push(`  alive [${ids.map((id) => (d.mapGetNextId(id - 1) === id ? 1 : 0)).join("")}]`);
    }
  } finally {
    for (const fd of fds) if (fd >= 0) d.close(fd);
    for (let i = 0; i < 4; i++) d.host.unlink(`${bpffs}/p${i}`);
  }
  return out;
}

withKernel("object-model programs: simulator vs kernel (§12, §13)", () => {
  it("fds, pins, ids, access modes and freeze agree step by step, with every map's liveness after each step", () => {
    const k = kernelDriver();
    const simFs = { d: sim({ possibleCpus: k.possibleCpus }) };
    const kFs = mountPrivateBpffs(k);
    const sFs = mountPrivateBpffs(simFs.d);
    try {
      fc.assert(fc.property(fc.array(objOpArb, { minLength: 5, maxLength: 40, size: "max" }), (ops) => {
        expect(runObjects(simFs.d, sFs.path, ops)).toEqual(runObjects(k, kFs.path, ops));
      }), { numRuns: runs(80), seed: SEED });
    } finally {
      kFs.dispose();
      sFs.dispose();
    }
  });
});

withKernel("map-in-map programs: simulator vs kernel (§11)", () => {
  it("every update, delete, lookup, walk and batch agrees, and inner maps live exactly as long as a slot holds them", () => {
    const k = kernelDriver();
    fc.assert(fc.property(mimCaseArb, (c) => {
      expect(runMim(sim({ possibleCpus: k.possibleCpus }), c)).toEqual(runMim(k, c));
    }), { numRuns: runs(60), seed: SEED });
  });
});
