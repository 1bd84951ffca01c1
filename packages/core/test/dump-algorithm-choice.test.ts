// algorithm: "batch" on a map type without BPF_MAP_LOOKUP_BATCH (kernel-maps.md §10.3) asks
// the kernel anyway and reports its refusal; it never walks in its place ("auto" does).
import { expect, it } from "vitest";
import { BpfError, MapType, u32 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

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
