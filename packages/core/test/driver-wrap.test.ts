// wrapDriver: what is overridden, what stays the inner driver's, and how an optional host
// service is dropped (core falls back when a driver has no rename or objKind).
import { expect, it } from "vitest";
import { Errno, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";

it("kind and methods are the inner driver's unless overridden", () => {
  const inner = createSimDriver();
  expect(wrapDriver(inner, {}).kind).toBe("sim");
  const spy = wrapDriver(inner, { kind: "spy", mapFreeze: () => -Errno.EPERM });
  expect([spy.kind, spy.possibleCpus]).toEqual(["spy", inner.possibleCpus]);
  expect(spy.mapFreeze(-1)).toBe(-Errno.EPERM);
  expect(spy.mapGetNextId(0)).toBe(inner.mapGetNextId(0));
});

it("a host service set to null is absent, and one the inner driver lacks stays absent", () => {
  const inner = createSimDriver();
  expect(typeof inner.host.rename).toBe("function");
  const old = wrapDriver(inner, { host: { rename: null, objKind: null } });
  expect(["rename" in old.host, "objKind" in old.host]).toEqual([false, false]);
  expect(old.host.stat("/").errno).toBe(0);
  const again = wrapDriver(old, { host: { unlink: () => -Errno.EBUSY } });
  expect(["rename" in again.host, "objKind" in again.host]).toEqual([false, false]);
  expect(again.host.unlink("/nothing")).toBe(-Errno.EBUSY);
  // Overriding brings one back.
  expect(wrapDriver(old, { host: { rename: () => 0 } }).host.rename!("/a", "/b")).toBe(0);
});

it("pageSize is the inner driver's, and absent when the inner driver has none", () => {
  // wrapDriver's result has every method as its own property, so a spread keeps them.
  const { pageSize: _p, ...old } = wrapDriver(createSimDriver(), {});
  expect("pageSize" in wrapDriver(old as never, {})).toBe(false);
  expect(wrapDriver({ ...old, pageSize: 65536 } as never, {}).pageSize).toBe(65536);
});

it("a misspelt host service is refused: the inner driver's would stay in place, and the test pass for nothing", () => {
  const inner = createSimDriver();
  expect(() => wrapDriver(inner, { host: { unlnik: () => 0 } as never })).toThrow(TypeError);
  expect(() => wrapDriver(inner, { host: { unlnik: () => 0 } as never })).toThrow(/unlnik/);
  expect(() => wrapDriver(inner, { mapFreze: () => 0 } as never)).toThrow(/mapFreze/);
});
