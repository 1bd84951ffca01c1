import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointKey, endpointKey, EndpointKeyIPv4, EndpointKeyIPv6, formatIp, hex, hostIsLittleEndian, newEndpointKey, parseIp } from "@bpfkit/core";

describe("EndpointKey", () => {
  it("TestEndpointKeyToString: newEndpointKey(ip).toIp() prints back as the input", () => {
    for (const ip of ["0.0.0.0", "192.0.2.3", "::", "fdff::ff"]) {
      expect(formatIp(newEndpointKey(ip).toIp()!)).toBe(ip);
    }
  });

  it("IPv4, 4 bytes and IPv4-mapped IPv6 are family 1 with the address in bytes 0..3", () => {
    for (const input of ["10.0.0.1", "::ffff:10.0.0.1", parseIp("10.0.0.1")!, parseIp("::ffff:10.0.0.1")!]) {
      const k = newEndpointKey(input);
      expect(k.family).toBe(EndpointKeyIPv4);
      expect(hex(k.ip)).toBe("0a000001" + "00".repeat(12));
      expect(k.key).toBe(0);
      expect(k.toString()).toBe("10.0.0.1:0");
      expect(k.toIp()!.length).toBe(4);
    }
  });

  it("IPv6 is family 2 and prints bracketed with the sub-key", () => {
    const k = newEndpointKey("f00d::1");
    expect(k.family).toBe(EndpointKeyIPv6);
    expect(k.toString()).toBe("[f00d::1]:0");
    k.key = 3;
    expect(k.toString()).toBe("[f00d::1]:3");
  });

  it("an unknown family has no IP and prints nil; a missing or short IP is family 2 with zeros", () => {
    expect(new EndpointKey().toIp()).toBeUndefined();
    expect(new EndpointKey().toString()).toBe("nil");
    const k = newEndpointKey(new Uint8Array([1, 2, 3]));
    expect(k.family).toBe(EndpointKeyIPv6);
    expect(hex(k.ip)).toBe("010203" + "00".repeat(13));
    expect(newEndpointKey(null).family).toBe(EndpointKeyIPv6);
  });

  it("a longer IP is family 2 with its first 16 bytes, as Go's copy into the [16]byte takes", () => {
    const long = Uint8Array.from({ length: 20 }, (_, i) => i + 1);
    const k = newEndpointKey(long);
    expect(k.family).toBe(EndpointKeyIPv6);
    expect(hex(k.ip)).toBe(hex(long.subarray(0, 16)));
  });

  it("text that is not an address is a TypeError", () => {
    expect(() => newEndpointKey("10.0.0")).toThrow(/newEndpointKey: "10.0.0" is not an IP address/);
  });

  it("toBytes is struct endpoint_key: 16 address bytes, family, key, zero pad", () => {
    const k = newEndpointKey("192.0.2.3");
    k.key = 7;
    expect(hex(k.toBytes())).toBe("c0000203" + "00".repeat(12) + "01" + "07" + "0000");
    expect(endpointKey.size).toBe(20);
    expect(endpointKey.align).toBe(4);
  });

  it("an IPv6-family key holding an IPv4-mapped address prints as Go's JoinHostPort does: no brackets round a dotted quad", () => {
    expect(new EndpointKey(parseIp("::ffff:10.0.0.1")!, EndpointKeyIPv6, 2).toString()).toBe("10.0.0.1:2");
  });

  it("codec: decode gives a key of its own, not a view of the bytes it read (dumps reuse their buffers)", () => {
    const b = newEndpointKey("f00d::1").toBytes();
    const k = endpointKey.decode(b);
    b.fill(0);
    expect(k.toString()).toBe("[f00d::1]:0");
  });

  it("codec: decode(encode(k)) equals k for any key", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 255 }),
      fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 0xffff }), (ip, family, key, pad2) => {
        const k = new EndpointKey(ip, family, key, pad2);
        const b = new Uint8Array(20);
        endpointKey.encode(k, b);
        return endpointKey.decode(b).equals(k);
      }));
  });

  it("clone is deep; encode rejects out-of-range fields", () => {
    const k = newEndpointKey("10.0.0.1");
    const c = k.clone();
    c.ip[0] = 99;
    expect(k.ip[0]).toBe(10);
    k.family = 256;
    expect(() => k.toBytes()).toThrow(/family 256/);
    const ip = new Uint8Array(16);
    for (const [field, bad] of [["family", -1], ["key", 256], ["key", -1], ["key", 1.5], ["pad2", 0x10000], ["pad2", -1]] as const) {
      const e = new EndpointKey(ip);
      e[field] = bad;
      expect(() => e.toBytes(), `${field} ${bad}`).toThrow(new RangeError(`endpointKey: ${field} ${bad} is not an integer in [0, ${field === "pad2" ? 0xffff : 0xff}]`));
    }
  });

  it("pad2 is a host-order u16 and counts in equals", () => {
    const ip = new Uint8Array(16);
    const k = new EndpointKey(ip, 1, 0, 0x0102);
    expect(hex(k.toBytes().subarray(18))).toBe(hostIsLittleEndian ? "0201" : "0102");
    expect(endpointKey.decode(k.toBytes()).pad2).toBe(0x0102);
    expect(k.equals(new EndpointKey(ip, 1, 0, 0))).toBe(false);
    expect(k.equals(new EndpointKey(ip, 1, 0, 0x0102))).toBe(true);
  });

  it("the codec needs 20 bytes at its offset, in and out", () => {
    const k = newEndpointKey("10.0.0.1");
    const buf = new Uint8Array(40);
    endpointKey.encodeAt(k, buf, 20);
    expect(endpointKey.decodeAt(buf, 20).equals(k)).toBe(true);
    expect(() => endpointKey.encodeAt(k, buf, 21)).toThrow(new RangeError("endpointKey: needs 20 bytes at offset 21, output has 40"));
    expect(() => endpointKey.decodeAt(buf, 21)).toThrow(new RangeError("endpointKey: needs 20 bytes at offset 21, input has 40"));
    expect(() => endpointKey.encode(k, new Uint8Array(19))).toThrow(RangeError);
    expect(() => endpointKey.decode(new Uint8Array(19))).toThrow(RangeError);
  });
});
