// A map of maps keeps its template's fd number for every later create. Cilium closes the template
// once the outer map exists, and the number then goes to the next map opened: a re-create must
// not silently take that map's shape, and a plain reopen of the pin must not be refused for it.
import { expect, it } from "vitest";
import { BPF_F_ZERO_SEED, BpfError, MapType, u32, u64 } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";
import { thrown } from "./support/thrown.js";

eachDriver("a map of maps' inner-map template", (get) => {
  /** An outer hash of maps made from a 1-entry array template, pinned; the template then closed and its fd number reused. */
  function closedTemplateReused(reuseWith: { value: number; maxEntries: number }) {
    const env = get();
    const template = env.map({ name: "tmpl", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    template.openOrCreate();
    const fd = template.getFd();
    const outer = env.map({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 4, innerId: fd });
    expect(outer.openOrCreate()).toBe(true);
    outer.close();
    template.close();
    const shape = { name: "other", type: MapType.Array, key: u32, maxEntries: reuseWith.maxEntries };
    const other = reuseWith.value === 8 ? env.map({ ...shape, value: u64 }) : env.map({ ...shape, value: u32 });
    other.openOrCreate();
    // The scenario needs the lowest free fd to be handed out again, as both drivers do.
    expect(other.getFd()).toBe(fd);
    return { env, outer, other, fd };
  }

  it("a create that would take another map's shape through the reused fd is refused, naming both", () => {
    const { env, outer, fd } = closedTemplateReused({ value: 8, maxEntries: 4 });
    outer.unpin();
    const e = thrown(() => outer.openOrCreate());
    expect(e).toBeInstanceOf(BpfError);
    expect((e as BpfError).code).toBe("EINVAL");
    expect(e.message).toMatch(new RegExp(`^openOrCreate outer: Unable to create map ${outer.path()}: innerId ${fd} is now map id \\d+ ` +
      `\\(Array, key 4, value 8, max 4, flags 0x0\\), not the inner-map template first seen there \\(map id \\d+ \\(Array, key 4, ` +
      `value 4, max 1, flags 0x0\\)\\): the template was closed and its fd number reused`));
    expect(env.driver.host.stat(outer.path()).errno).toBe(2);
    expect(outer.getFd()).toBe(-1);
  });

  it("openParallel refuses it too and keeps the map pinned there", () => {
    const { env, outer } = closedTemplateReused({ value: 8, maxEntries: 4 });
    outer.close();
    const e = thrown(() => outer.openParallel());
    expect((e as BpfError).code).toBe("EINVAL");
    expect(e.message).toMatch(/: innerId \d+ is now map id \d+ \(Array, key 4, value 8, max 4, flags 0x0\), not the inner-map template first seen there .*; the existing map pinned there was kept$/);
    expect(env.driver.host.stat(outer.path()).errno).toBe(0);
  });

  it("reopening the pinned map creates nothing, so the reused fd is no matter", () => {
    const { outer } = closedTemplateReused({ value: 8, maxEntries: 4 });
    expect(outer.openOrCreate()).toBe(false);
    expect(outer.getFd()).toBeGreaterThanOrEqual(0);
  });

  it("a template of the same shape at the fd (closed and made again) is accepted", () => {
    const { env, outer } = closedTemplateReused({ value: 4, maxEntries: 1 });
    outer.unpin();
    expect(outer.openOrCreate()).toBe(true);
    // The new outer map takes inner maps of the template's shape.
    const inner = env.map({ name: "inner", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    inner.openOrCreate();
    outer.update(7, inner.getFd());
    expect(typeof outer.lookup(7)).toBe("number");
  });
  it("each part of the shape the kernel copies counts alone: type, key, value, max entries, flags", () => {
    const env = get();
    const shapes: Array<[string, { type: number; key: number; value: number; max: number; flags: number }]> = [
      ["type", { type: MapType.LRUHash, key: 4, value: 4, max: 2, flags: 0 }],
      ["key", { type: MapType.Hash, key: 8, value: 4, max: 2, flags: 0 }],
      ["value", { type: MapType.Hash, key: 4, value: 8, max: 2, flags: 0 }],
      ["max entries", { type: MapType.Hash, key: 4, value: 4, max: 3, flags: 0 }],
      ["flags", { type: MapType.Hash, key: 4, value: 4, max: 2, flags: BPF_F_ZERO_SEED }],
    ];
    for (const [what, o] of shapes) {
      const template = env.bpf.createMap(MapType.Hash, 4, 4, 2, 0, 0, "template");
      const outer = env.map({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 4, innerId: template });
      expect(outer.openOrCreate(), what).toBe(true);
      outer.unpin();
      outer.close();
      env.driver.close(template);
      const other = env.bpf.createMap(o.type, o.key, o.value, o.max, o.flags, 0, "other");
      try {
        expect(other, what).toBe(template);
        const e = thrown(() => outer.openOrCreate());
        expect((e as BpfError).code, what).toBe("EINVAL");
        expect(e.message, what).toMatch(/the template was closed and its fd number reused/);
      } finally {
        env.driver.close(other);
      }
    }
  });

  it("a map object that first opened an existing pin still knows the template it saw then", () => {
    const env = get();
    const template = env.map({ name: "tmpl", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    template.openOrCreate();
    const fd = template.getFd();
    const spec = { name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 4, innerId: fd };
    const first = env.map(spec);
    expect(first.openOrCreate()).toBe(true);
    first.close();
    const second = env.map(spec);
    expect(second.openOrCreate()).toBe(false);  // creates nothing: the template is read here all the same
    second.close();
    template.close();
    const other = env.map({ name: "other", type: MapType.Array, key: u32, value: u64, maxEntries: 4 });
    other.openOrCreate();
    expect(other.getFd()).toBe(fd);
    second.unpin();
    const e = thrown(() => second.openOrCreate());
    expect((e as BpfError).code).toBe("EINVAL");
    expect(e.message).toMatch(/innerId \d+ is now map id \d+ \(Array, key 4, value 8, max 4, flags 0x0\), not the inner-map template first seen/);
    expect(env.driver.host.stat(second.path()).errno).toBe(2);
  });

  it("a pinned map of another size, replaced through the reused fd, is refused and kept", () => {
    const env = get();
    const template = env.map({ name: "tmpl", type: MapType.Array, key: u32, value: u32, maxEntries: 1 });
    template.openOrCreate();
    const fd = template.getFd();
    const small = env.map({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 4, innerId: fd });
    const large = env.map({ name: "outer", type: MapType.HashOfMaps, key: u32, value: u32, maxEntries: 8, innerId: fd });
    expect(small.openOrCreate()).toBe(true);
    expect(large.openOrCreate()).toBe(true);   // replaces the pin while the template is still open
    small.close();
    large.close();
    template.close();
    const other = env.map({ name: "other", type: MapType.Array, key: u32, value: u64, maxEntries: 4 });
    other.openOrCreate();
    expect(other.getFd()).toBe(fd);
    const e = thrown(() => small.openOrCreate());    // the pin (max 8) would be replaced by a max-4 map
    expect((e as BpfError).code).toBe("EINVAL");
    expect(e.message).toMatch(/the template was closed and its fd number reused.*; the existing map pinned there was kept$/);
    expect(large.openOrCreate()).toBe(false);
  });
  it("a map that is no map of maps ignores its innerId, as the kernel does: a reused fd there refuses nothing", () => {
    const env = get();
    const stray = env.bpf.createMap(MapType.Array, 4, 4, 1, 0, 0, "stray");
    const hash = env.map({ name: "plain", type: MapType.Hash, key: u32, value: u32, maxEntries: 4, innerId: stray });
    expect(hash.openOrCreate()).toBe(true);
    hash.unpin();
    hash.close();
    env.driver.close(stray);
    const other = env.bpf.createMap(MapType.Hash, 8, 8, 2, 0, 0, "other");
    try {
      expect(other).toBe(stray);
      expect(hash.openOrCreate()).toBe(true);
    } finally {
      env.driver.close(other);
    }
  });
});
