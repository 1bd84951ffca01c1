// Element and pin commands at their edges, on a simulator of the test's own: the words each
// takes, the errors it words itself, and the facts it prints for a map with no name.
import { describe, expect, it } from "vitest";
import { decodeMapInfo, MAP_INFO_SIZE, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { captureIo, ExitCode, main } from "../src/index.js";
import { cliOver, withSimMap, withSimMaps } from "./helpers.js";

const HASH = { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 2 };

describe("map delete on an array", () => {
  it("explains the kernel's EINVAL for a per-CPU array as for a plain one: elements cannot be deleted", () =>
    withSimMaps([{ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 2 }, { mapType: 6, keySize: 4, valueSize: 4, maxEntries: 2 }], async ({ bpfkit }) => {
      for (const id of ["1", "2"]) {
        const r = await bpfkit("map", "delete", "id", id, "key", "0", "--key-type", "u32");
        expect(r.code, id).toBe(ExitCode.failure);
        expect(r.err, id).toContain(`delete map ${id}: array elements cannot be deleted (EINVAL); update them to zero instead`);
      }
    }));
});

describe("map update noexist on a key that is there", () => {
  it("says the key exists, naming it and the flag, exit 1", () => withSimMap(HASH, async ({ bpfkit }) => {
    expect((await bpfkit("map", "update", "id", "1", "key", "7", "value", "1", "--key-type", "u32", "--value-type", "u32")).code).toBe(0);
    const r = await bpfkit("map", "update", "id", "1", "key", "7", "value", "2", "noexist", "--key-type", "u32", "--value-type", "u32");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("update map 1: key 7 exists (noexist)");
  }));
});

describe("map update of an array of maps with an inner map that is not there", () => {
  it("says there is no such map, exit 4", async () => {
    const d = createSimDriver();
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const aom = d.mapCreate({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
    try {
      const r = await cliOver(d)("map", "update", "id", "2", "key", "0", "--key-type", "u32", "value", "id", "99");
      expect(r.code).toBe(ExitCode.notFound);
      expect(r.err).toContain("bpfkit: no map id 99\n");
    } finally {
      d.close(aom);
      d.close(inner);
    }
  });
});

describe("map next", () => {
  it("after the last key says so with exit 4, and --json gives the key asked about with the next", () => withSimMap({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 2 }, async ({ bpfkit }) => {
    const j = await bpfkit("map", "next", "id", "1", "key", "0", "--key-type", "u32", "--json");
    expect(j.code, j.err).toBe(0);
    expect(JSON.parse(j.out)).toEqual({ key: 0, next: 1 });
    const last = await bpfkit("map", "next", "id", "1", "key", "1", "--key-type", "u32");
    expect(last.code).toBe(ExitCode.notFound);
    expect(last.err).toContain("map 1: no key after 1");
    expect(last.out).toBe("");
  }));
});

describe("map update of an array of maps", () => {
  it("closes the inner map's fd it opened: once the slot is emptied, nothing holds the inner map", async () => {
    const d = createSimDriver();
    const template = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const aom = d.mapCreate({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: template });
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const bpfkit = cliOver(d);
      const r = await bpfkit("map", "update", "id", "2", "key", "0", "--key-type", "u32", "value", "id", "3");
      expect(r.code, r.err).toBe(0);
      expect((await bpfkit("map", "delete", "id", "2", "key", "0", "--key-type", "u32")).code).toBe(0);
    } finally {
      d.close(inner);
      d.close(aom);
      d.close(template);
    }
    // An fd the update leaked would keep map 3 alive in this (persistent) simulator.
    expect(d.liveMapIds()).toEqual([]);
  });
});

describe("commands that change a map", () => {
  it("update, delete, pin and freeze each say on stderr what they did, and -q keeps stderr empty", () => withSimMaps([HASH, HASH], async ({ bpfkit }) => {
    for (const [id, quiet] of [["1", false], ["2", true]] as const) {
      const key = ["key", "3", "--key-type", "u32"];
      const cases: Array<[string[], string]> = [
        [["map", "update", "id", id, ...key, "value", "4", "--value-type", "u32"], `updated map ${id}\n`],
        [["map", "delete", "id", id, ...key], `deleted from map ${id}\n`],
        [["map", "pin", "id", id, `/sys/fs/bpf/m${id}`], `pinned map ${id} at /sys/fs/bpf/m${id}\n`],
        [["map", "freeze", "id", id], `froze map ${id}\n`],
      ];
      for (const [argv, note] of cases) {
        const r = await bpfkit(...argv, "--driver", "sim", ...(quiet ? ["-q"] : []));
        expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(0);
        expect(r.out, argv.join(" ")).toBe("");
        expect(r.err, argv.join(" ")).toBe(quiet ? "" : note);
      }
    }
  }));
});

describe("--json on commands that change a map", () => {
  it("update, delete, pin and freeze each print one JSON object saying what they did, and nothing on stderr", () => withSimMap(HASH, async ({ bpfkit }) => {
    const u32 = ["--key-type", "u32", "--value-type", "u32", "--json", "--driver", "sim"];
    const cases: Array<[string[], unknown]> = [
      [["map", "update", "id", "1", "key", "3", "value", "4", ...u32], { updated: true, key: 3 }],
      [["map", "delete", "id", "1", "key", "3", ...u32.slice(0, 2), "--json", "--driver", "sim"], { deleted: true, key: 3 }],
      [["map", "pin", "id", "1", "/sys/fs/bpf/j", "--json", "--driver", "sim"], { pinned: "/sys/fs/bpf/j", id: 1 }],
      [["map", "freeze", "id", "1", "--json", "--driver", "sim"], { frozen: true, id: 1 }],
    ];
    for (const [argv, want] of cases) {
      const r = await bpfkit(...argv);
      expect(r.code, `${argv.join(" ")}: ${r.err}`).toBe(0);
      expect(JSON.parse(r.out), argv.join(" ")).toEqual(want);
      expect(r.err, argv.join(" ")).toBe("");
    }
  }));
});

describe("map pin", () => {
  it("takes one PATH only: a second is a usage error, and nothing is pinned", () => withSimMap(HASH, async ({ d, bpfkit }) => {
    const r = await bpfkit("map", "pin", "id", "1", "/sys/fs/bpf/a", "/sys/fs/bpf/b");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("map pin needs one PATH after the map");
    expect(d.host.stat("/sys/fs/bpf/a").errno).toBe(2);
    expect(d.host.stat("/sys/fs/bpf/b").errno).toBe(2);
  }));
});

describe("map pin messages", () => {
  it("say `also` for a map opened by its pin, and name a taken path as such", () => withSimMap(HASH, async ({ bpfkit }) => {
    const first = await bpfkit("map", "pin", "id", "1", "/sys/fs/bpf/a");
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/^pinned map 1 at \/sys\/fs\/bpf\/a$/m);
    const second = await bpfkit("map", "pin", "/sys/fs/bpf/a", "/sys/fs/bpf/b");
    expect(second.code, second.err).toBe(0);
    expect(second.err).toMatch(/^pinned map 1 at \/sys\/fs\/bpf\/a also at \/sys\/fs\/bpf\/b$/m);
    const taken = await bpfkit("map", "pin", "id", "1", "/sys/fs/bpf/b");
    expect(taken.code).toBe(ExitCode.failure);
    expect(taken.err).toContain("pin map 1 to /sys/fs/bpf/b: something is already pinned there");
  }));
});

describe("map show of a map with no name", () => {
  it("prints `-` for the name, not an empty column", () => withSimMap({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, async ({ bpfkit }) => {
    const r = await bpfkit("map", "show", "id", "1");
    expect(r.code, r.err).toBe(0);
    expect(r.out.split("\n")[1]).toBe("name:        -");
  }));
});

describe("map create --name", () => {
  it("takes 15 characters (BPF_OBJ_NAME_LEN with its NUL) and refuses 16 as a usage error before the kernel's EINVAL", async () => {
    const d = createSimDriver();
    const create = (path: string, name: string) =>
      cliOver(d)("map", "create", path, "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--name", name);
    const long = await create("/sys/fs/bpf/long", "a".repeat(16));
    expect(long.code).toBe(ExitCode.usage);
    expect(long.err).toContain(`--name "${"a".repeat(16)}": is 16 bytes; a kernel map name is at most 15 bytes of A-Z a-z 0-9 _ .`);
    // The character the kernel would refuse is named, as invisible ones are easy to pass from a shell.
    for (const [bad, shown] of [["ct4 ", '" "'], ["ct4\u2010v2", '"\u2010"']] as const) {
      const r = await create("/sys/fs/bpf/bad", bad);
      expect(r.code).toBe(ExitCode.usage);
      expect(r.err).toContain(`--name ${JSON.stringify(bad)}: holds ${shown}; a kernel map name is at most 15 bytes of A-Z a-z 0-9 _ .`);
    }
    expect(d.host.stat("/sys/fs/bpf/bad").errno).toBe(2);
    expect(d.host.stat("/sys/fs/bpf/long").errno).toBe(2);
    const ok = await create("/sys/fs/bpf/ok", "a".repeat(15));
    expect(ok.code, ok.err).toBe(0);
  });
});

describe("name NAME while maps come and go", () => {
  it("passes over a map freed between GET_NEXT_ID and GET_FD_BY_ID and finds the named one after it", () =>
    withSimMaps(["gone", "wanted"].map((mapName) => ({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, mapName })), async ({ d }) => {
      const racing = wrapDriver(d, { mapGetFdById: (id, flags) => (id === 1 ? -2 : d.mapGetFdById(id, flags)) });
      const r = await cliOver(racing)("map", "show", "name", "wanted");
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^id:\s+2$/m);
    }));
});

describe("map create of an array_of_maps without --inner-*", () => {
  it("takes the documented template, a 1-entry array of 4-byte keys and values: only such an inner map goes in", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    const made = await bpfkit("map", "create", "/sys/fs/bpf/outer", "--type", "array_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2");
    expect(made.code, made.err).toBe(0);
    const inner = [
      d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }),
      d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 2 }),
      d.mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1 }),
      d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
    ];
    try {
      const put = async (id: number) => (await bpfkit("map", "update", "/sys/fs/bpf/outer", "key", "0", "--key-type", "u32", "value", "id", String(id))).code;
      // Ids: 1 the inner template `map create` made, 2 the outer map, then the four above.
      expect(await put(3)).toBe(0);
      for (const id of [4, 5, 6]) expect(await put(id), `inner map ${id}`).toBe(ExitCode.failure);
    } finally {
      for (const fd of inner) d.close(fd);
    }
  });
});

describe("map create of a map-in-map whose inner maps have flags", () => {
  it("an lpm_trie template gets no_prealloc, --inner-flags sets any other, and only matching inner maps go in", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    const lpm = await bpfkit("map", "create", "/sys/fs/bpf/routes", "--type", "hash_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2",
      "--inner-type", "lpm_trie", "--inner-key-size", "8", "--inner-value-size", "4", "--inner-max-entries", "4");
    expect(lpm.code, lpm.err).toBe(0);
    const hashes = await bpfkit("map", "create", "/sys/fs/bpf/hashes", "--type", "array_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2",
      "--inner-type", "hash", "--inner-flags", "no_prealloc");
    expect(hashes.code, hashes.err).toBe(0);
    const inner = [
      d.mapCreate({ mapType: 11, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: 1 }),
      d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapFlags: 1 }),
      d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 }),
    ];
    try {
      const ids = inner.map((fd) => { const b = new Uint8Array(MAP_INFO_SIZE); expect(d.objGetInfoByFd(fd, b)).toBeGreaterThan(0); return decodeMapInfo(b).id; });
      const put = async (outer: string, id: number) => (await bpfkit("map", "update", outer, "key", "0", "--key-type", "u32", "value", "id", String(id))).code;
      expect(await put("/sys/fs/bpf/routes", ids[0]!)).toBe(0);
      expect(await put("/sys/fs/bpf/hashes", ids[1]!)).toBe(0);
      expect(await put("/sys/fs/bpf/hashes", ids[2]!)).toBe(ExitCode.failure);
    } finally {
      for (const fd of inner) d.close(fd);
    }
    expect((await bpfkit("map", "create", "/sys/fs/bpf/x", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--inner-flags", "1")).err)
      .toContain("--inner-flags is for array_of_maps and hash_of_maps only");
    expect((await bpfkit("map", "create", "/sys/fs/bpf/x", "--type", "array_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--inner-flags", "bogus")).code)
      .toBe(ExitCode.usage);
  });
});

describe("map create on a fresh simulator", () => {
  it("notes that the map ends with the command, unless -q", async () => {
    const argv = ["map", "create", "/sys/fs/bpf/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim"];
    const loud = captureIo({ kernelAvailable: () => "test" });
    expect(await main(argv, loud)).toBe(0);
    expect(loud.errText()).toContain("the map");
    const quiet = captureIo({ kernelAvailable: () => "test" });
    expect(await main([...argv, "-q"], quiet)).toBe(0);
    expect(quiet.errText()).toBe("");
  });
});

describe("map create of an lpm_trie the kernel refuses", () => {
  it("hints at --flags no_prealloc only when the flag is missing", async () => {
    const d = createSimDriver();
    const create = (...more: string[]) => cliOver(d)("map", "create", "/sys/fs/bpf/lpm", "--type", "lpm_trie", "--value-size", "4", "--max-entries", "4", ...more);
    const noFlag = await create("--key-size", "8", "--flags", "0");
    expect(noFlag.code).toBe(ExitCode.failure);
    expect(noFlag.err).toContain("an lpm_trie needs --flags no_prealloc");
    // With the flag, a key too short for a prefix (4 bytes of prefixlen, no data) is another EINVAL.
    const badKey = await create("--key-size", "4", "--flags", "no_prealloc");
    expect(badKey.code).toBe(ExitCode.failure);
    expect(badKey.err).toContain("(the kernel rejects these attributes for this type)");
    expect(badKey.err).not.toContain("no_prealloc");
  });
});

describe("maps with none loaded", () => {
  it("says so in a sentence naming the driver, not an empty table", async () => {
    const r = await cliOver(createSimDriver())("maps", "--driver", "sim");
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe("no maps are loaded (driver: sim)\n");
  });
});

describe("name NAME", () => {
  it("matches the kernel name whole, not as a prefix, and two maps of one name are a usage error naming both ids", () =>
    withSimMaps(["ab", "abc", "dup", "dup"].map((mapName) => ({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1, mapName })), async ({ bpfkit }) => {
      const one = await bpfkit("map", "show", "name", "ab");
      expect(one.code, one.err).toBe(0);
      expect(one.out).toMatch(/^id:\s+1$/m);
      const two = await bpfkit("map", "show", "name", "dup");
      expect(two.code).toBe(ExitCode.usage);
      expect(two.err).toContain("2 maps are named dup (ids 3, 4)");
      expect(two.out).toBe("");
      // A bare NAME pinned nowhere falls back to the kernel name, and keeps that ambiguity's error.
      const bare = await bpfkit("map", "show", "dup");
      expect(bare.code).toBe(ExitCode.usage);
      expect(bare.err).toContain("2 maps are named dup (ids 3, 4)");
    }));
});

describe("bytes typed as for bpftool", () => {
  it("`key hex …` is bpftool's hex, and bpftool's decimal `10 0 0 1` is refused before anything is written", () => withSimMap(HASH, async ({ d, fd, bpfkit }) => {
    const ok = await bpfkit("map", "update", "id", "1", "key", "hex", "0a", "00", "00", "01", "value", "hex", "01", "02", "03", "04");
    expect(ok.code, ok.err).toBe(0);
    const v = new Uint8Array(4);
    expect(d.mapLookupElem(fd, Uint8Array.of(10, 0, 0, 1), v)).toBe(0);
    expect(Array.from(v)).toEqual([1, 2, 3, 4]);
    for (const cmd of [["update", "key", "10", "0", "0", "1", "value", "5", "0", "0", "0"], ["lookup", "key", "10", "0", "0", "1"],
      ["delete", "key", "10", "0", "0", "1"], ["next", "key", "10", "0", "0", "1"]]) {
      const r = await bpfkit("map", cmd[0]!, "id", "1", ...cmd.slice(1));
      expect(r.code, cmd.join(" ")).toBe(ExitCode.usage);
      expect(r.err).toContain("bpftool reads it as decimal 10, bpfkit as hex 0x10");
    }
    expect(d.mapGetNextKey(fd, Uint8Array.of(10, 0, 0, 1), new Uint8Array(4))).toBe(-2); // still the only key
    expect(d.mapLookupElem(fd, Uint8Array.of(0x10, 0, 0, 1), v)).toBe(-2);
  }));
});

describe("an LPM trie's key given as bytes", () => {
  it("is taken as the help says KEY may be, as bpftool takes it, and printed as the prefix", () =>
    withSimMaps([{ mapType: 11, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: 1 }, { mapType: 11, keySize: 20, valueSize: 4, maxEntries: 4, mapFlags: 1 }], async ({ d, fds, bpfkit }) => {
      const r = await bpfkit("map", "update", "id", "1", "key", "18", "00", "00", "00", "0a", "01", "02", "00", "value", "07", "00", "00", "00");
      expect(r.code, r.err).toBe(0);
      const v = new Uint8Array(4);
      expect(d.mapLookupElem(fds[0]!, Uint8Array.of(24, 0, 0, 0, 10, 1, 2, 0), v)).toBe(0);
      expect(v[0]).toBe(7);
      const hit = await bpfkit("map", "lookup", "id", "1", "key", "0x200000000a010203");
      expect(hit.code, hit.err).toBe(0);
      expect(hit.out).toBe("key: 10.1.2.3/32  value: 07 00 00 00\n");
      expect((await bpfkit("map", "dump", "id", "1")).out).toBe("key: 10.1.2.0/24  value: 07 00 00 00\n1 entry\n");
      const six = await bpfkit("map", "update", "id", "2", "key", "hex", "40", "00", "00", "00", "fd", ...Array.from({ length: 15 }, () => "00"), "value", "01", "00", "00", "00");
      expect(six.code, six.err).toBe(0);
      expect((await bpfkit("map", "dump", "id", "2")).out).toBe("key: fd00::/64  value: 01 00 00 00\n1 entry\n");
      // Prefixes are read as before.
      expect((await bpfkit("map", "lookup", "id", "2", "key", "fd00::1")).code).toBe(0);
    }));
});

describe("map lookup on an LPM trie", () => {
  it("is a longest-prefix match, and the help says the key printed is the one given, not the stored prefix", () =>
    withSimMap({ mapType: 11, keySize: 8, valueSize: 4, maxEntries: 4, mapFlags: 1 }, async ({ bpfkit }) => {
      expect((await bpfkit("map", "update", "id", "1", "key", "10.1.2.0/24", "value", "07", "00", "00", "00")).code).toBe(0);
      const hit = await bpfkit("map", "lookup", "id", "1", "key", "10.1.2.3");
      expect(hit.out).toBe("key: 10.1.2.3/32  value: 07 00 00 00\n");
      expect((await bpfkit("map", "lookup", "id", "1", "key", "10.1.3.3")).code).toBe(ExitCode.notFound);
      const help = (await bpfkit("map", "lookup", "--help")).out;
      expect(help).toContain("On an LPM trie the lookup is a longest-prefix match: the value is the longest stored prefix's that holds KEY,\n" +
        "and the key printed is KEY as given (an address as /32 or /128), not that prefix");
    }));
});

describe("`key hex` with no bytes after it", () => {
  it("says the bytes are missing, not that `hex` is not hex", () => withSimMap(HASH, async ({ bpfkit }) => {
    const r = await bpfkit("map", "lookup", "id", "1", "key", "hex");
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toContain("bpfkit: lookup map 1: key: `hex` and no bytes after it\n  like hex 0a 00 00 01\n");
  }));
});

describe("map-in-map values", () => {
  it("print as ids, and the help of dump and lookup says so (bpftool prints the id's bytes)", async () => {
    const d = createSimDriver();
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const aom = d.mapCreate({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
    try {
      const bpfkit = cliOver(d);
      expect((await bpfkit("map", "update", "id", "2", "key", "00", "00", "00", "00", "value", "id", "1")).code).toBe(0);
      expect((await bpfkit("map", "dump", "id", "2")).out).toBe("key: 00 00 00 00  value: id 1\n1 entry\n");
      expect(JSON.parse((await bpfkit("map", "lookup", "id", "2", "key", "0", "--key-type", "u32", "--json")).out)).toEqual({ key: 0, value: { id: 1 } });
      for (const cmd of ["dump", "lookup"]) {
        const help = (await bpfkit("map", cmd, "--help")).out.replace(/\s+/g, " ");
        expect(help, cmd).toContain("Map-in-map and PROG_ARRAY values print as");
        expect(help, cmd).toContain("where bpftool prints the id's bytes");
      }
    } finally {
      d.close(aom);
      d.close(inner);
    }
  });
});

describe("map delete past the end of an array of fds", () => {
  it("names the index and the range, as update does, instead of the kernel's E2BIG text", async () => {
    const d = createSimDriver();
    const pa = d.mapCreate({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 4 });
    try {
      const r = await cliOver(d)("map", "delete", "id", "1", "key", "9", "--key-type", "u32");
      expect(r.code).toBe(ExitCode.failure);
      expect(r.err).toContain("delete map 1: index 9 is out of range: the array has 4 entries (0 to 3)");
    } finally {
      d.close(pa);
    }
  });
});

describe("progs --help", () => {
  it("says what it shows less than bpftool prog show, and what loadTimeNs counts from", async () => {
    const help = (await cliOver(createSimDriver())("progs", "--help")).out.replace(/\s+/g, " ");
    expect(help).toContain("with the ids of the maps it uses (bpftool's map_ids)");
    expect(help).toContain("the BTF it was loaded with (btf_id, - for none)");
    expect(help).toContain("there is no memlock or pids");
    expect(help).toContain("loadTimeNs is bpf_prog_info.load_time, nanoseconds since boot");
  });
});

describe("map show of a hash_of_maps when the frozen probe's value fd is no fd", () => {
  it("is not frozen: any refusal but EPERM comes after the kernel's frozen check", async () => {
    const sim = createSimDriver();
    // The kernel reads a hash_of_maps value (fd 0) before the flags: EBADF where stdin is closed.
    const d = wrapDriver(sim, { mapUpdateElem: (fd, k, v, flags) => (flags === 3 ? -9 : sim.mapUpdateElem(fd, k, v, flags)) });
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const hom = d.mapCreate({ mapType: 13, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
    try {
      const r = await cliOver(d)("map", "show", "id", "2", "--json");
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out).frozen).toBe(false);
    } finally {
      d.close(hom);
      d.close(inner);
    }
  });
});

describe("--key-type and --value-type help", () => {
  it("names every default: prefixes on an LPM trie, ids in arrays of maps and programs", async () => {
    for (const cmd of ["dump", "lookup", "next"]) {
      const help = (await cliOver(createSimDriver())("map", cmd, "--help")).out.replace(/\s+/g, " ");
      expect(help, cmd).toContain("(default: hex bytes, lpm4 or lpm6 on an LPM trie of 8- or 20-byte keys;");
    }
    expect((await cliOver(createSimDriver())("map", "dump", "--help")).out.replace(/\s+/g, " ")).toContain("default: hex bytes, ids for map-in-map and PROG_ARRAY");
  });
});

describe("map create --inner-map", () => {
  it("takes an existing map as the template, as bpftool's inner_map does, and refuses other --inner-* beside it", async () => {
    const d = createSimDriver();
    const bpfkit = cliOver(d);
    const template = d.mapCreate({ mapType: 1, keySize: 8, valueSize: 2, maxEntries: 3, mapFlags: 1 });
    const like = d.mapCreate({ mapType: 1, keySize: 8, valueSize: 2, maxEntries: 3, mapFlags: 1 });
    const unlike = d.mapCreate({ mapType: 1, keySize: 8, valueSize: 2, maxEntries: 3 });
    try {
      expect(d.objPin(template, "/sys/fs/bpf/tmpl")).toBe(0);
      for (const [path, ref] of [["/sys/fs/bpf/o1", "id 1"], ["/sys/fs/bpf/o2", "/sys/fs/bpf/tmpl"]] as const) {
        const r = await bpfkit("map", "create", path, "--type", "hash_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2", "--inner-map", ref);
        expect(r.code, r.err).toBe(0);
        const put = async (id: number) => (await bpfkit("map", "update", path, "key", "0", "--key-type", "u32", "value", "id", String(id))).code;
        expect(await put(2)).toBe(0);
        expect(await put(3)).toBe(ExitCode.failure);
      }
      const both = await bpfkit("map", "create", "/sys/fs/bpf/o3", "--type", "hash_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2", "--inner-map", "id 1", "--inner-max-entries", "3");
      expect(both.code).toBe(ExitCode.usage);
      expect(both.err).toContain("--inner-map and --inner-max-entries disagree");
      const none = await bpfkit("map", "create", "/sys/fs/bpf/o3", "--type", "hash_of_maps", "--key-size", "4", "--value-size", "4", "--max-entries", "2", "--inner-map", "id 99");
      expect(none.code).toBe(ExitCode.notFound);
      expect(d.host.stat("/sys/fs/bpf/o3").errno).not.toBe(0);
    } finally {
      for (const fd of [template, like, unlike]) d.close(fd);
    }
  });
});

describe("a map created with BTF", () => {
  it("shows its BTF id, as bpftool's btf_id, in map show and in maps --json", async () => {
    const sim = createSimDriver();
    // The simulator loads no BTF: its info answer gets a btf_id (bpf_map_info at byte 64).
    const d = wrapDriver(sim, {
      objGetInfoByFd: (fd, info) => {
        const r = sim.objGetInfoByFd(fd, info);
        if (r > 68) new DataView(info.buffer, info.byteOffset).setUint32(64, 42, true);
        return r;
      },
    });
    const fd = d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1 });
    try {
      const bpfkit = cliOver(d);
      expect((await bpfkit("map", "show", "id", "1")).out).toContain("\nbtf id:      42\n");
      expect(JSON.parse((await bpfkit("map", "show", "id", "1", "--json")).out).btfId).toBe(42);
      expect((JSON.parse((await bpfkit("maps", "--json")).out) as Array<{ btfId: number }>)[0]!.btfId).toBe(42);
    } finally {
      d.close(fd);
    }
  });
});

describe("map pin and map create off bpffs", () => {
  it("say in their help that, unlike bpftool, they mount no bpffs there", async () => {
    const bpfkit = cliOver(createSimDriver());
    expect((await bpfkit("map", "pin", "--help")).out.replace(/\s+/g, " ")).toContain("unlike bpftool, which mounts bpffs over a directory that is not on one, bpfkit mounts nothing here");
    expect((await bpfkit("map", "create", "--help")).out.replace(/\s+/g, " ")).toContain("unlike bpftool, bpfkit mounts no bpffs there");
  });
});

describe("bpftool's words for commands bpfkit names otherwise", () => {
  it("are still usage errors, and name the bpfkit command", async () => {
    const bpfkit = cliOver(createSimDriver());
    for (const [argv, hint] of [
      [["map", "getnext", "id", "1"], "bpftool's `map getnext` is `bpfkit map next`"],
      [["map", "list"], "bpftool's `map list` is `bpfkit maps`"],
      [["prog", "show"], "bpftool's `prog show` is `bpfkit progs`"],
      [["map", "show"], "bpftool's `map show` without MAP is `bpfkit maps`"],
    ] as const) {
      const r = await bpfkit(...argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.out).toBe("");
      expect(r.err, argv.join(" ")).toContain(hint);
    }
  });
});
