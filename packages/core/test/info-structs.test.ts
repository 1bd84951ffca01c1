// bpf_map_info and bpf_prog_info images: what encodeMapInfo/encodeProgInfo write, decodeMapInfo/
// decodeProgInfo read back, at the kernel's offsets (6.18), with stale bytes in the buffer cleared.
import { describe, expect, it } from "vitest";
import { decodeMapInfo, decodeProgInfo, encodeMapInfo, encodeProgInfo, MAP_INFO_SIZE, PROG_INFO_SIZE } from "@bpfkit/core";

describe("info structs", () => {
  it("a map's info round-trips, and the name stops at its NUL", () => {
    const buf = new Uint8Array(MAP_INFO_SIZE).fill(0xaa);
    encodeMapInfo({ type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 1, name: "cilium_ct4" }, buf);
    expect(decodeMapInfo(buf)).toEqual({
      type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 1, name: "cilium_ct4", ifindex: 0, btfId: 0, mapExtra: 0n,
    });
    // bpf_map_info.key_size is at offset 8, the name at 24 (16 bytes).
    expect(new DataView(buf.buffer).getUint32(8, true)).toBe(4);
    expect(new TextDecoder().decode(buf.subarray(24, 34))).toBe("cilium_ct4");
  });

  it("a program's info round-trips its license flag, name and lengths", () => {
    const buf = new Uint8Array(PROG_INFO_SIZE).fill(0xaa);
    encodeProgInfo({ type: 1, id: 3, gplCompatible: true, name: "dummy", xlatedProgLen: 16, verifiedInsns: 2 }, buf);
    const info = decodeProgInfo(buf);
    expect([info.type, info.id, info.gplCompatible, info.name, info.xlatedProgLen, info.verifiedInsns]).toEqual([1, 3, true, "dummy", 16, 2]);
    encodeProgInfo({ type: 1, id: 3, gplCompatible: false }, buf);
    expect(decodeProgInfo(buf).gplCompatible).toBe(false);
    expect(decodeProgInfo(buf).name).toBe("");
  });

  it("a truncated info reads its missing fields as zero", () => {
    const buf = new Uint8Array(MAP_INFO_SIZE);
    encodeMapInfo({ type: 2, id: 9, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: 0, name: "m" }, buf);
    expect(decodeMapInfo(buf.subarray(0, 12))).toMatchObject({ type: 2, id: 9, keySize: 4, valueSize: 0, maxEntries: 0, name: "" });
  });
});
