// Walking the kernel's map and program ids: bpf.mapIds()/progIds() and getMapNextId, on both
// drivers. The kernel host has other processes' maps too, so the tests look only for their own.
import { afterEach, beforeEach, expect, it } from "vitest";
import { createBpf, DUMMY_PROG_INSNS, Errno, isNotExist, mapIds, MapType, memoryLogger, ProgType, wrapDriver } from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";
import { pairBlob } from "@bpfkit/testkit";

forEachDriver("map and program ids", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  const newMap = (): { fd: number; id: number } => {
    const fd = w.track(w.bpf.createMap(MapType.Hash, 4, 4, 4, 0, 0, "m"));
    return { fd, id: w.bpf.getMapInfoByFd(fd).id };
  };

  it("mapIds() is every map id, ascending, once each, as getMapNextId walks them", () => {
    const mine = [newMap().id, newMap().id, newMap().id];
    const all = [...w.bpf.mapIds()];
    expect(all.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
    expect(mine.filter((id) => all.includes(id))).toEqual(mine);
    // The seed-style step function meets the same ids and ends in ENOENT.
    const stepped: number[] = [];
    for (let cur = 0; ;) {
      try {
        cur = w.bpf.getMapNextId(cur);
      } catch (e) {
        expect(isNotExist(e)).toBe(true);
        expect((e as Error).message).toBe("Unable to get next id: no such file or directory");
        break;
      }
      stepped.push(cur);
    }
    expect(mine.filter((id) => stepped.includes(id))).toEqual(mine);
  });

  it("a walk meets a map made after it started and not one freed before it got there", () => {
    const early = newMap();
    const doomed = newMap();
    const walk = w.bpf.mapIds();
    // Step to `early`: the walk reads one id at a time, so what comes after is not read yet.
    for (let r = walk.next(); !r.done && r.value !== early.id; r = walk.next()) expect(r.value).toBeLessThan(early.id);
    w.driver.close(doomed.fd); // the last fd: the id goes with it
    const late = newMap();
    const rest = [...walk];
    expect(rest).toContain(late.id);
    expect(rest).not.toContain(doomed.id);
  });

  it("progIds() includes a loaded program, ascending", () => {
    const fd = w.track(w.driver.progLoad({ progType: ProgType.SocketFilter, insns: DUMMY_PROG_INSNS, license: "GPL", progName: "ids" }));
    const id = w.bpf.getProgInfoByFd(fd).id;
    const all = [...w.bpf.progIds()];
    expect(all).toContain(id);
    for (let i = 1; i < all.length; i++) expect(all[i]).toBeGreaterThan(all[i - 1]!);
  });

  it("a refused walk throws, naming the call and what is missing, instead of ending early", () => {
    const { id } = newMap();
    let calls = 0;
    const denied = wrapDriver(w.driver, {
      // The first step works, the second is refused: a short list must not come out.
      mapGetNextId: (start) => (++calls === 2 ? -Errno.EPERM : w.driver.mapGetNextId(start)),
      progGetNextId: () => -Errno.EPERM,
    });
    const bpf = createBpf({ driver: denied, mapRoot: w.fs.path, logger: memoryLogger() });
    const seen: number[] = [];
    const e = thrownBpfError(() => {
      for (const i of bpf.mapIds()) seen.push(i);
    });
    expect(seen.length).toBe(1);
    expect([e.code, e.op]).toEqual(["EPERM", "BPF_MAP_GET_NEXT_ID"]);
    expect(e.message).toBe("BPF_MAP_GET_NEXT_ID: operation not permitted (listing ids needs CAP_SYS_ADMIN)");
    const p = thrownBpfError(() => [...bpf.progIds()]);
    expect([p.code, p.op]).toEqual(["EPERM", "BPF_PROG_GET_NEXT_ID"]);
    // The raw-driver form, for code that has a Driver and no Bpf.
    expect([...mapIds({ driver: w.driver, metrics: undefined })]).toContain(id);
  });

  it("each step is reported to the syscall metric as mapGetNextID", () => {
    newMap();
    const ops: string[] = [];
    const bpf = createBpf({
      driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(),
      metrics: { syscall: (op, outcome) => ops.push(`${op}:${outcome}`) },
    });
    const n = [...bpf.mapIds()].length;
    // One call per id, and the last one's ENOENT.
    expect(ops.filter((o) => o === "mapGetNextID:success").length).toBe(n);
    expect(ops.filter((o) => o === "mapGetNextID:fail")).toEqual(["mapGetNextID:fail"]);
  });
});

forEachDriver("BTF object ids", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  it("btfIds() steps are reported to the syscall metric as btfGetNextID, the last one's ENOENT as a failure", () => {
    const h = w.bpf.loadBtf(pairBlob());
    try {
      const ops: string[] = [];
      const bpf = createBpf({
        driver: w.driver, mapRoot: w.fs.path, logger: memoryLogger(),
        metrics: { syscall: (op, outcome) => ops.push(`${op}:${outcome}`) },
      });
      const ids = [...bpf.btfIds()];
      expect(ids).toContain(h.id);
      expect(ops.filter((o) => o === "btfGetNextID:success").length).toBe(ids.length);
      expect(ops.filter((o) => o === "btfGetNextID:fail")).toEqual(["btfGetNextID:fail"]);
    } finally {
      h.close();
    }
  });

  it("a driver whose btfGetNextId answers neither an id nor -errno breaks the contract, named", () => {
    for (const bad of [0, 1.5, "3"]) {
      const driver = wrapDriver(w.driver, { kind: "odd", btfGetNextId: () => bad as never });
      expect(() => [...createBpf({ driver, logger: memoryLogger() }).btfIds()]).toThrow(new TypeError(
        `driver "odd" broke the Driver contract: btfGetNextId returned ${typeof bad === "number" ? bad : "string"}, where it returns an id or -errno`));
    }
  });
});
