// What an operator used to bpftool runs into: paths that are not pins, full and out-of-range
// arrays, frozen maps, sparse PROG_ARRAYs, negative numbers, a mount over a busy directory.
// Each case on every driver, over maps made through the driver on a private bpffs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProgInfo, PROG_INFO_SIZE, type Driver } from "@bpfkit/core";
import { driversUnderTest, mountPrivateBpffs, type PrivateBpffs } from "@bpfkit/testkit";
import { ExitCode } from "../src/index.js";
import { cliOver, createPinned, type PinnedMap, SOCKET_FILTER_INSNS, u32le, type Run } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`bpfkit as an operator uses it, on ${dut.name}${dut.unavailable ? ` (skipped: ${dut.unavailable})` : ""}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    let bpfkit: (...argv: string[]) => Promise<Run>;
    const fds: number[] = [];

    const create = (attr: Parameters<Driver["mapCreate"]>[0], pin: string): PinnedMap => createPinned(d, fs.path, fds, attr, pin);

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
      bpfkit = cliOver(d);
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("a path off bpffs or a bpffs directory is named as such, not as missing privileges", async () => {
      const off = await bpfkit("map", "show", "/tmp");
      expect(off.code).toBe(ExitCode.failure);
      expect(off.err).toContain("/tmp is not on a BPF filesystem");
      expect(off.err).not.toContain("CAP_BPF");
      const dir = await bpfkit("map", "dump", fs.path);
      expect(dir.code).toBe(ExitCode.failure);
      expect(dir.err).toContain(`${fs.path} is a directory on bpffs, not a pinned object`);
    });

    it("mount refuses a directory that has files (bpffs would hide them) and mounts nothing", async () => {
      const dir = `/tmp/bpfkit-cli-busy-${process.pid}-${dut.name}`;
      expect(d.host.mkdir(dir, 0o755)).toBe(0);
      expect(d.host.mkdir(`${dir}/keep`, 0o755)).toBe(0);
      try {
        const r = await bpfkit("mount", `${dir}/`);
        expect(r.code).toBe(ExitCode.failure);
        expect(r.err).toContain(`${dir} is not a mount point and holds 1 entry (keep); bpffs mounted there would hide them`);
        expect(d.host.statfsType(dir)).not.toBe(0xcafe4a11);
        expect(d.host.readdir(dir)).toEqual(["keep"]);
      } finally {
        if (d.host.statfsType(dir) === 0xcafe4a11) d.host.umount(dir);
        d.host.rmdir(`${dir}/keep`);
        d.host.rmdir(dir);
      }
      // An existing bpffs mount is still found, with or without a trailing slash.
      const again = await bpfkit("mount", `${fs.path}/`, "--json");
      expect(again.code, again.err).toBe(0);
      expect(JSON.parse(again.out)).toMatchObject({ root: fs.path, mounted: false });
    });

    it("dump reads a sparse PROG_ARRAY or ARRAY_OF_MAPS slot by slot instead of giving up", async () => {
      const prog = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      fds.push(prog);
      const pinfo = new Uint8Array(PROG_INFO_SIZE);
      expect(d.objGetInfoByFd(prog, pinfo)).toBeGreaterThan(0);
      const progId = decodeProgInfo(pinfo).id;
      const pa = create({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 4 }, "op_progs");
      expect(d.mapUpdateElem(pa.fd, u32le(2), u32le(prog))).toBe(0);
      const r = await bpfkit("map", "dump", pa.path, "--key-type", "u32", "--stats", "--json");
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { entries: unknown[]; stats: Record<string, unknown> };
      expect(j.entries).toEqual([{ key: 2, value: { id: progId } }]);
      expect(j.stats).toMatchObject({ completed: true, delivered: 1, lookupFailed: 0 });

      const inner = create({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "op_inner");
      const aom = create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 3, innerMapFd: inner.fd }, "op_aom");
      expect(d.mapUpdateElem(aom.fd, u32le(1), u32le(inner.fd))).toBe(0);
      for (const how of [["--reliable"], ["--algorithm", "walk"], []]) {
        const a = await bpfkit("map", "dump", aom.path, "--key-type", "u32", ...how);
        expect(a.code, `${how.join(" ")}: ${a.err}`).toBe(0);
        expect(a.out).toBe(`key: 1  value: id ${inner.id}\n1 entry\n`);
      }
    });

    it("an array index past max_entries is out of range, not a full map", async () => {
      const a = create({ mapType: 6, keySize: 4, valueSize: 4, maxEntries: 4 }, "op_parr");
      const r = await bpfkit("map", "update", a.path, "key", "9", "value", "1", "--key-type", "u32", "--value-type", "u32");
      expect(r.code).toBe(ExitCode.failure);
      expect(r.err).toContain(`update map ${a.id} at ${a.path}: index 9 is out of range: the array has 4 entries (0 to 3)`);
      expect(r.err).not.toContain("full");
    });

    it("negative numbers are keys and values, not unknown options", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }, "op_neg");
      const w = await bpfkit("map", "update", h.path, "key", "-7", "value", "-300", "--key-type", "i32", "--value-type", "i64");
      expect(w.code, w.err).toBe(0);
      const v = new Uint8Array(8);
      expect(d.mapLookupElem(h.fd, Uint8Array.of(0xf9, 0xff, 0xff, 0xff), v)).toBe(0);
      expect(new DataView(v.buffer).getBigInt64(0, true)).toBe(-300n);
      const r = await bpfkit("map", "lookup", h.path, "key", "-7", "--key-type", "i32", "--value-type", "i64", "--json");
      expect(JSON.parse(r.out)).toEqual({ key: -7, value: -300 });
      // A real unknown option is still refused.
      expect((await bpfkit("map", "lookup", h.path, "key", "-x")).code).toBe(ExitCode.usage);
    });

    it("map create refuses an unknown inner type, a bad name and disagreeing sizes before creating anything", async () => {
      const p = `${fs.path}/op_created`;
      const base = ["map", "create", p, "--key-size", "4", "--value-size", "4", "--max-entries", "2"];
      const cases: Array<[string[], string]> = [
        [["--type", "array_of_maps", "--inner-type", "hsah"], "--inner-type hsah: not a map type"],
        [["--type", "array_of_maps", "--inner-key-size", "four"], "--inner-key-size four: expected a non-negative integer"],
        [["--type", "hash", "--inner-type", "hash"], "--inner-type is for array_of_maps and hash_of_maps only"],
        [["--type", "hash", "--name", "has-a-dash"], '--name "has-a-dash": holds "-"; a kernel map name is at most 15 bytes of A-Z a-z 0-9 _ .'],
        [["--type", "hash", "--key-type", "u64"], "--key-size 4 and --key-type u64 (8 bytes) disagree"],
      ];
      for (const [extra, msg] of cases) {
        const r = await bpfkit(...base, ...extra);
        expect(r.code, extra.join(" ")).toBe(ExitCode.usage);
        expect(r.err).toContain(msg);
        expect(d.host.stat(p).errno, extra.join(" ")).toBe(2);
      }
    });

    it("a relative PATH for map create or map pin is named as relative, since bare MAP names resolve under the map root", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2 }, "op_rel");
      const hint = "a relative PATH is taken from the current directory, not the map root (which only MAP's bare names use): give the absolute path on bpffs";
      const made = await bpfkit("map", "create", "op_rel_new", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "2", "--map-root", fs.path);
      expect(made.code).toBe(ExitCode.failure);
      expect(made.err).toContain("pin at op_rel_new: the path is not on a BPF filesystem\n");
      expect(made.err).toContain(`  ${hint}; nothing was created\n`);
      const pin = await bpfkit("map", "pin", "op_rel", "op_rel_2", "--map-root", fs.path);
      expect(pin.code).toBe(ExitCode.failure);
      expect(pin.err).toContain(`pin map ${h.id} at ${fs.path}/op_rel to op_rel_2: the path is not on a BPF filesystem\n  ${hint}\n`);
      expect((await bpfkit("map", "create", "--help")).out).toContain("PATH is taken as given: a relative one is from the current directory, not under the map root");
    });

    it("map create names the size the kernel refuses for the type alone, not only EINVAL for 'these attributes'", async () => {
      const p = `${fs.path}/op_sizes`;
      const create = (type: string, k: string, v: string, n = "4") => bpfkit("map", "create", p, "--type", type, "--key-size", k, "--value-size", v, "--max-entries", n);
      const cases: Array<[string[], string]> = [
        [["array", "8", "4"], "array keys are u32 indexes: --key-size 4 (not 8)"],
        [["percpu_array", "2", "4"], "percpu_array keys are u32 indexes: --key-size 4 (not 2)"],
        [["hash", "4", "4", "0"], "key size, value size and max entries must each be at least 1"],
        [["hash", "4", "0"], "key size, value size and max entries must each be at least 1"],
        [["lpm_trie", "4", "4"], "lpm_trie keys are a u32 prefix length and 1 to 256 bytes of data: --key-size 5 to 260"],
        [["hash_of_maps", "4", "8", "2"], "hash_of_maps values are 4-byte fds (ids when read): --value-size 4 (not 8)"],
      ];
      for (const [[type, k, v, n], hint] of cases) {
        const r = await create(type!, k!, v!, n);
        expect(r.code, hint).toBe(ExitCode.failure);
        expect(r.err, hint).toContain("EINVAL (the kernel rejects these attributes for this type)\n");
        expect(r.err, hint).toContain(`\n  ${hint}`);
        expect(d.host.stat(p).errno, hint).toBe(2);
      }
    });

    it("map create of a queue, stack or bloom filter names what its type takes no part in: a key, a zero size, a flag", async () => {
      const p = `${fs.path}/op_keyless`;
      const cases: Array<[string[], string]> = [
        [["queue", "--key-size", "4", "--value-size", "4", "--max-entries", "2"], "a queue has no keys: --key-size 0 (or leave it out), not 4"],
        [["stack", "--value-size", "4", "--max-entries", "0"], "a stack needs --value-size and --max-entries of at least 1"],
        [["queue", "--value-size", "4", "--max-entries", "2", "--flags", "no_prealloc"], "a queue takes no flags but numa_node, rdonly, wronly, rdonly_prog, wronly_prog"],
        [["bloom_filter", "--value-size", "4", "--max-entries", "2", "--flags", "zero_seed,no_common_lru"],
          "a bloom_filter takes no flags but numa_node, rdonly, wronly, rdonly_prog, wronly_prog, zero_seed"],
      ];
      for (const [args, hint] of cases) {
        const r = await bpfkit("map", "create", p, "--type", ...args);
        expect(r.code, hint).toBe(ExitCode.failure);
        expect(r.err, hint).toContain("EINVAL (the kernel rejects these attributes for this type)\n");
        expect(r.err, hint).toContain(`\n  ${hint}`);
        expect(d.host.stat(p).errno, hint).toBe(2);
      }
    });

    it("map create says when the driver has no maps of the type at all, and gives no size hint where the type's sizes may be 0", async () => {
      const p = `${fs.path}/op_missing`;
      const create = (...a: string[]) => bpfkit("map", "create", p, "--type", ...a);
      // A queue of max_entries 0: its key size is 0 by rule, so "at least 1" would mislead.
      const q = await create("queue", "--key-size", "0", "--value-size", "4", "--max-entries", "0");
      expect(q.code).toBe(ExitCode.failure);
      expect(q.err).not.toContain("must each be at least 1");
      // The simulator models queues, so both drivers refuse max_entries 0 as the kernel does.
      expect(q.err).toContain("create queue map: EINVAL (the kernel rejects these attributes for this type)\n");
      if (dut.name === "sim") {
        const cg = await create("cgroup_array", "--key-size", "4", "--value-size", "4", "--max-entries", "4");
        expect(cg.code).toBe(ExitCode.failure);
        expect(cg.err).toContain("bpfkit: create cgroup_array map: EINVAL (the simulator has no cgroup_array maps: a one-entry map of the type is refused too)\n");
        expect(cg.err).not.toContain("\n  ");
      }
      expect(d.host.stat(p).errno).toBe(2);
    });

    it("map create of a type the kernel makes only with BTF (local storages, struct_ops) says so, not that the sizes are wrong", async () => {
      const p = `${fs.path}/op_btf`;
      for (const [type, args] of [
        ["sk_storage", ["--key-size", "4", "--value-size", "8", "--max-entries", "0", "--flags", "no_prealloc"]],
        ["inode_storage", ["--key-size", "4", "--value-size", "8", "--max-entries", "0", "--flags", "no_prealloc"]],
        ["task_storage", ["--key-size", "4", "--value-size", "8", "--max-entries", "0", "--flags", "no_prealloc"]],
        ["cgrp_storage", ["--key-size", "4", "--value-size", "8", "--max-entries", "0", "--flags", "no_prealloc"]],
        ["struct_ops", ["--key-size", "4", "--value-size", "64", "--max-entries", "1"]],
      ] as const) {
        const r = await bpfkit("map", "create", p, "--type", type, ...args);
        expect(r.code, type).toBe(ExitCode.failure);
        expect(r.err, type).toContain(`create ${type} map: EINVAL (a ${type} map needs BTF type information, which bpfkit map create cannot give)\n`);
        expect(r.err, type).not.toContain("rejects these attributes");
        expect(d.host.stat(p).errno, type).toBe(2);
      }
    });

    it("a queue or ring buffer is named as keyless, not answered with EINVAL or 'unknown error 524'", async () => {
      const q = create({ mapType: 22, keySize: 0, valueSize: 4, maxEntries: 4 }, "op_queue");
      const rb = create({ mapType: 27, keySize: 0, valueSize: 0, maxEntries: 4096 }, "op_ringbuf");
      for (const [m, type] of [[q, "queue"], [rb, "ringbuf"]] as const) {
        for (const argv of [["map", "dump", m.path], ["map", "next", m.path], ["map", "lookup", m.path, "key", "00"]]) {
          const r = await bpfkit(...argv);
          expect(r.code, argv.join(" ")).toBe(ExitCode.failure);
          expect(r.err, argv.join(" ")).toContain(`map ${m.id} at ${m.path} is a ${type} map: it has no keys`);
        }
      }
    });

    it("update with a flag word and a different --flags refuses rather than pick one", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, "op_flags");
      const r = await bpfkit("map", "update", h.path, "key", "1", "value", "2", "--key-type", "u32", "--value-type", "u32", "noexist", "--flags", "exist");
      expect(r.code).toBe(ExitCode.usage);
      expect(r.err).toContain("`noexist` after the value and --flags exist disagree");
      expect(d.mapGetNextKey(h.fd, null, new Uint8Array(4))).toBe(-2);
      const same = await bpfkit("map", "update", h.path, "key", "1", "value", "2", "--key-type", "u32", "--value-type", "u32", "noexist", "--flags", "noexist");
      expect(same.code, same.err).toBe(0);
    });

    it("a map-in-map or PROG_ARRAY update with the wrong kind of object says which, not EINVAL", async () => {
      const prog = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      fds.push(prog);
      expect(d.objPin(prog, `${fs.path}/op_prog`)).toBe(0);
      const tmpl = create({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "op_tmpl");
      const other = create({ mapType: 1, keySize: 8, valueSize: 8, maxEntries: 4 }, "op_other");
      const aom = create({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: tmpl.fd }, "op_aom2");
      const pa = create({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 2 }, "op_pa2");
      const u32 = ["--key-type", "u32"];
      const progInMaps = await bpfkit("map", "update", aom.path, "key", "0", "value", `${fs.path}/op_prog`, ...u32);
      expect(progInMaps.code).toBe(ExitCode.failure);
      expect(progInMaps.err).toContain(`map ${aom.id} at ${aom.path} holds maps, and that is a program`);
      const mapInProgs = await bpfkit("map", "update", pa.path, "key", "0", "value", tmpl.path, ...u32);
      expect(mapInProgs.code).toBe(ExitCode.failure);
      expect(mapInProgs.err).toContain(`map ${pa.id} at ${pa.path} holds programs, and that is not a program`);
      const mismatch = await bpfkit("map", "update", aom.path, "key", "0", "value", other.path, ...u32);
      expect(mismatch.code).toBe(ExitCode.failure);
      expect(mismatch.err).toContain("an inner map must match the template");
      const v = new Uint8Array(4);
      expect(d.mapLookupElem(aom.fd, u32le(0), v)).toBe(-2);
      expect(d.mapLookupElem(pa.fd, u32le(0), v)).toBe(-2);
      expect((await bpfkit("map", "update", aom.path, "key", "0", "value", tmpl.path, ...u32)).code).toBe(0);
    });

    it("bytes bpftool reads as decimal are refused even when each has two digits, naming the map and the key; `hex` first takes them", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 4 }, "op_bytes");
      // bpftool's `key 10 20 30 40` is 0a 14 1e 28; bpfkit once wrote 10 20 30 40 for it, silently another key.
      const up = await bpfkit("map", "update", h.path, "key", "10", "20", "30", "40", "value", "01", "00", "00", "00");
      expect(up.code).toBe(ExitCode.usage);
      expect(up.out).toBe("");
      expect(up.err).toContain(`update map ${h.id} at ${h.path}: key "10 20 30 40" would be decimal bytes to bpftool (0a 14 1e 28); bpfkit reads bytes as hex`);
      expect(up.err).toContain("put `hex` first if they are hex already (hex 10 20 30 40)");
      const val = await bpfkit("map", "update", h.path, "key", "0a", "14", "1e", "28", "value", "10", "00", "00", "01");
      expect(val.code).toBe(ExitCode.usage);
      expect(val.err).toContain(`update map ${h.id} at ${h.path}: value "10 00 00 01" would be decimal bytes to bpftool (0a 00 00 01)`);
      const k = new Uint8Array(4);
      expect(d.mapGetNextKey(h.fd, null, k)).toBe(-2); // nothing written
      const ok = await bpfkit("map", "update", h.path, "key", "hex", "10", "20", "30", "40", "value", "hex", "10", "00", "00", "01");
      expect(ok.code, ok.err).toBe(0);
      const v = new Uint8Array(4);
      expect(d.mapLookupElem(h.fd, Uint8Array.of(0x10, 0x20, 0x30, 0x40), v)).toBe(0);
      expect(Array.from(v)).toEqual([0x10, 0, 0, 1]);
      // What a dump prints goes back in with `hex` first.
      const dump = await bpfkit("map", "dump", h.path);
      expect(dump.out).toBe("key: 10 20 30 40  value: 10 00 00 01\n1 entry\n");
      const look = await bpfkit("map", "lookup", h.path, "key", "hex", "10", "20", "30", "40");
      expect(look.out).toBe("key: 10 20 30 40  value: 10 00 00 01\n");
    });

    it("a word after a value is not read into it: a u64 is one number, and a mistyped flag word is named", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }, "op_stray");
      const junk = await bpfkit("map", "update", h.path, "key", "1", "value", "5", "--key-type", "u32", "--value-type", "u64", "junk");
      expect(junk.code).toBe(ExitCode.usage);
      expect(junk.err).toContain(`bpfkit: update map ${h.id} at ${h.path}: value "5 junk": one u64 was expected, and "junk" follows it\n` +
        "  only any, noexist or exist may follow the value, and \"junk\" is none of them\n");
      const typo = await bpfkit("map", "update", h.path, "key", "01", "00", "00", "00", "value", "05", "00", "00", "00", "00", "00", "00", "00", "noexsit");
      expect(typo.code).toBe(ExitCode.usage);
      expect(typo.err).toContain(`update map ${h.id} at ${h.path}: value "noexsit" is not hex`);
      expect(typo.err).toContain("\"noexsit\" is none of them");
      const key = await bpfkit("map", "lookup", h.path, "key", "1", "2", "--key-type", "u32");
      expect(key.code).toBe(ExitCode.usage);
      expect(key.err).toContain(`lookup map ${h.id} at ${h.path}: key "1 2": one u32 was expected, and "2" follows it`);
      const size = await bpfkit("map", "delete", h.path, "key", "01", "00", "00", "00", "00");
      expect(size.code).toBe(ExitCode.usage);
      expect(size.err).toContain(`delete map ${h.id} at ${h.path}: key "01 00 00 00 00" is 5 bytes, 4 are needed`);
      const k = new Uint8Array(4);
      expect(d.mapGetNextKey(h.fd, null, k)).toBe(-2);
      const flag = await bpfkit("map", "update", h.path, "key", "1", "value", "5", "--key-type", "u32", "--value-type", "u64", "noexist");
      expect(flag.code, flag.err).toBe(0);
    });

    it("dump --batch larger than the map reads it whole instead of sizing buffers for the number given", async () => {
      const h = create({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 }, "op_bigbatch");
      for (let i = 0; i < 5; i++) expect(d.mapUpdateElem(h.fd, u32le(i), u32le(i))).toBe(0);
      const r = await bpfkit("map", "dump", h.path, "--algorithm", "batch", "--batch", "99999999999", "--stats", "--json");
      expect(r.code, r.err).toBe(0);
      const j = JSON.parse(r.out) as { entries: unknown[]; stats: { delivered: number; batches: number } };
      expect(j.entries.length).toBe(5);
      expect(j.stats.delivered).toBe(5);
    });
  });
}
