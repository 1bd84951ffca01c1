// Who sees a MapMemory's writes: every mapping of the map, in this process or another (the same
// pages), and lookup; not a withCache() cache, which keeps what update() wrote, as it does when a
// program writes. The other process runs dist/: `npm test` builds it first; after an edit, a bare
// vitest run needs `pnpm exec tsc -b` before.
import { execFileSync } from "node:child_process";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BPF_F_MMAPABLE, BPF_MAP_TYPE_ARRAY, u32, u64, type MapSpec } from "@bpfkit/core";
import { kernelUnderTest } from "../../testkit/src/drivers.js";
import { eachDriver, makeEnv } from "./support/env.js";

const spec = (name: string): MapSpec<number, bigint> => ({ name, type: BPF_MAP_TYPE_ARRAY, key: u32, value: u64, maxEntries: 4, flags: BPF_F_MMAPABLE });
const child = new URL("./support/mmap-child.mjs", import.meta.url);

eachDriver("MapMemory: one map's pages, shared", (get) => {
  it("two memory() calls are two mappings of the same pages, each closed on its own", () => {
    const env = get();
    const m = env.map(spec("mms_two"));
    m.openOrCreate();
    using a = m.memory();
    const b = m.memory();
    a.store(2, 7n);
    expect(b.load(2)).toBe(7n);
    b.close();
    a.store(2, 8n);
    expect([a.isOpen(), b.isOpen(), m.lookup(2)]).toEqual([true, false, 8n]);
  });

  it("a second Bpf's memory of the pin sees the first's writes and the reverse", () => {
    const env = get();
    const m = env.map(spec("mms_pin"));
    m.openOrCreate();
    const o = env.track(env.otherBpf().openMap(m.path(), { key: u32, value: u64 }));
    using mine = m.memory();
    using theirs = o.memory();
    mine.store(0, 1n);
    theirs.store(3, 2n);
    expect([theirs.load(0), mine.load(3)]).toEqual([1n, 2n]);
  });

  it("writes through memory bypass a withCache() cache: lookup reads them, the cache keeps update()'s value", () => {
    const env = get();
    const m = env.map(spec("mms_cache")).withCache();
    m.openOrCreate();
    m.update(0, 1n);
    using mem = m.memory();
    mem.store(0, 2n);
    expect(m.lookup(0)).toBe(2n);
    expect(m.getModel().cache!.map((e) => [e.key, e.value])).toEqual([["0", "1"]]);
    expect(m.resolveErrorsNow().resolved).toBe(0);
    expect(mem.load(0)).toBe(2n);
  });
});

const kernel = kernelUnderTest();
describe.skipIf(kernel.unavailable !== undefined)("MapMemory: another process's mapping [kernel]", () => {
  let current: ReturnType<typeof makeEnv> | undefined;
  beforeEach(() => {
    current = makeEnv(kernel);
  });
  afterEach(() => {
    current?.dispose();
    current = undefined;
  });

  it("another process maps the pin: the same pages, and its freeze is EBUSY under this one's writable mapping", () => {
    const env = current!.env;
    const m = env.map(spec("mms_proc"));
    m.openOrCreate();
    using mem = m.memory();
    mem.store(0, 41n);
    const out = JSON.parse(execFileSync(process.execPath, [child.pathname, JSON.stringify({ path: m.path() })], { encoding: "utf8" })) as Record<string, string>;
    expect(out.seen).toBe("41");
    expect(mem.load(1)).toBe(42n);
    expect(out.freeze).toBe("EBUSY: freeze mms_proc: device or resource busy (a writable mapping of its memory exists " +
      "(memory(), here or in another process): close it, or map with { writable: false }, before freezing)");
  });
});
