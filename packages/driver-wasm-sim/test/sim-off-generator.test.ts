// Simulator vs kernel where the differential runner's program generator never goes: map flags
// it never sets, attribute combinations it never breaks together, fds opened by id or pin with
// every access mode, inner maps that almost match their template, program arrays of mixed
// program types, u32-edge indexes and prefix lengths, flags past u32, batch tokens from another
// map, and the element sizes at kmalloc's limit. Each table runs the same calls on a fresh
// simulator and on this machine's kernel and compares every answer (fds and ids symbolically).
import type { Driver } from "@bpfkit/core";
import { errnoName } from "@bpfkit/core";
import { mountPrivateBpffs } from "@bpfkit/testkit";
import { describe, expect, it } from "vitest";
import { kernel, kernelDriver, retProg, sim } from "./sim-helpers.js";

const HASH = 1, ARRAY = 2, PROG_ARRAY = 3, PERCPU_HASH = 5, PERCPU_ARRAY = 6, LRU_HASH = 9,
  LRU_PERCPU_HASH = 10, LPM = 11, ARRAY_OF_MAPS = 12, HASH_OF_MAPS = 13;
const TYPES = [HASH, ARRAY, PROG_ARRAY, PERCPU_HASH, PERCPU_ARRAY, LRU_HASH, LRU_PERCPU_HASH, LPM, ARRAY_OF_MAPS, HASH_OF_MAPS];
const NO_PREALLOC = 0x1, RDONLY = 0x8, WRONLY = 0x10, ZERO_SEED = 0x40, RDONLY_PROG = 0x80, WRONLY_PROG = 0x100;
const MiB = 1 << 20;

const isPerCpu = (t: number) => t === PERCPU_HASH || t === PERCPU_ARRAY || t === LRU_PERCPU_HASH;
const isFdValue = (t: number) => t === PROG_ARRAY || t === ARRAY_OF_MAPS || t === HASH_OF_MAPS;
const isHashFamily = (t: number) => t === HASH || t === PERCPU_HASH || t === LRU_HASH || t === LRU_PERCPU_HASH || t === HASH_OF_MAPS;
const u32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** What one run saw, a line per call, and the fds to close after it. */
class Log {
  readonly lines: string[] = [];
  readonly fds: number[] = [];
  constructor(readonly d: Driver) {}
  r(label: string, r: number | { errno: number; count: number }): number {
    if (typeof r === "number") this.lines.push(`${label}: ${r < 0 ? errnoName(-r) : r}`);
    else this.lines.push(`${label}: ${r.errno === 0 ? "OK" : errnoName(r.errno)} count ${r.count}`);
    return typeof r === "number" ? r : -r.errno;
  }
  /** An fd result: "fd" or the errno; kept for closing. */
  fd(label: string, r: number): number {
    this.lines.push(`${label}: ${r < 0 ? errnoName(-r) : "fd"}`);
    if (r >= 0) this.fds.push(r);
    return r;
  }
  keep(fd: number): number {
    if (fd >= 0) this.fds.push(fd);
    return fd;
  }
  note(label: string, v: string | boolean): void {
    this.lines.push(`${label}: ${String(v)}`);
  }
  id(fd: number): number {
    const b = new Uint8Array(88);
    this.d.objGetInfoByFd(fd, b);
    return new DataView(b.buffer).getUint32(4, true);
  }
  /** bpf_map_info less the id, which differs between the two worlds. */
  info(label: string, fd: number): void {
    const b = new Uint8Array(88);
    const r = this.d.objGetInfoByFd(fd, b);
    b.fill(0, 4, 8);
    this.lines.push(`${label}: ${r < 0 ? errnoName(-r) : `${r} ${hex(b)}`}`);
  }
}

function runOn(d: Driver, scenario: (l: Log) => void): string[] {
  const l = new Log(d);
  try {
    scenario(l);
  } finally {
    for (const fd of l.fds.reverse()) d.close(fd);
  }
  return l.lines;
}

/** The scenario's lines on a fresh simulator and on the kernel, which must be equal. */
function onBoth(scenario: (l: Log) => void): string[] {
  if (kernel.unavailable !== undefined) return runOn(sim(), scenario);
  // Per-CPU value sizes and NO_COMMON_LRU rounding follow the CPU count: the kernel's.
  const k = kernelDriver();
  const s = runOn(sim({ possibleCpus: k.possibleCpus }), scenario);
  expect(s).toEqual(runOn(k, scenario));
  return s;
}

const withKernel = describe.skipIf(kernel.unavailable !== undefined);
if (kernel.unavailable !== undefined) console.log(`off-generator comparisons need the kernel: ${kernel.unavailable}`);

/** A valid small map of type `t` (LPM: 8-byte keys), with `extra` flags. */
function smallMap(t: number, extra = 0, maxEntries = 4) {
  return {
    mapType: t, keySize: t === LPM ? 8 : 4, valueSize: isPerCpu(t) ? 8 : 4, maxEntries,
    mapFlags: (t === LPM ? NO_PREALLOC : isHashFamily(t) ? ZERO_SEED : 0) | extra,
  };
}

function innerFor(l: Log, t: number): number {
  return t === ARRAY_OF_MAPS || t === HASH_OF_MAPS ? l.keep(l.d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 2 })) : 0;
}

withKernel("MAP_CREATE where the generator never goes", () => {
  it("every map_flags bit on every type, NUMA nodes 0, 1 and NUMA_NO_NODE; info of what is created", () => {
    const lines = onBoth((l) => {
      for (const t of TYPES) {
        const inner = innerFor(l, t);
        for (let bit = 0; bit < 20; bit++) {
          for (const numaNode of bit === 2 ? [0, 1, 0xffffffff] : [0]) {
            const base = smallMap(t);
            const fd = l.fd(`type ${t} bit ${bit} node ${numaNode}`, l.d.mapCreate({ ...base, mapFlags: base.mapFlags | (1 << bit), numaNode, innerMapFd: inner }));
            if (fd >= 0) l.info("  info", fd);
          }
        }
      }
    });
    expect(lines).toContain("type 2 bit 10 node 0: fd"); // MMAPABLE array
    expect(lines).toContain("type 1 bit 12 node 0: EINVAL"); // INNER_MAP is for arrays
  });

  it("two attributes wrong at once: which errno comes first, per type", () => {
    const faults: Record<string, (a: ReturnType<typeof smallMap> & { innerMapFd?: number; mapName?: string; numaNode?: number }, prog: number) => void> = {
      key0: (a) => { a.keySize = 0; }, value0: (a) => { a.valueSize = 0; }, max0: (a) => { a.maxEntries = 0; },
      unknownFlag: (a) => { a.mapFlags |= 1 << 19; }, rdwr: (a) => { a.mapFlags |= RDONLY | WRONLY; },
      progRdwr: (a) => { a.mapFlags |= RDONLY_PROG | WRONLY_PROG; }, node1: (a) => { a.mapFlags |= 0x4; a.numaNode = 1; },
      badName: (a) => { a.mapName = "a-b"; }, name16: (a) => { a.mapName = "abcdefghijklmnop"; }, key8: (a) => { a.keySize = 8; },
      value8: (a) => { a.valueSize = 8; }, keyMax: (a) => { a.keySize = 0xffffffff; }, value2G: (a) => { a.valueSize = 0x80000000; },
      innerClosed: (a) => { a.innerMapFd = 9999; }, innerNone: (a) => { a.innerMapFd = 0; }, innerProg: (a, p) => { a.innerMapFd = p; },
      zeroSeed: (a) => { a.mapFlags |= ZERO_SEED; }, togglePrealloc: (a) => { a.mapFlags ^= NO_PREALLOC; },
      noCommonLru: (a) => { a.mapFlags |= 0x2; }, mmapable: (a) => { a.mapFlags |= 0x400; }, innerMap: (a) => { a.mapFlags |= 0x1000; },
      tokenFd: (a) => { a.mapFlags |= 0x10000; }, preserveElems: (a) => { a.mapFlags |= 0x800; },
    };
    const names = Object.keys(faults);
    onBoth((l) => {
      const prog = l.keep(l.d.progLoad({ progType: 1, insns: retProg(0), license: "GPL" }));
      for (const t of TYPES) {
        const inner = innerFor(l, t);
        for (let i = 0; i < names.length; i++) {
          for (let j = i + 1; j < names.length; j++) {
            const a = { ...smallMap(t), innerMapFd: inner, mapName: "ok" };
            faults[names[i]!]!(a, prog);
            faults[names[j]!]!(a, prog);
            const fd = l.fd(`type ${t} ${names[i]}+${names[j]}`, l.d.mapCreate(a));
            if (fd >= 0) l.info("  info", fd);
          }
        }
      }
    });
  });

  it("sizes at the per-type limits (only creates that allocate a few MiB at most)", () => {
    const KMAX = 4 * MiB;
    onBoth((l) => {
      const create = (label: string, a: Parameters<Driver["mapCreate"]>[0]) => {
        const fd = l.fd(label, l.d.mapCreate(a));
        if (fd >= 0) l.info("  info", fd);
      };
      for (const t of [HASH, PERCPU_HASH, HASH_OF_MAPS]) {
        const inner = innerFor(l, t);
        for (const [k, v] of [[4, KMAX - 48 - 5], [4, KMAX - 48 - 4], [KMAX - 50, 1], [KMAX - 49, 1], [4, 32768], [4, 32769], [0xffffffff, 1], [1, 0xffffffff]] as const) {
          create(`type ${t} NO_PREALLOC key ${k} value ${v}`, { mapType: t, keySize: k, valueSize: t === HASH_OF_MAPS ? 4 : v, maxEntries: 1, mapFlags: NO_PREALLOC, innerMapFd: inner });
        }
        for (const max of [2 ** 28 + 1, 2 ** 31, 2 ** 31 + 1, 0xffffffff]) {
          create(`type ${t} max ${max}`, { mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: NO_PREALLOC, innerMapFd: inner });
        }
      }
      for (const t of [LRU_HASH, LRU_PERCPU_HASH]) {
        for (const max of [2 ** 28 + 1, 2 ** 31, 2 ** 31 + 1, 0xffffffff]) {
          create(`type ${t} max ${max}`, { mapType: t, keySize: 4, valueSize: 4, maxEntries: max });
          create(`type ${t} max ${max} NO_COMMON_LRU`, { mapType: t, keySize: 4, valueSize: 4, maxEntries: max, mapFlags: 0x2 });
        }
      }
      for (const v of [32760, 32761, 32768, 32769]) create(`PERCPU_ARRAY value ${v}`, { mapType: PERCPU_ARRAY, keySize: 4, valueSize: v, maxEntries: 1 });
      for (const [k, v] of [[4, 1], [5, 1], [260, 1], [261, 1], [8, KMAX - 280], [8, KMAX - 279], [8, 0xffffffff]] as const) {
        create(`LPM key ${k} value ${v}`, { mapType: LPM, keySize: k, valueSize: v, maxEntries: 1, mapFlags: NO_PREALLOC });
      }
    });
  });

  it("names: every ASCII character, lengths 15 to 17, non-ASCII", () => {
    onBoth((l) => {
      for (let c = 1; c < 128; c++) l.fd(`char ${c}`, l.d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: `a${String.fromCharCode(c)}b` }));
      for (const n of ["", ".", "a".repeat(15), "a".repeat(16), "a".repeat(17), "é", `${"a".repeat(14)}é`, "ÿ"]) {
        const fd = l.fd(`name ${JSON.stringify(n)}`, l.d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapName: n }));
        if (fd >= 0) l.info("  info", fd);
      }
    });
  });
});

withKernel("access modes, freeze and every operation", () => {
  const opens = ["created", "objGet", "objGet RDONLY", "objGet WRONLY", "by id", "by id RDONLY", "by id WRONLY"] as const;
  it.each(TYPES)("type %i: created with each access flag, opened each way, frozen or not", (t) => {
    onBoth((l) => {
      const d = l.d;
      const fs = mountPrivateBpffs(d);
      try {
        const ks = t === LPM ? 8 : 4;
        const vs = isPerCpu(t) ? 8 * d.possibleCpus : 4;
        const inner = innerFor(l, t);
        const prog = t === PROG_ARRAY ? l.keep(d.progLoad({ progType: 1, insns: retProg(0), license: "GPL" })) : 0;
        const key = (i: number) => {
          const k = new Uint8Array(ks);
          if (t === LPM) { k[0] = 32; k[4] = i; } else k[0] = i;
          return k;
        };
        const val = (i: number) => (isFdValue(t) ? u32(t === PROG_ARRAY ? prog : inner) : new Uint8Array(vs).fill(i));
        const tokenSize = isHashFamily(t) ? 4 : ks;
        let pin = 0;
        for (const access of [0, RDONLY, WRONLY, RDONLY_PROG, WRONLY_PROG]) {
          if ((t === PROG_ARRAY || t === ARRAY_OF_MAPS) && access >= RDONLY_PROG) continue;
          for (const open of opens) {
            for (const frozen of [false, true]) {
              l.note("case", `access ${access} ${open} frozen ${frozen}`);
              const created = l.fd("create", d.mapCreate({ ...smallMap(t, access), innerMapFd: inner }));
              if (created < 0) continue;
              const rw = l.keep(d.mapGetFdById(l.id(created), 0));
              l.r("fill 0", d.mapUpdateElem(rw, key(0), val(1)));
              l.r("fill 1", d.mapUpdateElem(rw, key(1), val(2)));
              const path = `${fs.path}/m${pin++}`;
              l.r("pin", d.objPin(created, path));
              const flags = open.endsWith("RDONLY") ? RDONLY : open.endsWith("WRONLY") ? WRONLY : 0;
              const fd = open === "created" ? created
                : l.fd("open", open.startsWith("objGet") ? d.objGet(path, flags) : d.mapGetFdById(l.id(created), flags));
              if (fd < 0) continue;
              if (frozen) l.r("freeze", d.mapFreeze(rw));
              const v = new Uint8Array(vs);
              l.r("lookup", d.mapLookupElem(fd, key(0), v));
              l.note("  value", isFdValue(t) ? String(new DataView(v.buffer).getUint32(0, true) === l.id(t === PROG_ARRAY ? prog : inner)) : hex(v));
              l.r("update", d.mapUpdateElem(fd, key(2), val(3)));
              l.r("update NOEXIST", d.mapUpdateElem(fd, key(0), val(3), 1));
              l.r("delete", d.mapDeleteElem(fd, key(1)));
              l.r("next_key NULL", d.mapGetNextKey(fd, null, new Uint8Array(ks)));
              l.r("next_key", d.mapGetNextKey(fd, key(0), new Uint8Array(ks)));
              l.r("lookup_and_delete", d.mapLookupAndDeleteElem(fd, key(0), v));
              const kb = new Uint8Array(2 * ks), vb = new Uint8Array(2 * vs), out = new Uint8Array(tokenSize);
              l.r("lookup batch", d.mapLookupBatch(fd, null, out, kb, vb, 2));
              l.r("lookup_and_delete batch", d.mapLookupAndDeleteBatch(fd, null, out, kb, vb, 2));
              l.r("update batch", d.mapUpdateBatch(fd, key(3), val(4), 1));
              l.r("delete batch", d.mapDeleteBatch(fd, key(3), 1));
              l.r("update batch count 0", d.mapUpdateBatch(fd, key(3), val(4), 0));
              l.r("delete batch count 0", d.mapDeleteBatch(fd, key(3), 0));
              l.r("lookup batch count 0", d.mapLookupBatch(fd, null, out, kb, vb, 0));
              l.info("info", fd);
              l.r("freeze through it", d.mapFreeze(fd));
              l.r("freeze again", d.mapFreeze(rw));
            }
          }
        }
      } finally {
        fs.dispose();
      }
    });
  });

  it("OBJ_GET file_flags and MAP/PROG_GET_FD_BY_ID open_flags: every bit, with and without RDONLY/WRONLY", () => {
    onBoth((l) => {
      const d = l.d;
      const fs = mountPrivateBpffs(d);
      try {
        const objects = {
          map: l.keep(d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 })),
          "RDONLY map": l.keep(d.mapCreate({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: RDONLY })),
          prog: l.keep(d.progLoad({ progType: 1, insns: retProg(0), license: "GPL" })),
        };
        for (const [what, obj] of Object.entries(objects)) {
          const path = `${fs.path}/${what.replace(" ", "_")}`;
          l.r(`pin ${what}`, d.objPin(obj, path));
          for (let bit = -1; bit < 32; bit++) {
            for (const access of [0, RDONLY, WRONLY, RDONLY | WRONLY]) {
              const flags = ((bit < 0 ? 0 : 2 ** bit) | access) >>> 0;
              const got = l.fd(`${what} objGet 0x${flags.toString(16)}`, d.objGet(path, flags));
              const byId = l.fd(`${what} by id 0x${flags.toString(16)}`, what === "prog" ? d.progGetFdById(l.id(obj), flags) : d.mapGetFdById(l.id(obj), flags));
              for (const fd of what === "prog" ? [] : [got, byId]) {
                if (fd < 0) continue;
                l.r("  lookup", d.mapLookupElem(fd, u32(0), new Uint8Array(4)));
                l.r("  update", d.mapUpdateElem(fd, u32(0), new Uint8Array(4)));
              }
            }
          }
        }
      } finally {
        fs.dispose();
      }
    });
  });
});

withKernel("fd-valued maps where the generator never goes", () => {
  it("an inner map against its template: each size, flag and type changed by one (maps of maps)", () => {
    const templates = [
      smallMap(HASH, 0), smallMap(HASH, NO_PREALLOC), smallMap(HASH, RDONLY), smallMap(HASH, RDONLY_PROG),
      smallMap(ARRAY), smallMap(ARRAY, 0x1000), smallMap(ARRAY, 0x400), smallMap(PERCPU_HASH), smallMap(PERCPU_ARRAY),
      smallMap(LRU_HASH), smallMap(LRU_HASH, 0x2, 3), smallMap(LRU_PERCPU_HASH), smallMap(LPM), smallMap(PROG_ARRAY),
    ];
    onBoth((l) => {
      const d = l.d;
      for (const outer of [ARRAY_OF_MAPS, HASH_OF_MAPS]) {
        for (const t of templates) {
          l.note("template", `${outer} ${JSON.stringify(t)}`);
          const tfd = l.fd("template", d.mapCreate(t));
          if (tfd < 0) continue;
          const o = l.fd("outer", d.mapCreate({ mapType: outer, keySize: 4, valueSize: 4, maxEntries: 24, mapFlags: outer === HASH_OF_MAPS ? ZERO_SEED : 0, innerMapFd: tfd }));
          if (o < 0) continue;
          l.info("outer info", o);
          const variants: Array<[string, typeof t]> = [
            ["same", t], ["max+1", { ...t, maxEntries: t.maxEntries + 1 }], ["value+4", { ...t, valueSize: t.valueSize + 4 }],
            ["key+4", { ...t, keySize: t.keySize + 4 }], ["ZERO_SEED", { ...t, mapFlags: t.mapFlags ^ ZERO_SEED }],
            ["NO_PREALLOC", { ...t, mapFlags: t.mapFlags ^ NO_PREALLOC }], ["RDONLY", { ...t, mapFlags: t.mapFlags ^ RDONLY }],
            ["RDONLY_PROG", { ...t, mapFlags: t.mapFlags ^ RDONLY_PROG }], ["INNER_MAP", { ...t, mapFlags: t.mapFlags ^ 0x1000 }],
            ["INNER_MAP, max+4", { ...t, mapFlags: t.mapFlags ^ 0x1000, maxEntries: t.maxEntries + 4 }],
            ["a HASH", smallMap(HASH, 0)], ["an ARRAY", smallMap(ARRAY)],
          ];
          let slot = 0;
          for (const [what, v] of variants) {
            const fd = d.mapCreate(v);
            if (fd < 0) {
              l.r(`${what}: create`, fd);
              continue;
            }
            l.keep(fd);
            l.r(`${what}: insert`, d.mapUpdateElem(o, u32(slot++), u32(fd)));
          }
          const prog = l.keep(d.progLoad({ progType: 1, insns: retProg(0), license: "GPL" }));
          l.r("a program", d.mapUpdateElem(o, u32(slot++), u32(prog)));
          l.r("itself", d.mapUpdateElem(o, u32(slot++), u32(o)));
          l.r("a closed fd", d.mapUpdateElem(o, u32(0), u32(9999)));
          l.r("past the end", d.mapUpdateElem(o, u32(100), u32(tfd)));
          for (const flags of [1, 2, 3, 4]) {
            l.r(`flags ${flags}, present key`, d.mapUpdateElem(o, u32(0), u32(tfd), flags));
            l.r(`flags ${flags}, closed fd`, d.mapUpdateElem(o, u32(0), u32(9999), flags));
            l.r(`flags ${flags}, new key`, d.mapUpdateElem(o, u32(20), u32(tfd), flags));
          }
          l.r("as a template itself", d.mapCreate({ mapType: outer, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: o }));
        }
      }
    });
  });

  it("PROG_ARRAY: the first program's type and attach type decide, whatever comes after", () => {
    const kinds: Array<[number, number]> = [[1, 0], [2, 0], [3, 0], [4, 0], [6, 0], [6, 37], [8, 0], [8, 1], [9, 0], [5, 0], [7, 0], [13, 0], [14, 0], [17, 0]];
    onBoth((l) => {
      const d = l.d;
      for (const [pt, ea] of kinds) {
        const m = l.fd("prog array", d.mapCreate(smallMap(PROG_ARRAY)));
        const first = l.fd(`first ${pt}/${ea}`, d.progLoad({ progType: pt, insns: retProg(0), license: "GPL", expectedAttachType: ea }));
        if (first < 0) continue;
        l.r("store the first", d.mapUpdateElem(m, u32(0), u32(first)));
        let slot = 1;
        for (const [qt, qa] of kinds) {
          const p = l.fd(`load ${qt}/${qa}`, d.progLoad({ progType: qt, insns: retProg(0), license: "GPL", expectedAttachType: qa }));
          if (p < 0) continue;
          l.r(`store ${qt}/${qa}`, d.mapUpdateElem(m, u32(slot % 4), u32(p)));
          l.r(`store ${qt}/${qa} EXIST`, d.mapUpdateElem(m, u32(slot % 4), u32(p), 2));
          slot++;
        }
        l.r("delete", d.mapDeleteElem(m, u32(0)));
        l.r("delete again", d.mapDeleteElem(m, u32(0)));
        l.r("delete past the end", d.mapDeleteElem(m, u32(9)));
        l.r("freeze", d.mapFreeze(m));
        l.r("store when frozen", d.mapUpdateElem(m, u32(1), u32(first)));
      }
    });
  });
});

withKernel("keys, flags and tokens at their edges", () => {
  it("arrays: u32-edge indexes, flags past u32, batch tokens past the end", () => {
    onBoth((l) => {
      const d = l.d;
      for (const t of [ARRAY, PERCPU_ARRAY, PROG_ARRAY, ARRAY_OF_MAPS]) {
        const vs = isPerCpu(t) ? 8 * d.possibleCpus : 4;
        const inner = innerFor(l, t);
        const prog = t === PROG_ARRAY ? l.keep(d.progLoad({ progType: 1, insns: retProg(0), license: "GPL" })) : 0;
        const m = l.fd(`type ${t}`, d.mapCreate({ ...smallMap(t), innerMapFd: inner }));
        const val = t === PROG_ARRAY ? u32(prog) : t === ARRAY_OF_MAPS ? u32(inner) : new Uint8Array(vs).fill(7);
        for (const i of [0, 3, 4, 5, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) {
          l.r(`update ${i}`, d.mapUpdateElem(m, u32(i), val));
          l.r(`lookup ${i}`, d.mapLookupElem(m, u32(i), new Uint8Array(vs)));
          const next = new Uint8Array(4);
          l.r(`next_key ${i}`, d.mapGetNextKey(m, u32(i), next));
          l.note("  next", hex(next));
          l.r(`delete ${i}`, d.mapDeleteElem(m, u32(i)));
          const out = new Uint8Array(4).fill(0xaa), keys = new Uint8Array(8).fill(0xaa);
          l.r(`lookup batch from ${i}`, d.mapLookupBatch(m, u32(i), out, keys, new Uint8Array(2 * vs), 2));
          l.note("  out", `${hex(out)} ${hex(keys)}`);
          l.r(`update batch ${i}`, d.mapUpdateBatch(m, u32(i), val, 1));
          l.r(`delete batch ${i}`, d.mapDeleteBatch(m, u32(i), 1));
        }
        for (const flags of [1, 2, 3, 4, 8, 2 ** 32, 2 ** 32 + 1, 2 ** 40]) {
          l.r(`update flags ${flags}`, d.mapUpdateElem(m, u32(1), val, flags));
          l.r(`update past the end, flags ${flags}`, d.mapUpdateElem(m, u32(9), val, flags));
          l.r(`update batch elem_flags ${flags}`, d.mapUpdateBatch(m, u32(1), val, 1, flags));
          l.r(`update batch count 0, elem_flags ${flags}`, d.mapUpdateBatch(m, u32(1), val, 0, flags));
          l.r(`lookup flags ${flags}`, d.mapLookupElem(m, u32(1), new Uint8Array(vs), flags));
        }
      }
    });
  });

  it("the hash family: flags past u32, bucket tokens past n_buckets and from another map", () => {
    onBoth((l) => {
      const d = l.d;
      for (const t of [HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS]) {
        const vs = isPerCpu(t) ? 8 * d.possibleCpus : 4;
        const inner = innerFor(l, t);
        const m = l.fd(`type ${t}`, d.mapCreate({ ...smallMap(t, 0, 5), innerMapFd: inner }));
        const other = l.fd("another map", d.mapCreate({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 64, mapFlags: ZERO_SEED }));
        const val = t === HASH_OF_MAPS ? u32(inner) : new Uint8Array(vs).fill(7);
        for (let i = 0; i < 5; i++) l.r(`fill ${i}`, d.mapUpdateElem(m, u32(i * 77), val));
        for (const flags of [3, 4, 8, 2 ** 32, 2 ** 32 + 1]) {
          l.r(`update flags ${flags}`, d.mapUpdateElem(m, u32(77), val, flags));
          l.r(`update batch elem_flags ${flags}`, d.mapUpdateBatch(m, u32(1), val, 1, flags));
          l.r(`lookup flags ${flags}`, d.mapLookupElem(m, u32(77), new Uint8Array(vs), flags));
        }
        const token = new Uint8Array(4);
        l.r("the other map's batch", d.mapLookupBatch(other, null, token, new Uint8Array(4), new Uint8Array(4), 1));
        for (const tok of [readToken(token), 1, 7, 8, 9, 63, 64, 0x80000000, 0xffffffff]) {
          for (const count of [8, 1, 0]) {
            const out = new Uint8Array(4).fill(0xaa), keys = new Uint8Array(32).fill(0xaa);
            l.r(`lookup batch from ${tok}, count ${count}`, d.mapLookupBatch(m, u32(tok), out, keys, new Uint8Array(8 * vs), count));
            l.note("  out", `${hex(out)} ${hex(keys)}`);
          }
        }
        const keys = new Uint8Array(12);
        keys.set(u32(0), 0);
        keys.set(u32(999), 4);
        keys.set(u32(77), 8);
        l.r("delete batch, a missing key in the middle", d.mapDeleteBatch(m, keys, 3));
      }
    });
  });

  it("LPM: prefix lengths at the u32 edges, 260-byte keys", () => {
    onBoth((l) => {
      const d = l.d;
      const key = (prefixlen: number, ...data: number[]) => {
        const k = new Uint8Array(8);
        new DataView(k.buffer).setUint32(0, prefixlen >>> 0, true);
        k.set(data, 4);
        return k;
      };
      const m = l.fd("create", d.mapCreate(smallMap(LPM)));
      for (const p of [0, 1, 31, 32, 33, 64, 0x7fffffff, 0x80000000, 0xffffffff]) {
        const next = new Uint8Array(8).fill(0xaa);
        l.r(`update /${p}`, d.mapUpdateElem(m, key(p, 10, 0, 0, 1), u32(p)));
        l.r(`lookup /${p}`, d.mapLookupElem(m, key(p, 10, 0, 0, 1), new Uint8Array(4)));
        l.r(`next_key /${p}`, d.mapGetNextKey(m, key(p, 10, 0, 0, 1), next));
        l.note("  next", hex(next));
        l.r(`delete /${p}`, d.mapDeleteElem(m, key(p, 10, 0, 0, 1)));
        const out = new Uint8Array(8).fill(0xaa), keys = new Uint8Array(32).fill(0xaa);
        l.r(`lookup batch from /${p}`, d.mapLookupBatch(m, key(p, 10, 0, 0, 1), out, keys, new Uint8Array(16), 4));
        l.note("  out", `${hex(out)} ${hex(keys)}`);
        l.r(`delete batch /${p}`, d.mapDeleteBatch(m, key(p, 10, 0, 0, 1), 1));
      }
      const big = l.fd("260-byte keys", d.mapCreate({ mapType: LPM, keySize: 260, valueSize: 1, maxEntries: 3, mapFlags: NO_PREALLOC }));
      const k = new Uint8Array(260).fill(0xab);
      for (const p of [2048, 2049, 1000]) {
        new DataView(k.buffer).setUint32(0, p, true);
        l.r(`update /${p}`, d.mapUpdateElem(big, k, new Uint8Array([1])));
      }
      const first = new Uint8Array(260);
      l.r("next_key NULL", d.mapGetNextKey(big, null, first));
      l.note("  first", hex(first.subarray(0, 8)));
    });
  });

  it("OBJ_GET_INFO_BY_FD: buffers of every length up to past a page", () => {
    onBoth((l) => {
      const d = l.d;
      const m = l.fd("map", d.mapCreate({ mapType: LRU_HASH, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: 0x2 | ZERO_SEED | RDONLY_PROG, mapName: "n.a_1" }));
      const p = l.fd("prog", d.progLoad({ progType: 1, insns: retProg(0), license: "GPL", progName: "pp" }));
      for (const len of [0, 1, 4, 8, 40, 80, 87, 88, 89, 96, 104, 105, 128, 4096, 4097]) {
        const b = new Uint8Array(len);
        l.r(`map info ${len}`, d.objGetInfoByFd(m, b));
        if (len >= 8) b.fill(0, 4, 8);
        l.note("  bytes", hex(b.subarray(0, 128)));
        l.r(`prog info ${len}`, d.objGetInfoByFd(p, new Uint8Array(len)));
      }
    });
  });
});

function readToken(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
}
