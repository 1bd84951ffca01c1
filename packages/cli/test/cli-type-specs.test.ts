// Type specs at their edges: what a value of each shape must have (no more, no less), its
// defaults, and how it prints back. Each case is one a user can type on a command line.
import { describe, expect, it } from "vitest";
import { parseType } from "../src/index.js";
import { encodeText as enc, withSimMap } from "./helpers.js";

describe("type specs", () => {
  it("text left after a whole type is a usage error naming it, not ignored", () => {
    expect(() => parseType("u32 junk")).toThrow('type "u32 junk": unexpected "junk"');
    expect(() => parseType("u8[2]]")).toThrow('unexpected "]"');
  });
});

describe("a value a type refuses", () => {
  it("is named with the text and the type in the message", () => {
    expect(() => enc("u8", "300")).toThrow(/^"300" as u8: /);
    expect(() => enc("struct{a:u8,b:mac}", "{1, 02:00}")).toThrow(/^"\{1, 02:00\}" as struct\{a:u8,b:mac\}: /);
  });
});

describe("lpm keys", () => {
  it("an address without /LEN is the whole address (/32, /128), as bpftool reads a host route", () => {
    expect(enc("lpm4", "10.0.0.1")).toEqual([32, 0, 0, 0, 10, 0, 0, 1]);
    expect(enc("lpm6", "fd00::1").slice(0, 4)).toEqual([128, 0, 0, 0]);
  });
});

describe("arrays and positional structs", () => {
  it("an array needs exactly its count of items: too few is refused with the count, not zero-filled", () => {
    expect(() => enc("u8[3]", "[1,2]")).toThrow("u8[3] needs 3 items, got 2");
    expect(() => enc("u8[3]", "[1,2,3,4]")).toThrow("u8[3] needs 3 items, got 4");
    expect(enc("u8[3]", "[1,2,3]")).toEqual([1, 2, 3]);
    // A bracket opened and never closed (or the other way round) is no array text.
    for (const bad of ["[1,2,3", "1,2,3]", "[1,2,3,4", "0,1,2,3]"]) expect(() => enc("u8[3]", bad), bad).toThrow();
  });

  it("a positional struct needs exactly its fields: one too many is a usage error naming the count", () => {
    expect(() => enc("struct{a:u8,b:u8}", "{1,2,3}")).toThrow("needs 2 fields, got 3");
    expect(() => enc("struct{a:u8,b:u8}", "{1}")).toThrow("needs 2 fields, got 1");
  });
});

describe("structs, named or positional", () => {
  it("a positional value whose first field is IPv6 text like fe80::1 is not taken for a named field", () => {
    const b = enc("struct{ip:ipv6,port:u16}", "{fe80::1, 80}");
    expect(b.slice(0, 2)).toEqual([0xfe, 0x80]);
    expect(b.slice(16, 18)).toEqual([80, 0]);
  });

  it("a positional value of IPv6 texts only (every item looks like name:value) is still positional", () => {
    const b = enc("struct{a:ipv6,b:ipv6}", "{fe80::1, fe80::2}");
    expect([b[0], b[1], b[15], b[16], b[17], b[31]]).toEqual([0xfe, 0x80, 1, 0xfe, 0x80, 2]);
    expect(enc("struct{a:ipv6,b:ipv6}", "{b:fe80::2, a:fe80::1}")).toEqual(b);
  });

  it("items split on blanks when only nested values have commas: {[1,2] [3,4]}", () => {
    expect(enc("struct{a:u8[2],b:u8[2]}", "{[1,2] [3,4]}")).toEqual([1, 2, 3, 4]);
  });

  it("with commas, blanks inside an item are kept: {a: 1, b: 2} names both fields", () => {
    expect(enc("struct{a:u8,b:u8}", "{a: 1, b: 2}")).toEqual([1, 2]);
  });

  it("a named field the struct does not have is a usage error naming it and the struct", () => {
    expect(() => enc("struct{a:u8,b:u8}", "{a:1, c:2}")).toThrow("no field c in struct{a:u8,b:u8}");
  });
});

describe("mac", () => {
  it("takes six octets only, and prints each as two hex digits", () => {
    for (const short of ["02:00:00:00:01", "02:00:00:00:00:01:02"]) {
      expect(() => enc("mac", short), short).toThrow(`${JSON.stringify(short)} is not a MAC address`);
    }
    const t = parseType("mac");
    const b = new Uint8Array(6);
    t.parse("2:0:0:0:a:1", b, 0);
    expect(Array.from(b)).toEqual([2, 0, 0, 0, 10, 1]);
    expect(t.format(b, 0)).toBe("02:00:00:00:0a:01");
    expect(t.json(b, 0)).toBe("02:00:00:00:0a:01");
  });
});

describe("an LPM trie with 20-byte keys", () => {
  it("takes and prints IPv6 prefixes without --key-type, as one with 8-byte keys does IPv4", () => withSimMap({ mapType: 11, keySize: 20, valueSize: 4, maxEntries: 4, mapFlags: 1 }, async ({ bpfkit }) => {
    const up = await bpfkit("map", "update", "id", "1", "key", "fd00::/64", "value", "01 00 00 00");
    expect(up.code, up.err).toBe(0);
    const r = await bpfkit("map", "dump", "id", "1");
    expect(r.out).toBe("key: fd00::/64  value: 01 00 00 00\n1 entry\n");
  }));
});
