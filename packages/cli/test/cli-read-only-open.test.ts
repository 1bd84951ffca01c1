// The commands that only read (map show, dump, lookup, next; maps --pins) open the map
// BPF_F_RDONLY, as bpftool's show, dump, lookup and getnext do: a map whose pin can be opened for
// reading only (mode 0400 to another user, or an LSM that grants this process read access only)
// is still shown, dumped and listed, while the commands that write are refused as before.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BPF_F_RDONLY, Errno, wrapDriver, type Driver } from "@bpfkit/core";
import { driversUnderTest, mountPrivateBpffs, type PrivateBpffs } from "@bpfkit/testkit";
import { cliOver, createPinned, type PinnedMap, type Run, u32le } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`read-only commands on a pin readable only, on ${dut.name}`, () => {
    let d: Driver;
    let fs: PrivateBpffs;
    const fds: number[] = [];
    let m: PinnedMap;
    let bpfkit: (...argv: string[]) => Promise<Run>;
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
    });
    afterAll(() => {
      for (const fd of fds) d.close(fd);
      fs.dispose();
    });

    it("map show, dump, lookup and next open it read-only and succeed", async () => {
      const show = await bpfkit("map", "show", m.path, "--json");
      expect(show.code, show.err).toBe(0);
      // Whether it is frozen needs a read-write fd, which this pin does not give: not known.
      expect(JSON.parse(show.out)).toMatchObject({ id: m.id, type: "hash", pinned: m.path, frozen: null });
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
}
