// algorithm: "batch" on a map type without BPF_MAP_LOOKUP_BATCH (kernel-maps.md §10.3) asks
// the kernel anyway and reports its refusal; it never walks in its place ("auto" does). Every
// errno with which a kernel says "no batch here" makes "auto" walk: ENOTSUPP, EOPNOTSUPP, and
// the EINVAL or ENOSYS of a kernel without the command (injected on the simulator).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, BpfError, Errno, MapType, u32 } from "@bpfkit/core";
import type { SimDriver } from "@bpfkit/driver-wasm-sim";
import { simUnderTest } from "../../testkit/src/drivers.js";
import { eachDriver, makeEnv } from "./support/env.js";

eachDriver("dump algorithm choice", (get) => {
  it("a PROG_ARRAY dumped with algorithm \"batch\" throws ENOTSUPP; \"auto\" walks it", () => {
    const env = get();
    const m = env.map({ name: "calls", type: MapType.ProgArray, key: u32, value: u32, maxEntries: 4 });
    m.openOrCreateUnpinned();
    let err: unknown;
    try {
      m.dumpWithCallback(() => {}, { algorithm: "batch" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).code).toBe("ENOTSUPP");
    expect((err as Error).message).toMatch(/^dumpWithCallback calls: the kernel offers no BPF_MAP_LOOKUP_BATCH for this map type/);
    expect(m.dumpWithCallback(() => {})).toMatchObject({ algorithm: "walk", completed: true, delivered: 0 });
  });
});

describe("dump algorithm choice on a kernel without LOOKUP_BATCH [sim]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => { current = makeEnv(simUnderTest()); });
  afterEach(() => { current?.dispose(); current = undefined; });

  for (const errno of [Errno.ENOTSUPP, Errno.EOPNOTSUPP, Errno.EINVAL, Errno.ENOSYS]) {
    it(`"auto" walks when the first LOOKUP_BATCH answers errno ${errno}`, () => {
      const env = current!.env;
      const m = env.map({ name: `nobatch_${errno}`, type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 8 });
      m.openOrCreate();
      for (let k = 0; k < 3; k++) m.update(k, k);
      (env.driver as SimDriver).faults.inject("mapLookupBatch", { errno, count: 1 });
      const seen: number[] = [];
      expect(m.dumpWithCallback((k) => seen.push(k))).toMatchObject({ algorithm: "walk", completed: true });
      expect(seen.sort()).toEqual([0, 1, 2]);
    });
  }

  it("once a dump has used LOOKUP_BATCH, a later EINVAL is an error, not a reason to walk", () => {
    const env = current!.env;
    const m = env.map({ name: "hadbatch", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 8 });
    m.openOrCreate();
    m.update(1, 1);
    expect(m.dumpWithCallback(() => {})).toMatchObject({ algorithm: "batch", completed: true });
    (env.driver as SimDriver).faults.inject("mapLookupBatch", { errno: Errno.EINVAL, count: 1 });
    expect(() => m.dumpWithCallback(() => {})).toThrow("dumpWithCallback (lookup batch) hadbatch: invalid argument");
    expect(m.dumpWithCallback(() => {})).toMatchObject({ algorithm: "batch", completed: true });
  });
});
