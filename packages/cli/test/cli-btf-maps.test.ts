// Maps created with BTF print by their BTF types on each driver: `map dump`, `lookup`, `next`,
// in text (bpftool's plain form) and JSON (bpftool's "formatted"), per-CPU too. An
// explicit --key-type/--value-type wins, --raw prints hex, a map without BTF is unchanged.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BPF_F_NO_PREALLOC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_PERCPU_HASH, be16, lpmKey, btfForMap, decodeMapInfo, encodeToBytes, ipv4, MAP_INFO_SIZE,
  perCpuSlotSize, struct, u32, u64, u8, wrapDriver, type Codec, type Driver,
} from "@bpfkit/core";
import { driversUnderTest } from "@bpfkit/testkit";
import { cliOver } from "./helpers.js";

const ctKey = struct({ ip: ipv4, port: be16, proto: u8 }, { name: "ct_key" });
const ctVal = struct({ packets: u64, bytes: u64 }, { name: "ct_val" });
const KEY = encodeToBytes(ctKey, { ip: "10.0.0.1", port: 443, proto: 6 });
const VAL = encodeToBytes(ctVal, { packets: 1n, bytes: 100n });
// bpftool's plain form of KEY and VAL; BTF has no byte order, so port 443 is 47873.
const KEY_TEXT = '{\n    "ip": 16777226,\n    "port": 47873,\n    "proto": 6\n}';
const VAL_TEXT = '{\n    "packets": 1,\n    "bytes": 100\n}';
const KEY_JSON = { ip: 16777226, port: 47873, proto: 6 };
const VAL_JSON = { packets: 1, bytes: 100 };
const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`maps print by their BTF on ${dut.name}`, () => {
    let d: Driver;
    const fds: number[] = [];
    beforeAll(() => { d = dut.create(); });
    afterAll(() => { for (const fd of fds) d.close(fd); });

    /** A map of `mapType` created with the BTF of `key` and `value` (BTF loaded, then its fd closed); its id. */
    function btfMap(mapType: number, key: Codec<unknown> | null, value: Codec<unknown>, maxEntries = 4, mapFlags = 0): { fd: number; id: number } {
      const b = btfForMap(key, value);
      const btf = d.btfLoad!({ btf: b.btf });
      expect(btf).toBeGreaterThan(0);
      try {
        const fd = d.mapCreate({ mapType, keySize: key?.size ?? 0, valueSize: value.size, maxEntries, mapFlags, btfFd: btf, btfKeyTypeId: b.keyTypeId, btfValueTypeId: b.valueTypeId });
        expect(fd).toBeGreaterThan(0);
        fds.push(fd);
        return { fd, id: idOf(fd) };
      } finally {
        d.close(btf);
      }
    }
    function idOf(fd: number): number {
      const info = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
      return decodeMapInfo(info).id;
    }
    const bpfkit = (...argv: string[]) => cliOver(d)(...argv);

    it("dump prints keys and values by field, in text as bpftool's plain form and in JSON as its \"formatted\"", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_HASH, ctKey, ctVal);
      expect(d.mapUpdateElem(fd, KEY, VAL, 0)).toBe(0);
      const text = await bpfkit("map", "dump", "id", String(id));
      expect(text.code).toBe(0);
      expect(text.err).not.toContain("warning");
      expect(text.out).toBe(`key: ${KEY_TEXT}  value: ${VAL_TEXT}\n1 entry\n`);
      const json = await bpfkit("map", "dump", "id", String(id), "--json");
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toEqual([{ key: KEY_JSON, value: VAL_JSON }]);
    });

    it("lookup of one key given in hex prints the value by field; next prints the key by field", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_HASH, ctKey, ctVal);
      expect(d.mapUpdateElem(fd, KEY, VAL, 0)).toBe(0);
      const r = await bpfkit("map", "lookup", "id", String(id), "key", hexOf(KEY));
      expect(r).toMatchObject({ code: 0, out: `key: ${KEY_TEXT}  value: ${VAL_TEXT}\n` });
      const j = await bpfkit("map", "lookup", "id", String(id), "key", hexOf(KEY), "--json");
      expect(JSON.parse(j.out)).toEqual({ key: KEY_JSON, value: VAL_JSON });
      const n = await bpfkit("map", "next", "id", String(id), "--json");
      expect(JSON.parse(n.out)).toEqual({ key: null, next: KEY_JSON });
      const missing = await bpfkit("map", "lookup", "id", String(id), "key", "00 00 00 00 00 00 00 00");
      expect(missing.code).toBe(4);
      expect(missing.err).toContain(`key {\n    "ip": 0,`);
    });

    it("a per-CPU map prints each CPU's value by field, its lines one level in", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_PERCPU_HASH, ctKey, ctVal);
      const cpus = d.possibleCpus;
      const slot = perCpuSlotSize(ctVal.size);
      const values = new Uint8Array(slot * cpus);
      for (let c = 0; c < cpus; c++) values.set(encodeToBytes(ctVal, { packets: BigInt(c), bytes: BigInt(c * 10) }), c * slot);
      expect(d.mapUpdateElem(fd, KEY, values, 0)).toBe(0);
      const json = await bpfkit("map", "dump", "id", String(id), "--json");
      expect(JSON.parse(json.out)).toEqual([{ key: KEY_JSON, values: Array.from({ length: cpus }, (_, c) => ({ cpu: c, value: { packets: c, bytes: c * 10 } })) }]);
      const text = await bpfkit("map", "dump", "id", String(id));
      expect(text.out).toContain(`key: ${KEY_TEXT}\n  cpu 0: {\n        "packets": 0,\n        "bytes": 0\n    }\n`);
      expect(text.out.match(/ {2}cpu \d+: /g)).toHaveLength(cpus);
    });

    it("an explicit --value-type or --key-type wins over the BTF; --raw prints hex", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_HASH, ctKey, ctVal);
      expect(d.mapUpdateElem(fd, KEY, VAL, 0)).toBe(0);
      const v = await bpfkit("map", "dump", "id", String(id), "--json", "--value-type", "struct{p:u64,b:u64}");
      expect(JSON.parse(v.out)).toEqual([{ key: KEY_JSON, value: { p: 1, b: 100 } }]);
      const k = await bpfkit("map", "dump", "id", String(id), "--json", "--key-type", "struct{ip:ipv4,port:be16,proto:u8}");
      expect(JSON.parse(k.out)).toEqual([{ key: { ip: "10.0.0.1", port: 443, proto: 6 }, value: VAL_JSON }]);
      const raw = await bpfkit("map", "dump", "id", String(id), "--raw");
      expect(raw).toMatchObject({ code: 0, out: `key: ${hexOf(KEY)}  value: ${hexOf(VAL)}\n1 entry\n` });
      const rawNext = await bpfkit("map", "next", "id", String(id), "--raw");
      expect(rawNext.out).toBe(`next key: ${hexOf(KEY)}\n`);
    });

    it("update takes hex bytes on a map with BTF (as bpftool), and the value then prints by field", async () => {
      const { id } = btfMap(BPF_MAP_TYPE_HASH, ctKey, ctVal);
      const up = await bpfkit("map", "update", "id", String(id), "key", hexOf(KEY), "value", "hex", hexOf(VAL), "--json");
      expect(up.code).toBe(0);
      expect(JSON.parse(up.out)).toEqual({ updated: true, key: KEY_JSON });
      const bad = await bpfkit("map", "update", "id", String(id), "key", "{ip:1}", "value", "hex", hexOf(VAL));
      expect(bad.code).toBe(2);
      expect(bad.err).toContain(`update map ${id}`);
      expect((await bpfkit("map", "lookup", "id", String(id), "key", hexOf(KEY), "--json")).out).toContain('"packets": 1');
      const del = await bpfkit("map", "delete", "id", String(id), "key", hexOf(KEY), "--json");
      expect(JSON.parse(del.out)).toEqual({ deleted: true, key: KEY_JSON });
    });

    it("an LPM trie's BTF key prints by field and is still read as a prefix", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_LPM_TRIE, lpmKey(ipv4), u32, 4, BPF_F_NO_PREALLOC);
      expect(d.mapUpdateElem(fd, Uint8Array.of(16, 0, 0, 0, 10, 1, 0, 0), encodeToBytes(u32, 7), 0)).toBe(0);
      const r = await bpfkit("map", "lookup", "id", String(id), "key", "10.1.2.3", "--json");
      expect(r.code, r.err).toBe(0);
      // The key printed is the one given, as an address is looked up (/32).
      expect(JSON.parse(r.out)).toEqual({ key: { prefixlen: 32, data: 0x0302010a }, value: 7 });
      const dump = await bpfkit("map", "dump", "id", String(id), "--json");
      expect(JSON.parse(dump.out)).toEqual([{ key: { prefixlen: 16, data: 0x0000010a }, value: 7 }]);
    });

    it("a map whose BTF cannot be read prints hex, with a warning naming the map and why", async () => {
      const { fd, id } = btfMap(BPF_MAP_TYPE_HASH, ctKey, ctVal);
      expect(d.mapUpdateElem(fd, KEY, VAL, 0)).toBe(0);
      const old = wrapDriver(d, { kind: "old", btfLoad: null, btfGetFdById: null, btfGetNextId: null, btfGetInfo: null });
      const r = await cliOver(old)("map", "dump", "id", String(id), "-q");
      expect(r.code).toBe(0);
      expect(r.out).toBe(`key: ${hexOf(KEY)}  value: ${hexOf(VAL)}\n1 entry\n`);
      expect(r.err).toContain(`bpfkit: warning: map ${id}: its BTF (id `);
      expect(r.err).toContain('driver "old" has no BTF methods');
    });

    it("a map without BTF prints hex as before", async () => {
      const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 2 });
      expect(fd).toBeGreaterThan(0);
      fds.push(fd);
      expect(d.mapUpdateElem(fd, encodeToBytes(u32, 1), encodeToBytes(u32, 2), 0)).toBe(0);
      const r = await bpfkit("map", "dump", "id", String(idOf(fd)));
      expect(r.out).toBe("key: 01 00 00 00  value: 02 00 00 00\n1 entry\n");
    });
  });
}
