// deepEquals is the seed's DeepEquals: name, path, non-persistence and MapInfo, and the codecs
// (by identity) when both maps have real ones; endParallelMode only ends a parallel mode.
import { expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, bytes, u32 } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";

eachDriver("BpfMap deepEquals", (get) => {
  it("differs on non-persistence, flags, sizes or codecs; equal specs are equal", () => {
    const env = get();
    const base = env.map(testMapSpec());
    expect(base.deepEquals(env.map(testMapSpec()))).toBe(true);
    expect(base.deepEquals(env.map(testMapSpec()).withNonPersistent())).toBe(false);
    expect(base.deepEquals(env.map({ ...testMapSpec(), flags: 0 }))).toBe(false);
    expect(base.deepEquals(env.map({ ...testMapSpec(), maxEntries: 17 }))).toBe(false);
    expect(base.deepEquals(env.map({ ...testMapSpec(), name: "cilium_other" }))).toBe(false);
    // Same sizes, another codec object: the seed's reflect.DeepEqual sees another type.
    const sizes = { name: "cilium_test", type: BPF_MAP_TYPE_HASH, maxEntries: 16, flags: BPF_F_NO_PREALLOC };
    expect(base.deepEquals(env.map({ ...sizes, key: bytes(4), value: u32 }))).toBe(false);
    expect(base.deepEquals(env.map({ ...sizes, key: u32, value: bytes(4) }))).toBe(false);
    expect(base.deepEquals(env.map({ ...sizes, key: u32, value: u32 }))).toBe(true);
    expect(base.deepEquals({} as never)).toBe(false);
  });

  it("the path counts: a map whose path was resolved differs from one whose path was not", () => {
    const env = get();
    const a = env.map(testMapSpec());
    const b = env.map(testMapSpec());
    a.path();
    expect(a.deepEquals(b)).toBe(false);
    b.path();
    expect(a.deepEquals(b)).toBe(true);
  });

  it("openMap's codecless view equals the map that made it, but not one with other flags", () => {
    const env = get();
    const m = env.map({ name: "cilium_eq", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4, flags: BPF_F_NO_PREALLOC });
    m.openOrCreate();
    const raw = env.track(env.bpf.openMap("cilium_eq"));
    expect(raw.deepEquals(m)).toBe(true);
    const other = env.map({ name: "cilium_eq", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 5, flags: BPF_F_NO_PREALLOC });
    other.path();
    expect(raw.deepEquals(other)).toBe(false);
  });

  it("endParallelMode on a map that is not in parallel mode does nothing, and logs nothing", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.endParallelMode();
    expect(m.inParallelMode).toBe(false);
    expect(env.logs.some((r) => r.msg === "End of parallel mode")).toBe(false);
  });
});
