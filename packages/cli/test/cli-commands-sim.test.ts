// Command behaviours held on a simulator of the test's own (no kernel, no host paths): what the
// commands accept and refuse, which dump they choose, and what they print for people.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfError, Errno, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { captureIo, ExitCode, main } from "../src/index.js";
import { describeError } from "../src/cli-error.js";
import { OutputSpool } from "../src/output-spool.js";
import { cliOver, SOCKET_FILTER_INSNS, u32le, withSimMap, withSimMaps } from "./helpers.js";

const HASH = { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 };

describe("help", () => {
  it("`help help` with more words is a usage error, not the overview", async () => {
    const r = await cliOver(createSimDriver())("help", "help", "map");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.out).toBe("");
  });
});

describe("map references", () => {
  it("id 0 is no map id: a usage error, not a search", async () => {
    const d = createSimDriver();
    const r = await cliOver(d)("map", "show", "id", "0");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("id 0: a map id is a positive integer");
  });

  it("./PATH is a path, as an absolute PATH is, not a bare name", async () => {
    const r = await cliOver(createSimDriver())("map", "show", "./m");
    expect(r.code).toBe(ExitCode.notFound);
    expect(r.err).toContain("nothing is pinned at ./m");
  });

  it("an id past the kernel's id space (2^31-1) is a usage error, not 'no map with id N'", async () => {
    const r = await cliOver(createSimDriver())("map", "show", "id", "2147483648");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("id 2147483648: a map id is a positive integer");
  });
});

describe("bare map names", () => {
  it("resolve under BPFKIT_MAP_ROOT as under --map-root: the prefix first, then the root", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    expect(d.host.mkdirAll("/sys/fs/bpf/other/tc/globals", 0o755)).toBe(0);
    expect(d.objPin(fd, "/sys/fs/bpf/other/m")).toBe(0);
    expect(d.objPin(fd, "/sys/fs/bpf/other/tc/globals/p")).toBe(0);
    const env = cliOver(d, { BPFKIT_MAP_ROOT: "/sys/fs/bpf/other" });
    expect(JSON.parse((await env("map", "show", "m", "--json")).out).pinned).toBe("/sys/fs/bpf/other/m");
    expect(JSON.parse((await env("map", "show", "p", "--json")).out).pinned).toBe("/sys/fs/bpf/other/tc/globals/p");
    const flag = await bpfkit("map", "show", "m", "--map-root", "/sys/fs/bpf/other", "--json");
    expect(JSON.parse(flag.out).pinned).toBe("/sys/fs/bpf/other/m");
    // A name pinned both under the prefix and at the root: the prefix's, as Cilium's maps are.
    const other = d.mapCreate({ ...HASH, maxEntries: 2 });
    try {
      expect(d.objPin(other, "/sys/fs/bpf/other/tc/globals/m")).toBe(0);
      expect(JSON.parse((await env("map", "show", "m", "--json")).out)).toMatchObject({ maxEntries: 2, pinned: "/sys/fs/bpf/other/tc/globals/m" });
    } finally {
      d.close(other);
    }
    const none = await bpfkit("map", "show", "m");
    expect(none.code).toBe(ExitCode.notFound);
    expect(none.err).toContain("nothing pinned at /sys/fs/bpf/tc/globals/m or /sys/fs/bpf/m");
  }));
});

describe("--key-type and --value-type", () => {
  it("must match the map's sizes exactly: a smaller type is refused too, not padded with zeros", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }, async ({ d, fd, bpfkit }) => {
    const k = await bpfkit("map", "update", "id", "1", "key", "1", "value", "1", "--key-type", "u16", "--value-type", "u64");
    expect(k.code).toBe(ExitCode.usage);
    expect(k.err).toContain("--key-type u16 is 2 bytes, map 1 has 4-byte keys");
    const v = await bpfkit("map", "update", "id", "1", "key", "1", "value", "1", "--key-type", "u32", "--value-type", "u32");
    expect(v.code).toBe(ExitCode.usage);
    expect(v.err).toContain("--value-type u32 is 4 bytes, map 1 has 8-byte values");
    expect(d.mapGetNextKey(fd, null, new Uint8Array(4))).toBe(-2); // nothing written
  }));
});

describe("JSON numbers", () => {
  it("are numbers up to ±(2^53-1) and decimal strings past it", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 8 }, async ({ bpfkit }) => {
    const cases = [["1", "9007199254740991", 9007199254740991], ["2", "-9007199254740991", -9007199254740991],
      ["3", "9007199254740992", "9007199254740992"], ["4", "-9007199254740992", "-9007199254740992"]] as const;
    for (const [k, v, want] of cases) {
      expect((await bpfkit("map", "update", "id", "1", "key", k, "value", v, "--key-type", "u32", "--value-type", "i64")).code).toBe(0);
      const r = await bpfkit("map", "lookup", "id", "1", "key", k, "--key-type", "u32", "--value-type", "i64", "--json");
      expect(JSON.parse(r.out).value, v).toBe(want);
    }
  }));
});

describe("key and value words", () => {
  it("`key` with nothing after it is a usage error before any map is opened", async () => {
    for (const argv of [["map", "lookup", "id", "5", "key"], ["map", "update", "id", "5", "key", "value", "1"], ["map", "delete", "id", "5", "key"]]) {
      const r = await cliOver(createSimDriver())(...argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.err, argv.join(" ")).toContain("the key is missing");
    }
  });
});

describe("a bare name that is a directory under the root", () => {
  it("is passed over for the map of that kernel name", () => withSimMap({ ...HASH, mapName: "d" }, async ({ d, bpfkit }) => {
    expect(d.host.mkdir("/sys/fs/bpf/d", 0o755)).toBe(0);
    const r = await bpfkit("map", "show", "d", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ id: 1, name: "d" });
  }));
});

describe("map show", () => {
  it("prints its facts as aligned `name: value` lines, the pin last when MAP was given by it", () => withSimMap({ mapType: 1, keySize: 4, valueSize: 8, maxEntries: 16, mapFlags: 1, mapName: "shown" }, async ({ d, fd, bpfkit }) => {
    expect(d.objPin(fd, "/sys/fs/bpf/shown")).toBe(0);
    const r = await bpfkit("map", "show", "/sys/fs/bpf/shown");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe([
      "id:          1",
      "name:        shown",
      "type:        hash (1)",
      "key:         4 bytes",
      "value:       8 bytes",
      "max entries: 16",
      "flags:       no_prealloc",
      "frozen:      no",
      // An empty NO_PREALLOC hash: sizeof(bpf_htab) + 16 buckets + 8 lock counters per CPU.
      `memlock:     ${832 + 16 * 16 + 4 * 8 * d.possibleCpus} bytes`,
      "pinned:      /sys/fs/bpf/shown",
      "",
    ].join("\n"));
  }));

  it("--json names the flags as a list, empty for none, so scripts need not split or special-case \"0\"", async () => {
    const d = createSimDriver();
    const plain = d.mapCreate({ ...HASH, mapName: "plain" });
    const flagged = d.mapCreate({ ...HASH, mapFlags: 0x1 | 0x40 | 0x80, mapName: "flagged" }); // no_prealloc, zero_seed, rdonly_prog
    try {
      const show = async (name: string) => JSON.parse((await cliOver(d)("map", "show", "name", name, "--json")).out) as Record<string, unknown>;
      expect(await show("plain")).toMatchObject({ flags: 0, flagNames: [] });
      expect(await show("flagged")).toMatchObject({ flags: 0xc1, flagNames: ["no_prealloc", "zero_seed", "rdonly_prog"] });
      const listed = JSON.parse((await cliOver(d)("maps", "--json")).out) as { name: string; flagNames: string[] }[];
      expect(listed.map((m) => [m.name, m.flagNames])).toEqual([["plain", []], ["flagged", ["no_prealloc", "zero_seed", "rdonly_prog"]]]);
    } finally {
      d.close(plain);
      d.close(flagged);
    }
  });
});

describe("a pin that holds a program", () => {
  it("is named a program where MAP is expected, on a driver without host.objKind too (told by its info's length)", async () => {
    const sim = createSimDriver();
    const d = wrapDriver(sim, { host: { objKind: null } });
    expect(d.host.objKind).toBeUndefined();
    const prog = sim.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
    try {
      expect(sim.objPin(prog, "/sys/fs/bpf/p")).toBe(0);
      const r = await cliOver(d)("map", "show", "/sys/fs/bpf/p");
      expect(r.code).toBe(ExitCode.failure);
      expect(r.err).toContain("/sys/fs/bpf/p is not a map: it is a program");
    } finally {
      sim.close(prog);
    }
  });

  it("is named a program on a driver whose host.objKind can tell no fd (ENOSYS: no procfs), and a map pin is shown", async () => {
    const sim = createSimDriver();
    const d = wrapDriver(sim, { host: { objKind: () => -Errno.ENOSYS } });
    const prog = sim.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
    const map = sim.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      expect(sim.objPin(prog, "/sys/fs/bpf/p")).toBe(0);
      expect(sim.objPin(map, "/sys/fs/bpf/m")).toBe(0);
      const r = await cliOver(d)("map", "show", "/sys/fs/bpf/p");
      expect(r.code).toBe(ExitCode.failure);
      expect(r.err).toContain("/sys/fs/bpf/p is not a map: it is a program");
      const shown = await cliOver(d)("map", "show", "/sys/fs/bpf/m", "--json");
      expect(shown.code, shown.err).toBe(0);
      expect(JSON.parse(shown.out)).toMatchObject({ type: "hash", keySize: 4 });
    } finally {
      sim.close(prog);
      sim.close(map);
    }
  });
});

describe("what the host says a pinned object is", () => {
  it("is believed over the info's length: a link (whose info reads as a map's) is named a link", () => withSimMap(HASH, async ({ d: sim, fd }) => {
    expect(sim.objPin(fd, "/sys/fs/bpf/l")).toBe(0);
    // As the kernel driver reads /proc/self/fdinfo: here every object is said to be a link.
    const d = wrapDriver(sim, { host: { objKind: () => ({ kind: "link", linkType: "cgroup" }) } });
    const r = await cliOver(d)("map", "show", "/sys/fs/bpf/l");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("/sys/fs/bpf/l is not a map: it is a BPF link (cgroup)");
  }));
});

describe("map dump chooses the batch path for every type that has LOOKUP_BATCH (kernel-maps.md §10.3)", () => {
  it("including both map-in-map types", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const fds = [inner];
    try {
      for (const mapType of [12, 13]) {
        const fd = d.mapCreate({ mapType, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
        expect(fd).toBeGreaterThanOrEqual(0);
        fds.push(fd);
        const innerId = JSON.parse((await bpfkit("map", "show", "id", "1", "--json")).out).id as number;
        expect(d.mapUpdateElem(fd, u32le(0), u32le(inner))).toBe(0);
        const id = JSON.parse((await bpfkit("maps", "--json")).out).at(-1).id as number;
        const r = await bpfkit("map", "dump", "id", String(id), "--stats", "--json", "--key-type", "u32");
        expect(r.code, r.err).toBe(0);
        const j = JSON.parse(r.out);
        expect(j.entries, String(mapType)).toEqual([{ key: 0, value: { id: innerId } }]);
        expect(j.stats.algorithm, String(mapType)).toBe("batch");
      }
    } finally {
      for (const fd of fds) d.close(fd);
    }
  });
});

describe("map dump --algorithm batch", () => {
  it("on a type without LOOKUP_BATCH (PROG_ARRAY) fails and points to the walk, rather than walking unasked", () => withSimMap({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 4 }, async ({ bpfkit }) => {
    const r = await bpfkit("map", "dump", "id", "1", "--algorithm", "batch");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("the kernel has no BPF_MAP_LOOKUP_BATCH for this map type");
    expect(r.err).toContain("use --algorithm walk");
    expect(r.out).toBe("");
    const walk = await bpfkit("map", "dump", "id", "1", "--algorithm", "walk");
    expect([walk.code, walk.out]).toEqual([0, "0 entries\n"]);
  }));
});

describe("map dump --algorithm walk when a key vanishes mid-walk", () => {
  it("falls back to the key before it and does not print that key a second time", () => withSimMap(HASH, async ({ d: sim, fd }) => {
    for (let k = 1; k <= 5; k++) expect(sim.mapUpdateElem(fd, u32le(k), u32le(k))).toBe(0);
    // The datapath deletes the second key the walk reaches between its GET_NEXT_KEY and lookup.
    let lookups = 0;
    const d = wrapDriver(sim, {
      mapLookupElem: (f, key, value, flags) => {
        // Through the test's own fd: the dump's is read-only.
        if (++lookups === 2) expect(sim.mapDeleteElem(fd, key)).toBe(0);
        return sim.mapLookupElem(f, key, value, flags);
      },
    });
    const r = await cliOver(d)("map", "dump", "id", "1", "--algorithm", "walk", "--key-type", "u32", "--value-type", "u32", "--stats");
    expect(r.code, r.err).toBe(0);
    const keys = r.out.split("\n").filter((l) => l.startsWith("key: "));
    expect(keys.length).toBe(4);
    expect(new Set(keys).size).toBe(4);
    expect(r.out.endsWith("4 entries\n")).toBe(true);
    expect(r.err).toMatch(/keyFallback:\s+1/);
  }));
});

describe("map dump --reliable", () => {
  it("runs Cilium's v1.7 walk unless --algorithm says otherwise; without it, a hash is batched", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    expect(d.mapUpdateElem(fd, u32le(1), u32le(1))).toBe(0);
    const alg = async (...extra: string[]) => JSON.parse((await bpfkit("map", "dump", "id", "1", "--stats", "--json", ...extra)).out).stats.algorithm;
    expect(await alg("--reliable")).toBe("walk");
    expect(await alg("--reliable", "--algorithm", "batch")).toBe("batch");
    expect(await alg()).toBe("batch");
  }));
});

describe("map create", () => {
  it("refuses `unspec` (type 0) by name as no map type", async () => {
    const r = await cliOver(createSimDriver())("map", "create", "/sys/fs/bpf/u", "--type", "unspec", "--key-size", "4", "--value-size", "4", "--max-entries", "1");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("--type unspec: not a map type");
  });

  it("a mistyped --type or --flags is a usage error that names the word and the one it most likely means, else lists them", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    const base = ["map", "create", "/sys/fs/bpf/m", "--key-size", "4", "--value-size", "4", "--max-entries", "1"];
    const hsh = await bpfkit(...base, "--type", "hsh");
    expect(hsh.code).toBe(ExitCode.usage);
    expect(hsh.err).toBe("bpfkit: --type hsh: not a map type\n  did you mean hash?\n");
    const inner = await bpfkit(...base, "--type", "array_of_maps", "--inner-type", "lru_hsah");
    expect(inner.err).toBe("bpfkit: --inner-type lru_hsah: not a map type\n  did you mean lru_hash?\n");
    // Nothing close: every name, as bpftool's help lists them.
    const far = await bpfkit(...base, "--type", "lru");
    expect(far.err).toMatch(/^bpfkit: --type lru: not a map type\n {2}map types: hash, array, prog_array, .*, lpm_trie, array_of_maps, hash_of_maps, .*\n$/);
    const flag = await bpfkit(...base, "--type", "hash", "--flags", "zero_seed,noprealloc");
    expect(flag.code).toBe(ExitCode.usage);
    expect(flag.err).toBe("bpfkit: --flags zero_seed,noprealloc: unknown flag \"noprealloc\"\n  did you mean no_prealloc?\n");
    const bogus = await bpfkit(...base, "--type", "hash", "--flags", "bogus");
    expect(bogus.err).toMatch(/unknown flag "bogus"\n {2}flags: no_prealloc, no_common_lru, .*, zero_seed, .*, or a number\n$/);
    expect(d.host.stat("/sys/fs/bpf/m").errno).toBe(2);
  });

  it("takes a type as the kernel's name, with dashes, as BPF_MAP_TYPE_*, or as the seed's CamelCase", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    for (const [i, type] of ["lru-hash", "BPF_MAP_TYPE_LRU_HASH", "LRUHash", "9"].entries()) {
      const r = await bpfkit("map", "create", `/sys/fs/bpf/t${i}`, "--type", type, "--key-size", "4", "--value-size", "4", "--max-entries", "4", "--json");
      expect(r.code, `${type}: ${r.err}`).toBe(0);
      expect(JSON.parse(r.out), type).toMatchObject({ type: "lru_hash", typeId: 9 });
    }
  });

  it("takes one PATH only", async () => {
    const r = await cliOver(createSimDriver())("map", "create", "/sys/fs/bpf/a", "/sys/fs/bpf/b", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("map create needs one PATH to pin the map at");
  });

  it("a pin under a pinned object (not a directory) is named as such, and nothing is created", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    expect(d.objPin(fd, "/sys/fs/bpf/f")).toBe(0);
    const r = await bpfkit("map", "create", "/sys/fs/bpf/f/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("pin at /sys/fs/bpf/f/m: /sys/fs/bpf/f is not a directory");
    expect(d.liveMapIds()).toEqual([1]);
  }));

  it("a pin whose directory runs through a pinned object is refused before the pin, saying a part of it is not a directory, and nothing is created", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    expect(d.objPin(fd, "/sys/fs/bpf/f")).toBe(0);
    const r = await bpfkit("map", "create", "/sys/fs/bpf/f/g/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("pin at /sys/fs/bpf/f/g/m: a part of /sys/fs/bpf/f/g is not a directory");
    expect(r.err).toContain("check the path; nothing was created");
    expect(d.liveMapIds()).toEqual([1]);
  }));

  it("a pin right under / is checked against / itself: not bpffs, so nothing is created", async () => {
    const d = createSimDriver();
    const r = await cliOver(d)("map", "create", "/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("pin at /m: the path is not on a BPF filesystem");
    expect(d.liveMapIds()).toEqual([]);
  });
});

describe("maps", () => {
  it("passes over a map freed between GET_NEXT_ID and GET_FD_BY_ID, and lists the ones after it", () => withSimMaps([HASH, HASH, HASH], async ({ d }) => {
    // Map 1 is gone by the time the walk opens it (ENOENT), as a map freed meanwhile is.
    const racing = wrapDriver(d, { mapGetFdById: (id, flags) => (id === 1 ? -2 : d.mapGetFdById(id, flags)) });
    const r = await cliOver(racing)("maps", "--json");
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as Array<{ id: number }>).map((m) => m.id)).toEqual([2, 3]);
  }));
});

describe("maps --pins", () => {
  it("finds pins in nested directories, and every pin of a map", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    expect(d.host.mkdirAll("/sys/fs/bpf/tc/globals", 0o755)).toBe(0);
    expect(d.objPin(fd, "/sys/fs/bpf/tc/globals/deep")).toBe(0);
    expect(d.objPin(fd, "/sys/fs/bpf/top")).toBe(0);
    const r = await bpfkit("maps", "--pins", "--json");
    expect(r.code, r.err).toBe(0);
    const pins = (JSON.parse(r.out) as Array<{ pins: string[] }>)[0]!.pins;
    expect(pins.slice().sort()).toEqual(["/sys/fs/bpf/tc/globals/deep", "/sys/fs/bpf/top"]);
  }));
});

describe("maps --pins and links", () => {
  it("does not file a pinned link under the map whose id its info seems to hold", () => withSimMap(HASH, async ({ d: sim, fd }) => {
    expect(sim.objPin(fd, "/sys/fs/bpf/map")).toBe(0);
    expect(sim.objPin(fd, "/sys/fs/bpf/link")).toBe(0);
    // The object at /sys/fs/bpf/link is said to be a link, as the kernel's fdinfo would say.
    const linkFds = new Set<number>();
    const d = wrapDriver(sim, {
      objGet: (path, flags) => {
        const r = sim.objGet(path, flags);
        if (path === "/sys/fs/bpf/link" && r >= 0) linkFds.add(r);
        return r;
      },
      // fd numbers are reused: a closed link fd may come back as a map's.
      close: (f) => {
        linkFds.delete(f);
        return sim.close(f);
      },
      host: { objKind: (f) => (linkFds.has(f) ? { kind: "link", linkType: "cgroup" } : sim.host.objKind!(f)) },
    });
    const r = await cliOver(d)("maps", "--pins", "--json");
    expect(r.code, r.err).toBe(0);
    expect((JSON.parse(r.out) as Array<{ pins: string[] }>)[0]!.pins).toEqual(["/sys/fs/bpf/map"]);
  }));
});

describe("mount", () => {
  it("on a fresh simulator, notes that the mount ends with the command only when it mounted something", async () => {
    const io = captureIo({ kernelAvailable: () => "test" });
    expect(await main(["mount", "/sys/fs/bpf", "--driver", "sim"], io)).toBe(0);
    expect(io.text()).toBe("bpffs is already mounted at /sys/fs/bpf\n");
    expect(io.errText()).not.toContain("ends with this command");
  });

  it("tells on stderr what checkOrMountFS did, with Cilium's warning under --warn; --json and -q keep stderr quiet", async () => {
    const d = createSimDriver();
    expect(d.host.mkdirAll("/tmp/w", 0o755)).toBe(0);
    const r = await cliOver(d)("mount", "/tmp/w", "--warn");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain("bpfkit: Mounting BPF filesystem at /tmp/w\n");
    expect(r.err).toMatch(/bpfkit: warning: /);
    const again = await cliOver(d)("mount", "/tmp/w");
    expect(again.err).toContain("bpfkit: Detected mounted BPF filesystem at /tmp/w\n");
    for (const flag of ["--json", "-q"]) expect((await cliOver(d)("mount", "/tmp/w", flag, "--driver", "sim")).err, flag).toBe("");
    expect(d.host.umount("/tmp/w")).toBe(0);
    // -q hides the notes, not the warning --warn asks for.
    expect(d.host.mkdirAll("/tmp/q", 0o755)).toBe(0);
    const quiet = await cliOver(d)("mount", "/tmp/q", "--warn", "-q");
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toMatch(/^bpfkit: warning: =+ WARNING =+\nbpfkit: warning: BPF filesystem is not mounted\./);
    expect(quiet.err).not.toContain("Mounting BPF filesystem");
    expect(d.host.umount("/tmp/q")).toBe(0);
  });

  it("takes at most one DIR", async () => {
    const r = await cliOver(createSimDriver())("mount", "/tmp/a", "/tmp/b");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("mount takes at most one DIR");
  });
});

describe("fuzz", () => {
  it("--runs 0 is a usage error, not a run that checks nothing and passes", async () => {
    const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "0", "--seed", "1");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("--runs 0: expected a positive integer");
    expect(r.out).toBe("");
  });

  it("a --seed past 32 bits is a usage error, either sign", async () => {
    for (const seed of ["2147483648", "-2147483649"]) {
      const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "1", "--seed", seed);
      expect(r.code, seed).toBe(ExitCode.usage);
      expect(r.err).toContain(`--seed ${seed}: expected a 32-bit integer`);
    }
  });

  it("a negative --seed is a seed like any other: the run takes it and prints it", async () => {
    const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "1", "--seed", "-5", "--json");
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, seed: -5 });
  });

  it("without --runs, fuzz diff and fuzz btf run 100 cases, as their help says", async () => {
    const bpfkit = cliOver(createSimDriver());
    for (const argv of [["diff", "--left", "model", "--right", "sim"], ["btf", "--left", "sim", "--right", "sim"]]) {
      const r = await bpfkit("fuzz", ...argv, "--seed", "1", "--json");
      expect([r.code, JSON.parse(r.out).runs], `${argv[0]}: ${r.err}`).toEqual([0, 100]);
    }
  });

  it("fuzz diff, btf and dump take no arguments: a stray word is a usage error, not a run", async () => {
    const bpfkit = cliOver(createSimDriver());
    for (const argv of [["diff", "extra", "--left", "model", "--right", "sim"], ["btf", "extra", "--left", "sim", "--right", "sim"], ["dump", "extra", "--driver", "sim"]]) {
      const r = await bpfkit("fuzz", ...argv, "--runs", "1", "--seed", "1");
      expect([r.code, r.out], argv[0]).toEqual([ExitCode.usage, ""]);
      expect(r.err, argv[0]).toContain('unexpected "extra"');
    }
  });

  it("fuzz dump lets go of the event loop when it ends: no timer of its own is left", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "1", "--seed", "1");
    expect(r.code, r.err).toBe(0);
    expect(timers()).toBe(before);
  });
});

describe("OutputSpool", () => {
  it("moves to its file at the first character past the limit, not later", () => {
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-spool-edge-"));
    try {
      const atLimit = new OutputSpool(10, dir);
      atLimit.write("x".repeat(10));
      expect(atLimit.spilled).toBe(false);
      atLimit.discard();
      const past = new OutputSpool(10, dir);
      past.write("x".repeat(11));
      expect(past.spilled).toBe(true);
      expect(readdirSync(dir)).toEqual([]);
      past.discard();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("progress lines", () => {
  it("go to a terminal only: a redirected stderr gets none", async () => {
    const r = await cliOver(createSimDriver())("fuzz", "dump", "--driver", "sim", "--runs", "2", "--seed", "1");
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe("");
  });
});

describe("tables for people", () => {
  it("right-align the number columns, as bpftool does", () =>
    withSimMaps(Array.from({ length: 10 }, (_, i) => ({ ...HASH, maxEntries: i === 9 ? 1000 : 8 })), async ({ d, bpfkit }) => {
      const r = await bpfkit("maps");
      expect(r.code, r.err).toBe(0);
      const lines = r.out.split("\n");
      // Pre-allocated hashes of 64-byte elements (the 4-byte key and value each take 8), a spare one per CPU (htab_map_mem_usage).
      const memlock = (max: number, buckets: number) => `${832 + 16 * buckets + 32 * d.possibleCpus + 64 * (max + d.possibleCpus) + 8 * d.possibleCpus}B`;
      expect(lines[0]).toBe("ID  TYPE  NAME  KEY  VALUE   MAX  FLAGS  FROZEN  MEMLOCK");
      expect(lines[1]).toBe(` 1  hash  -       4      4     8  0      no      ${memlock(8, 8).padStart(7)}`);
      expect(lines[10]).toBe(`10  hash  -       4      4  1000  0      no      ${memlock(1000, 1024).padStart(7)}`);
    }));
});

describe("exit codes of errors a command did not word itself", () => {
  it("EPERM and EACCES are exit 3, ENOENT exit 4, another errno exit 1, a RangeError or TypeError exit 2", () => {
    const sim = createSimDriver();
    const code = (e: unknown) => describeError(e, sim).exitCode;
    expect(code(new BpfError({ errno: 1, op: "BPF_MAP_CREATE" }))).toBe(ExitCode.permission);
    expect(code(new BpfError({ errno: 13, op: "BPF_OBJ_GET" }))).toBe(ExitCode.permission);
    expect(code(new BpfError({ errno: 2, op: "BPF_OBJ_GET" }))).toBe(ExitCode.notFound);
    expect(code(new BpfError({ errno: 12, op: "BPF_MAP_CREATE" }))).toBe(ExitCode.failure);
    expect(code(new RangeError("x"))).toBe(ExitCode.usage);
    expect(code(new TypeError("x"))).toBe(ExitCode.usage);
    expect(code(new Error("x"))).toBe(ExitCode.failure);
  });
});
