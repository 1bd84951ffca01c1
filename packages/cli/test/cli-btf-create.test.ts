// `bpfkit map create --btf` on each driver: the map gets BTF of its declared key and value
// types, so it dumps by field with no type given; without --btf nothing changes; types the
// kernel takes no BTF for are refused, saying so.
import { describe, expect, it } from "vitest";
import { driversUnderTest } from "@bpfkit/testkit";
import { suiteWorld } from "./helpers.js";

const KEY = "struct{ip:ipv4,port:be16}";
const VALUE = "struct{packets:u64,bytes:u64}";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`map create --btf on ${dut.name}`, () => {
    const w = suiteWorld(dut);
    const path = (name: string) => `${w.fs.path}/${name}`;

    it("creates the map with BTF of --key-type and --value-type: it dumps by field with no type given", async () => {
      const c = await w.bpfkit("map", "create", path("flows"), "--type", "hash", "--key-type", KEY, "--value-type", VALUE, "--max-entries", "4", "--btf", "--json");
      expect(c.code, c.err).toBe(0);
      expect(JSON.parse(c.out).btfId).toBeGreaterThan(0);
      const up = await w.bpfkit("map", "update", path("flows"), "key", "10.0.0.1", "80", "value", "1", "2", "--key-type", KEY, "--value-type", VALUE);
      expect(up.code, up.err).toBe(0);
      // BTF has no byte order: port 80 (00 50) is 20480, as bpftool prints it.
      const json = await w.bpfkit("map", "dump", path("flows"), "--json");
      expect(JSON.parse(json.out)).toEqual([{ key: { ip: 16777226, port: 20480 }, value: { packets: 1, bytes: 2 } }]);
      const text = await w.bpfkit("map", "dump", path("flows"));
      expect(text.out).toBe('key: {\n    "ip": 16777226,\n    "port": 20480\n}  value: {\n    "packets": 1,\n    "bytes": 2\n}\n1 entry\n');
      const types = await w.bpfkit("btf", "dump", "map", path("flows"));
      expect(types.out).toMatch(/^\[\d+\] STRUCT '\(anon\)' size=8 vlen=2\n\t'ip' type_id=\d+ bits_offset=0\n\t'port' type_id=\d+ bits_offset=32\n\[\d+\] STRUCT '\(anon\)' size=16 vlen=2\n\t'packets' type_id=\d+ bits_offset=0\n\t'bytes' type_id=\d+ bits_offset=64\n$/);
    });

    it("a per-CPU map's values dump per CPU by field; a size without a type is __u8[N]", async () => {
      const c = await w.bpfkit("map", "create", path("pc"), "--type", "percpu_hash", "--key-size", "4", "--value-type", VALUE, "--max-entries", "2", "--btf");
      expect(c.code, c.err).toBe(0);
      expect((await w.bpfkit("map", "update", path("pc"), "key", "01 00 00 00", "value", "3", "4", "--value-type", VALUE)).code).toBe(0);
      const json = JSON.parse((await w.bpfkit("map", "dump", path("pc"), "--json")).out) as Array<{ key: unknown; values: Array<{ cpu: number; value: unknown }> }>;
      expect(json).toHaveLength(1);
      expect(json[0]!.key).toEqual([1, 0, 0, 0]);
      expect(json[0]!.values.length).toBe(w.d.possibleCpus);
      for (const v of json[0]!.values) expect(v.value).toEqual({ packets: 3, bytes: 4 });
    });

    it("without --btf the map has none, and dumps hex as before", async () => {
      const c = await w.bpfkit("map", "create", path("plain"), "--type", "hash", "--key-type", "u32", "--value-type", "u32", "--max-entries", "2", "--json");
      expect(c.code).toBe(0);
      expect(JSON.parse(c.out).btfId).toBe(0);
      expect((await w.bpfkit("map", "update", path("plain"), "key", "01 00 00 00", "value", "02 00 00 00")).code).toBe(0);
      expect((await w.bpfkit("map", "dump", path("plain"))).out).toBe("key: 01 00 00 00  value: 02 00 00 00\n1 entry\n");
    });

    it("types that take no BTF are refused, saying so, and nothing is pinned", async () => {
      const ring = await w.bpfkit("map", "create", path("rb"), "--type", "ringbuf", "--max-entries", "4096", "--btf");
      expect(ring.code).toBe(2);
      expect(ring.err).toContain("--btf: a ringbuf map has no keys or values for BTF to describe");
      const queue = await w.bpfkit("map", "create", path("q"), "--type", "queue", "--value-type", "u32", "--max-entries", "2", "--btf");
      expect(queue.code).toBe(1);
      expect(queue.err).toContain("a queue takes no BTF: leave out --btf");
      const aom = await w.bpfkit("map", "create", path("aom"), "--type", "array_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--btf");
      expect(aom.code).toBe(1);
      expect(aom.err).toContain("an array_of_maps map takes no BTF: leave out --btf");
      const trie = await w.bpfkit("map", "create", path("t"), "--type", "lpm_trie", "--key-size", "8", "--value-size", "4", "--max-entries", "2", "--btf");
      expect(trie.code).toBe(1);
      expect(trie.err).toContain("an lpm_trie's key must be a struct: --key-type lpm4 or lpm6");
      const lpm4 = await w.bpfkit("map", "create", path("t4"), "--type", "lpm_trie", "--key-type", "lpm4", "--value-size", "4", "--max-entries", "2", "--btf");
      expect(lpm4.code, lpm4.err).toBe(0);
      for (const name of ["rb", "q", "aom", "t"]) expect((await w.bpfkit("map", "show", path(name))).code, name).toBe(4);
    });
  });
}
