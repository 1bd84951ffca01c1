// The unknown-key check every public options/spec object goes through: what it refuses, what it
// suggests, and what it leaves to the callers' own type checks.
import { describe, expect, it } from "vitest";
import { assertOptionKeys, iterateMap, optionKeys, struct, u8, u32, type DumpTarget } from "@bpfkit/core";
import { thrown } from "./support/thrown.js";

const KEYS = ["name", "type", "key", "value", "maxEntries", "flags", "innerId", "dumpParser", "kernelName"];

describe("assertOptionKeys", () => {
  it("names the operation, the object and the key, with the case-insensitive match", () => {
    const e = thrown(() => assertOptionKeys({ name: "cilium_ct4", kernelname: "x" }, KEYS, "newMap cilium_ct4", "spec"));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('newMap cilium_ct4: unknown spec key "kernelname" (did you mean "kernelName"?)');
  });

  it("suggests a near key: a dropped letter, a swapped pair, a wrong letter", () => {
    const dump = ["algorithm", "batchSize"];
    expect(thrown(() => assertOptionKeys({ algoritm: "batch" }, dump, "dump m", "options")).message)
      .toBe('dump m: unknown options key "algoritm" (did you mean "algorithm"?)');
    expect(thrown(() => assertOptionKeys({ maxEntires: 1 }, KEYS, "newMap m", "spec")).message).toContain('did you mean "maxEntries"?');
    expect(thrown(() => assertOptionKeys({ batchSise: 1 }, dump, "dump m", "options")).message).toContain('did you mean "batchSize"?');
    expect(thrown(() => assertOptionKeys({ inner_id: 1 }, KEYS, "newMap m", "spec")).message).toContain('did you mean "innerId"?');
  });

  it("lists the known keys when nothing is near", () => {
    expect(thrown(() => assertOptionKeys({ verbose: true }, ["algorithm", "batchSize"], "dump m", "options")).message)
      .toBe('dump m: unknown options key "verbose" (known: algorithm, batchSize)');
    expect(thrown(() => assertOptionKeys({ x: 1 }, [], "f", "options")).message).toBe('f: unknown options key "x" (known: none)');
    // A short key only gets a suggestion one edit away: "ab" is not "a typo of" "key".
    expect(thrown(() => assertOptionKeys({ ab: 1 }, ["key"], "f", "spec")).message).toContain("(known: key)");
    // Four letters are still short; five get two edits.
    expect(thrown(() => assertOptionKeys({ sexx: 1 }, ["seed"], "f", "options")).message).toContain("(known: seed)");
    expect(thrown(() => assertOptionKeys({ seexx: 1 }, ["seeds"], "f", "options")).message).toContain('did you mean "seeds"?');
    // Two edits that change the first letter suggest nothing: here it would be the opposite.
    expect(thrown(() => assertOptionKeys({ unprivileged: true }, ["privileged", "seed"], "f", "options")).message)
      .toBe('f: unknown options key "unprivileged" (known: privileged, seed)');
  });

  it("one edit may change the first letter: a key missing it, or with one too many in front", () => {
    expect(thrown(() => assertOptionKeys({ lags: 0 }, KEYS, "newMap m", "spec")).message).toContain('did you mean "flags"?');
    expect(thrown(() => assertOptionKeys({ xflags: 0 }, KEYS, "newMap m", "spec")).message).toContain('did you mean "flags"?');
    expect(thrown(() => assertOptionKeys({ axEntries: 0 }, KEYS, "newMap m", "spec")).message).toContain('did you mean "maxEntries"?');
  });

  it("checks a key whose value is undefined: a typo is a typo", () => {
    expect(() => assertOptionKeys({ kernelname: undefined }, KEYS, "newMap m", "spec")).toThrow(/unknown spec key "kernelname"/);
  });

  it("passes every allowed key, and looks only at own enumerable string keys", () => {
    expect(() => assertOptionKeys(Object.fromEntries(KEYS.map((k) => [k, 1])), KEYS, "f", "spec")).not.toThrow();
    const inherited = Object.create({ stray: 1 }) as Record<string, unknown>;
    inherited.name = "m";
    Object.defineProperty(inherited, "hidden", { value: 1, enumerable: false });
    (inherited as Record<symbol, unknown>)[Symbol("tag")] = 1;
    expect(() => assertOptionKeys(inherited, KEYS, "f", "spec")).not.toThrow();
  });

  it("leaves anything but an object to the caller's own type check", () => {
    for (const v of [undefined, null, 0, "spec", true]) expect(() => assertOptionKeys(v, KEYS, "f", "spec")).not.toThrow();
  });

  it("optionKeys gives the type's keys, frozen", () => {
    const k = optionKeys<{ a?: number; b: string }>({ a: true, b: true });
    expect(k).toEqual(["a", "b"]);
    expect(Object.isFrozen(k)).toBe(true);
  });
});

describe("iterateMap options", () => {
  it("iterateMap throws at the call, before it asks for the map", () => {
    let asked = false;
    const target = (): DumpTarget => {
      asked = true;
      throw new Error("not reached");
    };
    const e = thrown(() => iterateMap(target, (k) => k, { restarts: 3 } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('iterateMap: unknown options key "restarts" (known: maxRestarts)');
    expect(asked).toBe(false);
  });
});

describe("struct options", () => {
  it("a misspelt option is a TypeError naming the struct, instead of an unpacked layout", () => {
    const e = thrown(() => struct({ a: u8, b: u32 }, { pakced: true } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('struct: unknown options key "pakced" (did you mean "packed"?)');
    expect(thrown(() => struct({ a: u8 }, { name: "tuple", packd: true } as never)).message)
      .toBe('struct tuple: unknown options key "packd" (did you mean "packed"?)');
    expect(thrown(() => struct({ a: u8 }, null as never)).message).toBe("struct: options must be { packed?, name? }");
    expect(struct({ a: u8, b: u32 }, { packed: true, name: "p" }).size).toBe(5);
  });
});
