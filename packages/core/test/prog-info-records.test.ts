// encodeFuncInfo and encodeLineInfo (struct bpf_func_info, struct bpf_line_info), their decoders,
// and a program loaded on each driver with BTF built by BtfBuilder: its info names the BTF.
import { expect, it } from "vitest";
import {
  BtfBuilder, BtfIntEncoding, decodeFuncInfo, decodeLineInfo, encodeFuncInfo, encodeLineInfo, ProgType,
} from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

it("encodeFuncInfo packs insn_off and type_id, 8 bytes a record, little-endian", () => {
  const b = encodeFuncInfo([{ insnOff: 0, typeId: 3 }, { insnOff: 0x0102_0304, typeId: 0xffff_ffff }]);
  expect([...b]).toEqual([0, 0, 0, 0, 3, 0, 0, 0, 4, 3, 2, 1, 0xff, 0xff, 0xff, 0xff]);
  expect(decodeFuncInfo(b)).toEqual([{ insnOff: 0, typeId: 3 }, { insnOff: 0x0102_0304, typeId: 0xffff_ffff }]);
  expect(encodeFuncInfo([])).toEqual(new Uint8Array(0));
});

it("encodeLineInfo packs line_col as line << 10 | column", () => {
  const b = encodeLineInfo([{ insnOff: 2, fileNameOff: 5, lineOff: 9, line: 42, column: 7 }, { insnOff: 3, fileNameOff: 5, lineOff: 9, line: (1 << 22) - 1 }]);
  expect(b.length).toBe(32);
  const dv = new DataView(b.buffer);
  expect([dv.getUint32(0, true), dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true)]).toEqual([2, 5, 9, (42 << 10) | 7]);
  expect(dv.getUint32(28, true)).toBe(0xffff_fc00);
  expect(decodeLineInfo(b)).toEqual([
    { insnOff: 2, fileNameOff: 5, lineOff: 9, line: 42, column: 7 },
    { insnOff: 3, fileNameOff: 5, lineOff: 9, line: (1 << 22) - 1, column: 0 },
  ]);
});

it("what a record cannot hold is refused, naming the record and field; the decoders take larger records", () => {
  expect(() => encodeFuncInfo([{ insnOff: 0, typeId: 1 }, { insnOff: -1, typeId: 1 }])).toThrow(/encodeFuncInfo: record 1: insnOff -1 is not in \[0, 4294967295\]/);
  expect(() => encodeFuncInfo([{ insnOff: 0, typeId: 1.5 }])).toThrow(TypeError);
  expect(() => encodeFuncInfo([null as never])).toThrow(/record 0 must be an object/);
  expect(() => encodeLineInfo([{ insnOff: 0, fileNameOff: 0, lineOff: 0, line: 1 << 22 }])).toThrow(/line 4194304 is not in \[0, 4194303\]/);
  expect(() => encodeLineInfo([{ insnOff: 0, fileNameOff: 0, lineOff: 0, line: 1, column: 1024 }])).toThrow(/column 1024 is not in \[0, 1023\]/);
  expect(() => decodeFuncInfo(new Uint8Array(12))).toThrow(/12 bytes are not a whole number of 8-byte records/);
  expect(() => decodeLineInfo(new Uint8Array(16), 8)).toThrow(/recSize 8 is shorter/);
  const wide = new Uint8Array(24);
  new DataView(wide.buffer).setUint32(16, 5, true);
  expect(decodeFuncInfo(wide, 12)).toEqual([{ insnOff: 0, typeId: 0 }, { insnOff: 0, typeId: 5 }]);
});

it("the decoders read records that start inside a larger buffer, and every column", () => {
  const whole = new Uint8Array(4 + 16 + 32);
  whole.set(encodeFuncInfo([{ insnOff: 1, typeId: 2 }, { insnOff: 3, typeId: 4 }]), 4);
  const lines = [{ insnOff: 0, fileNameOff: 1, lineOff: 2, line: 1, column: 1023 }, { insnOff: 5, fileNameOff: 6, lineOff: 7, line: (1 << 22) - 1, column: 256 }];
  whole.set(encodeLineInfo(lines), 20);
  expect(decodeFuncInfo(whole.subarray(4, 20))).toEqual([{ insnOff: 1, typeId: 2 }, { insnOff: 3, typeId: 4 }]);
  expect(decodeLineInfo(whole.subarray(20))).toEqual(lines);
});

eachDriver("a program loaded with BtfBuilder's FUNC and encoded records", (env) => {
  it("loads, and its info gives the BTF's id and the record counts", () => {
    const { driver, bpf } = env();
    const b = new BtfBuilder();
    const int = b.int("int", 4, BtfIntEncoding.SIGNED);
    const main = b.func("main", b.funcProto(int, []));
    const file = b.addString("prog.c");
    const line = b.addString("return 0;");
    using btf = bpf.loadBtf(b.encode());
    const fd = driver.progLoad({
      progType: ProgType.SocketFilter, license: "GPL",
      insns: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
      progBtfFd: btf.fd, funcInfo: encodeFuncInfo([{ insnOff: 0, typeId: main }]),
      lineInfo: encodeLineInfo([{ insnOff: 0, fileNameOff: file, lineOff: line, line: 3, column: 5 }, { insnOff: 1, fileNameOff: file, lineOff: line, line: 4 }]),
    });
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      expect(bpf.getProgInfoByFd(fd)).toMatchObject({ btfId: btf.id, nrFuncInfo: 1, nrLineInfo: 2 });
    } finally {
      driver.close(fd);
    }
  });
});
