// A differential of BTF_LOAD and MAP_CREATE with BTF, the simulator against the kernel. The
// properties: for every blob — random type graphs of every kind (references to any id, loops,
// forward references, bad names and sizes) and mutations of valid blobs — btfLoad answers the
// same errno and writes the same level-1 log on both; and for random map values with special
// fields (spin locks, timers, list heads and nodes, kptrs of each tag, misplaced or mis-sized
// ones, `contains:` tags) the load and then MAP_CREATE of a random map type answer the same errno.
// Runs where the kernel driver has the BTF methods.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { btfBlob, btfMutations, xorshift32 as prng } from "../src/conformance/cases/btf-checks.js";
import { btfInfo as info } from "../src/conformance/btf-blob.js";
import { kernelUnderTest } from "../src/drivers.js";

const kernel = kernelUnderTest();

const NAMES = ["a", "b", "int", "s", "bpf_spin_lock", "bpf_timer", "kptr", "contains:s:a", ".sec", "t"];
const STRINGS = (() => {
  let text = "\0";
  const off: number[] = [0];
  for (const n of NAMES) {
    off.push(text.length);
    text += `${n}\0`;
  }
  return { bytes: new TextEncoder().encode(text), off };
})();

/** A random type section of 1-10 types of any kind whose references point anywhere (past the end too). */
function randomGraph(r: () => number): Uint8Array {
  const nm = () => STRINGS.off[r() % STRINGS.off.length]!;
  const n = 1 + (r() % 10);
  const id = () => r() % (n + 2);
  const w: number[] = [];
  for (let i = 0; i < n; i++) {
    const k = 1 + (r() % 19);
    const kf = r() % 8 === 0;
    switch (k) {
      case 1: { const sz = [1, 2, 4, 8, 16][r() % 5]!; w.push(nm(), info(1, 0, kf), sz, ((r() % 3 === 0 ? 1 : 0) << 24) | (sz * 8)); break; }
      case 3: w.push(0, info(3), 0, id(), id(), r() % 5); break;
      case 4: case 5: {
        const v = r() % 4;
        w.push(nm(), info(k, v, kf), 4 * (r() % 8));
        for (let j = 0; j < v; j++) w.push(nm(), id(), (k === 5 ? 0 : 32 * j) | (kf && r() % 2 ? (r() % 40) << 24 : 0));
        break;
      }
      case 6: { const v = r() % 3; w.push(nm(), info(6, v, kf), [1, 2, 4, 8, 3][r() % 5]!); for (let j = 0; j < v; j++) w.push(nm(), r()); break; }
      case 19: { const v = r() % 3; w.push(nm(), info(19, v, kf), 8); for (let j = 0; j < v; j++) w.push(nm(), r(), r()); break; }
      case 13: { const v = r() % 3; w.push(0, info(13, v), id()); for (let j = 0; j < v; j++) w.push(nm(), r() % 4 === 0 ? 0 : id()); break; }
      case 14: w.push(nm(), info(14), id(), r() % 3); break;
      case 15: { const v = r() % 3; w.push(STRINGS.off[9]!, info(15, v), 4 + 4 * (r() % 8)); for (let j = 0; j < v; j++) w.push(id(), 4 * j, 4); break; }
      case 16: w.push(nm(), info(16), [2, 4, 8, 12, 16, 3][r() % 6]!); break;
      case 17: w.push(nm(), info(17), id(), (r() % 4) - 1); break;
      case 12: w.push(nm(), info(12, r() % 3), id()); break;
      case 7: w.push(nm(), info(7, 0, kf), r() % 6 === 0 ? 1 : 0); break;
      default: w.push(r() % 3 === 0 ? nm() : 0, info(k, 0, kf), id());
    }
  }
  return btfBlob(w, STRINGS.bytes);
}

const FIELD_NAMES = ["int", "long", "bpf_spin_lock", "bpf_res_spin_lock", "bpf_timer", "bpf_wq", "bpf_task_work", "bpf_list_head",
  "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount", "kptr", "kptr_untrusted", "percpu_kptr", "uptr", "val", "node", "n",
  "contains:node:n", "contains:val:x", "a", "x", "k"];
const FIELD_STRINGS = (() => {
  let text = "\0";
  const off: Record<string, number> = {};
  for (const n of FIELD_NAMES) {
    off[n] = text.length;
    text += `${n}\0`;
  }
  return { bytes: new TextEncoder().encode(text), off };
})();
const SPECIAL: readonly (readonly [string, number])[] = [
  ["bpf_spin_lock", 4], ["bpf_res_spin_lock", 4], ["bpf_timer", 16], ["bpf_wq", 16], ["bpf_task_work", 8], ["bpf_list_head", 16],
  ["bpf_list_node", 24], ["bpf_rb_root", 16], ["bpf_rb_node", 32], ["bpf_refcount", 4],
];

/** A BTF whose last struct (`valueId`) is a map value with special fields, and a map to create with it. */
function randomValue(r: () => number): { blob: Uint8Array; valueId: number; valueSize: number; mapType: number; mapFlags: number } {
  const o = FIELD_STRINGS.off as Record<string, number>;
  const w = [o.int!, info(1), 4, (1 << 24) | 32, o.long!, info(1), 8, 64];
  let next = 3;
  const ids: Record<string, number> = {};
  for (const [n, size] of SPECIAL) {
    if (r() % 3 === 0) continue;
    const sz = r() % 6 === 0 ? size + 4 : size;
    w.push(0, info(3), 0, sz % 8 === 0 ? 2 : 1, 1, sz % 8 === 0 ? sz / 8 : sz / 4);
    const arr = next++;
    w.push(o[n]!, info(4, 1), sz, o.x!, arr, 0);
    ids[n] = next++;
  }
  w.push(o.k!, info(4, 1), 4, o.x!, 1, 0);
  const structK = next++;
  w.push(o[["kptr", "kptr_untrusted", "percpu_kptr", "uptr", "x"][r() % 5]!]!, info(18), structK);
  const tag = next++;
  w.push(0, info(2), tag);
  const ptr = next++;
  if (ids.bpf_list_node !== undefined || ids.bpf_rb_node !== undefined) {
    const node = ids.bpf_list_node !== undefined && (r() % 2 === 1 || ids.bpf_rb_node === undefined) ? ids.bpf_list_node : ids.bpf_rb_node!;
    w.push(o.node!, info(4, 2), 40, o.x!, 1, 0, o.n!, node, 64);
    next++;
  }
  const members: number[] = [];
  let at = 0;
  const count = 1 + (r() % 4);
  const names = Object.keys(ids);
  for (let i = 0; i < count; i++) {
    const pick = r() % 5;
    let type = 1, size = 4;
    if (pick <= 2 && names.length > 0) {
      const n = names[r() % names.length]!;
      type = ids[n]!;
      size = SPECIAL.find(([m]) => m === n)![1];
    } else if (pick === 3) {
      type = ptr;
      size = 8;
    }
    if (r() % 5 === 0) at += 2;
    members.push(o.a!, type, at * 8);
    at = (at + size + 3) & ~3;
    if (r() % 2 === 0) at = (at + 7) & ~7;
  }
  const valueSize = (at + 7) & ~7;
  w.push(o.val!, info(4, count), valueSize, ...members);
  const valueId = next++;
  if (r() % 2 === 1) w.push(o[r() % 2 === 1 ? "contains:node:n" : "contains:val:x"]!, info(17), valueId, r() % count);
  return { blob: btfBlob(w, FIELD_STRINGS.bytes), valueId, valueSize, mapType: [1, 2, 5, 6, 9, 10][r() % 6]!, mapFlags: r() % 8 === 0 ? 0x80 : 0 };
}

if (kernel.unavailable !== undefined || typeof kernel.create().btfLoad !== "function") {
  const why = kernel.unavailable ?? "the kernel driver has no btfLoad (the optional BTF methods)";
  describe("BTF_LOAD differential: simulator vs kernel", () => {
    it.skip(`skipped: ${why}`, () => {});
  });
  console.log(`BTF_LOAD differential skipped: ${why}`);
} else {
  describe("BTF_LOAD differential: simulator vs kernel", () => {
    const k = kernel.create();
    const s = createSimDriver();
    const load = (d: typeof k, blob: Uint8Array) => {
      const log = new Uint8Array(65536);
      const r = d.btfLoad!({ btf: blob, logBuf: log, logLevel: 1 });
      if (r >= 0) d.close(r);
      return { errno: r >= 0 ? 0 : -r, log: Buffer.from(log.subarray(0, log.indexOf(0))).toString("latin1") };
    };
    for (const seed of [1, 2, 3]) {
      it(`seed ${seed}: 500 random type graphs and 300 mutations give the same errno and log on both`, () => {
        const r = prng(seed);
        const blobs = [...Array.from({ length: 500 }, () => randomGraph(r)), ...btfMutations(300, seed)];
        const differ: string[] = [];
        blobs.forEach((b, i) => {
          const a = load(k, b), c = load(s, b);
          if (a.errno !== c.errno || a.log !== c.log) {
            differ.push(`#${i} ${Buffer.from(b).toString("hex")}: kernel ${a.errno} sim ${c.errno}\n  kernel log …${a.log.slice(-160)}\n  sim log    …${c.log.slice(-160)}`);
          }
        });
        expect(differ.slice(0, 5), `${differ.length} of ${blobs.length} blobs differ`).toEqual([]);
      });
    }
    it("400 random map values with special fields: the same errno for the load and for MAP_CREATE of a random type", () => {
      const r = prng(11);
      const differ: string[] = [];
      const attempt = (d: typeof k, c: ReturnType<typeof randomValue>) => {
        const b = d.btfLoad!({ btf: c.blob });
        if (b < 0) return `load ${-b}`;
        const m = d.mapCreate({ mapType: c.mapType, keySize: 4, valueSize: c.valueSize, maxEntries: 4, mapFlags: c.mapFlags, btfFd: b, btfKeyTypeId: 1, btfValueTypeId: c.valueId });
        if (m >= 0) d.close(m);
        d.close(b);
        return `create ${m >= 0 ? 0 : -m}`;
      };
      for (let i = 0; i < 400; i++) {
        const c = randomValue(r);
        const a = attempt(k, c), b = attempt(s, c);
        if (a !== b) differ.push(`#${i} type ${c.mapType} flags ${c.mapFlags} ${Buffer.from(c.blob).toString("hex")}: kernel ${a}, sim ${b}`);
      }
      expect(differ.slice(0, 5), `${differ.length} of 400 differ`).toEqual([]);
    });
  });
}
