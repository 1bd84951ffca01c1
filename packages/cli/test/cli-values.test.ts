// Keys and values as text, in and out, where the map's own sizes decide (no --key-type): IP text
// for 4- and 16-byte keys, the byte count a key must have, hex as people write it. And the
// type specs' edges: counts, columns, padding, positional and named fields.
import { describe, expect, it } from "vitest";
import type { BpfMapInfo } from "@bpfkit/core";
import { bytesType, ExitCode, parseHexBytes } from "../src/index.js";
import { elemTypes } from "../src/elem-types.js";
import { mapFlagsText, parseMapFlags } from "../src/names.js";
import { encodeText as enc, u32le, withSimMap } from "./helpers.js";

describe("raw keys and values (no type given)", () => {
  it("a 4-byte key takes IPv4 text and a 16-byte key IPv6 text, as `map lookup --help` says", () => {
    const four = new Uint8Array(4);
    bytesType(4).parse("10.0.0.1", four, 0);
    expect(Array.from(four)).toEqual([10, 0, 0, 1]);
    const sixteen = new Uint8Array(16);
    bytesType(16).parse("fd00::1", sixteen, 0);
    expect(Array.from(sixteen)).toEqual([0xfd, 0, ...new Array(13).fill(0), 1]);
    // 0x… on a 16-byte key is hex, not an address.
    bytesType(16).parse("0x000102030405060708090a0b0c0d0e0f", sixteen, 0);
    expect(Array.from(sixteen)).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it("IP text reaches the map through the command, on a hash with 4-byte keys", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, async ({ d, fd, bpfkit }) => {
    const r = await bpfkit("map", "update", "id", "1", "key", "10.0.0.1", "value", "01 00 00 00");
    expect(r.code, r.err).toBe(0);
    const v = new Uint8Array(4);
    expect(d.mapLookupElem(fd, Uint8Array.of(10, 0, 0, 1), v)).toBe(0);
    expect(v).toEqual(u32le(1));
  }));

  it("too many bytes are refused as firmly as too few, with the count", () => {
    const b = new Uint8Array(4);
    expect(() => bytesType(4).parse("01 02 03 04 05", b, 0)).toThrow('"01 02 03 04 05" is 5 bytes, 4 are needed');
    expect(() => bytesType(4).parse("0x0102030405", b, 0)).toThrow(/is 5 bytes, 4 are needed/);
  });

  it("hex takes 0X as 0x, and numbers take upper-case hex digits", () => {
    expect(Array.from(parseHexBytes("0X0A000001"))).toEqual([10, 0, 0, 1]);
    expect(enc("u32", "0XFF")).toEqual([255, 0, 0, 0]);
    expect(enc("u16", "0xAbC")).toEqual([0xbc, 0x0a]);
  });
});

describe("a map's element types", () => {
  const info = (over: Partial<BpfMapInfo>): BpfMapInfo =>
    ({ type: 1, id: 7, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 0, name: "", ifindex: 0, btfId: 0, btfKeyTypeId: 0, btfValueTypeId: 0, mapExtra: 0n, ...over });

  it("a keyless map (queue, stack, bloom filter, ring buffer) is named as such before any syscall", () => {
    for (const [type, name, use] of [[22, "queue", "; `bpfkit map push|pop|peek` use it by value"], [23, "stack", "; `bpfkit map push|pop|peek` use it by value"],
      [30, "bloom_filter", "; `bpfkit map push|peek` use it by value"], [27, "ringbuf", ""]] as const) {
      let err: unknown;
      try {
        elemTypes(info({ type, keySize: 0 }), {}, 2, "map 7");
      } catch (e) {
        err = e;
      }
      expect(err, name).toMatchObject({ exitCode: ExitCode.failure, message: `map 7 is a ${name} map: it has no keys, so it cannot be dumped, walked or used by key${use}` });
    }
  });
});

describe("map flags", () => {
  it("print by name, unknown bits as hex, none as 0; and parse back from names, BPF_F_ names or numbers", () => {
    expect(mapFlagsText(0)).toBe("0");
    expect(mapFlagsText(0x41)).toBe("no_prealloc|zero_seed");
    expect(mapFlagsText(0x41 | 0x40000000)).toBe("no_prealloc|zero_seed|0x40000000");
    expect(parseMapFlags("no_prealloc,zero_seed")).toBe(0x41);
    expect(parseMapFlags("BPF_F_NO_PREALLOC|BPF_F_ZERO_SEED")).toBe(0x41);
    expect(parseMapFlags("0x41")).toBe(0x41);
    expect(parseMapFlags("65")).toBe(0x41);
    expect(parseMapFlags("no_prealloc,frob")).toBeUndefined();
  });
});
