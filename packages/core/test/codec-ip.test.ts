import { isIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { be16, bytes, encodeToBytes, formatIp, formatIpv6, hex, ipv4, ipv6, lpmKey, parseIp, parseIpv4, parseIpv6, u32 } from "@bpfkit/core";

describe("IPv4 text", () => {
  it("decode(encode(x)) = x for every dotted quad", () => {
    fc.assert(fc.property(fc.ipV4(), (s) => ipv4.decode(encodeToBytes(ipv4, s)) === s));
  });
  it("bytes → text → bytes is the identity for any 4 bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => hex(encodeToBytes(ipv4, ipv4.decode(b))) === hex(b)));
  });
  it("rejects what Go's ParseIP rejects", () => {
    for (const bad of ["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", "1..2.3", "-1.2.3.4", "1.2.3.4.",
      "1.2.3.:", "1.2.3.4:", "1.2.3./"]) {
      expect(parseIpv4(bad), bad).toBeUndefined();
    }
    expect([...parseIpv4("192.0.2.3")!]).toEqual([192, 0, 2, 3]);
  });
  it("ipv4: text it refuses leaves its 4 bytes zero, not half-written", () => {
    for (const bad of ["1.2.3.x", "10.20.300.4", "1.2.3"]) {
      const out = new Uint8Array(6).fill(0xff);
      expect(() => ipv4.encodeAt(bad, out, 1)).toThrow(TypeError);
      expect(hex(out), bad).toBe("ff00000000ff");
    }
  });
});

describe("IPv6 text", () => {
  it("bytes → text → bytes is the identity for any 16 bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => hex(parseIpv6(formatIpv6(b))!) === hex(b)));
  });
  it("decode(encode(x)) is x's canonical (RFC 5952) text for every IPv6 address fast-check writes", () => {
    fc.assert(fc.property(fc.ipV6(), (s) => {
      const canon = ipv6.decode(encodeToBytes(ipv6, s));
      // Canonical text is a fixed point, and means the same address as the input.
      return ipv6.decode(encodeToBytes(ipv6, canon)) === canon && hex(parseIpv6(canon)!) === hex(parseIpv6(s)!);
    }));
  });
  it("formats as RFC 5952 (and Go) do", () => {
    const cases: Array<[string, string]> = [
      ["::", "::"], ["::1", "::1"], ["fdff::ff", "fdff::ff"], ["2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
      ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["::ffff:1.2.3.4", "::ffff:1.2.3.4"], ["f00d::1", "f00d::1"], ["1::", "1::"],
    ];
    for (const [input, want] of cases) expect(formatIpv6(parseIpv6(input)!), input).toBe(want);
  });
  it("rejects malformed text", () => {
    for (const bad of ["", ":", ":::", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::", "1:2:3:4:5:6:7", "1:", ":1",
      "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5",
      "::1.2.3.4:", "::1.2.3.:", "1::2:", "::1:", "a:b::c:d:",
      // A trailing `:` after all eight groups: the parser stops at 16 bytes, so this is its own check.
      "1:2:3:4:5:6:7:8:"]) {
      expect(parseIpv6(bad), bad).toBeUndefined();
    }
  });
  it("formatIp prints IPv4-mapped addresses as dotted quads, as Go's net.IP does", () => {
    expect(formatIp(parseIp("::ffff:10.0.0.1")!)).toBe("10.0.0.1");
    expect(formatIp(parseIp("10.0.0.1")!)).toBe("10.0.0.1");
    expect(formatIp(new Uint8Array(0))).toBe("<nil>");
  });
});

describe("lpmKey", () => {
  const k = lpmKey(ipv4);
  it("is struct bpf_lpm_trie_key: a u32 prefix length, then the data", () => {
    expect(k.size).toBe(8);
    expect(hex(encodeToBytes(k, { prefixLen: 24, data: "10.1.2.0" }))).toBe(hex(encodeToBytes(u32, 24)) + "0a010200");
    expect(k.format({ prefixLen: 8, data: "10.0.0.0" })).toBe("10.0.0.0/8");
    // An IPv6 address goes at offset 4 too, all 16 bytes in network order.
    const k6 = lpmKey(ipv6);
    expect(hex(encodeToBytes(k6, { prefixLen: 64, data: "2001:db8::1" }))).toBe(hex(encodeToBytes(u32, 64)) + "20010db8" + "00".repeat(11) + "01");
    expect(k6.decode(encodeToBytes(k6, { prefixLen: 64, data: "2001:db8::1" }))).toEqual({ prefixLen: 64, data: "2001:db8::1" });
  });
  it("its size is 4 + the data's, not rounded up: the kernel's key_size, and prefixLen's range, come from it", () => {
    expect([lpmKey(be16).size, lpmKey(bytes(3)).size]).toEqual([6, 7]);
    expect(() => encodeToBytes(lpmKey(bytes(3)), { prefixLen: 25, data: new Uint8Array(3) })).toThrow(/prefixLen 25 is not an integer in \[0, 24\]/);
  });
  it("decode(encode(x)) = x for every prefix and address", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 32 }), fc.ipV4(), (p, ip) => {
      const v = k.decode(encodeToBytes(k, { prefixLen: p, data: ip }));
      return v.prefixLen === p && v.data === ip;
    }));
  });
  it("a prefix longer than the data is a RangeError", () => {
    expect(() => encodeToBytes(k, { prefixLen: 33, data: "10.0.0.0" })).toThrow(/prefixLen 33 is not an integer in \[0, 32\]/);
    expect(lpmKey(ipv6).size).toBe(20);
  });
  it("a missing or non-number prefixLen is a TypeError; a fractional one a RangeError", () => {
    expect(() => encodeToBytes(k, { data: "10.0.0.0" } as never)).toThrow(new TypeError("lpmKey(ipv4): prefixLen must be a number, got undefined"));
    expect(() => encodeToBytes(k, { prefixLen: "8", data: "10.0.0.0" } as never)).toThrow(TypeError);
    expect(() => encodeToBytes(k, { prefixLen: 8.5, data: "10.0.0.0" })).toThrow(RangeError);
  });
});

describe("the parser against Node's own (differential)", () => {
  const chars = "0123456789abcdefABCDEF:.";
  const text = fc.oneof(
    fc.string({ unit: fc.constantFrom(...chars), maxLength: 45 }),
    fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), fc.ipV6().map((s) => s.replace(/:/, "::")), fc.ipV6().map((s) => `${s}:`),
  );
  it("parseIp accepts exactly what node:net's isIP accepts (no zones)", () => {
    fc.assert(fc.property(text, (s) => (parseIp(s) !== undefined) === (isIP(s) !== 0)), { numRuns: 8_000 });
  });
  it("formatIpv6 writes what the WHATWG URL parser writes (RFC 5952), IPv4-mapped aside", () => {
    fc.assert(fc.property(fc.ipV6(), (s) => {
      const ours = formatIpv6(parseIpv6(s)!);
      return ours.startsWith("::ffff:") || ours === new URL(`http://[${s}]/`).hostname.slice(1, -1);
    }), { numRuns: 5_000 });
  });
});
