// `bpfkit map …` and `bpfkit maps` on each driver: maps made through the driver, pinned on a
// private bpffs, read and written through the command, checked through the driver again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BPF_F_NO_PREALLOC, type Driver } from "@bpfkit/core";
import { driversUnderTest, mountPrivateBpffs, type PrivateBpffs } from "@bpfkit/testkit";
import { captureIo, ExitCode, listMaps, main } from "../src/index.js";
import { cliOver, createPinned, type PinnedMap, SOCKET_FILTER_INSNS, u32le, u64le, type Run } from "./helpers.js";

// Unique per process: other runs of this suite may share the kernel, and `name N` must find one map.
const HASH_NAME = `cli_h${process.pid}`.slice(0, 15);

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit map on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    let bpfkit: (...argv: string[]) => Promise<Run>;
    const fds: number[] = [];
    let hash: PinnedMap;

    const create = (attr: Parameters<Driver["mapCreate"]>[0], pin: string): PinnedMap => createPinned(d, fs.path, fds, attr, pin);

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
      bpfkit = cliOver(d);
      hash = create({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 64, mapName: HASH_NAME }, "cli_hash");
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("maps lists a map it did not make itself, with its type, sizes and name", async () => {
      const r = await bpfkit("maps");
      expect(r.code).toBe(0);
      const line = r.out.split("\n").find((l) => l.trim().startsWith(`${hash.id} `));
      expect(line, r.out).toBeDefined();
      // memlock as htab_map_mem_usage counts a pre-allocated hash of 64-byte elements, a spare one per CPU.
      const memlock = 832 + 16 * 64 + 32 * d.possibleCpus + 64 * (64 + d.possibleCpus) + 8 * d.possibleCpus;
      expect(line!.split(/\s+/).filter(Boolean)).toEqual([String(hash.id), "hash", HASH_NAME, "4", "8", "64", "0", "no", `${memlock}B`]);
      const j = JSON.parse((await bpfkit("maps", "--json")).out) as Array<Record<string, unknown>>;
      expect(j.find((m) => m.id === hash.id)).toMatchObject({ type: "hash", name: HASH_NAME, keySize: 4, valueSize: 8, maxEntries: 64, frozen: false, memlock });
      const withPins = JSON.parse((await bpfkit("maps", "--pins", "--json")).out) as Array<{ id: number; pins: string[] }>;
      expect(withPins.find((m) => m.id === hash.id)!.pins).toContain(hash.path);
    });

    it("map create checks the pin path before it creates a map, and frees the map when the path is taken in between", async () => {
      let creates = 0;
      let pinFirst: string | undefined;
      // Counts creations; with pinFirst set, pins another map there right after creating, as a
      // second process racing for the path would.
      const racing = new Proxy(d, {
        get(t, k) {
          if (k === "mapCreate") {
            return (attr: Parameters<Driver["mapCreate"]>[0]) => {
              creates++;
              const fd = t.mapCreate(attr);
              if (pinFirst !== undefined && fd >= 0) expect(t.objPin(hash.fd, pinFirst)).toBe(0);
              return fd;
            };
          }
          const v = Reflect.get(t, k, t);
          return typeof v === "function" ? v.bind(t) : v;
        },
      });
      const cli = cliOver(racing);
      const attrs = ["--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1"];
      const taken = await cli("map", "create", hash.path, ...attrs);
      expect(taken.code).toBe(ExitCode.failure);
      expect(taken.err).toContain(`pin at ${hash.path}: something is already pinned there`);
      const noDir = await cli("map", "create", `${fs.path}/no/such/m`, ...attrs);
      expect(noDir.code).toBe(ExitCode.notFound);
      expect(noDir.err).toContain(`the directory ${fs.path}/no/such does not exist`);
      expect(creates).toBe(0);

      const name = `cli_r${process.pid}`.slice(0, 15);
      pinFirst = `${fs.path}/raced`;
      try {
        const raced = await cli("map", "create", pinFirst, "--name", name, ...attrs);
        expect(raced.code).toBe(ExitCode.failure);
        expect(raced.err).toContain(`pin at ${pinFirst}: something is already pinned there`);
        expect(creates).toBe(1);
        expect(listMaps(d).filter((m) => m.name === name)).toEqual([]);
      } finally {
        d.host.unlink(pinFirst);
      }
    });

    it("map show finds the same map by id, by pinned path, by kernel name and by a bare name under --map-root", async () => {
      const byId = JSON.parse((await bpfkit("map", "show", "id", String(hash.id), "--json")).out);
      const byPath = JSON.parse((await bpfkit("map", "show", hash.path, "--json")).out);
      const byName = JSON.parse((await bpfkit("map", "show", "name", HASH_NAME, "--json")).out);
      const bare = JSON.parse((await bpfkit("map", "show", "cli_hash", "--map-root", fs.path, "--map-prefix", "", "--json")).out);
      for (const m of [byId, byPath, byName, bare]) expect(m).toMatchObject({ id: hash.id, name: HASH_NAME, type: "hash" });
      expect(byPath.pinned).toBe(hash.path);
    });

    it("update, lookup and delete through the command change the map the driver sees", async () => {
      expect((await bpfkit("map", "update", hash.path, "key", "0a", "00", "00", "01", "value", "0x2a00000000000000")).code).toBe(0);
      const v = new Uint8Array(8);
      expect(d.mapLookupElem(hash.fd, Uint8Array.of(10, 0, 0, 1), v)).toBe(0);
      expect(v).toEqual(u64le(42n));

      const r = await bpfkit("map", "lookup", hash.path, "key", "10.0.0.1", "--key-type", "ipv4", "--value-type", "u64");
      expect(r.code).toBe(0);
      expect(r.out).toBe("key: 10.0.0.1  value: 42\n");

      expect((await bpfkit("map", "update", hash.path, "key", "10.0.0.1", "value", "7", "--key-type", "ipv4", "--value-type", "u64", "noexist")).code).toBe(ExitCode.failure);
      expect((await bpfkit("map", "delete", hash.path, "key", "0x0a000001")).code).toBe(0);
      expect(d.mapLookupElem(hash.fd, Uint8Array.of(10, 0, 0, 1), v)).toBe(-2);
      const missing = await bpfkit("map", "lookup", hash.path, "key", "0a 00 00 01");
      expect(missing.code).toBe(ExitCode.notFound);
      expect(missing.err).toContain("not found");
    });

    it("a key of the wrong size is a usage error naming the sizes, and nothing is written", async () => {
      const r = await bpfkit("map", "update", hash.path, "key", "0a", "00", "00", "value", "00");
      expect(r.code).toBe(ExitCode.usage);
      expect(r.err).toMatch(/3 bytes, 4 are needed/);
      // `key 1`: a lone digit is one byte, and is said so.
      expect((await bpfkit("map", "lookup", hash.path, "key", "1")).err).toContain('"1" is 1 byte, 4 are needed');
      const t = await bpfkit("map", "lookup", hash.path, "key", "1", "--key-type", "u64");
      expect(t.code).toBe(ExitCode.usage);
      expect(t.err).toContain(`u64 is 8 bytes, map ${hash.id} (${HASH_NAME}) at ${hash.path} has 4-byte keys`);
      // An option and its alias at once: neither silently wins.
      const both = await bpfkit("map", "update", hash.path, "key", "1", "value", "2", "--key-type", "u32", "--key", "be32", "--value-type", "u64");
      expect(both.code).toBe(ExitCode.usage);
      expect(both.err).toContain("--key-type and --key are the same option: give one");
      const values = await bpfkit("map", "lookup", hash.path, "key", "1", "--key-type", "u32", "--value-type", "u64", "--value", "u64");
      expect(values.code).toBe(ExitCode.usage);
      expect(values.err).toContain("--value-type and --value are the same option: give one");
      const k = new Uint8Array(4);
      expect(d.mapGetNextKey(hash.fd, null, k)).toBe(-2); // still empty
    });

    it("a struct key is laid out as C lays it out and reads back field by field", async () => {
      const m = create({ mapType: 1, keySize: 8, valueSize: 4, maxEntries: 8, mapName: "cli_struct" }, "cli_struct");
      const kt = "struct{ip:ipv4,port:be16,proto:u8}";
      expect((await bpfkit("map", "update", m.path, "key", "10.1.2.3", "443", "6", "value", "9", "--key-type", kt, "--value-type", "u32")).code).toBe(0);
      const k = new Uint8Array(8);
      expect(d.mapGetNextKey(m.fd, null, k)).toBe(0);
      expect(Array.from(k)).toEqual([10, 1, 2, 3, 0x01, 0xbb, 6, 0]); // port big-endian at 4, padding 0
      const r = await bpfkit("map", "dump", m.path, "--key-type", kt, "--value-type", "u32", "--json");
      expect(JSON.parse(r.out)).toEqual([{ key: { ip: "10.1.2.3", port: 443, proto: 6 }, value: 9 }]);
    });

    it("an LPM trie takes and prints prefixes", async () => {
      const m = create({ mapType: 11, keySize: 8, valueSize: 4, maxEntries: 8, mapFlags: BPF_F_NO_PREALLOC, mapName: "cli_lpm" }, "cli_lpm");
      expect((await bpfkit("map", "update", m.path, "key", "10.0.0.0/8", "value", "01 00 00 00")).code).toBe(0);
      expect((await bpfkit("map", "update", m.path, "key", "10.1.0.0/16", "value", "02 00 00 00")).code).toBe(0);
      const r = await bpfkit("map", "dump", m.path);
      // The kernel walks an LPM trie more specific first (kernel-maps.md §9.3).
      expect(r.out).toBe("key: 10.1.0.0/16  value: 02 00 00 00\nkey: 10.0.0.0/8  value: 01 00 00 00\n2 entries\n");
      const hit = await bpfkit("map", "lookup", m.path, "key", "10.1.2.3/32");
      expect(hit.out).toBe("key: 10.1.2.3/32  value: 02 00 00 00\n");
    });

    it("per-CPU values are written to every CPU and shown per CPU", async () => {
      const m = create({ mapType: 6, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "cli_pcpu" }, "cli_pcpu");
      expect((await bpfkit("map", "update", m.path, "key", "1", "value", "5", "--key-type", "u32", "--value-type", "u32")).code).toBe(0);
      const r = JSON.parse((await bpfkit("map", "lookup", m.path, "key", "1", "--key-type", "u32", "--value-type", "u32", "--json")).out);
      expect(r.values).toEqual(Array.from({ length: d.possibleCpus }, (_, cpu) => ({ cpu, value: 5 })));
      const raw = new Uint8Array(8 * d.possibleCpus);
      expect(d.mapLookupElem(m.fd, u32le(1), raw)).toBe(0);
      for (let c = 0; c < d.possibleCpus; c++) expect(raw.subarray(8 * c, 8 * c + 4)).toEqual(u32le(5));
    });

    it("dump --reliable --stats delivers every element once and reports the seed's counters", async () => {
      const m = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 128, mapName: "cli_dump" }, "cli_dump");
      for (let i = 0; i < 100; i++) expect(d.mapUpdateElem(m.fd, u32le(i), u32le(i * 3))).toBe(0);
      for (const alg of ["walk", "batch"]) {
        const r = await bpfkit("map", "dump", m.path, "--reliable", "--stats", "--algorithm", alg, "--key-type", "u32", "--value-type", "u32", "--json");
        expect(r.code).toBe(0);
        const j = JSON.parse(r.out) as { entries: Array<{ key: number; value: number }>; stats: Record<string, unknown> };
        expect(j.entries.map((e) => e.key).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i));
        for (const e of j.entries) expect(e.value).toBe(e.key * 3);
        expect(j.stats).toMatchObject({ algorithm: alg, completed: true, delivered: 100, lookupFailed: 0, interrupted: 0, maxEntries: 128 });
      }
      const small = JSON.parse((await bpfkit("map", "dump", m.path, "--algorithm", "batch", "--batch", "8", "--stats", "--json")).out);
      expect(small.entries.length).toBe(100);
      expect(small.stats.batches).toBeGreaterThanOrEqual(100 / 8);
      const human = await bpfkit("map", "dump", m.path, "--reliable", "--stats");
      expect(human.out.trimEnd().split("\n").at(-1)).toBe("100 entries");
      expect(human.err).toMatch(/completed:\s+true/);
    });

    it("pin puts a second pin on the map; a missing map or path says so with exit code 4", async () => {
      const p2 = `${fs.path}/cli_hash_again`;
      expect((await bpfkit("map", "pin", "id", String(hash.id), p2)).code).toBe(0);
      expect(JSON.parse((await bpfkit("map", "show", p2, "--json")).out).id).toBe(hash.id);
      expect(d.host.unlink(p2)).toBe(0);
      // bpffs's EPERM for a dotted name is neither privilege nor an off-bpffs path.
      const dot = await bpfkit("map", "pin", "id", String(hash.id), `${fs.path}/a.b`);
      expect(dot.code).toBe(ExitCode.usage);
      expect(dot.err).toContain(`pin map ${hash.id} (${HASH_NAME}) to ${fs.path}/a.b: bpffs refuses a name with a dot ("a.b")`);
      expect(d.host.mkdir(`${fs.path}/cli_dir`, 0o755)).toBe(0);
      const dir = await bpfkit("map", "pin", hash.path, `${fs.path}/cli_dir`);
      expect(dir.code).toBe(ExitCode.failure);
      expect(dir.err).toContain(`pin map ${hash.id} (${HASH_NAME}) at ${hash.path} to ${fs.path}/cli_dir: ${fs.path}/cli_dir is a directory`);
      expect(d.host.rmdir(`${fs.path}/cli_dir`)).toBe(0);
      const gone = await bpfkit("map", "show", `${fs.path}/nothing`);
      expect(gone.code).toBe(ExitCode.notFound);
      expect(gone.err).toContain(`nothing is pinned at ${fs.path}/nothing`);
      const noId = await bpfkit("map", "show", "id", "2147483647");
      expect(noId.code).toBe(ExitCode.notFound);
    });

    it("map create makes and pins a map from types", async () => {
      const p = `${fs.path}/cli_created`;
      const r = await bpfkit("map", "create", p, "--type", "lru_hash", "--key-type", "struct{a:ipv4,b:be16}", "--value-size", "16", "--max-entries", "32", "--name", "cli_created", "--json");
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out)).toMatchObject({ type: "lru_hash", keySize: 8, valueSize: 16, maxEntries: 32, name: "cli_created", pinned: p });
      expect(d.host.unlink(p)).toBe(0);
    });

    it("a full hash, an array delete and a program pin get messages that say what happened", async () => {
      const m = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapName: "cli_full" }, "cli_full");
      expect((await bpfkit("map", "update", m.path, "key", "1", "value", "1", "--key-type", "u32", "--value-type", "u32")).code).toBe(0);
      const full = await bpfkit("map", "update", m.path, "key", "2", "value", "2", "--key-type", "u32", "--value-type", "u32");
      expect(full.code).toBe(ExitCode.failure);
      expect(full.err).toContain("the map is full (1 entries)");
      const a = create({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 2, mapName: "cli_arr" }, "cli_arr");
      const del = await bpfkit("map", "delete", a.path, "key", "0", "--key-type", "u32");
      expect(del.code).toBe(ExitCode.failure);
      expect(del.err).toContain("array elements cannot be deleted");
      const prog = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      fds.push(prog);
      expect(d.objPin(prog, `${fs.path}/a_prog`)).toBe(0);
      const notMap = await bpfkit("map", "show", `${fs.path}/a_prog`);
      expect(notMap.code).toBe(ExitCode.failure);
      expect(notMap.err).toContain("is not a map");
    });

    it("map-in-map values go in as an inner map's id and come out as ids", async () => {
      const inner = create({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, mapName: "cli_inner" }, "cli_inner");
      const tmpl = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
      fds.push(tmpl);
      const outer = create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: tmpl, mapName: "cli_outer" }, "cli_outer");
      expect((await bpfkit("map", "update", outer.path, "key", "1", "value", "id", String(inner.id), "--key-type", "u32")).code).toBe(0);
      const r = await bpfkit("map", "lookup", outer.path, "key", "1", "--key-type", "u32");
      expect(r.out).toBe(`key: 1  value: id ${inner.id}\n`);
      expect(JSON.parse((await bpfkit("map", "lookup", outer.path, "key", "1", "--key-type", "u32", "--json")).out)).toEqual({ key: 1, value: { id: inner.id } });
    });

    it("a per-CPU hash dumps one line per CPU", async () => {
      const m = create({ mapType: 5, keySize: 4, valueSize: 8, maxEntries: 4, mapName: "cli_pch" }, "cli_pch");
      const v = new Uint8Array(8 * d.possibleCpus);
      for (let c = 0; c < d.possibleCpus; c++) v.set(u64le(BigInt(100 + c)), 8 * c);
      expect(d.mapUpdateElem(m.fd, u32le(7), v)).toBe(0);
      const r = await bpfkit("map", "dump", m.path, "--key-type", "u32", "--value-type", "u64");
      const cpus = Array.from({ length: d.possibleCpus }, (_, c) => `  cpu ${c}: ${100 + c}`).join("\n");
      expect(r.out).toBe(`key: 7\n${cpus}\n1 entry\n`);
    });

    it("a long dump shows progress on a terminal's stderr and clears it", async () => {
      const n = 70_000;
      const m = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: n, mapName: "cli_big" }, "cli_big");
      const keys = new Uint8Array(n * 4);
      const dv = new DataView(keys.buffer);
      for (let i = 0; i < n; i++) dv.setUint32(i * 4, i, true);
      expect(d.mapUpdateBatch(m.fd, keys, new Uint8Array(n * 4), n)).toEqual({ errno: 0, count: n });
      const io = captureIo({ stderrIsTty: true, createDriver: () => d, kernelAvailable: () => undefined });
      expect(await main(["map", "dump", m.path, "-q"], io)).toBe(0);
      expect(io.errText()).toBe("");
      const io2 = captureIo({ stderrIsTty: true, createDriver: () => d, kernelAvailable: () => undefined });
      expect(await main(["map", "dump", m.path, "--driver", "auto"], io2)).toBe(0);
      expect(io2.errText()).toContain("dumped 65536 entries…");
      expect(io2.errText().endsWith("\r\x1b[K")).toBe(true);
      expect(io2.text().endsWith(`\n${n} entries\n`)).toBe(true);
      expect(io2.text().split("\n").length).toBe(n + 2);
    });

    it("map next walks as GET_NEXT_KEY does, restarting from a missing key; map freeze makes writes EPERM", async () => {
      const m = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: 0x40, mapName: "cli_next" }, "cli_next");
      for (const k of [1, 2, 3]) expect(d.mapUpdateElem(m.fd, u32le(k), u32le(k))).toBe(0);
      const order: number[] = [];
      let r = await bpfkit("map", "next", m.path, "--key-type", "u32", "--json");
      while (r.code === 0) {
        const next = JSON.parse(r.out).next as number;
        order.push(next);
        r = await bpfkit("map", "next", m.path, "key", String(next), "--key-type", "u32", "--json");
      }
      expect(r.code).toBe(ExitCode.notFound);
      expect(order.slice().sort()).toEqual([1, 2, 3]);
      // A key that is not there: the kernel starts over at the first key.
      expect(JSON.parse((await bpfkit("map", "next", m.path, "key", "99", "--key-type", "u32", "--json")).out).next).toBe(order[0]);
      expect((await bpfkit("map", "freeze", m.path)).code).toBe(0);
      const w = await bpfkit("map", "update", m.path, "key", "1", "value", "5", "--key-type", "u32", "--value-type", "u32");
      // The open succeeded, so privileges are not what is missing: exit 1, not 3.
      expect(w.code).toBe(ExitCode.failure);
      expect(w.err).toContain("operation not permitted: the map is frozen (BPF_MAP_FREEZE)");
      expect(w.err).not.toContain("CAP_BPF");
      const del = await bpfkit("map", "delete", m.path, "key", "1", "--key-type", "u32");
      expect(del.code).toBe(ExitCode.failure);
      expect(del.err).toContain("delete map");
      expect(del.err).toContain("the map is frozen");
      const again = await bpfkit("map", "freeze", m.path);
      expect(again.code).toBe(ExitCode.failure);
      // bpfkit can tell a frozen map, so it says which of the two EPERMs this is.
      expect(again.err).toContain(`freeze map ${m.id}`);
      expect(again.err).toContain("not permitted: the map is already frozen (there is no unfreeze)\n");
      expect(w.err).toContain("the map is frozen (BPF_MAP_FREEZE), so user space may only read it\n");
    });

    it("map show and maps say whether a map is frozen, as bpftool does, and telling writes nothing", async () => {
      const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
      expect(inner).toBeGreaterThanOrEqual(0);
      fds.push(inner);
      const attrs: Array<Parameters<Driver["mapCreate"]>[0]> = [
        { mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }, { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 4 },
        { mapType: 3, keySize: 4, valueSize: 4, maxEntries: 4 }, { mapType: 5, keySize: 4, valueSize: 8, maxEntries: 4 },
        { mapType: 6, keySize: 4, valueSize: 8, maxEntries: 4 }, { mapType: 9, keySize: 4, valueSize: 8, maxEntries: 4 },
        { mapType: 10, keySize: 4, valueSize: 8, maxEntries: 4 }, { mapType: 11, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: BPF_F_NO_PREALLOC },
        { mapType: 12, keySize: 4, valueSize: 4, maxEntries: 4, innerMapFd: inner }, { mapType: 13, keySize: 4, valueSize: 4, maxEntries: 4, innerMapFd: inner },
      ];
      for (const [i, attr] of attrs.entries()) {
        const m = create(attr, `cli_frozen${i}`);
        const show = async () => JSON.parse((await bpfkit("map", "show", m.path, "--json")).out) as { frozen: boolean };
        const listed = async () => (JSON.parse((await bpfkit("maps", "--json")).out) as Array<{ id: number; frozen: boolean }>).find((x) => x.id === m.id)!.frozen;
        expect((await show()).frozen, `type ${attr.mapType}`).toBe(false);
        expect(await listed()).toBe(false);
        expect(d.mapFreeze(m.fd)).toBe(0);
        expect((await show()).frozen, `type ${attr.mapType}`).toBe(true);
        expect(await listed()).toBe(true);
        expect((await bpfkit("map", "show", m.path)).out).toContain("\nfrozen:      yes\n");
        // The probe is an update the kernel refuses: the hash family stays empty.
        expect(d.mapGetNextKey(m.fd, null, new Uint8Array(attr.keySize)), `type ${attr.mapType}`).toBe([2, 6, 3, 12].includes(attr.mapType) ? 0 : -2);
      }
    });
  });
}
