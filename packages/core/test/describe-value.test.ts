// describeValue: how every argument error shows the value it refused. The point is that values
// which print alike in a template string ("8" and 8, 8n and 8, [1] and "1") are told apart.
import { describe, expect, it } from "vitest";
import { describeValue } from "@bpfkit/core";

describe("describeValue", () => {
  it("shows each kind of value so that two that print alike in a template string read differently", () => {
    expect([8, 1.5, Number.NaN, -Infinity].map(describeValue)).toEqual(["8", "1.5", "NaN", "-Infinity"]);
    expect(["8", "", 'a "b"'].map(describeValue)).toEqual(['"8"', '""', '"a \\"b\\""']);
    expect(describeValue(8n)).toBe("8n");
    expect([true, undefined, null].map(describeValue)).toEqual(["true", "undefined", "null"]);
    expect(describeValue(Symbol("s"))).toBe("Symbol(s)");
    expect(describeValue(() => 1)).toBe("a function");
    expect([[1], {}, new DataView(new ArrayBuffer(1)), new Uint8Array(1)].map(describeValue)).toEqual(["Array", "Object", "DataView", "Uint8Array"]);
    expect(describeValue(Object.create(null))).toBe("an object with no prototype");
    // An anonymous class's instance has a constructor whose name is "", and a plain object may
    // carry a "constructor" field of its own, which says nothing of its class.
    expect(describeValue(new (class {})())).toBe("an object of an unnamed class");
    expect(describeValue({ constructor: 8 })).toBe("Object");
    expect(describeValue(Object.create(Object.create(null)))).toBe("an object of no class");
    expect(describeValue(new (class Endpoint { constructor() { Object.defineProperty(this, "constructor", { value: null }); } })())).toBe("Endpoint");
  });

  it("cuts a long string at 64 characters", () => {
    expect(describeValue("x".repeat(100))).toBe(`"${"x".repeat(64)}…"`);
  });
});
