// bpf_map_info and bpf_prog_info images: what encodeMapInfo/encodeProgInfo write, decodeMapInfo/
// decodeProgInfo read back, at the kernel's offsets (6.18), with stale bytes in the buffer cleared.
import { describe, expect, it } from "vitest";
import {
  BPF_MAP_INFO, BPF_PROG_INFO, decodeMapInfo, decodeProgInfo, encodeMapInfo, encodeProgInfo, encodeStruct, MAP_INFO_SIZE, PROG_INFO_SIZE,
  type FieldValue, type Layout,
} from "@bpfkit/core";

describe("info structs", () => {
  it("a map's info round-trips, and the name stops at its NUL", () => {
    const buf = new Uint8Array(MAP_INFO_SIZE).fill(0xaa);
    encodeMapInfo({ type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 1, name: "cilium_ct4" }, buf);
    expect(decodeMapInfo(buf)).toEqual({
      type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 1, name: "cilium_ct4", ifindex: 0, btfId: 0,
      btfKeyTypeId: 0, btfValueTypeId: 0, mapExtra: 0n,
    });
    // bpf_map_info.key_size is at offset 8, the name at 24 (16 bytes).
    expect(new DataView(buf.buffer).getUint32(8, true)).toBe(4);
    expect(new TextDecoder().decode(buf.subarray(24, 34))).toBe("cilium_ct4");
    // The BTF ids round-trip, at bpf_map_info's offsets 64, 68 and 72.
    encodeMapInfo({ type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 0, name: "m", btfId: 3, btfKeyTypeId: 9, btfValueTypeId: 11 }, buf);
    expect(decodeMapInfo(buf)).toMatchObject({ btfId: 3, btfKeyTypeId: 9, btfValueTypeId: 11 });
    expect([64, 68, 72].map((o) => new DataView(buf.buffer).getUint32(o, true))).toEqual([3, 9, 11]);
  });

  it("a map's BTF ids round-trip at bpf_map_info's btf_id, btf_key_type_id and btf_value_type_id (64, 68, 72)", () => {
    const buf = new Uint8Array(MAP_INFO_SIZE).fill(0xaa);
    encodeMapInfo({ type: 1, id: 7, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 0, name: "m", btfId: 9, btfKeyTypeId: 1, btfValueTypeId: 2 }, buf);
    expect(decodeMapInfo(buf)).toMatchObject({ btfId: 9, btfKeyTypeId: 1, btfValueTypeId: 2 });
    const dv = new DataView(buf.buffer);
    expect([dv.getUint32(64, true), dv.getUint32(68, true), dv.getUint32(72, true)]).toEqual([9, 1, 2]);
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

  // An image laid out by hand at 6.18's offsets of struct bpf_prog_info, so that the
  // layout is checked against the kernel's, not only against itself.
  it("bpf_prog_info is read at the kernel's offsets", () => {
    const buf = new Uint8Array(PROG_INFO_SIZE);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, 15, true); // type
    dv.setUint32(4, 42, true); // id
    buf.set([1, 2, 3, 4, 5, 6, 7, 8], 8); // tag
    dv.setUint32(20, 16, true); // xlated_prog_len
    dv.setBigUint64(40, 123456789n, true); // load_time
    dv.setUint32(48, 1000, true); // created_by_uid
    dv.setUint32(52, 2, true); // nr_map_ids
    buf.set(new TextEncoder().encode("sock_prog"), 64); // name[16]
    dv.setUint32(80, 3, true); // ifindex
    dv.setUint32(84, 1, true); // gpl_compatible:1
    dv.setUint32(216, 2, true); // verified_insns
    const info = decodeProgInfo(buf);
    expect([info.type, info.id, [...info.tag], info.xlatedProgLen, info.loadTime, info.createdByUid, info.nrMapIds, info.name, info.ifindex,
      info.gplCompatible, info.verifiedInsns]).toEqual([15, 42, [1, 2, 3, 4, 5, 6, 7, 8], 16, 123456789n, 1000, 2, "sock_prog", 3, true, 2]);
  });

  // btf-parse.test.ts holds the layouts to the kernel's BTF; this holds each decoded field to the
  // kernel field it names, so that two fields of one width cannot trade places unseen (run_cnt and
  // run_time_ns, jited_prog_len and xlated_prog_len read the same on a program never run or jited).
  it("each field decodeMapInfo and decodeProgInfo give comes from the bpf_*_info field of its name", () => {
    const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const cases = [[BPF_MAP_INFO, decodeMapInfo], [BPF_PROG_INFO, decodeProgInfo]] as Array<[Layout<string>, (b: Uint8Array) => object]>;
    for (const [layout, decode] of cases) {
      // A value no other field has, the high half of the 64-bit ones too.
      const values: Record<string, FieldValue> = {};
      layout.fields.forEach((f, i) => {
        values[f.name] = f.kind === "bytes" ? (f.name === "name" ? `n${i}` : Uint8Array.from({ length: f.size }, (_, j) => i + j))
          : f.kind === "u64" || f.kind === "ptr" ? (BigInt(i + 1) << 32n) | BigInt(i + 100) : i + 1;
      });
      values.gpl_compatible = 1; // a one-bit field
      const buf = new Uint8Array(layout.size);
      encodeStruct(layout, buf, values);
      for (const [key, got] of Object.entries(decode(buf))) {
        const want = values[snake(key)];
        expect(want, `${layout.name}: ${key}`).toBeDefined();
        expect(got, `${layout.name}: ${key}`).toEqual(key === "gplCompatible" ? true : want);
      }
    }
  });

  it("encodeProgInfo writes every field it takes where decodeProgInfo reads it", () => {
    const given = {
      type: 3, id: 7, tag: Uint8Array.from([8, 7, 6, 5, 4, 3, 2, 1]), jitedProgLen: 40, xlatedProgLen: 16, loadTime: 5n << 40n,
      createdByUid: 1000, nrMapIds: 2, name: "probe", gplCompatible: true, verifiedInsns: 9, btfId: 11, nrFuncInfo: 1, nrLineInfo: 4,
    };
    const buf = new Uint8Array(PROG_INFO_SIZE).fill(0xaa);
    encodeProgInfo(given, buf);
    expect(decodeProgInfo(buf)).toMatchObject(given);
  });

  it("encodeStruct clears the rest of a byte field: a shorter name leaves nothing of a longer one", () => {
    const buf = new Uint8Array(BPF_MAP_INFO.size);
    encodeStruct(BPF_MAP_INFO, buf, { name: "cilium_policy_00" });
    encodeStruct(BPF_MAP_INFO, buf, { name: "ct" });
    expect([...buf.subarray(24, 40)]).toEqual([0x63, 0x74, ...new Array(14).fill(0)]);
    expect(decodeMapInfo(buf).name).toBe("ct");
  });

  it("a truncated info reads its missing fields as zero", () => {
    const buf = new Uint8Array(MAP_INFO_SIZE);
    encodeMapInfo({ type: 2, id: 9, keySize: 4, valueSize: 4, maxEntries: 3, mapFlags: 0, name: "m" }, buf);
    expect(decodeMapInfo(buf.subarray(0, 12))).toMatchObject({ type: 2, id: 9, keySize: 4, valueSize: 0, maxEntries: 0, name: "" });
  });
});
