// The commands that only read (map show, dump, lookup, next; maps --pins) open the map
// BPF_F_RDONLY, as bpftool's show, dump, lookup and getnext do: a map whose pin can be opened for
// reading only (mode 0400 to another user, or an LSM that grants this process read access only)
// is still shown, dumped and listed, while the commands that write are refused as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BPF_F_RDONLY, Errno, wrapDriver, type Driver } from "@bpfkit/core";
import { driversUnderTest, mountPrivateBpffs, type PrivateBpffs } from "@bpfkit/testkit";
import { cliOver, createPinned, SOCKET_FILTER_INSNS, type PinnedMap, type Run, u32le } from "./helpers.js";

/** memlock of the pre-allocated hash k4 v4 max 8 these cases make (htab_map_mem_usage: 64-byte elements, one spare per CPU). */
const hashMemlock = (d: Driver): number => 832 + 16 * 8 + 32 * d.possibleCpus + 64 * (8 + d.possibleCpus) + 8 * d.possibleCpus;

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`read-only commands on a pin readable only, on ${dut.name}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    const fds: number[] = [];
    let m: PinnedMap;
    let bpfkit: (...argv: string[]) => Promise<Run>;
    /** The same, over a driver without mapFdInfo (one written before it). */
    let bpfkitOld: (...argv: string[]) => Promise<Run>;
    const opens: number[] = [];

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
      m = createPinned(d, fs.path, fds, { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 }, "ro_only");
      expect(d.mapUpdateElem(m.fd, u32le(7), u32le(70), 0)).toBe(0);
      // OBJ_GET of this pin answers EACCES to any mode but BPF_F_RDONLY, as for a 0400 pin
      // opened by another (unprivileged) user.
      const readableOnly = wrapDriver(d, {
        objGet: (path, flags) => {
          if (path === m.path) opens.push(flags ?? 0);
          return path === m.path && flags !== BPF_F_RDONLY ? -Errno.EACCES : d.objGet(path, flags);
        },
      });
      bpfkit = cliOver(readableOnly);
      bpfkitOld = cliOver(wrapDriver(readableOnly, { mapFdInfo: null }));
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("map show, dump, lookup and next open it read-only and succeed", async () => {
      const show = await bpfkit("map", "show", m.path, "--json");
      expect(show.code, show.err).toBe(0);
      // fdinfo says whether it is frozen through the read-only fd.
      expect(JSON.parse(show.out)).toMatchObject({ id: m.id, type: "hash", pinned: m.path, frozen: false, memlock: hashMemlock(d) });
      // Without fdinfo, that needs a read-write fd, which this pin does not give: not known.
      const old = await bpfkitOld("map", "show", m.path, "--json");
      expect(old.code, old.err).toBe(0);
      expect(JSON.parse(old.out)).toMatchObject({ id: m.id, type: "hash", pinned: m.path, frozen: null, memlock: null });
      const dump = await bpfkit("map", "dump", m.path, "--key-type", "u32", "--value-type", "u32", "--json");
      expect(dump.code, dump.err).toBe(0);
      expect(JSON.parse(dump.out)).toEqual([{ key: 7, value: 70 }]);
      const walk = await bpfkit("map", "dump", m.path, "--algorithm", "walk");
      expect([walk.code, walk.out]).toEqual([0, "key: 07 00 00 00  value: 46 00 00 00\n1 entry\n"]);
      const lookup = await bpfkit("map", "lookup", m.path, "key", "7", "--key-type", "u32", "--value-type", "u32", "--json");
      expect(lookup.code, lookup.err).toBe(0);
      expect(JSON.parse(lookup.out)).toEqual({ key: 7, value: 70 });
      const next = await bpfkit("map", "next", m.path, "--key-type", "u32", "--json");
      expect(next.code, next.err).toBe(0);
      expect(JSON.parse(next.out).next).toBe(7);
    });

    it("maps --pins lists the pin", async () => {
      const r = await bpfkit("maps", "--pins", "--json");
      expect(r.code, r.err).toBe(0);
      const listed = (JSON.parse(r.out) as Array<{ id: number; pins: string[] }>).find((x) => x.id === m.id);
      expect(listed?.pins).toEqual([m.path]);
    });

    it("the commands that write still open it read-write, and are refused", async () => {
      opens.length = 0;
      const r = await bpfkit("map", "update", m.path, "key", "7", "value", "1", "--key-type", "u32", "--value-type", "u32");
      expect(r.code).not.toBe(0);
      expect(opens).toEqual([0]);
      expect(d.mapLookupElem(m.fd, u32le(7), new Uint8Array(4), 0)).toBe(0);
    });
  });
  describe.skipIf(dut.unavailable !== undefined)(`read-only commands on a map readable only, named by id or name, on ${dut.name}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    const fds: number[] = [];
    let m: PinnedMap;
    let bpfkit: (...argv: string[]) => Promise<Run>;
    let bpfkitOld: (...argv: string[]) => Promise<Run>;

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
      m = createPinned(d, fs.path, fds, { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8, mapName: "ro_named" }, "ro_pin");
      expect(d.mapUpdateElem(m.fd, u32le(7), u32le(70), 0)).toBe(0);
      // Both ways to the map answer EACCES to any mode but BPF_F_RDONLY (an LSM granting read only).
      const readableOnly = wrapDriver(d, {
        objGet: (path, flags) => (path === m.path && flags !== BPF_F_RDONLY ? -Errno.EACCES : d.objGet(path, flags)),
        mapGetFdById: (id, flags) => (id === m.id && flags !== BPF_F_RDONLY ? -Errno.EACCES : d.mapGetFdById(id, flags)),
      });
      bpfkit = cliOver(readableOnly, { BPFKIT_MAP_ROOT: fs.path });
      bpfkitOld = cliOver(wrapDriver(readableOnly, { mapFdInfo: null }), { BPFKIT_MAP_ROOT: fs.path });
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("map show id, map lookup name, map dump of a bare pin name and map next of a bare kernel name open it read-only", async () => {
      const show = await bpfkit("map", "show", "id", String(m.id), "--json");
      expect(show.code, show.err).toBe(0);
      expect(JSON.parse(show.out)).toMatchObject({ id: m.id, name: "ro_named", frozen: false, memlock: hashMemlock(d) });
      const old = await bpfkitOld("map", "show", "id", String(m.id), "--json");
      expect(old.code, old.err).toBe(0);
      expect(JSON.parse(old.out)).toMatchObject({ id: m.id, name: "ro_named", frozen: null, memlock: null });
      // maps opens every map read-only: this one is listed with what its fdinfo says.
      const listed = JSON.parse((await bpfkit("maps", "--json")).out) as Array<Record<string, unknown>>;
      expect(listed.find((x) => x.id === m.id)).toMatchObject({ frozen: false, memlock: hashMemlock(d) });
      const listedOld = JSON.parse((await bpfkitOld("maps", "--json")).out) as Array<Record<string, unknown>>;
      expect(listedOld.find((x) => x.id === m.id)).toMatchObject({ frozen: null, memlock: null });
      const lookup = await bpfkit("map", "lookup", "name", "ro_named", "key", "7", "--key-type", "u32", "--value-type", "u32", "--json");
      expect(lookup.code, lookup.err).toBe(0);
      expect(JSON.parse(lookup.out)).toEqual({ key: 7, value: 70 });
      const dump = await bpfkit("map", "dump", "ro_pin", "--key-type", "u32", "--value-type", "u32", "--json");
      expect(dump.code, dump.err).toBe(0);
      expect(JSON.parse(dump.out)).toEqual([{ key: 7, value: 70 }]);
      const next = await bpfkit("map", "next", "ro_named", "--key-type", "u32", "--json");
      expect(next.code, next.err).toBe(0);
      expect(JSON.parse(next.out).next).toBe(7);
    });
  });
  describe.skipIf(dut.unavailable !== undefined)(`map show's frozen check through a second, read-write fd, for a driver without mapFdInfo, on ${dut.name}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    const fds: number[] = [];
    /** Run just before the probe's read-write OBJ_GET of `swap.path`, once. */
    const swap: { path?: string; then?: () => void } = {};
    let bpfkit: (...argv: string[]) => Promise<Run>;
    /** Open fds: a closed one answers the info call EBADF (the kernel) or EBADFD (the simulator). */
    const openFds = (): number => {
      const info = new Uint8Array(256);
      let n = 0;
      for (let fd = 0; fd < 1024; fd++) {
        const r = d.objGetInfoByFd(fd, info);
        if (r !== -Errno.EBADF && r !== -Errno.EBADFD) n++;
      }
      return n;
    };

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
      bpfkit = cliOver(wrapDriver(d, {
        mapFdInfo: null,
        objGet: (path, flags) => {
          if (path === swap.path && (flags ?? 0) === 0 && swap.then !== undefined) {
            const then = swap.then;
            swap.then = undefined;
            then();
          }
          return d.objGet(path, flags);
        },
      }));
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });
    const hash = { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 };

    it("a frozen map is frozen shown by its pin and by its id; one not frozen is not", async () => {
      const frozen = createPinned(d, fs.path, fds, hash, "frozen");
      expect(d.mapFreeze(frozen.fd)).toBe(0);
      const thawed = createPinned(d, fs.path, fds, hash, "thawed");
      const before = openFds();
      for (const [m, want] of [[frozen, true], [thawed, false]] as const) {
        for (const ref of [[m.path], ["id", String(m.id)]]) {
          const r = await bpfkit("map", "show", ...ref, "--json");
          expect(r.code, r.err).toBe(0);
          expect(JSON.parse(r.out).frozen, ref.join(" ")).toBe(want);
        }
      }
      // The second fd is closed again.
      expect(openFds()).toBe(before);
    });

    it("a pin replaced between the read-only open and the check is not judged: frozen is null", async () => {
      const first = createPinned(d, fs.path, fds, hash, "replaced");
      const other = d.mapCreate(hash);
      fds.push(other);
      expect(d.mapFreeze(other)).toBe(0);
      const prog = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
      expect(prog).toBeGreaterThanOrEqual(0);
      fds.push(prog);
      // By a frozen map, then by a program: neither is the map shown.
      for (const replacement of [other, prog]) {
        if (replacement === prog) {
          expect(d.host.unlink(first.path)).toBe(0);
          expect(d.objPin(first.fd, first.path)).toBe(0);
        }
        swap.path = first.path;
        swap.then = () => {
          expect(d.host.unlink(first.path)).toBe(0);
          expect(d.objPin(replacement, first.path)).toBe(0);
        };
        const r = await bpfkit("map", "show", first.path, "--json");
        expect(swap.then).toBeUndefined();
        expect(r.code, r.err).toBe(0);
        expect(JSON.parse(r.out)).toMatchObject({ id: first.id, frozen: null });
      }
    });
  });
}

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`maps and map show read frozen and memlock from fdinfo through a read-only fd, on ${dut.name}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    const fds: number[] = [];
    /** Every open's access flags and every update, through the CLI's driver. */
    const calls: string[] = [];
    const spied = (inner: Driver) => wrapDriver(inner, {
      mapGetFdById: (id, flags) => {
        calls.push(`byId ${flags ?? 0}`);
        return inner.mapGetFdById(id, flags);
      },
      objGet: (path, flags) => {
        calls.push(`objGet ${flags ?? 0}`);
        return inner.objGet(path, flags);
      },
      mapUpdateElem: (fd, key, value, flags) => {
        calls.push("update");
        return inner.mapUpdateElem(fd, key, value, flags);
      },
    });

    beforeAll(() => {
      d = dut.create();
      fs = mountPrivateBpffs(d);
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("opens every map BPF_F_RDONLY and writes nothing, so it never meets a BPF_MAP_FREEZE as a write", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8 }, "fdinfo_ro");
      expect(d.mapFreeze(m.fd)).toBe(0);
      calls.length = 0;
      const listed = await cliOver(spied(d))("maps", "--json");
      expect(listed.code, listed.err).toBe(0);
      expect((JSON.parse(listed.out) as Array<Record<string, unknown>>).find((x) => x.id === m.id)).toMatchObject({ frozen: true, memlock: hashMemlock(d) });
      expect(calls.length).toBeGreaterThan(0);
      expect(calls.filter((c) => c !== `byId ${BPF_F_RDONLY}`)).toEqual([]);
      calls.length = 0;
      for (const ref of [[m.path], ["id", String(m.id)]]) {
        const show = await cliOver(spied(d))("map", "show", ...ref, "--json");
        expect(show.code, show.err).toBe(0);
        expect(JSON.parse(show.out)).toMatchObject({ id: m.id, frozen: true, memlock: hashMemlock(d) });
      }
      expect(calls).toEqual([`objGet ${BPF_F_RDONLY}`, `byId ${BPF_F_RDONLY}`]);
    });

    it("without mapFdInfo, maps still lists read-only and probes FROZEN through a second, read-write fd", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "fdinfo_old");
      calls.length = 0;
      const listed = await cliOver(wrapDriver(spied(d), { mapFdInfo: null }))("maps", "--json");
      expect(listed.code, listed.err).toBe(0);
      expect((JSON.parse(listed.out) as Array<Record<string, unknown>>).find((x) => x.id === m.id)).toMatchObject({ frozen: false, memlock: null });
      // Per map: the read-only open, then the probe's read-write open and its refused update.
      const firstRw = calls.indexOf("byId 0");
      expect(calls[0]).toBe(`byId ${BPF_F_RDONLY}`);
      expect(calls.slice(firstRw, firstRw + 2)).toEqual(["byId 0", "update"]);
    });

    it("a write refused EPERM on a map fdinfo says is not frozen is not blamed on a freeze", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "fdinfo_lsm");
      // An LSM that refuses this map's writes to this process, whatever the fd.
      const lsm = wrapDriver(d, { mapUpdateElem: () => -Errno.EPERM });
      const r = await cliOver(lsm)("map", "update", m.path, "key", "0", "value", "1", "--key-type", "u32", "--value-type", "u32");
      expect(r.code).toBe(1);
      expect(r.err).toContain("operation not permitted: the map is not frozen, so something refuses this fd writes (an LSM, or a read-only fd)");
      // Without fdinfo the probe is refused as well and reads as a freeze: only fdinfo tells them apart.
      const old = await cliOver(wrapDriver(lsm, { mapFdInfo: null }))("map", "update", m.path, "key", "0", "value", "1", "--key-type", "u32", "--value-type", "u32");
      expect(old.err).toContain("operation not permitted: the map is frozen (BPF_MAP_FREEZE), so user space may only read it\n");
    });

    it("an fdinfo that cannot be read (no procfs) falls back as a driver without mapFdInfo does; one outside the contract fails the command", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "fdinfo_noproc");
      expect(d.mapFreeze(m.fd)).toBe(0);
      const noProc = cliOver(wrapDriver(d, { mapFdInfo: () => -Errno.EBADF }));
      const listed = await noProc("maps", "--json");
      expect(listed.code, listed.err).toBe(0);
      expect((JSON.parse(listed.out) as Array<Record<string, unknown>>).find((x) => x.id === m.id)).toMatchObject({ frozen: true, memlock: null });
      const show = await noProc("map", "show", m.path, "--json");
      expect(show.code, show.err).toBe(0);
      expect(JSON.parse(show.out)).toMatchObject({ id: m.id, frozen: true, memlock: null });
      const liar = cliOver(wrapDriver(d, { kind: "liar", mapFdInfo: () => ({ frozen: 1 }) as never }));
      for (const argv of [["maps"], ["map", "show", m.path]]) {
        const r = await liar(...argv);
        expect(r.code, argv.join(" ")).not.toBe(0);
        expect(r.err).toContain('driver "liar" broke the Driver contract: mapFdInfo returned frozen is number, not a boolean');
      }
    });

    it("a refused freeze is blamed on a freeze only where the map is frozen: fdinfo, or without it the probe, tells", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }, "fdinfo_refreeze");
      // An LSM that refuses this process every write and freeze: the probe's update is refused too.
      const lsm = wrapDriver(d, { mapUpdateElem: () => -Errno.EPERM, mapFreeze: () => -Errno.EPERM });
      const refused = await cliOver(lsm)("map", "freeze", m.path);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain("not permitted: the map is not frozen, so something refuses this fd writes (an LSM, or a read-only fd)\n");
      // Without fdinfo the probe is refused as well and reads as a freeze: only fdinfo tells them apart.
      const old = await cliOver(wrapDriver(lsm, { mapFdInfo: null }))("map", "freeze", m.path);
      expect(old.code).toBe(1);
      expect(old.err).toContain("not permitted: the map is already frozen (there is no unfreeze)\n");
      // A driver that neither reads fdinfo nor can probe the type says both.
      const blind = await cliOver(wrapDriver(lsm, { mapFdInfo: null, mapUpdateElem: () => 0 }))("map", "freeze", m.path);
      expect(blind.code).toBe(1);
      expect(blind.err).toContain("not permitted: the map is already frozen (there is no unfreeze), or this fd is read-only\n");
      // Frozen for real, a second freeze says so, with fdinfo and, through the probe, without it.
      expect(d.mapFreeze(m.fd)).toBe(0);
      for (const driver of [d, wrapDriver(d, { mapFdInfo: null })]) {
        const again = await cliOver(driver)("map", "freeze", m.path);
        expect(again.code).toBe(1);
        expect(again.err).toContain("not permitted: the map is already frozen (there is no unfreeze)\n");
      }
    });

    it("the table has MEMLOCK, which grows with a NO_PREALLOC hash's elements; `?` without mapFdInfo", async () => {
      const m = createPinned(d, fs.path, fds, { mapType: 1, keySize: 4, valueSize: 4, maxEntries: 8, mapFlags: 1 }, "fdinfo_grow");
      const row = async (bpfkit: (...argv: string[]) => Promise<Run>) => {
        const r = await bpfkit("maps");
        expect(r.code, r.err).toBe(0);
        expect(r.out.split("\n")[0]).toMatch(/ FROZEN +MEMLOCK$/);
        return r.out.split("\n").find((l) => l.trim().startsWith(`${m.id} `))!.trim().split(/\s+/);
      };
      const empty = 832 + 16 * 8 + 32 * d.possibleCpus;
      expect((await row(cliOver(d))).slice(-2)).toEqual(["no", `${empty}B`]);
      expect(d.mapUpdateElem(m.fd, u32le(1), u32le(1), 0)).toBe(0);
      // One element: htab_elem (48) + key (8) + value (8) + an llist_node (8).
      expect((await row(cliOver(d))).slice(-2)).toEqual(["no", `${empty + 72}B`]);
      const shown = await cliOver(d)("map", "show", m.path);
      expect(shown.out).toContain(`\nmemlock:     ${empty + 72} bytes\n`);
      expect((await row(cliOver(wrapDriver(d, { mapFdInfo: null })))).slice(-2)).toEqual(["no", "?"]);
      expect((await cliOver(wrapDriver(d, { mapFdInfo: null }))("map", "show", m.path)).out).toContain("\nmemlock:     ?\n");
    });
  });
}
