// API.md §2: the Driver's safety contract. A buffer that is not exactly what the map needs is a
// RangeError thrown before any syscall (the kernel would read or write past it); arguments of
// the wrong type are TypeErrors. Nothing changes in the map when either is thrown.
import { Errno } from "@bpfkit/core";
import { expectBytes, expectEqual, expectList, expectThrows } from "../assert.js";
import { u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, F, HASH, LPM_TRIE, PERCPU_HASH } from "./common.js";

export const safetyCases: ConformanceCase[] = [
  {
    name: "API §2 safety: wrong key or value sizes are RangeErrors and change nothing",
    group: "safety",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 8, valueSize: 16, maxEntries: 4 });
      const k = new Uint8Array(8);
      ctx.put(fd, k, new Uint8Array(16));
      const R = RangeError;
      expectThrows(() => d.mapUpdateElem(fd, new Uint8Array(4), new Uint8Array(16)), R, "update with a 4-byte key (needs 8)");
      expectThrows(() => d.mapUpdateElem(fd, new Uint8Array(9), new Uint8Array(16)), R, "update with a 9-byte key");
      expectThrows(() => d.mapUpdateElem(fd, k, new Uint8Array(8)), R, "update with an 8-byte value (needs 16)");
      expectThrows(() => d.mapUpdateElem(fd, k, new Uint8Array(17)), R, "update with a 17-byte value");
      expectThrows(() => d.mapLookupElem(fd, k, new Uint8Array(15)), R, "lookup into a 15-byte value");
      expectThrows(() => d.mapLookupElem(fd, new Uint8Array(7), new Uint8Array(16)), R, "lookup with a 7-byte key");
      expectThrows(() => d.mapDeleteElem(fd, new Uint8Array(4)), R, "delete with a 4-byte key");
      expectThrows(() => d.mapGetNextKey(fd, null, new Uint8Array(4)), R, "next_key into a 4-byte next key");
      expectThrows(() => d.mapGetNextKey(fd, new Uint8Array(4), new Uint8Array(8)), R, "next_key from a 4-byte key");
      expectThrows(() => d.mapLookupAndDeleteElem(fd, k, new Uint8Array(4)), R, "lookup_and_delete into a 4-byte value");
      // a subarray view of the right length is fine; of the wrong length is not
      const big = new Uint8Array(64);
      expectThrows(() => d.mapLookupElem(fd, big.subarray(0, 6), big.subarray(8, 24)), R, "lookup with a 6-byte key view");
      expectEqual(ctx.walk(fd, 8).length, 1, "keys in the map after the refused calls");
    },
  },
  {
    name: "API §2 safety: the sizes hold for fds from OBJ_GET and GET_FD_BY_ID too",
    group: "safety",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 8, valueSize: 16, maxEntries: 4 });
      const path = ctx.pinPath("s");
      if (d.objPin(fd, path) < 0) throw new Error("pin failed");
      const g = ctx.own(d.objGet(path));
      const byId = ctx.own(d.mapGetFdById(ctx.id(fd)));
      for (const [label, f] of [["OBJ_GET", g], ["GET_FD_BY_ID", byId]] as const) {
        expectThrows(() => d.mapUpdateElem(f, new Uint8Array(4), new Uint8Array(16)), RangeError, `${label} fd: update with a 4-byte key`);
        expectThrows(() => d.mapLookupElem(f, new Uint8Array(8), new Uint8Array(4)), RangeError, `${label} fd: lookup into a 4-byte value`);
      }
    },
  },
  {
    name: "API §2 safety: per-CPU values must be roundUp(value_size, 8) × possibleCpus bytes",
    group: "safety",
    run(ctx) {
      const d = ctx.driver;
      const fd = ctx.create({ mapType: PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      expectThrows(() => d.mapUpdateElem(fd, u32(1), new Uint8Array(4)), RangeError, "update with value_size bytes");
      expectThrows(() => d.mapUpdateElem(fd, u32(1), new Uint8Array(4 * ctx.cpus)), RangeError, "update with value_size × cpus bytes");
      expectThrows(() => d.mapUpdateElem(fd, u32(1), new Uint8Array(8 * ctx.cpus + 8)), RangeError, "update with one slot too many");
      expectThrows(() => d.mapLookupBatch(fd, null, new Uint8Array(4), new Uint8Array(8), new Uint8Array(8 * ctx.cpus), 2), RangeError,
        "lookup batch of 2 with room for one per-CPU value");
      expectList(ctx.walk(fd, 4), [], "nothing inserted");
    },
  },
  {
    name: "API §2 safety: batch buffers must hold count elements, tokens must be the right size",
    group: "safety",
    run(ctx) {
      const d = ctx.driver;
      const R = RangeError;
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 8 });
      expectThrows(() => d.mapLookupBatch(h, null, new Uint8Array(4), new Uint8Array(12), new Uint8Array(16), 4), R, "lookup batch: keys hold 3 of 4");
      expectThrows(() => d.mapLookupBatch(h, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(12), 4), R, "lookup batch: values hold 3 of 4");
      expectThrows(() => d.mapLookupBatch(h, null, new Uint8Array(8), new Uint8Array(16), new Uint8Array(16), 4), R, "lookup batch: an 8-byte hash token");
      expectThrows(() => d.mapLookupBatch(h, new Uint8Array(2), new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4), R, "lookup batch: a 2-byte in_batch");
      expectThrows(() => d.mapLookupAndDeleteBatch(h, null, new Uint8Array(4), new Uint8Array(4), new Uint8Array(16), 4), R, "lookup_and_delete batch: keys hold 1 of 4");
      expectThrows(() => d.mapUpdateBatch(h, new Uint8Array(16), new Uint8Array(12), 4), R, "update batch: values hold 3 of 4");
      expectThrows(() => d.mapUpdateBatch(h, new Uint8Array(12), new Uint8Array(16), 4), R, "update batch: keys hold 3 of 4");
      expectThrows(() => d.mapDeleteBatch(h, new Uint8Array(12), 4), R, "delete batch: keys hold 3 of 4");
      expectList(ctx.walk(h, 4), [], "nothing inserted by the refused batches");
      const lpm = ctx.create({ mapType: LPM_TRIE, keySize: 8, valueSize: 4, maxEntries: 8, mapFlags: F.NO_PREALLOC });
      expectThrows(() => d.mapLookupBatch(lpm, null, new Uint8Array(4), new Uint8Array(32), new Uint8Array(16), 4), R, "LPM lookup batch: a 4-byte token (needs the 8-byte key)");
    },
  },
  {
    name: "API §2 safety: arguments of the wrong type are TypeErrors",
    group: "safety",
    run(ctx) {
      const d = ctx.driver as unknown as Record<string, (...a: unknown[]) => unknown>;
      const fd = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
      const T = TypeError;
      const call = (m: string, ...a: unknown[]) => () => d[m]!.apply(ctx.driver, a);
      expectThrows(call("mapLookupElem", "3", u32(0), new Uint8Array(4)), T, "lookup with fd \"3\"");
      expectThrows(call("mapLookupElem", 1.5, u32(0), new Uint8Array(4)), T, "lookup with fd 1.5");
      expectThrows(call("mapLookupElem", fd, [0, 0, 0, 0], new Uint8Array(4)), T, "lookup with an array key");
      expectThrows(call("mapUpdateElem", fd, u32(0), "abcd"), T, "update with a string value");
      expectThrows(call("mapUpdateElem", fd, u32(0), new Uint8Array(4), "1"), T, "update with flags \"1\"");
      expectThrows(call("mapGetNextKey", fd, null, 7), T, "next_key into a number");
      expectThrows(call("objPin", fd, 42), T, "pin to a number path");
      expectThrows(call("objGet", null), T, "get of a null path");
      expectThrows(call("progGetMapIds", fd, new Uint8Array(4)), T, "map ids into a Uint8Array");
      expectThrows(call("progGetMapIds", fd, [0]), T, "map ids into an array");
      expectThrows(call("mapCreate", { mapType: "hash", keySize: 4, valueSize: 4, maxEntries: 1 }), T, "create with mapType \"hash\"");
      // Required fields are required: a missing one is not sent as 0.
      for (const missing of ["mapType", "keySize", "valueSize", "maxEntries"]) {
        const attr: Record<string, number> = { mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 1 };
        delete attr[missing];
        expectThrows(call("mapCreate", attr), T, `create without ${missing}`);
      }
      const exit0 = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
      expectThrows(call("progLoad", { insns: exit0, license: "GPL" }), T, "prog load without progType");
      expectThrows(call("progLoad", { progType: 1, insns: exit0 }), T, "prog load without a license");
      // inBatch is a buffer or null; undefined is not "start".
      const h = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      expectThrows(call("mapLookupBatch", h, undefined, new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), 1), T, "lookup batch with inBatch undefined");
      expectThrows(call("mapLookupAndDeleteBatch", h, undefined, new Uint8Array(4), new Uint8Array(4), new Uint8Array(4), 1), T, "lookup_and_delete batch with inBatch undefined");
      expectThrows(call("mapLookupBatch", h, null, undefined, new Uint8Array(4), new Uint8Array(4), 1), T, "lookup batch with outBatch undefined");
      expectThrows(call("mapLookupBatch", h, null, new Uint8Array(4), new Uint8Array(4), undefined, 1), T, "lookup batch with values undefined");
      expectThrows(call("mapUpdateBatch", h, u32(1), undefined, 1), T, "update batch with values undefined");
      // A null key or value is not "no buffer": nothing may be sent in its place.
      ctx.put(h, u32(7), u32(77));
      expectThrows(call("mapLookupElem", h, null, new Uint8Array(4)), T, "lookup with a null key");
      expectThrows(call("mapLookupElem", h, u32(7), null), T, "lookup with a null value");
      expectThrows(call("mapUpdateElem", h, null, u32(1)), T, "update with a null key");
      expectThrows(call("mapUpdateElem", h, u32(8), null), T, "update with a null value");
      expectThrows(call("mapDeleteElem", h, null), T, "delete with a null key");
      expectThrows(call("mapLookupAndDeleteElem", h, null, new Uint8Array(4)), T, "lookup_and_delete with a null key");
      expectThrows(call("mapLookupAndDeleteElem", h, u32(7), null), T, "lookup_and_delete with a null value");
      expectThrows(call("mapLookupElem", ctx.closedFd(), null, new Uint8Array(4)), T, "lookup on a closed fd with a null key");
      expectList(ctx.walkU32(h), [7], "keys after the refused calls");
      expectBytes(ctx.get(h, u32(7), 4), u32(77), "key 7's value after the refused calls");
    },
  },
  {
    name: "API §2 safety: a host mkdir mode that is not a u32 is a TypeError or RangeError and creates nothing",
    group: "safety",
    run(ctx) {
      const h = ctx.driver.host as unknown as Record<string, (...a: unknown[]) => unknown>;
      const dir = `${ctx.bpffs()}/mode-check`;
      for (const m of ["mkdir", "mkdirAll"]) {
        expectThrows(() => h[m]!.call(ctx.driver.host, dir, "755"), TypeError, `${m} with mode "755"`);
        expectThrows(() => h[m]!.call(ctx.driver.host, dir, 1.5), TypeError, `${m} with mode 1.5`);
        expectThrows(() => h[m]!.call(ctx.driver.host, dir, Number.NaN), TypeError, `${m} with mode NaN`);
        expectThrows(() => h[m]!.call(ctx.driver.host, dir, -1), RangeError, `${m} with mode -1`);
        expectThrows(() => h[m]!.call(ctx.driver.host, dir, 2 ** 32), RangeError, `${m} with mode 2^32`);
      }
      expectEqual(ctx.driver.host.stat(dir).errno, Errno.ENOENT, "stat of the directory the refused calls named");
    },
  },
  {
    name: "API §2 safety: host.mount data, source or type with a NUL byte, or an empty source or type, is a TypeError and mounts nothing (mount(2) would cut a NUL there)",
    group: "safety",
    run(ctx) {
      const host = ctx.driver.host;
      const dir = `${ctx.bpffs()}/nul-data`;
      expectEqual(host.mkdir(dir, 0o700), 0, "mkdir the target");
      // Mounts on the target only: on the kernel other test files mount and unmount bpffs
      // elsewhere at any moment, so the host's whole count may change between two reads.
      const mounts = () => {
        const m = host.mountInfo();
        return typeof m === "number" ? m : m.filter((x) => x.mountPoint === dir).length;
      };
      expectEqual(mounts(), 0, "mounts on the target before the calls");
      expectThrows(() => host.mount("bpf", dir, "bpf", 0, "mode=0700\0uid=abc"), TypeError, "mount with a NUL in its data");
      expectThrows(() => host.mount("bpf\0x", dir, "bpf"), TypeError, "mount with a NUL in its source");
      expectThrows(() => host.mount("bpf", dir, "bpf\0x"), TypeError, "mount with a NUL in its type");
      expectThrows(() => host.mount("", dir, "bpf"), TypeError, "mount with an empty source");
      expectThrows(() => host.mount("bpf", dir, ""), TypeError, "mount with an empty type");
      expectEqual(mounts(), 0, "mounts on the target after the refused calls");
    },
  },
];
