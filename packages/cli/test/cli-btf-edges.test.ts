// `bpfkit btf list` and `btf dump` at their edges (cli-btf.test.ts and cli-btf-dump.test.ts cover
// the everyday paths): what a mutation audit found no test for. Several maps or programs on one
// BTF, a BTF freed while listed, a host without BTF, every BTF fd closed, the words each takes,
// a keyless map's and a global-data map's types, extern linkage (bpftool's text), vmlinux's own
// BTF by id, and a module's (split on vmlinux's).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_HASH, BtfBuilder, BtfIntEncoding, btfForMap, decodeMapInfo, encodeFuncInfo, Errno, MAP_INFO_SIZE,
  parseBtf, PROG_INFO_SIZE, struct, u16, u32, u64, wrapDriver, type Driver,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { driversUnderTest } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { cliOver, SOCKET_FILTER_INSNS } from "./helpers.js";
import { trackHandles } from "./support/handles.js";

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "bpfkit-btf-edges-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mapId = (d: Driver, fd: number): number => {
  const info = new Uint8Array(MAP_INFO_SIZE);
  expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
  return decodeMapInfo(info).id;
};
const progId = (d: Driver, fd: number): number => {
  const info = new Uint8Array(PROG_INFO_SIZE);
  expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
  return new DataView(info.buffer).getUint32(4, true);
};

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`btf list and btf dump edges on ${dut.name}`, () => {
    let d: Driver;
    const fds: number[] = [];
    beforeAll(() => { d = dut.create(); });
    afterAll(() => { for (const fd of fds.splice(0)) d.close(fd); });
    const bpfkit = (...argv: string[]) => cliOver(d)(...argv);
    const made = (fd: number, what: string): number => {
      expect(fd, what).toBeGreaterThanOrEqual(0);
      fds.push(fd);
      return fd;
    };
    const btfIdOf = (fd: number): number => (d.btfGetInfo!(fd, null) as { id: number }).id;

    /** A loaded BTF for a hash map: key struct k { u32 a; u16 b } (8 bytes), value __u64. */
    function kv(): { btf: number; key: number; value: number } {
      const b = btfForMap(struct({ a: u32, b: u16 }, { name: "k" }), u64);
      const btf = made(d.btfLoad!({ btf: b.btf }), "BTF_LOAD");
      return { btf, key: b.keyTypeId, value: b.valueTypeId };
    }

    it("btf list names every map and every program that holds a BTF, in the table and the JSON alike", async () => {
      const { btf, key, value } = kv();
      const maps = [0, 1].map((i) => mapId(d, made(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 2, btfFd: btf, btfKeyTypeId: key, btfValueTypeId: value }), `map ${i}`)));
      const fb = new BtfBuilder();
      const main = fb.func("main", fb.funcProto(fb.int("int", 4, BtfIntEncoding.SIGNED), []));
      const pbtf = made(d.btfLoad!({ btf: fb.encode() }), "BTF_LOAD of the programs'");
      const progs = [0, 1].map((i) => progId(d, made(d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL", progName: `edges${i}`, progBtfFd: pbtf, funcInfo: encodeFuncInfo([{ insnOff: 0, typeId: main }]) }), `prog ${i}`)));
      const all = JSON.parse((await bpfkit("btf", "list", "--json")).out) as Array<{ id: number; mapIds: number[]; progIds: number[] }>;
      expect(all.find((b) => b.id === btfIdOf(btf))).toMatchObject({ mapIds: maps, progIds: [] });
      expect(all.find((b) => b.id === btfIdOf(pbtf))).toMatchObject({ mapIds: [], progIds: progs });
      const table = (await bpfkit("btf", "list")).out.split("\n");
      const row = (id: number) => table.find((l) => l.trimStart().startsWith(`${id} `));
      expect(row(btfIdOf(btf))).toMatch(new RegExp(`\\s${maps.join(",")}\\s+-$`));
      expect(row(btfIdOf(pbtf))).toMatch(new RegExp(`\\s-\\s+${progs.join(",")}$`));
    });

    it("btf list skips a BTF freed between BTF_GET_NEXT_ID and BTF_GET_FD_BY_ID, and takes no arguments", async () => {
      const { btf } = kv();
      const gone = btfIdOf(btf);
      const racing = wrapDriver(d, { btfGetFdById: (id) => (id === gone ? -Errno.ENOENT : d.btfGetFdById!(id)) });
      const r = await cliOver(racing)("btf", "list", "--json");
      expect(r.code, r.err).toBe(0);
      const ids = (JSON.parse(r.out) as Array<{ id: number }>).map((b) => b.id);
      expect(ids).not.toContain(gone);
      expect(ids.length).toBeGreaterThan(0);
      const extra = await bpfkit("btf", "list", String(gone));
      expect([extra.code, extra.err]).toEqual([ExitCode.usage, expect.stringContaining("btf list takes no arguments")]);
    });

    it("btf list, btf dump (by id and a map's) and a map's dump by its BTF close every fd they open", async () => {
      const { btf, key, value } = kv();
      const map = made(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 2, btfFd: btf, btfKeyTypeId: key, btfValueTypeId: value }), "map");
      const id = String(mapId(d, map));
      for (const argv of [["btf", "list"], ["btf", "dump", String(btfIdOf(btf))], ["btf", "dump", "map", "id", id], ["map", "dump", "id", id]]) {
        const t = trackHandles(d);
        const r = await cliOver(t.driver)(...argv);
        expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(0);
        expect(t.open(), argv.join(" ")).toEqual([]);
      }
    });

    it("btf dump refuses an id that is no BTF id (0, past u32, not a number), words after what it dumps, and a file or map left out", async () => {
      const path = join(dir, `extern-${dut.name}.btf`);
      writeFileSync(path, externBtf());
      // Read before the driver is made: the command line's own message, not the driver's.
      for (const [argv, why] of [[["0"], "id 0: a BTF id is a positive integer"], [["id", "0"], "id 0: a BTF id is a positive integer"],
        [["4294967296"], "id 4294967296: a BTF id is a positive integer"], [["12abc"], "id 12abc: a BTF id is a positive integer"],
        [["1", "more"], 'unexpected "more"'], [["id", "1", "more"], 'unexpected "more"'], [["file", path, "more"], 'unexpected "more"'],
        [["file"], "file needs a PATH"], [["map", "key"], "which map?"]] as const) {
        const r = await bpfkit("btf", "dump", ...argv);
        expect([r.code, r.err], argv.join(" ")).toEqual([ExitCode.usage, expect.stringContaining(why)]);
      }
    });

    it("btf dump map MAP key lists the key's type, kv (said or not) the key's and the value's", async () => {
      const { btf, key, value } = kv();
      const id = String(mapId(d, made(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 8, valueSize: 8, maxEntries: 2, btfFd: btf, btfKeyTypeId: key, btfValueTypeId: value }), "map")));
      const k = await bpfkit("btf", "dump", "map", "id", id, "key");
      expect(k.code, k.err).toBe(0);
      expect(k.out).toMatch(new RegExp(`^\\[${key}\\] STRUCT 'k' size=8 vlen=2\n\t'a' [^\n]*\n\t'b' [^\n]*\n$`));
      const both = await bpfkit("btf", "dump", "map", "id", id);
      expect(both.out).toMatch(new RegExp(`^\\[${key}\\] STRUCT 'k' [^]*\\n\\[${value}\\] TYPEDEF '__u64' type_id=\\d+\\n$`));
      const said = await bpfkit("btf", "dump", "map", "id", id, "kv");
      expect([said.code, said.out], said.err).toEqual([0, both.out]);
    });

    // bpftool lists the key's type 0 too, as `[0] UNKNOWN '(anon)'` (v7.1.0, this kernel); bpfkit lists no type 0.
    it("btf dump map of a keyless map (a bloom filter with BTF) lists its value's type alone: key type 0 is no type", async () => {
      const b = new BtfBuilder();
      const v = b.int("unsigned int", 4);
      const btf = made(d.btfLoad!({ btf: b.encode() }), "BTF_LOAD");
      const bloom = made(d.mapCreate({ mapType: BPF_MAP_TYPE_BLOOM_FILTER, keySize: 0, valueSize: 4, maxEntries: 8, btfFd: btf, btfValueTypeId: v }), "bloom filter");
      const id = String(mapId(d, bloom));
      const r = await bpfkit("btf", "dump", "map", "id", id);
      expect([r.code, r.out], r.err).toEqual([0, `[${v}] INT 'unsigned int' size=4 bits_offset=0 nr_bits=32 encoding=(none)\n`]);
      expect(JSON.parse((await bpfkit("btf", "dump", "map", "id", id, "--json")).out)).toEqual({ types: [expect.objectContaining({ id: v, kind: "INT" })] });
      expect((await bpfkit("btf", "dump", "map", "id", id, "key"))).toMatchObject({ code: 0, out: "" });
    });

    it("extern and unknown linkage of a FUNC and a VAR print as bpftool prints them (a file's: the kernel loads neither)", async () => {
      const path = join(dir, `extern-${dut.name}.btf`);
      writeFileSync(path, externBtf());
      const r = await bpfkit("btf", "dump", "file", path);
      expect([r.code, r.out], r.err).toEqual([0, BPFTOOL_EXTERN_TEXT]);
      expect(JSON.parse((await bpfkit("btf", "dump", "file", path, "--json")).out)).toEqual(BPFTOOL_EXTERN_JSON);
    });

    it("a global-data map (an ARRAY of 1 whose key type is 0 and value a DATASEC, as .bss) dumps its value by BTF, as bpftool", async () => {
      const b = new BtfBuilder();
      const int = b.int("int", 4, BtfIntEncoding.SIGNED);
      const sec = b.datasec(".bss", 4, [{ type: b.var("counter", int, 1), offset: 0, size: 4 }]);
      const btf = made(d.btfLoad!({ btf: b.encode() }), "BTF_LOAD");
      const map = made(d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, btfFd: btf, btfKeyTypeId: 0, btfValueTypeId: sec }), "global-data map");
      expect(d.mapUpdateElem(map, new Uint8Array(4), Uint8Array.of(42, 0, 0, 0))).toBe(0);
      // bpftool -j map dump of the same map on this kernel: "formatted":{"value":{".bss":[{"counter":42}]}}.
      const r = await bpfkit("map", "dump", "id", String(mapId(d, map)), "--json");
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toEqual([{ key: "00 00 00 00", value: { ".bss": [{ counter: 42 }] } }]);
    });

    // No module here has BTF: the simulator stands in, with two loaded blobs named as the
    // kernel's (vmlinux, and a module split on it), so the CLI's reading of a module is tested.
    if (dut.name === "sim") it("a module's BTF by id lists its own types, numbered after vmlinux's, as bpftool -B lists them, and every fd is closed", async () => {
      const b = new BtfBuilder();
      const int = b.int("int", 4, BtfIntEncoding.SIGNED);
      b.struct("base_s", 4, [{ name: "x", type: int, bitOffset: 0 }]);
      const base = b.encode();
      const s = new BtfBuilder({ base: parseBtf(base) });
      s.struct("mod_s", 8, [{ name: "p", type: s.ptr(int), bitOffset: 0 }]);
      s.typedef("mod_int", int);
      const split = s.encode();
      const vmlinux = btfIdOf(made(d.btfLoad!({ btf: base }), "BTF_LOAD of the stand-in vmlinux"));
      const mod = btfIdOf(made(d.btfLoad!({ btf: base }), "BTF_LOAD of the stand-in module"));
      const host = wrapDriver(d, {
        btfGetInfo: (fd, data) => {
          const info = d.btfGetInfo!(fd, data);
          if (typeof info === "number" || (info.id !== vmlinux && info.id !== mod)) return info;
          if (info.id === vmlinux) return { ...info, name: "vmlinux", kernelBtf: true };
          data?.set(split.subarray(0, data.length));
          return { ...info, name: "mod", kernelBtf: true, btfSize: split.length };
        },
      });
      const t = trackHandles(host);
      const r = await cliOver(t.driver)("btf", "dump", String(mod));
      expect(t.open()).toEqual([]);
      // bpftool btf dump file split.btf -B base.btf format raw (v7.1.0), for these bytes.
      expect([r.code, r.out], r.err).toEqual([0, "[3] PTR '(anon)' type_id=1\n[4] STRUCT 'mod_s' size=8 vlen=1\n\t'p' type_id=3 bits_offset=0\n[5] TYPEDEF 'mod_int' type_id=1\n"]);
    });

    if (dut.name === "kernel") it("vmlinux's BTF by id lists every type of its file from [1]: it is the base, not split on itself", async () => {
      const list = JSON.parse((await bpfkit("btf", "list", "--json")).out) as Array<{ id: number; name: string; kernelBtf: boolean }>;
      const vmlinux = list.find((b) => b.kernelBtf && b.name === "vmlinux");
      expect(vmlinux).toBeDefined();
      const byId = await bpfkit("btf", "dump", String(vmlinux!.id));
      expect(byId.code, byId.err).toBe(0);
      // Every type of the file, from [1] on (bpftool's `btf dump id 1` here, to the byte: checked once).
      const types = parseBtf(readFileSync("/sys/kernel/btf/vmlinux")).types.length - 1;
      const entries = byId.out.match(/^\[\d+\] /gm)!;
      expect([entries.length, entries[0], entries.at(-1)]).toEqual([types, "[1] ", `[${types}] `]);
    });
  });
}

describe("btf list on a host without BTF", () => {
  it("says so, naming the driver; --json is an empty list", async () => {
    const bpfkit = cliOver(createSimDriver());
    expect(await bpfkit("btf", "list")).toMatchObject({ code: 0, out: "no BTF is loaded (driver: sim)\n" });
    expect(await bpfkit("btf", "list", "--json")).toMatchObject({ code: 0, out: "[]\n" });
  });
});

/** A FUNC and a VAR of each linkage the kernel refuses: extern (2) and one past it (3). */
function externBtf(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int("int", 4, BtfIntEncoding.SIGNED);
  const fp = b.funcProto(int, []);
  b.func("ef", fp, 2);
  b.var("ev", int, 2);
  b.func("uf", fp, 3);
  b.var("uv", int, 3);
  return b.encode();
}

// Recorded with bpftool v7.1.0 (libbpf 1.1): `bpftool [-j] btf dump file extern.btf format raw`
// of externBtf()'s bytes.
const BPFTOOL_EXTERN_TEXT = `[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] FUNC_PROTO '(anon)' ret_type_id=1 vlen=0
[3] FUNC 'ef' type_id=2 linkage=extern
[4] VAR 'ev' type_id=1, linkage=extern
[5] FUNC 'uf' type_id=2 linkage=(unknown)
[6] VAR 'uv' type_id=1, linkage=(unknown)
`;
const BPFTOOL_EXTERN_JSON = JSON.parse(`{"types":[{"id":1,"kind":"INT","name":"int","size":4,"bits_offset":0,"nr_bits":32,"encoding":"SIGNED"},` +
  `{"id":2,"kind":"FUNC_PROTO","name":"(anon)","ret_type_id":1,"vlen":0,"params":[]},{"id":3,"kind":"FUNC","name":"ef","type_id":2,"linkage":"extern"},` +
  `{"id":4,"kind":"VAR","name":"ev","type_id":1,"linkage":"extern"},{"id":5,"kind":"FUNC","name":"uf","type_id":2,"linkage":"(unknown)"},` +
  `{"id":6,"kind":"VAR","name":"uv","type_id":1,"linkage":"(unknown)"}]}`) as unknown;
