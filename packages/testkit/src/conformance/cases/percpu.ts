// kernel-maps.md §6: per-CPU values are `roundUp(value_size, 8) × possibleCpus` bytes, one
// 8-byte-aligned slot per possible CPU, padding stored and returned verbatim.
import { expectBytes, expectResult, expectThrows } from "../assert.js";
import { pattern, u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { LRU_PERCPU_HASH, PERCPU_ARRAY, PERCPU_HASH, typeNames } from "./common.js";

function paddingCase(t: number): ConformanceCase {
  return {
    name: `§6 per-CPU ${typeNames[t]}: slots of roundUp(value_size, 8), padding bytes kept (value sizes 1, 3, 4, 8, 12)`,
    group: "percpu",
    run(ctx) {
      for (const vs of [1, 3, 4, 8, 12]) {
        const slot = (vs + 7) & ~7;
        const bytes = slot * ctx.cpus;
        const fd = ctx.create({ mapType: t, keySize: 4, valueSize: vs, maxEntries: 4 });
        const written = pattern(bytes, 0x10);
        expectResult(ctx.driver.mapUpdateElem(fd, u32(1), written), "OK", `value_size ${vs}: update with ${bytes} bytes`);
        const read = new Uint8Array(bytes).fill(0xee);
        expectResult(ctx.driver.mapLookupElem(fd, u32(1), read), "OK", `value_size ${vs}: lookup`);
        expectBytes(read, written, `value_size ${vs}: every CPU's slot, padding included`);
        // A buffer of value_size × cpus (no padding) is the classic bug: a RangeError, never a syscall.
        if (slot !== vs) {
          expectThrows(() => ctx.driver.mapUpdateElem(fd, u32(2), new Uint8Array(vs * ctx.cpus)), RangeError,
            `value_size ${vs}: update with value_size × cpus = ${vs * ctx.cpus} bytes`);
        }
        expectThrows(() => ctx.driver.mapLookupElem(fd, u32(1), new Uint8Array(vs)), RangeError,
          `value_size ${vs}: lookup into value_size = ${vs} bytes`);
        ctx.close(fd);
      }
    },
  };
}

export const perCpuCases: ConformanceCase[] = [
  ...[PERCPU_HASH, LRU_PERCPU_HASH, PERCPU_ARRAY].map(paddingCase),
  {
    name: "§6 per-CPU: CPU i's value sits at offset i × slot; a new PERCPU_ARRAY reads all zeros",
    group: "percpu",
    run(ctx) {
      const fd = ctx.create({ mapType: PERCPU_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
      const v = new Uint8Array(8 * ctx.cpus).fill(0xff);
      expectResult(ctx.driver.mapLookupElem(fd, u32(1), v), "OK", "lookup of a fresh slot");
      expectBytes(v, new Uint8Array(8 * ctx.cpus), "a fresh PERCPU_ARRAY element");
      const w = new Uint8Array(8 * ctx.cpus);
      for (let i = 0; i < ctx.cpus; i++) w.set(u32(100 + i), 8 * i);
      ctx.put(fd, u32(0), w);
      const h = ctx.create({ mapType: PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
      ctx.put(h, u32(7), w);
      for (const m of [fd, h]) {
        const r = ctx.get(m, u32(m === fd ? 0 : 7), 8 * ctx.cpus);
        for (let i = 0; i < ctx.cpus; i++) {
          expectBytes(r.subarray(8 * i, 8 * i + 4), u32(100 + i), `CPU ${i}'s value`);
        }
      }
    },
  },
];
