// Every public entry of core that takes an options or spec object refuses a key its type does
// not declare, the way TypeScript refuses it in a literal: a TypeError naming the operation, the
// object and the key, thrown before the driver is called (no fd, no map, no pin, no mkdir).
import { expect, it } from "vitest";
import {
  BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH, BpfMap, createBpf, newPerCpuMap, silentLogger, u32, u64, wrapDriver,
  type Bpf, type Driver,
} from "@bpfkit/core";
import { eachDriver, testMapSpec, type Env } from "./support/env.js";
import { thrown } from "./support/thrown.js";

/** `d` with every method call, its host's too, recorded in `calls`. */
function spied(d: Driver): { driver: Driver; calls: string[] } {
  const calls: string[] = [];
  const record = <T extends object>(target: T, prefix: string, extra?: (p: string | symbol) => unknown): T =>
    new Proxy(target, {
      get(t, p) {
        const special = extra?.(p);
        if (special !== undefined) return special;
        const v = Reflect.get(t, p, t) as unknown;
        if (typeof v !== "function") return v;
        return (...args: unknown[]) => {
          calls.push(`${prefix}${String(p)}`);
          return (v as (...a: unknown[]) => unknown).apply(t, args);
        };
      },
    });
  const host = record(d.host, "host.");
  return { driver: record(d, "", (p) => (p === "host" ? host : undefined)), calls };
}

/** A Bpf on `env`'s driver and root whose driver calls are recorded. */
function spiedBpf(env: Env): { bpf: Bpf; calls: string[] } {
  const { driver, calls } = spied(env.driver);
  return { bpf: createBpf({ driver, mapRoot: env.root, mapPrefix: "tc/globals", logger: silentLogger }), calls };
}

/** Every path under the map root, as the driver lists it (pins and directories). */
function tree(env: Env, dir = env.root): string[] {
  const names = env.driver.host.readdir(dir);
  if (typeof names === "number") return [];
  return names.sort().flatMap((n) => {
    const p = `${dir}/${n}`;
    return [p, ...tree(env, p)];
  });
}

/** `f` throws this exact TypeError. */
function expectTypeError(f: () => unknown, message: string): void {
  const e = thrown(f);
  expect(e).toBeInstanceOf(TypeError);
  expect(e.message).toBe(message);
}

eachDriver("unknown option keys", (get) => {
  it("createBpf: a misspelt option, before the driver is asked anything", () => {
    const env = get();
    const { driver, calls } = spied(env.driver);
    expectTypeError(() => createBpf({ driver, maproot: env.root } as never),
      'createBpf: unknown options key "maproot" (did you mean "mapRoot"?)');
    expectTypeError(() => createBpf({ driver, mapRoot: env.root, preallocateMaps: true } as never),
      'createBpf: unknown options key "preallocateMaps" (did you mean "preAllocateMaps"?)');
    expect(calls).toEqual([]);
  });

  it("newMap and new BpfMap: a misspelt spec key is refused, and no map object exists", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const before = tree(env);
    expectTypeError(() => bpf.newMap({ ...testMapSpec("cilium_ct4"), kernelname: "x" } as never),
      'newMap cilium_ct4: unknown spec key "kernelname" (did you mean "kernelName"?)');
    // undefined is still a key the caller wrote.
    expectTypeError(() => bpf.newMap({ ...testMapSpec("cilium_ct4"), innerID: undefined } as never),
      'newMap cilium_ct4: unknown spec key "innerID" (did you mean "innerId"?)');
    expectTypeError(() => new BpfMap(bpf, { ...testMapSpec("cilium_ct4"), dumpparser: () => undefined } as never),
      'newMap cilium_ct4: unknown spec key "dumpparser" (did you mean "dumpParser"?)');
    // Without a usable name the error names the operation alone.
    expectTypeError(() => bpf.newMap({ nmae: "cilium_ct4", type: BPF_MAP_TYPE_HASH, key: u32, value: u32, maxEntries: 4 } as never),
      'newMap: unknown spec key "nmae" (did you mean "name"?)');
    expect(bpf.getMap("cilium_ct4")).toBeUndefined();
    expect(calls).toEqual([]);
    expect(tree(env)).toEqual(before);
  });

  it("newPerCpuHashMap and newPerCpuMap: a misspelt key, and newPerCpuHashMap's own type", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const spec = { name: "cilium_pcpu", key: u32, value: u64, maxEntries: 4 };
    expectTypeError(() => bpf.newPerCpuHashMap({ ...spec, maxentries: 8 } as never),
      'newPerCpuHashMap cilium_pcpu: unknown spec key "maxentries" (did you mean "maxEntries"?)');
    // It sets the type itself: a type passed to it was silently replaced.
    expectTypeError(() => bpf.newPerCpuHashMap({ ...spec, type: BPF_MAP_TYPE_PERCPU_HASH } as never),
      'newPerCpuHashMap cilium_pcpu: unknown spec key "type" (known: name, key, value, maxEntries, flags, innerId, dumpParser, kernelName, btf)');
    expectTypeError(() => newPerCpuMap(bpf, { ...spec, kernalName: "pcpu" } as never),
      'newPerCpuMap cilium_pcpu: unknown spec key "kernalName" (did you mean "kernelName"?)');
    // A misspelt value is the typo it is, not "value must be a Codec".
    const { value, ...noValue } = spec;
    expectTypeError(() => newPerCpuMap(bpf, { ...noValue, type: BPF_MAP_TYPE_PERCPU_HASH, valeu: value } as never),
      'newPerCpuMap cilium_pcpu: unknown spec key "valeu" (did you mean "value"?)');
    expectTypeError(() => bpf.newPerCpuHashMap({ ...noValue, valeu: value } as never),
      'newPerCpuHashMap cilium_pcpu: unknown spec key "valeu" (did you mean "value"?)');
    expectTypeError(() => newPerCpuMap(bpf, null as never), "newPerCpuMap: spec must be an object");
    expectTypeError(() => bpf.newPerCpuHashMap(null as never), "newPerCpuHashMap: spec must be an object");
    expect(bpf.getMap("cilium_pcpu")).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it("createMap and openOrCreateMap: a misspelt option creates, pins and mkdirs nothing", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const before = tree(env);
    const path = `${env.root}/tc/globals/cilium_raw`;
    expectTypeError(() => bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, path, { kernelname: "raw" } as never),
      `createMap ${path}: unknown options key "kernelname" (did you mean "kernelName"?)`);
    expectTypeError(() => bpf.openOrCreateMap(path, BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0, true, { name: "raw" } as never),
      `openOrCreateMap ${path}: unknown options key "name" (known: kernelName, mapExtra, btf)`);
    expect(calls).toEqual([]);
    expect(tree(env)).toEqual(before);
  });

  it("openMap and openMapById: misspelt codecs open no fd", () => {
    const env = get();
    const m = env.map(testMapSpec("cilium_pinned"));
    m.openOrCreate();
    const id = env.bpf.getMapInfoByFd(m.getFd()).id;
    const { bpf, calls } = spiedBpf(env);
    expectTypeError(() => bpf.openMap("cilium_pinned", { key: u32, value: u32, dumpparser: undefined } as never),
      'openMap cilium_pinned: unknown codecs key "dumpparser" (did you mean "dumpParser"?)');
    expectTypeError(() => bpf.openMapById(id, { key: u32, val: u32 } as never),
      `openMapById id:${id}: unknown codecs key "val" (known: key, value, dumpParser)`);
    expect(calls).toEqual([]);
    expect(bpf.getOpenMaps()).toEqual([]);
  });

  it("the dumps: a misspelt option reads nothing (a closed map is not even opened)", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const m = env.track(bpf.newMap(testMapSpec("cilium_dump")));
    m.openOrCreate();
    m.update(1, 2);
    m.close();
    calls.length = 0;
    const bad = { algoritm: "walk" } as never;
    const msg = (op: string) => `${op} cilium_dump: unknown options key "algoritm" (did you mean "algorithm"?)`;
    expectTypeError(() => m.dumpWithCallback(() => undefined, bad), msg("dumpWithCallback"));
    expectTypeError(() => m.dumpWithCallbackIfExists(() => undefined, bad), msg("dumpWithCallbackIfExists"));
    expectTypeError(() => m.dumpReliablyWithCallback(() => undefined, { } as never, bad), msg("dumpReliablyWithCallback"));
    const out = new Map<string, string[]>();
    expectTypeError(() => m.dump(out, bad), msg("dump"));
    expectTypeError(() => m.dumpIfExists(out, bad), msg("dumpIfExists"));
    expectTypeError(() => m.dump(out, { batchsize: 4 } as never),
      'dump cilium_dump: unknown options key "batchsize" (did you mean "batchSize"?)');
    expect(out.size).toBe(0);
    expect(m.isOpen()).toBe(false);
    expect(calls).toEqual([]);
  });

  it("entries and keys throw at the call, not at the first next()", () => {
    const env = get();
    const { bpf, calls } = spiedBpf(env);
    const m = env.track(bpf.newMap(testMapSpec("cilium_iter")));
    expectTypeError(() => m.entries({ maxrestarts: 1 } as never),
      'entries cilium_iter: unknown options key "maxrestarts" (did you mean "maxRestarts"?)');
    expectTypeError(() => m.keys({ maxRestart: 1 } as never),
      'keys cilium_iter: unknown options key "maxRestart" (did you mean "maxRestarts"?)');
    expect(m.isOpen()).toBe(false);
    expect(calls).toEqual([]);
  });

  it("withCache: a misspelt option installs no cache", () => {
    const env = get();
    const m = env.map(testMapSpec("cilium_cached"));
    expectTypeError(() => m.withCache({ clok: undefined } as never),
      'withCache cilium_cached: unknown options key "clok" (did you mean "clock"?)');
    expect(m.getModel().cache).toBeUndefined();
  });

  it("wrapDriver: a misspelt override would have left the inner method in place", () => {
    const env = get();
    const mapCreate = () => -1;
    expectTypeError(() => wrapDriver(env.driver, { mapcreate: mapCreate } as never),
      'wrapDriver: unknown overrides key "mapcreate" (did you mean "mapCreate"?)');
    expectTypeError(() => wrapDriver(env.driver, { host: { mkdirall: () => 0 } } as never),
      'wrapDriver: unknown host override key "mkdirall" (did you mean "mkdirAll"?)');
    expect(wrapDriver(env.driver, { mapCreate, kind: "x", host: { rename: null } }).mapCreate({} as never)).toBe(-1);
    expectTypeError(() => wrapDriver(env.driver, null as never), "wrapDriver: overrides must be an object");
  });
});
