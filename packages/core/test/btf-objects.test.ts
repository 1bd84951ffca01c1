// Bpf's BTF objects: loadBtf, openBtfById, btfIds and BtfHandle, and createMap's `btf` option,
// on each driver; and core's own handling of a refusal (the second load with the log on) over a
// driver whose answers the test chooses.
import { afterEach, describe, expect, it } from "vitest";
import {
  BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH, BpfError, BtfHandle, btfForMap, BtfKind, BtfLoadError, createBpf, Errno, errnoText, memoryLogger, parseBtf, struct, u32, u64, wrapDriver,
  type BtfLoadAttr, type Driver,
} from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { btfBlob, BtfKind as BlobKind, btfRef, btfStrings, pairBlob } from "../../testkit/src/conformance/btf-blob.js";
import { openFdsOf } from "./support/bpf-world.js";
import { eachDriver } from "./support/env.js";

/** Raw BTF of one type, `int` (id 1: 4 bytes, signed, 32 bits), as clang would emit it. */
function intBtf(): Uint8Array {
  const strings = new TextEncoder().encode("\0int\0");
  const types = new Uint32Array([1, 0x0100_0000, 4, 0x0100_0020]);
  const out = new Uint8Array(24 + types.byteLength + strings.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, types.byteLength, true);
  v.setUint32(16, types.byteLength, true);
  v.setUint32(20, strings.length, true);
  out.set(new Uint8Array(types.buffer), 24);
  out.set(strings, 24 + types.byteLength);
  return out;
}

/** `intBtf` with its type's kind made 31, which no kernel has: the checker refuses it. */
function badKindBtf(): Uint8Array {
  const b = intBtf();
  new DataView(b.buffer).setUint32(24 + 4, 0x1f00_0000, true);
  return b;
}

eachDriver("BTF objects", (env) => {
  const handles: BtfHandle[] = [];
  afterEach(() => { for (const h of handles.splice(0)) h.close(); });
  const load = (raw: Uint8Array) => { const h = env().bpf.loadBtf(raw); handles.push(h); return h; };

  it("loadBtf gives a handle whose info is the object's: an id, the raw size, no name, not the kernel's", () => {
    const raw = intBtf();
    const h = load(raw);
    expect(h.fd).toBeGreaterThan(0);
    expect(h.id).toBeGreaterThan(0);
    expect(h).toMatchObject({ size: raw.length, name: "", kernelBtf: false });
    expect(h.raw()).toEqual(raw);
  });

  it("a header longer than 24 bytes (zeros past them) loads, and its raw() parses by its hdr_len, as a split's base too", () => {
    const h = load(pairBlob({ hdrLen: 32 }));
    const back = parseBtf(h.raw());
    expect(new DataView(back.raw.buffer, back.raw.byteOffset).getUint32(4, true)).toBe(32); // the kernel keeps the header as given
    expect(back.types).toEqual(parseBtf(pairBlob()).types);
    const split = parseBtf(btfBlob({ types: btfRef(BlobKind.TYPEDEF, btfStrings("int", "pair").off.pair!, 2), strings: new Uint8Array(0) }), { base: back });
    expect(split.typeById(3)).toEqual({ kind: BtfKind.TYPEDEF, name: "pair", target: 2 });
  });

  it("openBtfById opens the same object; btfIds lists it, ascending", () => {
    const h = load(intBtf());
    const again = env().bpf.openBtfById(h.id);
    handles.push(again);
    expect(again.fd).not.toBe(h.fd);
    expect(again).toMatchObject({ id: h.id, size: h.size });
    const ids = [...env().bpf.btfIds()];
    expect(ids).toContain(h.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it("a closed handle refuses raw() with EBADF naming the id, and close() again does nothing", () => {
    const h = load(intBtf());
    h.close();
    expect(h.fd).toBe(-1);
    expect(() => h.raw()).toThrow(new BpfError({ errno: Errno.EBADF, op: "raw", message: `raw BTF id ${h.id}: the handle is closed` }));
    expect(() => h.close()).not.toThrow();
  });

  it("a map created with BTF holds it: the info names it, and it outlives its handle until the map goes", () => {
    const h = load(intBtf());
    const fd = env().bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 8, 0, 0, "btf_map", { btf: { fd: h, keyTypeId: 1, valueTypeId: 1 } });
    try {
      expect(env().bpf.getMapInfoByFd(fd)).toMatchObject({ btfId: h.id, btfKeyTypeId: 1, btfValueTypeId: 1 });
      h.close();
      const held = env().bpf.openBtfById(env().bpf.getMapInfoByFd(fd).btfId);
      expect(held.raw()).toEqual(intBtf());
      held.close();
    } finally {
      env().driver.close(fd);
    }
  });

  it("raw BTF (btfForMap of the codecs) is loaded for the create and its fd closed after: the map alone holds it", () => {
    const value = struct({ packets: u64, bytes: u64, flags: u32 });
    const raw = btfForMap(u32, value);
    const openFds = () => openFdsOf(env().driver);
    const fdsBefore = openFds();
    const fd = env().bpf.createMap(BPF_MAP_TYPE_HASH, 4, value.size, 8, 0, 0, "btf_raw", { btf: raw });
    try {
      expect(openFds()).toBe(fdsBefore + 1);
      const info = env().bpf.getMapInfoByFd(fd);
      expect(info).toMatchObject({ btfKeyTypeId: raw.keyTypeId, btfValueTypeId: raw.valueTypeId });
      using h = env().bpf.openBtfById(info.btfId);
      expect(h.raw()).toEqual(raw.btf);
    } finally {
      env().driver.close(fd);
    }
    // BTF the kernel refuses never reaches the create: the load's error, with its log.
    const bad = { ...raw, btf: badKindBtf() };
    expect(() => env().bpf.createMap(BPF_MAP_TYPE_HASH, 4, value.size, 8, 0, 0, "btf_raw", { btf: bad }))
      .toThrow(expect.objectContaining({ name: "BtfLoadError", errno: Errno.EINVAL, op: "BPF_BTF_LOAD", path: "btf_raw",
        message: expect.stringMatching(/^Unable to create map btf_raw: Unable to load its BTF: invalid argument \(the kernel's checker: .+\)$/) }));
    expect(openFds()).toBe(fdsBefore);
  });

  it("a map whose BTF types do not match its sizes is EINVAL from the kernel, named as createMap's error", () => {
    const h = load(intBtf());
    expect(() => env().bpf.createMap(BPF_MAP_TYPE_HASH, 8, 4, 8, 0, 0, "btf_map", { btf: { fd: h.fd, keyTypeId: 1, valueTypeId: 1 } }))
      .toThrow(expect.objectContaining({ errno: Errno.EINVAL, op: "Unable to create map" }));
  });

  it("a map type that takes no BTF (an array of maps) is the kernel's ENOTSUPP, saying so", () => {
    const { bpf, driver } = env();
    const inner = bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 1, 0, 0, "btf_inner");
    try {
      expect(() => bpf.createMap(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, inner, "btf_outer", { btf: btfForMap(u32, u32) }))
        .toThrow(new BpfError({ errno: Errno.ENOTSUPP, op: "Unable to create map",
          message: `Unable to create map btf_outer: ${errnoText(Errno.ENOTSUPP)} (the ArrayOfMaps type takes no BTF: leave btf out)`, path: "btf_outer" }));
    } finally {
      driver.close(inner);
    }
  });

  it("BTF the checker refuses is a BtfLoadError EINVAL quoting the log, which it keeps whole", () => {
    let err: unknown;
    try { load(badKindBtf()); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(BtfLoadError);
    const e = err as BtfLoadError;
    expect(e).toMatchObject({ errno: Errno.EINVAL, op: "BPF_BTF_LOAD" });
    expect(e.log).not.toBe("");
    expect(e.message).toContain("Unable to load BTF: invalid argument (the kernel's checker: ");
    // logSize 0: one load, the errno alone.
    expect(() => env().bpf.loadBtf(badKindBtf(), { logSize: 0 })).toThrow(new BtfLoadError(Errno.EINVAL, ""));
    expect(e.logTrueSize).toBe(new TextEncoder().encode(e.log).length + 1);
    expect(e.message).not.toContain("logSize");
  });

  it("a log cut short keeps its end, and logTrueSize says the logSize that keeps it whole", () => {
    const whole = (() => { try { load(badKindBtf()); } catch (e) { return e as BtfLoadError; } })()!;
    let cut: BtfLoadError | undefined;
    try { env().bpf.loadBtf(badKindBtf(), { logSize: 40 }); } catch (e) { cut = e as BtfLoadError; }
    expect(cut).toMatchObject({ errno: Errno.EINVAL, logTrueSize: whole.logTrueSize, log: whole.log.slice(-39) });
    expect(cut!.message).toContain(`; the log kept its end: logSize ${whole.logTrueSize} keeps all of it)`);
    let exact: BtfLoadError | undefined;
    try { env().bpf.loadBtf(badKindBtf(), { logSize: whole.logTrueSize }); } catch (e) { exact = e as BtfLoadError; }
    expect(exact).toMatchObject({ errno: Errno.EINVAL, log: whole.log, logTrueSize: whole.logTrueSize });
    // A map's create names the map and keeps the size.
    try { env().bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 1, 0, 0, "btf_cut", { btf: { btf: badKindBtf(), keyTypeId: 1, valueTypeId: 1 } }); } catch (e) { cut = e as BtfLoadError; }
    expect(cut).toMatchObject({ path: "btf_cut", logTrueSize: whole.logTrueSize });
  });

  it("a version the kernel does not know is ENOTSUPP, and a type that is its own typedef EEXIST, each with the log", () => {
    const v2 = intBtf();
    v2[2] = 2;
    expect(() => load(v2)).toThrow(expect.objectContaining({ errno: Errno.ENOTSUPP, log: expect.stringMatching(/\S/) }));
    // [1] typedef loop -> 1: the strings "\0int\0" give the name "int".
    const loop = intBtf();
    const v = new DataView(loop.buffer);
    v.setUint32(24 + 4, 0x0800_0000, true); // TYPEDEF
    v.setUint32(24 + 8, 1, true); // -> itself
    v.setUint32(12, 12, true); // type_len: a typedef has no trailing word
    v.setUint32(16, 12, true); // str_off
    loop.copyWithin(24 + 12, 24 + 16);
    expect(() => load(loop.subarray(0, loop.length - 4))).toThrow(expect.objectContaining({ errno: Errno.EEXIST, log: expect.stringMatching(/\S/) }));
  });

  it("openBtfById of an id no object has is ENOENT", () => {
    const last = [...env().bpf.btfIds()].at(-1) ?? 0;
    expect(() => env().bpf.openBtfById(last + 1000)).toThrow(expect.objectContaining({ errno: Errno.ENOENT, op: "BPF_BTF_GET_FD_BY_ID" }));
  });
});

describe("BTF objects: core's part, over answers chosen by the test", () => {
  const sim = () => createSimDriver({ possibleCpus: 2 });
  const logger = memoryLogger();

  it("a driver without the BTF methods is EOPNOTSUPP naming it", () => {
    const d = wrapDriver(sim(), { kind: "old", btfLoad: null, btfGetFdById: null, btfGetNextId: null, btfGetInfo: null });
    const bpf = createBpf({ driver: d, logger });
    expect(() => bpf.loadBtf(intBtf())).toThrow(new BpfError({ errno: Errno.EOPNOTSUPP, op: "loadBtf",
      message: 'loadBtf: driver "old" has no BTF methods (btfLoad and the others are optional Driver methods)' }));
    expect(() => [...bpf.btfIds()]).toThrow(/btfIds: driver "old" has no BTF methods/);
    // BTF loaded elsewhere, by its fd: refused too, before a create that would leave it out.
    let creates = 0;
    const counted = wrapDriver(d, { mapCreate: (attr) => { creates++; return d.mapCreate(attr); } });
    expect(() => createBpf({ driver: counted, logger }).createMap(BPF_MAP_TYPE_HASH, 4, 4, 8, 0, 0, "btf_old_fd", { btf: { fd: 3, keyTypeId: 1, valueTypeId: 1 } }))
      .toThrow(new BpfError({ errno: Errno.EOPNOTSUPP, op: "createMap", path: "btf_old_fd",
        message: 'Unable to create map btf_old_fd: createMap: driver "old" has no BTF methods (btfLoad and the others are optional Driver methods)' }));
    expect(creates).toBe(0);
    // Raw BTF for a create: the error names the map, as the create's own do.
    expect(() => bpf.createMap(BPF_MAP_TYPE_HASH, 4, 8, 8, 0, 0, "btf_old", { btf: btfForMap(u32, u64) })).toThrow(
      expect.objectContaining({ errno: Errno.EOPNOTSUPP, path: "btf_old",
        message: 'Unable to create map btf_old: loadBtf: driver "old" has no BTF methods (btfLoad and the others are optional Driver methods)' }));
  });

  /** A driver whose btfLoad refuses with `errno`, writing `log` where it is given a buffer. */
  function refusing(errno: number, log: string, second = errno): { driver: Driver; calls: BtfLoadAttr[] } {
    const calls: BtfLoadAttr[] = [];
    const driver = wrapDriver(sim(), {
      btfLoad(attr) {
        calls.push(attr);
        if (attr.logBuf === undefined) return -errno;
        // As the kernel: truncated to the buffer, always NUL-terminated.
        attr.logBuf.set(new TextEncoder().encode(log).subarray(0, attr.logBuf.length - 1));
        attr.logBuf[Math.min(log.length, attr.logBuf.length - 1)] = 0;
        return -second;
      },
      btfGetFdById: () => -Errno.ENOENT, btfGetNextId: () => -Errno.ENOENT, btfGetInfo: () => -Errno.EBADF,
    });
    return { driver, calls };
  }

  it("an EINVAL is loaded again with the log at level 1 in a buffer of logSize, and its last two lines quoted", () => {
    const { driver, calls } = refusing(Errno.EINVAL, "magic: 0xeb9f\nversion: 1\n\n[1] INT int size=4\nInvalid kind\n");
    const bpf = createBpf({ driver, logger });
    expect(() => bpf.loadBtf(intBtf(), { logSize: 1000 })).toThrow(expect.objectContaining({ errno: Errno.EINVAL, op: "BPF_BTF_LOAD" }));
    expect(calls.map((c) => [c.logLevel, c.logBuf?.length])).toEqual([[undefined, undefined], [1, 1000]]);
    let e: BtfLoadError | undefined;
    try { bpf.loadBtf(intBtf()); } catch (x) { e = x as BtfLoadError; }
    expect(e?.message).toBe("Unable to load BTF: invalid argument (the kernel's checker: [1] INT int size=4 / Invalid kind)");
    expect(e?.log).toBe("magic: 0xeb9f\nversion: 1\n\n[1] INT int size=4\nInvalid kind\n");
    expect(calls.at(-1)?.logBuf?.length).toBe(64 * 1024);
  });

  it("E2BIG, EPERM and ENOMEM are not loaded again, nor anything with logSize 0; a log that outgrew its buffer (ENOSPC) keeps the first errno", () => {
    for (const errno of [Errno.E2BIG, Errno.EPERM, Errno.ENOMEM]) {
      const { driver, calls } = refusing(errno, "unused");
      expect(() => createBpf({ driver, logger }).loadBtf(intBtf())).toThrow(new BtfLoadError(errno, ""));
      expect(calls).toHaveLength(1);
    }
    // logSize 0: no second load, and nothing but the errno.
    const once = refusing(Errno.EINVAL, "Invalid kind");
    expect(() => createBpf({ driver: once.driver, logger }).loadBtf(intBtf(), { logSize: 0 })).toThrow(new BtfLoadError(Errno.EINVAL, ""));
    expect(once.calls).toHaveLength(1);
    const { driver } = refusing(Errno.EINVAL, "a long log", Errno.ENOSPC);
    expect(() => createBpf({ driver, logger }).loadBtf(intBtf(), { logSize: 4 })).toThrow(
      expect.objectContaining({ errno: Errno.EINVAL, log: "a l" }));
  });

  it("a handle gives its fd back once: close() again, or disposing it after, closes nothing", () => {
    const inner = sim();
    const closed: number[] = [];
    const d = wrapDriver(inner, { close: (fd) => { closed.push(fd); return inner.close(fd); } });
    const h = createBpf({ driver: d, logger }).loadBtf(intBtf());
    const fd = h.fd;
    h.close();
    h.close();
    h[Symbol.dispose]();
    expect(closed).toEqual([fd]);
  });

  it("a refusal the second load (with the log) does not repeat is loaded: its handle is kept", () => {
    const inner = sim();
    let loads = 0;
    const d = wrapDriver(inner, { btfLoad: (attr) => (++loads === 1 ? -Errno.EINVAL : inner.btfLoad(attr)) });
    const before = openFdsOf(inner);
    const h = createBpf({ driver: d, logger }).loadBtf(intBtf());
    expect(loads).toBe(2);
    expect(h.raw()).toEqual(intBtf());
    h.close();
    expect(openFdsOf(inner)).toBe(before);
  });

  it("openBtfById's EPERM says it needs CAP_SYS_ADMIN", () => {
    const d = wrapDriver(sim(), { btfGetFdById: () => -Errno.EPERM });
    expect(() => createBpf({ driver: d, logger }).openBtfById(1)).toThrow(new BpfError({ errno: Errno.EPERM, op: "BPF_BTF_GET_FD_BY_ID",
      message: `Unable to open BTF id 1: ${errnoText(Errno.EPERM)} (opening by id needs CAP_SYS_ADMIN)` }));
  });

  it("a btfGetInfo that breaks the contract after a load or an open: the contract's error, and the fd given back", () => {
    const inner = sim();
    const d = wrapDriver(inner, { btfGetInfo: () => "not an info" as never });
    const bpf = createBpf({ driver: d, logger });
    const before = openFdsOf(inner);
    expect(() => bpf.loadBtf(intBtf())).toThrow(/btfGetInfo/);
    expect(openFdsOf(inner)).toBe(before);
    const fd = inner.btfLoad({ btf: intBtf() });
    const id = (inner.btfGetInfo(fd, null) as { id: number }).id;
    expect(() => bpf.openBtfById(id)).toThrow(/btfGetInfo/);
    expect(openFdsOf(inner)).toBe(before + 1);
    inner.close(fd);
  });

  it("a bad raw or logSize is a TypeError or RangeError before any load", () => {
    const { driver, calls } = refusing(Errno.EINVAL, "");
    const bpf = createBpf({ driver, logger });
    expect(() => bpf.loadBtf([1, 2] as never)).toThrow(new TypeError("loadBtf: raw must be a Uint8Array of BTF, got Array"));
    for (const logSize of [-1, 1.5, 2 ** 30, Number.NaN]) {
      expect(() => bpf.loadBtf(intBtf(), { logSize })).toThrow(RangeError);
    }
    expect(() => bpf.openBtfById(-1)).toThrow(new RangeError("openBtfById: id -1 is not a u32"));
    expect(calls).toHaveLength(0);
  });

  it("createMap's btf option is checked before any syscall: unknown keys, non-u32 ids, a closed handle", () => {
    const bpf = createBpf({ driver: sim(), logger });
    const create = (btf: unknown) => bpf.createMap(BPF_MAP_TYPE_HASH, 4, 4, 8, 0, 0, "m", { btf } as never);
    expect(() => create({ fd: 3, keyTypeId: 1, valueTypeId: 1, keyType: 1 })).toThrow(/createMap m: .*keyType/);
    expect(() => create({ fd: 3, keyTypeId: -1, valueTypeId: 1 })).toThrow(new RangeError("createMap m: options.btf.keyTypeId -1 is not a u32"));
    const shape = "createMap m: options.btf must be { btf, keyTypeId, valueTypeId } (raw BTF, as btfForMap gives) or { fd, keyTypeId, valueTypeId } (loaded)";
    expect(() => create(null)).toThrow(new TypeError(shape));
    expect(() => create({ keyTypeId: 1, valueTypeId: 1 })).toThrow(new TypeError(`${shape}, with one of btf and fd`));
    expect(() => create({ fd: 3, btf: intBtf(), keyTypeId: 1, valueTypeId: 1 })).toThrow(new TypeError(`${shape}, with one of btf and fd`));
    expect(() => create({ btf: [1], keyTypeId: 1, valueTypeId: 1 })).toThrow(new TypeError("createMap m: options.btf.btf must be a Uint8Array of raw BTF, got Array"));
  });
});
