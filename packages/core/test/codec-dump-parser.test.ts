import { describe, expect, it } from "vitest";
import { ConvertError, convertKeyValue, encodeToBytes, ipv4, struct, u32, u64 } from "@bpfkit/core";

describe("convertKeyValue", () => {
  const key = struct({ ip: ipv4, id: u32 });
  it("decodes key and value with the codecs into the given object", () => {
    const out = { key: undefined as unknown, value: undefined as unknown };
    const got = convertKeyValue(encodeToBytes(key, { ip: "10.0.0.1", id: 5 }), encodeToBytes(u64, 9n), key, u64, out);
    expect(got).toBe(out);
    expect(out).toEqual({ key: { ip: "10.0.0.1", id: 5 }, value: 9n });
  });
  it("empty value bytes decode the key only (the seed's DeleteAll)", () => {
    const out = { key: undefined as unknown, value: "kept" as unknown };
    convertKeyValue(encodeToBytes(u32, 3), new Uint8Array(0), u32, u64, out);
    expect(out).toEqual({ key: 3, value: "kept" });
  });
  it("short bytes give `Unable to convert key: unexpected EOF`", () => {
    const out = { key: undefined, value: undefined };
    expect(() => convertKeyValue(new Uint8Array(3), new Uint8Array(8), u32, u64, out)).toThrow("Unable to convert key: unexpected EOF");
    expect(() => convertKeyValue(new Uint8Array(4), new Uint8Array(7), u32, u64, out)).toThrow(ConvertError);
    expect(() => convertKeyValue(new Uint8Array(4), new Uint8Array(7), u32, u64, out)).toThrow("Unable to convert value: unexpected EOF");
  });
  it("a codec that throws is wrapped with what was being converted", () => {
    const bad = { size: 1, encode() {}, decode(): never { throw new Error("boom"); } };
    expect(() => convertKeyValue(new Uint8Array(1), new Uint8Array(0), bad, u64, { key: 0, value: 0n })).toThrow("Unable to convert key: boom");
  });
});
