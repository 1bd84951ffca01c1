// The command line itself: help for every command, usage errors and exit codes, driver choice,
// key/value types. No map is touched except where a test says so.
import { describe, expect, it } from "vitest";
import { BPF_F_NO_PREALLOC } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { captureIo, type CliError, ExitCode, main, parseHexBytes, parseType, VERSION } from "../src/index.js";
import { COMMANDS } from "../src/commands/index.js";
import { cliOver } from "./helpers.js";

async function run(argv: string[], over: Parameters<typeof captureIo>[0] = {}) {
  const io = captureIo(over);
  const code = await main(argv, io);
  return { code, out: io.text(), err: io.errText() };
}

describe("bpfkit help and usage", () => {
  it("lists every command, and --help works for each with its usage line and options", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(`  ${c.name} `);
      const h = await run([...c.name.split(" "), "--help"]);
      expect(h.code, c.name).toBe(0);
      expect(h.out.startsWith(`usage: bpfkit ${c.usage}\n`), c.name).toBe(true);
      for (const o of Object.keys(c.options)) expect(h.out, `${c.name} --${o}`).toContain(`--${o}`);
    }
    expect((await run(["help", "map", "dump"])).out).toContain("usage: bpfkit map dump");
    const helpGroup = await run(["help", "map"]);
    expect(helpGroup.code).toBe(0);
    expect(helpGroup.out).toContain("usage: bpfkit map <command>");
    const helpHelp = await run(["help", "help"]);
    expect(helpHelp.code).toBe(0);
    expect(helpHelp.out).toBe(top.out);
    const helpUnknown = await run(["help", "frob"]);
    expect(helpUnknown.code).toBe(ExitCode.usage);
    expect(helpUnknown.err).toContain('unknown command "frob"');
    // An unknown command in a known group is as unknown after `help` as before `--help`.
    for (const argv of [["help", "map", "frob"], ["map", "frob", "--help"]]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err, argv.join(" ")).toContain('unknown command "map frob"');
    }
  });

  it("bare bpfkit prints the overview on stdout and exits 2; other command lines without a command are usage errors on stderr", async () => {
    const none = await run([]);
    expect(none.code).toBe(ExitCode.usage);
    expect(none.out).toContain("commands:");
    expect(none.err).toBe("");
    const bad = await run(["frobnicate"]);
    expect(bad.code).toBe(ExitCode.usage);
    expect(bad.err).toContain('unknown command "frobnicate"');
    expect(bad.out).toBe("");
    // A script that lost its command word gets nothing on stdout to mistake for output.
    for (const argv of [["--json"], ["-q", "--driver", "sim"]]) {
      const r = await run(argv);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err, argv.join(" ")).toContain("no command given");
    }
    const group = await run(["map"]);
    expect(group.code).toBe(ExitCode.usage);
    expect(group.out).toBe("");
    expect(group.err).toContain("map needs a command");
    expect(group.err).toContain("map dump");
    expect(group.err).not.toContain("  progs ");
    const groupHelp = await run(["map", "--help"]);
    expect(groupHelp.code).toBe(0);
    expect(groupHelp.out).toContain("map dump");
    expect(groupHelp.err).toBe("");
    expect((await run(["--help"])).out).toContain("Bare `bpfkit` prints this overview and exits 2");
  });

  it("the overview's exit code 3 says what needs CAP_SYS_ADMIN beyond CAP_BPF, as the packages' READMEs do", async () => {
    const codes = (await run(["--help"])).out.replace(/\s+/g, " ");
    expect(codes).toContain("3 needs privileges (root, or CAP_BPF for maps and programs; listing or opening by id and mounting need CAP_SYS_ADMIN too)");
  });

  it("--version and --help act after any command, run nothing, and --help wins over --version", async () => {
    const made: string[] = [];
    const over = { createDriver: (k: "kernel" | "sim") => { made.push(k); return createSimDriver(); }, kernelAvailable: () => undefined };
    for (const argv of [["--version"], ["maps", "--version"], ["--version", "maps", "--json"], ["map", "dump", "id", "1", "--version"], ["map", "--version"]]) {
      expect(await run(argv, over), argv.join(" ")).toEqual({ code: 0, out: `bpfkit ${VERSION}\n`, err: "" });
    }
    const both = await run(["maps", "--version", "--help"], over);
    expect(both.code).toBe(0);
    expect(both.out.startsWith("usage: bpfkit maps")).toBe(true);
    expect(made).toEqual([]);
    expect((await run(["maps", "--help"])).out).toMatch(/--version +print the version, and run nothing/);
  });

  it("the words after MAP are checked before any driver is made: a bad command line is exit 2 whatever the map", async () => {
    const made: string[] = [];
    const over = { createDriver: (k: "kernel" | "sim") => { made.push(k); return createSimDriver(); }, kernelAvailable: () => undefined };
    for (const argv of [["map", "lookup", "id", "5"], ["map", "update", "id", "5", "key", "1"], ["map", "delete", "id", "5", "key", "1", "value", "2"],
      ["map", "next", "id", "5", "foo"], ["map", "show", "id", "5", "extra"], ["map", "dump", "id", "5", "extra"], ["map", "pin", "id", "5"],
      ["map", "freeze", "id", "5", "x"], ["map", "update", "id", "5", "key", "1", "value", "2", "exist", "--flags", "noexist"]]) {
      const r = await run(argv, over);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err, argv.join(" ")).toContain(`usage: bpfkit ${argv[0]} ${argv[1]} `);
    }
    // Before, the map was looked for first: "no map with id 5", exit 4 (or exit 3 without bpf(2)).
    expect(made).toEqual([]);
  });

  it("map delete and map next read keys only, so they neither list nor take a value type", async () => {
    const sim = createSimDriver();
    const over = { createDriver: () => sim, kernelAvailable: () => "test" };
    for (const name of ["map delete", "map next"]) {
      const words = name.split(" ");
      const h = await run([...words, "--help"]);
      expect(h.out, name).toContain("--key-type");
      expect(h.out, name).not.toMatch(/--value\b|--value-type/);
      const r = await run([...words, "id", "1", "key", "00 00 00 00", "--value-type", "u64"], over);
      expect(r.code, name).toBe(ExitCode.usage);
      expect(r.err, name).toContain("Unknown option '--value-type'");
    }
  });

  it("a command that takes no arguments refuses them before opening a driver", async () => {
    const made: string[] = [];
    const over = { createDriver: (k: "kernel" | "sim") => { made.push(k); return createSimDriver(); }, kernelAvailable: () => undefined };
    for (const argv of [["maps", "id", "12"], ["progs", "show"], ["probe", "hash"], ["demo", "7"]]) {
      const r = await run(argv, over);
      expect(r.code, argv.join(" ")).toBe(ExitCode.usage);
      expect(r.err).toContain(`${argv[0]} takes no arguments, got ${JSON.stringify(argv.slice(1).join(" "))}`);
    }
    expect(made).toEqual([]);
  });

  it("on the simulator it boots, a missing map says the simulated host starts empty on every run", async () => {
    const made = await run(["map", "create", "/sys/fs/bpf/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim"]);
    expect(made.code, made.err).toBe(0);
    expect(made.err).toContain("the simulated host ends with this command");
    for (const ref of [["/sys/fs/bpf/m"], ["id", "1"], ["m"]]) {
      const r = await run(["map", "show", ...ref, "--driver", "sim"]);
      expect(r.code, ref.join(" ")).toBe(ExitCode.notFound);
      expect(r.err, ref.join(" ")).toContain("the simulator starts empty on every run");
    }
    // A simulator handed in by the embedder may hold maps from before: no such claim there.
    const given = await run(["map", "show", "id", "1", "--driver", "sim"], { createDriver: () => createSimDriver() });
    expect(given.code).toBe(ExitCode.notFound);
    expect(given.err).not.toContain("starts empty");
  });

  it("on a fresh simulator, a mount and a pin under a missing directory say where they happen", async () => {
    // The mount happens on the simulated host, which the command's end discards: stderr says so,
    // and the JSON names the driver, so neither a person nor a script takes it for the real host.
    const m = await run(["mount", "/tmp/bpffs-here", "--driver", "sim"]);
    expect(m.code, m.err).toBe(0);
    expect(m.out).toBe("mounted bpffs at /tmp/bpffs-here\n");
    expect(m.err).toContain("the simulated host ends with this command, and the mount with it");
    const mj = await run(["mount", "/tmp/bpffs-here", "--driver", "sim", "--json"]);
    expect(JSON.parse(mj.out)).toMatchObject({ root: "/tmp/bpffs-here", mounted: true, driver: "sim" });
    // An embedder's simulator is not discarded by the command: no note there.
    const ok = await run(["mount", "/tmp/bpffs-here", "--driver", "sim"], { createDriver: () => createSimDriver() });
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).not.toContain("ends with this command");
    const pin = await run(["map", "create", "/home/me/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim"]);
    expect(pin.code).toBe(ExitCode.notFound);
    expect(pin.err).toContain("the directory /home/me does not exist");
    expect(pin.err).toContain("the simulated host has only /tmp, /proc, /sys and the bpffs at /sys/fs/bpf");
    // bpffs's EPERM for a dot in a name is not a privilege problem, nor an off-bpffs path.
    const dot = await run(["map", "create", "/sys/fs/bpf/a.b", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim"]);
    expect(dot.code).toBe(ExitCode.usage);
    expect(dot.err).toContain('pin at /sys/fs/bpf/a.b: bpffs refuses a name with a dot ("a.b")');
    const json = await run(["map", "create", "/sys/fs/bpf/m", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim", "--json"]);
    expect(json.code, json.err).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ pinned: "/sys/fs/bpf/m", driver: "sim" });
  });

  it("map create of an lpm_trie: no --flags means no_prealloc; flags without it get the kernel's EINVAL and the flag to add", async () => {
    const d = createSimDriver();
    const lpm = ["map", "create", "/sys/fs/bpf/r", "--type", "lpm_trie", "--key-type", "lpm4", "--value-size", "4", "--max-entries", "4", "--driver", "sim"];
    const ok = await cliOver(d)(...lpm, "--json");
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ type: "lpm_trie", flags: BPF_F_NO_PREALLOC, pinned: "/sys/fs/bpf/r" });
    const r = await cliOver(d)("map", "create", "/sys/fs/bpf/s", ...lpm.slice(3), "--flags", "rdonly");
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("create lpm_trie map: EINVAL");
    expect(r.err).toContain("an lpm_trie needs --flags no_prealloc");
    // The default is the lpm_trie's alone: a hash made without --flags stays preallocated.
    const hash = await cliOver(d)("map", "create", "/sys/fs/bpf/h", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "4", "--driver", "sim", "--json");
    expect(hash.code, hash.err).toBe(0);
    expect(JSON.parse(hash.out)).toMatchObject({ type: "hash", flags: 0 });
  });

  it("map create and consume of a ringbuf go by the driver's page: on a 16 KiB-page kernel 4096 bytes is too small, named with the page", async () => {
    const d = createSimDriver({ pageSize: 16384 });
    const ring = (size: number) => ["map", "create", "/sys/fs/bpf/rb", "--type", "ringbuf", "--max-entries", String(size), "--driver", "sim"];
    const small = await cliOver(d)(...ring(4096));
    expect(small.code).toBe(ExitCode.failure);
    expect(small.err).toContain("a ringbuf's --max-entries is its size in bytes: a power of 2 and a multiple of the page (16384), not 4096");
    const ok = await cliOver(d)(...ring(16384));
    expect(ok.code, ok.err).toBe(0);
    const fd = d.objGet("/sys/fs/bpf/rb");
    expect(d.datapath.ringbufOutput({ fd }, Uint8Array.of(7, 8))).toBe(0);
    const r = await cliOver(d)("map", "consume", "/sys/fs/bpf/rb", "--driver", "sim");
    expect([r.code, r.out]).toEqual([0, "record (2 bytes): 07 08\n"]);
    expect(d.close(fd)).toBe(0);
  });

  it("-q says in every help what it leaves on stderr", async () => {
    for (const argv of [["--help"], ["map", "dump", "--help"], ["mount", "--help"]]) {
      expect((await run(argv)).out, argv.join(" ")).toMatch(/-q, --quiet +no notes or progress on stderr \(errors, warnings, and what --stats or --warn ask for still print\)\n/);
    }
  });

  it("an unknown option or a bad --driver is a usage error that points to --help", async () => {
    const r = await run(["maps", "--frob"]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.err).toMatch(/maps: Unknown option '--frob'/);
    expect(r.err).toContain("bpfkit maps --help");
    expect(r.err).not.toContain("did you mean");
    // A typo of one of the command's own options (or a global one) is named.
    const typo = await run(["map", "dump", "id", "1", "--key-typ", "u32"]);
    expect(typo.code).toBe(ExitCode.usage);
    expect(typo.err).toBe("bpfkit: map dump: Unknown option '--key-typ'\n  did you mean --key-type? see `bpfkit map dump --help`\n");
    expect((await run(["maps", "--jsno"])).err).toContain("did you mean --json?");
    expect((await run(["maps", "--pin"])).err).toContain("did you mean --pins?");
    const cmd = await run(["map", "creat", "/sys/fs/bpf/x"]);
    expect(cmd.code).toBe(ExitCode.usage);
    expect(cmd.err).toBe("bpfkit: unknown command \"map creat\"\n  did you mean `bpfkit map create`?\n");
    const d = await run(["maps", "--driver", "gpu"]);
    expect(d.code).toBe(ExitCode.usage);
    expect(d.err).toContain("--driver gpu: expected kernel, sim or auto");
    const e = await run(["maps"], { env: { BPFKIT_DRIVER: "gpu" } });
    expect(e.code).toBe(ExitCode.usage);
    expect(e.err).toContain("BPFKIT_DRIVER=gpu: expected kernel, sim or auto");
  });

  it("auto takes the kernel where usable and the simulator otherwise, and says which on stderr", async () => {
    const sim = createSimDriver();
    const made: string[] = [];
    const over = (why: string | undefined) => ({
      kernelAvailable: () => why,
      createDriver: (k: "kernel" | "sim") => { made.push(k); return sim; },
    });
    const a = await run(["maps"], over("bpf(2) needs root or CAP_BPF"));
    expect(a.code).toBe(0);
    expect(a.err).toContain("driver: simulator (bpf(2) needs root or CAP_BPF");
    const b = await run(["maps"], over(undefined));
    expect(b.err).toContain("driver: kernel");
    expect(made).toEqual(["sim", "kernel"]);
    const q = await run(["maps", "-q"], over(undefined));
    expect(q.err).toBe("");
  });

  it("--driver kernel without privilege fails with exit 3 and says what to do", async () => {
    const r = await run(["maps", "--driver", "kernel"], { kernelAvailable: () => "bpf(2) needs root or CAP_BPF" });
    expect(r.code).toBe(ExitCode.permission);
    expect(r.err).toContain("--driver kernel: bpf(2) needs root or CAP_BPF");
    expect(r.err).toContain("use --driver sim");
    // Off Linux root would not help: exit 1, and only the simulator is suggested.
    const mac = await run(["maps", "--driver", "kernel"], { kernelAvailable: () => "bpf(2) exists only on Linux (this is darwin)" });
    expect(mac.code).toBe(ExitCode.failure);
    expect(mac.err).toContain("--driver kernel: bpf(2) exists only on Linux (this is darwin)");
    expect(mac.err).not.toContain("root");
    expect(mac.err).toContain("use --driver sim");
  });

  it("an unknown command is a usage error with --version too; a u32 option past 2^32-1 names the option", async () => {
    const v = await run(["frob", "--version"]);
    expect([v.code, v.out]).toEqual([ExitCode.usage, ""]);
    expect(v.err).toContain('unknown command "frob"');
    const big = await run(["map", "create", "/sys/fs/bpf/x", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "4294967296", "--driver", "sim"]);
    expect(big.code).toBe(ExitCode.usage);
    expect(big.err).toContain("--max-entries 4294967296: more than a u32 holds");
    // Numbers for --type, --flags and --inner-type are named as the options, not as the driver's
    // attr fields (`BPF_MAP_CREATE: mapFlags 8589934591 is not a u32`).
    for (const [opt, value, type] of [["--type", "4294967296", "4294967296"], ["--flags", "0x1ffffffff", "hash"], ["--inner-type", "4294967298", "array_of_maps"]] as const) {
      const argv = ["map", "create", "/sys/fs/bpf/x", "--type", type, "--key-size", "4", "--value-size", "4", "--max-entries", "1", "--driver", "sim"];
      if (opt !== "--type") argv.push(opt, value);
      const r = await run(argv);
      expect(r.code, opt).toBe(ExitCode.usage);
      expect(r.err, opt).toContain(`${opt} ${value}: more than a u32 holds`);
    }
  });

  it("bpffs's own maps.debug is named as a file, not as a missing pin", async () => {
    const r = await run(["map", "show", "/sys/fs/bpf/maps.debug", "--driver", "sim"]);
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("/sys/fs/bpf/maps.debug is a file on bpffs, not a pinned object");
  });

  it("probe on the simulator does not pass the host's OS release off as its kernel", async () => {
    const r = await run(["probe", "--driver", "sim"]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^kernel:\s+simulated \(models Linux 6\.18\)$/m);
  });

  it("a BpfError EPERM from the driver maps to exit 3, with a hint only where privilege is the cause", async () => {
    // An unprivileged simulated host refuses as the kernel refuses a user without CAP_BPF.
    const sim = createSimDriver({ privileged: false });
    const r = await run(["map", "create", "/sys/fs/bpf/x", "--type", "hash", "--key-size", "4", "--value-size", "4", "--max-entries", "1"],
      { createDriver: () => sim, kernelAvailable: () => "no" });
    expect(r.code).toBe(ExitCode.permission);
    expect(r.err).toContain("the simulated host runs unprivileged");
    // A simulated host runs as root: its EPERM (sysfs takes no mkdir) says nothing of this
    // host's privileges, and "use --driver sim" would send the user where they are.
    const sysfs = await run(["--driver", "sim", "mount", "/sys/foo"]);
    expect(sysfs.code).toBe(ExitCode.permission);
    expect(sysfs.err).toContain("operation not permitted");
    expect(sysfs.err).not.toMatch(/--driver sim|CAP_|sudo/);
  });

  it("maps, progs and `name N` do not pass off a refused id walk as an empty host", async () => {
    // Unprivileged, GET_NEXT_ID is EPERM (the kernel wants CAP_SYS_ADMIN): exit 3, not "no maps".
    const sim = createSimDriver({ privileged: false });
    for (const argv of [["maps"], ["progs"], ["map", "show", "name", "x"]]) {
      const r = await run(argv, { createDriver: () => sim, kernelAvailable: () => "no" });
      expect(r.code, argv.join(" ")).toBe(ExitCode.permission);
      expect(r.err).toMatch(/GET_NEXT_ID/);
    }
    // Any errno but ENOENT ends the walk with an error, and the maps it had opened are closed:
    // `name x` has found map x when the second GET_NEXT_ID fails.
    const d = createSimDriver();
    const mine = ["x", "y"].map((mapName) => d.mapCreate({ mapType: 1, keySize: 4, valueSize: 4, maxEntries: 1, mapName }));
    let nextIdCalls = 0;
    d.setInterleavingHook((op) => {
      if (op === "mapGetNextId" && ++nextIdCalls === 2) d.faults.inject("mapGetNextId", { errno: 12 });
    });
    const r = await run(["map", "show", "name", "x"], { createDriver: () => d, kernelAvailable: () => "no" });
    d.setInterleavingHook(null);
    expect(r.code).toBe(ExitCode.failure);
    expect(r.err).toContain("BPF_MAP_GET_NEXT_ID: cannot allocate memory");
    for (const fd of mine) expect(d.close(fd)).toBe(0);
    expect(d.liveMapIds()).toEqual([]); // no fd of the walk's is left holding a map
  });
});

describe("key and value types", () => {
  const enc = (spec: string, text: string) => {
    const t = parseType(spec);
    const b = new Uint8Array(t.size);
    t.parse(text, b, 0);
    return { t, b: Array.from(b) };
  };

  it("integers are host order, be* network order, and out-of-range values are refused", () => {
    expect(enc("u32", "0x0a000001").b).toEqual([1, 0, 0, 10]);
    expect(enc("be32", "0x0a000001").b).toEqual([10, 0, 0, 1]);
    expect(enc("i16", "-2").b).toEqual([0xfe, 0xff]);
    expect(enc("u64", "18446744073709551615").b).toEqual(new Array(8).fill(255));
    expect(() => enc("u8", "256")).toThrow(/outside \[0, 255\]/);
    expect(() => enc("u32", "ten")).toThrow(/not a u32 number/);
  });

  it("a struct is laid out with C's alignment and padding, named or positional", () => {
    const a = enc("struct{ip:ipv4,port:be16,proto:u8}", "{ip:10.0.0.1, port:80, proto:6}");
    expect(a.t.size).toBe(8);
    expect(a.b).toEqual([10, 0, 0, 1, 0, 80, 6, 0]);
    expect(enc("struct{ip:ipv4,port:be16,proto:u8}", "10.0.0.1 80 6").b).toEqual(a.b);
    const b = enc("struct{a:u8,b:u64}", "a=1,b=2");
    expect(b.t.size).toBe(16);
    expect(b.b.slice(8)).toEqual([2, 0, 0, 0, 0, 0, 0, 0]);
    expect(a.t.format(Uint8Array.from(a.b), 0)).toBe("{ip=10.0.0.1 port=80 proto=6}");
    expect(a.t.json(Uint8Array.from(a.b), 0)).toEqual({ ip: "10.0.0.1", port: 80, proto: 6 });
    expect(() => enc("struct{ip:ipv4,port:be16}", "{ip:10.0.0.1}")).toThrow(/missing field port/);
  });

  it("LPM keys, arrays, IPv6 and MAC addresses", () => {
    expect(enc("lpm4", "10.1.0.0/16").b).toEqual([16, 0, 0, 0, 10, 1, 0, 0]);
    expect(() => enc("lpm4", "10.0.0.0/33")).toThrow(/not an IPv4 prefix/);
    expect(enc("u16[3]", "[1,2,3]").b).toEqual([1, 0, 2, 0, 3, 0]);
    expect(enc("ipv6", "fd00::1").b).toEqual([0xfd, 0, ...new Array(13).fill(0), 1]);
    expect(enc("mac", "02:00:00:00:00:0a").b).toEqual([2, 0, 0, 0, 0, 10]);
  });

  it("hex bytes: in the order written, a lone digit is a byte, a longer odd-length token is refused", () => {
    expect(Array.from(parseHexBytes("0a 00 00 01"))).toEqual([10, 0, 0, 1]);
    expect(Array.from(parseHexBytes("0x0a000001"))).toEqual([10, 0, 0, 1]);
    expect(Array.from(parseHexBytes("1 0 0 0"))).toEqual([1, 0, 0, 0]);
    // Seven digits: 00 10 00 00 or 01 00 00 00? Neither is safe to guess for a key.
    expect(() => parseHexBytes("0x0100000")).toThrow(/"0x0100000" has an odd number of hex digits \(7\)/);
    expect(() => parseHexBytes("123")).toThrow(/odd number of hex digits \(3\)/);
  });

  it("hex bytes as a bpftool user types them: a leading `hex` is taken, decimal-looking bytes beside one-digit ones are refused", () => {
    expect(Array.from(parseHexBytes("hex 0a 00 00 01"))).toEqual([10, 0, 0, 1]);
    expect(Array.from(parseHexBytes("HEX 0a000001"))).toEqual([10, 0, 0, 1]);
    // bpftool reads `10 0 0 1` as 0a 00 00 01; reading it as 10 00 00 01 would be a silent other key.
    expect(() => parseHexBytes("10 0 0 1")).toThrow(/"10" beside one-digit bytes: bpftool reads it as decimal 10, bpfkit as hex 0x10/);
    expect(() => parseHexBytes("1 0 0 99")).toThrow(/"99" beside one-digit bytes/);
    // Unambiguous forms still read as hex: bpftool reads 0x10 as hex too, and a bare a-f digit it refuses.
    expect(Array.from(parseHexBytes("0x10 0 0 1"))).toEqual([0x10, 0, 0, 1]);
    expect(Array.from(parseHexBytes("10 0a 00 01"))).toEqual([0x10, 0x0a, 0, 1]);
  });

  it("bytes bpftool reads as other, decimal ones are refused even when every one has two digits; `hex` first takes them", () => {
    // bpftool's strtoul reads `10 00 00 01` as 10, 0, 0, 1 (0a 00 00 01) and `10 20 30 40` as 0a 14 1e 28.
    expect(() => parseHexBytes("10 00 00 01")).toThrow(/"10 00 00 01" would be decimal bytes to bpftool \(0a 00 00 01\); bpfkit reads bytes as hex/);
    expect(() => parseHexBytes("10 20 30 40")).toThrow(/"10 20 30 40" would be decimal bytes to bpftool \(0a 14 1e 28\)/);
    expect(() => parseHexBytes("0x10 20 00 00")).toThrow(/bpftool \(10 14 00 00\)/);
    // Three digits are no hex byte at all: the hint is bpftool's bytes in hex, not `hex`.
    try {
      parseHexBytes("255 0 0 0");
      expect.unreachable();
    } catch (e) {
      expect((e as CliError).message).toContain("(ff 00 00 00)");
      expect((e as CliError).hint).toBe("write them in hex ('ff 00 00 00')");
    }
    expect(Array.from(parseHexBytes("hex 10 20 30 40"))).toEqual([0x10, 0x20, 0x30, 0x40]);
    expect(Array.from(parseHexBytes("hex 10 0 0 1"))).toEqual([0x10, 0, 0, 1]);
    // Where bpftool would refuse the count (one token per byte), bpfkit's reading is the only one.
    expect(Array.from(parseHexBytes("1020 3040", 4))).toEqual([0x10, 0x20, 0x30, 0x40]);
    expect(Array.from(parseHexBytes("10203040"))).toEqual([0x10, 0x20, 0x30, 0x40]);
    // One byte of a 1-byte field is bpftool's one token too.
    expect(() => parseHexBytes("10", 1)).toThrow(/bpftool \(0a\)/);
  });

  it("a bad type spec says where", () => {
    expect(() => parseType("struct{a:u33}")).toThrow(/unknown type u33/);
    expect(() => parseType("struct{a:u8")).toThrow(/expected } at column 12/);
    expect(() => parseType("struct{a:u8,a:u8}")).toThrow(/field a appears twice/);
  });
});
