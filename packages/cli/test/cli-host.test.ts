// probe, progs and mount on each driver; probe's answers compared between the simulator and the
// kernel for the map types the simulator models.
import { beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import {
  BPF_MAP_TYPE_ARRAY, BtfBuilder, BtfIntEncoding, decodeMapInfo, encodeFuncInfo, MAP_INFO_SIZE, PROG_INFO_SIZE, wrapDriver, type Driver,
} from "@bpfkit/core";
import { driversUnderTest, kernelUnderTest, simUnderTest } from "@bpfkit/testkit";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { probeDriver } from "../src/index.js";
import { cliOver, SOCKET_FILTER_INSNS } from "./helpers.js";

const MODELLED = ["hash", "array", "prog_array", "percpu_hash", "percpu_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps", "hash_of_maps"];

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`probe, progs, mount on ${dut.name}`, () => {
    let d: Driver;
    beforeAll(() => { d = dut.create(); });

    it("probe: hash maps have every batch command, arrays no LOOKUP_AND_DELETE_BATCH, PROG_ARRAY none", async () => {
      const r = await cliOver(d)("probe", "--json");
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out) as { driver: string; possibleCpus: number; pageSize: number; zeroSeed: string; getMapType: unknown; types: Array<Record<string, string>> };
      expect(j.driver).toBe(dut.name);
      expect(j.possibleCpus).toBe(d.possibleCpus);
      // This host's page, which the kernel driver reads and the simulator models by default.
      expect(j.pageSize).toBe(Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()));
      expect(j.zeroSeed).toBe("yes");
      expect(j.getMapType).toEqual({ lruHash: "lru_hash", lpmTrie: "lpm_trie" });
      const t = (name: string) => j.types.find((x) => x.type === name)!;
      expect(t("hash")).toMatchObject({ create: "yes", lookupBatch: "yes", lookupAndDeleteBatch: "yes", updateBatch: "yes", deleteBatch: "yes" });
      expect(t("array")).toMatchObject({ create: "yes", lookupBatch: "yes", lookupAndDeleteBatch: "no", updateBatch: "yes", deleteBatch: "no" });
      expect(t("prog_array")).toMatchObject({ create: "yes", lookupBatch: "no", updateBatch: "no" });
      expect(t("lpm_trie")).toMatchObject({ lookupBatch: "yes", lookupAndDeleteBatch: "no", deleteBatch: "yes" });
      // The types a probe does not try (they need BTF) are not said to be uncreatable.
      expect(t("sk_storage")!.create).toBe("needs BTF (not probed)");
      const hidden = j.types.filter((x) => x.create !== "yes").length;
      expect((await cliOver(d)("probe")).out).toContain(`\n${hidden} more types were not created here (--all says why)\n`);
    });

    it("progs lists a program loaded through the driver, with its type and name", async () => {
      const fd = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL", progName: "cli_prog" });
      expect(fd).toBeGreaterThanOrEqual(0);
      try {
        const j = JSON.parse((await cliOver(d)("progs", "--json")).out) as Array<Record<string, unknown>>;
        const mine = j.filter((p) => p.name === "cli_prog");
        expect(mine.length).toBeGreaterThanOrEqual(1);
        expect(mine[0]).toMatchObject({ type: "socket_filter", gplCompatible: true, nrMapIds: 0, mapIds: [] });
        // The table's MAP_IDS column says "-" for a program that uses no map, not nothing.
        const [header, ...rows] = (await cliOver(d)("progs")).out.split("\n");
        const row = rows.find((l) => l.includes("cli_prog"))!;
        expect(row.slice(header!.indexOf("MAP_IDS")).split(/\s+/)[0]).toBe("-");
      } finally {
        d.close(fd);
      }
    });

    it("progs shows the ids of the maps a program uses, in the order the program first uses them", async () => {
      const a = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const b = d.mapCreate({ mapType: BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      const ref = (fd: number) => [0x18, 0x11, 0, 0, fd & 0xff, (fd >> 8) & 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      const fd = d.progLoad({ progType: 1, insns: Uint8Array.from([...ref(b), ...ref(a), ...ref(b), ...SOCKET_FILTER_INSNS]), license: "GPL", progName: "cli_maps" });
      try {
        expect(fd).toBeGreaterThanOrEqual(0);
        const idOf = (m: number) => { const i = new Uint8Array(MAP_INFO_SIZE); d.objGetInfoByFd(m, i); return decodeMapInfo(i).id; };
        const ids = [idOf(b), idOf(a)];
        const j = JSON.parse((await cliOver(d)("progs", "--json")).out) as Array<Record<string, unknown>>;
        expect(j.filter((p) => p.name === "cli_maps")).toMatchObject([{ nrMapIds: 2, mapIds: ids }]);
        const row = (await cliOver(d)("progs")).out.split("\n").find((l) => l.includes("cli_maps"));
        expect(row).toContain(` ${ids.join(",")} `);
        // A count read before BPF_PROG_BIND_MAP added a map: --json's nrMapIds still counts the ids shown.
        const stale = wrapDriver(d, {
          objGetInfoByFd: (f, info) => {
            const r = d.objGetInfoByFd(f, info);
            const view = new DataView(info.buffer, info.byteOffset);
            if (info.length === PROG_INFO_SIZE && view.getUint32(52, true) === 2) view.setUint32(52, 1, true); // nr_map_ids
            return r;
          },
        });
        const s = JSON.parse((await cliOver(stale)("progs", "--json")).out) as Array<Record<string, unknown>>;
        expect(s.filter((p) => p.name === "cli_maps")).toMatchObject([{ nrMapIds: 2, mapIds: ids }]);
      } finally {
        for (const f of [fd, a, b]) if (f >= 0) d.close(f);
      }
    });

    it("progs shows the BTF a program was loaded with (btf_id), - for none, as btf list shows the program", async () => {
      const b = new BtfBuilder();
      const main = b.func("main", b.funcProto(b.int("int", 4, BtfIntEncoding.SIGNED), []));
      const btf = d.btfLoad!({ btf: b.encode() });
      expect(btf).toBeGreaterThanOrEqual(0);
      const fd = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL", progName: "cli_btf", progBtfFd: btf, funcInfo: encodeFuncInfo([{ insnOff: 0, typeId: main }]) });
      try {
        expect(fd).toBeGreaterThanOrEqual(0);
        const id = (d.btfGetInfo!(btf, null) as { id: number }).id;
        const j = JSON.parse((await cliOver(d)("progs", "--json")).out) as Array<Record<string, unknown>>;
        expect(j.filter((p) => p.name === "cli_btf")).toMatchObject([{ btfId: id }]);
        const [header, ...rows] = (await cliOver(d)("progs")).out.split("\n");
        const col = (name: string) => rows.find((l) => l.includes(name))!.slice(header!.indexOf("MAP_IDS")).split(/\s+/)[1];
        expect(col("cli_btf")).toBe(String(id));
        const listed = JSON.parse((await cliOver(d)("btf", "list", "--json")).out) as Array<{ id: number; progIds: number[] }>;
        const info = new Uint8Array(PROG_INFO_SIZE);
        d.objGetInfoByFd(fd, info);
        expect(listed.find((x) => x.id === id)?.progIds).toEqual([new DataView(info.buffer).getUint32(4, true)]);
        const plain = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL", progName: "cli_nobtf" });
        try {
          const rows2 = (await cliOver(d)("progs")).out.split("\n");
          expect(rows2.find((l) => l.includes("cli_nobtf"))!.slice(rows2[0]!.indexOf("MAP_IDS")).split(/\s+/)[1]).toBe("-");
        } finally {
          d.close(plain);
        }
      } finally {
        if (fd >= 0) d.close(fd);
        d.close(btf);
      }
    });

    it("mount mounts bpffs on a directory once, and the second time finds it mounted", async () => {
      const dir = `/tmp/bpfkit-cli-mount-${process.pid}-${dut.name}`;
      const bpfkit = cliOver(d);
      const first = await bpfkit("mount", dir, "--json");
      try {
        expect(first.code, first.err).toBe(0);
        expect(JSON.parse(first.out)).toMatchObject({ root: dir, mounted: true });
        const again = await bpfkit("mount", dir, "--json");
        expect(JSON.parse(again.out)).toMatchObject({ root: dir, mounted: false });
        expect(d.host.statfsType(dir)).toBe(0xcafe4a11);
      } finally {
        d.host.umount(dir);
        d.host.rmdir(dir);
      }
      expect((await bpfkit("mount", "relative/dir")).code).toBe(2);
    });
  });
}

describe("bpfkit closes every fd it opens", () => {
  it("on the simulator: probe leaves no map behind, the inner maps of map-in-map types included", async () => {
    const sim = createSimDriver();
    const r = await cliOver(sim)("probe", "--all", "--json");
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as { types: Array<{ type: string; create: string }> }).types.filter((t) => t.type.endsWith("of_maps")).map((t) => t.create)).toEqual(["yes", "yes"]);
    expect(sim.liveMapIds()).toEqual([]);
  });

  const k = kernelUnderTest();
  it.skipIf(k.unavailable !== undefined)("on the kernel: maps, progs, probe, and map show/dump/lookup/update by id leave /proc/self/fd as it was", async () => {
    const d = k.create();
    const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 });
    expect(fd).toBeGreaterThanOrEqual(0);
    try {
      const raw = new Uint8Array(MAP_INFO_SIZE);
      expect(d.objGetInfoByFd(fd, raw)).toBeGreaterThan(0);
      const id = String(decodeMapInfo(raw).id);
      const bpfkit = cliOver(d);
      const before = readdirSync("/proc/self/fd").length;
      for (const argv of [["maps"], ["progs"], ["probe", "--all"], ["map", "show", "id", id], ["map", "update", "id", id, "key", "01000000", "value", "02000000"],
        ["map", "lookup", "id", id, "key", "01000000"], ["map", "dump", "id", id], ["map", "lookup", "id", id, "key", "09000000"], ["map", "show", "id", "2147483647"]]) {
        await bpfkit(...argv);
      }
      expect(readdirSync("/proc/self/fd").length).toBe(before);
    } finally {
      d.close(fd);
    }
  });
});

describe("probe: the simulator answers as the kernel does", () => {
  it("probe of a simulator modelling 64 KiB pages says so, and sizes its ring buffer probe by it", async () => {
    const r = await cliOver(createSimDriver({ pageSize: 65536 }))("probe", "--json");
    const j = JSON.parse(r.out) as { pageSize: number; types: Array<Record<string, string>> };
    expect(j.pageSize).toBe(65536);
    expect(j.types.find((x) => x.type === "ringbuf")!.create).toBe("yes");
    expect((await cliOver(createSimDriver({ pageSize: 65536 }))("probe")).out).toContain("\npage size:       65536 (ring buffers are a power of 2 of at least this many bytes)\n");
  });

  const k = kernelUnderTest();
  it.skipIf(k.unavailable !== undefined)(`for the ${MODELLED.length} modelled map types, creation and every batch command`, () => {
    const pick = (d: Driver) => probeDriver(d).types.filter((t) => MODELLED.includes(t.type));
    const sim = pick(simUnderTest().create());
    const kernel = pick(k.create());
    expect(sim.map((t) => t.type)).toEqual(MODELLED);
    expect(sim).toEqual(kernel);
  });

  it("on a simulator booted without bpffs, mount with no directory mounts /sys/fs/bpf", async () => {
    const sim = createSimDriver({ bpffsMount: null });
    const r = await cliOver(sim)("mount", "--json");
    expect(JSON.parse(r.out)).toMatchObject({ root: "/sys/fs/bpf", mounted: true });
  });

  it("mount with no directory mounts at the map root the user gave (--map-root, else BPFKIT_MAP_ROOT)", async () => {
    const sim = createSimDriver();
    expect(sim.host.mkdirAll("/run/a", 0o755)).toBe(0);
    expect(sim.host.mkdirAll("/run/b", 0o755)).toBe(0);
    const flag = await cliOver(sim)("mount", "--map-root", "/run/a", "--json");
    expect(JSON.parse(flag.out)).toMatchObject({ root: "/run/a", mounted: true });
    const env = await cliOver(sim, { BPFKIT_MAP_ROOT: "/run/b" })("mount", "--json");
    expect(JSON.parse(env.out)).toMatchObject({ root: "/run/b", mounted: true });
    // A DIR argument still wins over both.
    const both = await cliOver(sim, { BPFKIT_MAP_ROOT: "/run/b" })("mount", "/run/a", "--map-root", "/run/b", "--json");
    expect(JSON.parse(both.out)).toMatchObject({ root: "/run/a", mounted: false });
    expect(sim.host.statfsType("/run/a")).toBe(0xcafe4a11);
    // Any command: map paths are POSIX, so a relative or Windows-looking root is a usage error.
    for (const [argv, env, said] of [
      [["mount", "--map-root", "run/a"], {}, "--map-root run/a: must be an absolute path"],
      [["maps"], { BPFKIT_MAP_ROOT: "C:\\bpf" }, "BPFKIT_MAP_ROOT=C:\\bpf: must be an absolute path"],
    ] as const) {
      const r = await cliOver(sim, env)(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err).toContain(said);
    }
  });

});
