// `bpfkit btf dump` on each driver: a blob with every kind lists as bpftool lists it (by id, by
// file, a map's key and value types), its JSON as bpftool -j's, and the errors: no such id,
// a file that is not BTF, a bad --format; and --format c, the C header.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, btfForMap, decodeMapInfo, formatBtfC, MAP_INFO_SIZE, parseBtf, struct, u16, u32, u64, type Driver } from "@bpfkit/core";
import { driversUnderTest } from "@bpfkit/testkit";
import { cliOver } from "./helpers.js";
import { everyKindBtf } from "./support/btf-every-kind.js";

// Recorded once with bpftool v7.1.0 (libbpf 1.1) on this machine:
//   bpftool btf dump file every-kind.btf format raw          > fixtures/btf-every-kind.bpftool.txt
//   bpftool -j btf dump file every-kind.btf format raw       > fixtures/btf-every-kind.bpftool.json
// where every-kind.btf is everyKindBtf()'s bytes.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const BPFTOOL_TEXT = fixture("btf-every-kind.bpftool.txt");
// bpftool sign-extends an unsigned ENUM's u32 to 64 bits in JSON (4000000000 is
// 18446744073414584320 there); bpfkit prints the u32. The rest is bpftool's.
const BPFTOOL_JSON = JSON.parse(fixture("btf-every-kind.bpftool.json").replace('"val":18446744073414584320', '"val":4000000000')) as { types: unknown[] };

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "bpfkit-btf-dump-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`btf dump on ${dut.name}`, () => {
    let d: Driver;
    beforeAll(() => { d = dut.create(); });
    const bpfkit = (...argv: string[]) => cliOver(d)(...argv);

    /** Loads `raw` and returns its BTF id and fd (closed by the caller). */
    function load(raw: Uint8Array): { fd: number; id: number } {
      const fd = d.btfLoad!({ btf: raw });
      expect(fd).toBeGreaterThan(0);
      const info = d.btfGetInfo!(fd, null);
      if (typeof info === "number") throw new Error(`btfGetInfo: ${info}`);
      return { fd, id: info.id };
    }

    it("by id and by file: every kind as bpftool's format raw lists it, to the byte", async () => {
      const raw = everyKindBtf();
      const { fd, id } = load(raw);
      try {
        for (const argv of [[String(id)], ["id", String(id)], ["id", String(id), "--format", "raw"]]) {
          const r = await bpfkit("btf", "dump", ...argv);
          expect(r.code, argv.join(" ")).toBe(0);
          expect(r.out, argv.join(" ")).toBe(BPFTOOL_TEXT);
        }
        const json = await bpfkit("btf", "dump", String(id), "--json");
        expect(JSON.parse(json.out)).toEqual(BPFTOOL_JSON);
      } finally {
        d.close(fd);
      }
      const path = join(dir, `every-kind-${dut.name}.btf`);
      writeFileSync(path, raw);
      const f = await bpfkit("btf", "dump", "file", path);
      expect(f).toMatchObject({ code: 0, out: BPFTOOL_TEXT });
      expect(JSON.parse((await bpfkit("btf", "dump", "file", path, "--json")).out)).toEqual(BPFTOOL_JSON);
    });

    it("map MAP: the key and value types of the map's BTF (bpftool's default), or all of them", async () => {
      const key = struct({ a: u32, b: u16 }, { name: "k" });
      const b = btfForMap(key, u64);
      const { fd: btf } = load(b.btf);
      const map = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: key.size, valueSize: 8, maxEntries: 2, btfFd: btf, btfKeyTypeId: b.keyTypeId, btfValueTypeId: b.valueTypeId });
      d.close(btf);
      expect(map).toBeGreaterThan(0);
      try {
        const info = new Uint8Array(MAP_INFO_SIZE);
        expect(d.objGetInfoByFd(map, info)).toBeGreaterThan(0);
        const { id } = decodeMapInfo(info);
        const all = (await bpfkit("btf", "dump", "file", writeTo("map.btf", b.btf))).out.split(/\n(?=\[)/);
        const entryOf = (typeId: number) => `${all.find((e) => e.startsWith(`[${typeId}] `))!.trimEnd()}\n`;
        const kv = await bpfkit("btf", "dump", "map", "id", String(id));
        expect(kv).toMatchObject({ code: 0, out: entryOf(b.keyTypeId) + entryOf(b.valueTypeId) });
        expect(kv.out).toMatch(/^\[\d+\] STRUCT 'k' size=8 vlen=2\n\t'a' type_id=\d+ bits_offset=0\n\t'b' type_id=\d+ bits_offset=32\n\[\d+\] TYPEDEF '__u64' type_id=\d+\n$/);
        expect((await bpfkit("btf", "dump", "map", "id", String(id), "value")).out).toBe(entryOf(b.valueTypeId));
        expect((await bpfkit("btf", "dump", "map", "id", String(id), "all")).out).toBe(all.join("\n"));
      } finally {
        d.close(map);
      }
    });

    it("--format c prints the C header of every type, by file, by id and for a map (core's formatBtfC, held to gcc there)", async () => {
      const raw = everyKindBtf();
      const header = formatBtfC(parseBtf(raw)).trimEnd();
      expect(header).toContain("#ifndef __VMLINUX_H__");
      const byFile = await bpfkit("btf", "dump", "file", writeTo("kinds-c.btf", raw), "--format", "c");
      expect(byFile).toMatchObject({ code: 0, out: header });
      const { fd, id } = load(raw);
      try {
        expect((await bpfkit("btf", "dump", String(id), "--format", "c")).out).toBe(header);
      } finally {
        d.close(fd);
      }
      const m = btfForMap(struct({ a: u32, b: u64 }, { name: "pair" }), u16);
      const btfFd = d.btfLoad!({ btf: m.btf });
      const map = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 16, valueSize: 2, maxEntries: 1, btfFd, btfKeyTypeId: m.keyTypeId, btfValueTypeId: m.valueTypeId });
      d.close(btfFd);
      try {
        const info = new Uint8Array(MAP_INFO_SIZE);
        d.objGetInfoByFd(map, info);
        const r = await bpfkit("btf", "dump", "map", "id", String(decodeMapInfo(info).id), "value", "--format", "c");
        expect(r.out).toBe(formatBtfC(parseBtf(m.btf)).trimEnd());
        expect(r.out).toContain("struct pair {\n\t__u32 a;\n\t__u64 b;\n};");
      } finally {
        d.close(map);
      }
    });

    it("errors: no such id is exit 4 (ENOENT), a file that is not BTF exit 1 naming the byte, a --format past raw and c, or c with --json, a usage error", async () => {
      const none = await bpfkit("btf", "dump", "id", "4000000000");
      expect(none.code).toBe(4);
      expect(none.err).toContain("Unable to open BTF id 4000000000: no such file or directory");
      const notBtf = writeTo("not.btf", new TextEncoder().encode("this is no BTF at all, not even its header"));
      const bad = await bpfkit("btf", "dump", "file", notBtf);
      expect(bad.code).toBe(1);
      expect(bad.err).toContain(`btf dump file ${notBtf}: BTF: magic is 0x6874, not 0xeb9f (at byte 0)`);
      const truncated = writeTo("short.btf", everyKindBtf().subarray(0, 40));
      const cut = await bpfkit("btf", "dump", "file", truncated);
      expect(cut.code).toBe(1);
      expect(cut.err).toMatch(/btf dump file .*short\.btf: BTF: .*\(at byte \d+\)/);
      expect((await bpfkit("btf", "dump", "file", join(dir, "missing.btf"))).code).toBe(4);
      const other = await bpfkit("btf", "dump", "file", notBtf, "--format", "go");
      expect(other.code).toBe(2);
      expect(other.err).toContain("--format go: raw or c");
      const cJson = await bpfkit("btf", "dump", "file", writeTo("kinds.btf", everyKindBtf()), "--format", "c", "--json");
      expect(cJson.code).toBe(2);
      expect(cJson.err).toContain("--format c prints C, not JSON");
      expect((await bpfkit("btf", "dump")).code).toBe(2);
      expect((await bpfkit("btf", "dump", "id", "x")).code).toBe(2);
      const noBtfMap = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
      try {
        const info = new Uint8Array(MAP_INFO_SIZE);
        expect(d.objGetInfoByFd(noBtfMap, info)).toBeGreaterThan(0);
        const r = await bpfkit("btf", "dump", "map", "id", String(decodeMapInfo(info).id));
        expect(r.code).toBe(1);
        expect(r.err).toContain("was created without BTF");
      } finally {
        d.close(noBtfMap);
      }
    });
  });
}

function writeTo(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}
