// Another process acting on a pin between two of this process's syscalls, replayed in one
// process: a second Bpf on the same bpffs (the other process) runs inside a driver hook of the
// first, exactly at the step where a real race would put it. Deterministic on both drivers;
// proc-races.test.ts runs the same races between real processes and worker threads.
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import {
  BpfError, createBpf, Errno, MapType, memoryLogger, u32, wrapDriver, type Bpf, type DriverOverrides, type MapSpec,
} from "@bpfkit/core";
import { forEachDriver, makeWorld, openFdsOf, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

const shared: MapSpec<number, number> = { name: "shared", type: MapType.Hash, key: u32, value: u32, maxEntries: 8 };

forEachDriver("another process on the same pin", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  /** This process's Bpf, whose driver runs `overrides` (where the other process steps in). */
  function racing(overrides: DriverOverrides): Bpf {
    return createBpf({ driver: wrapDriver(w.driver, overrides), mapRoot: w.fs.path, logger: memoryLogger() });
  }

  /** Once, before the first call of a hook: the other process's step. */
  function once(step: () => void): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      step();
    };
  }

  const idOf = (fd: number): number => w.bpf.getMapInfoByFd(fd).id;
  /** The id of the map pinned at `name` now. */
  function pinnedId(name: string): number {
    const fd = w.bpf.objGet(w.bpf.mapPath(name));
    try {
      return idOf(fd);
    } finally {
      w.driver.close(fd);
    }
  }

  it("openOrCreate whose pin comes second opens the map pinned first, not an orphan or EEXIST", () => {
    const other = w.bpf.newMap(shared);
    // The other process creates and pins the map after this one found the path empty.
    const step = once(() => {
      expect(other.openOrCreate()).toBe(true);
      other.update(1, 11);
    });
    const mine = racing({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)) }).newMap(shared);
    const before = openFdsOf(w.driver);
    try {
      expect(mine.openOrCreate()).toBe(false);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(idOf(other.getFd())).toBe(pinnedId("shared"));
      expect(mine.lookup(1)).toBe(11);
      mine.update(2, 22);
      expect(other.lookup(2)).toBe(22);
      // Two fds, the other's and this one's: the map this one had created for the path is closed.
      expect(openFdsOf(w.driver)).toBe(before + 2);
    } finally {
      mine.close();
      other.close();
    }
  });

  it("openOrCreate whose pin comes second upgrades a map pinned first with other properties", () => {
    const other = w.bpf.newMap({ ...shared, maxEntries: 4 });
    const step = once(() => void other.openOrCreate());
    const bpf = racing({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)) });
    const mine = bpf.newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(w.bpf.getMapInfoByFd(mine.getFd()).maxEntries).toBe(8);
    } finally {
      mine.close();
      other.close();
    }
  });

  it("openOrCreate of a pin removed between its stat and its open creates the map", () => {
    const other = w.bpf.newMap(shared);
    other.openOrCreate();
    other.close();
    // The other process unpins the map after this one saw the pin.
    const step = once(() => other.unpin());
    const mine = racing({ objGet: (path, flags) => (step(), w.driver.objGet(path, flags)) }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
    } finally {
      mine.close();
    }
  });

  it("Bpf.openOrCreateMap whose pin comes second returns the map pinned first", () => {
    const path = w.bpf.mapPath("raw");
    let theirs = -1;
    const step = once(() => {
      theirs = w.track(w.bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 8, 0, 0, true).fd);
    });
    const bpf = racing({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)) });
    const mine = bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 8, 0, 0, true);
    w.track(mine.fd);
    expect(mine.isNew).toBe(false);
    expect(idOf(mine.fd)).toBe(idOf(theirs));
    expect(idOf(mine.fd)).toBe(pinnedId("raw"));
  });

  it("openOrCreate gives up with a clear error when the path never settles", () => {
    // Something pins at the path after every stat that found it empty, and removes it again
    // after every open: a path that never holds one map long enough.
    const path = w.bpf.mapPath("shared");
    const bpf = racing({
      mapCreate: (attr) => {
        const fd = w.driver.mapCreate(attr);
        if (w.driver.host.stat(path).errno === Errno.ENOENT) w.driver.objPin(fd, path);
        return fd;
      },
      objGet: (p) => (w.driver.host.unlink(p), -Errno.ENOENT),
    });
    const mine = bpf.newMap(shared);
    const before = openFdsOf(w.driver);
    let e: unknown;
    try {
      mine.openOrCreate();
    } catch (err) {
      e = err;
    }
    expect(String(e)).toBe(`BpfError: openOrCreate shared: Unable to get object ${path}: no such file or directory ` +
      "(another process pinned and unpinned the path 7 times meanwhile)");
    expect(openFdsOf(w.driver)).toBe(before);
  });

  /** "shared" pinned with 4 entries, closed again: the map every upgrade below replaces. */
  function pinSmall(): number {
    const m = w.bpf.newMap({ ...shared, maxEntries: 4 });
    m.openOrCreate();
    const id = idOf(m.getFd());
    m.close();
    return id;
  }

  /** The entries of the maps' directory: a lock or swap pin must not be left beside the pin. */
  function entries(): string[] {
    const dir = w.bpf.mapPath("shared").replace(/\/shared$/, "");
    const names = w.driver.host.readdir(dir);
    if (typeof names === "number") throw new Error(`readdir ${dir}: errno ${-names}`);
    return [...names].sort();
  }

  for (const [how, host] of [["", {}], [" (a driver without rename)", { rename: null }]] as const) {
    it(`openOrCreate upgrading a pin another process upgraded meanwhile takes theirs rather than orphan it${how}`, () => {
      pinSmall();
      const other = w.bpf.newMap(shared);
      // The other process upgrades the pin while this one creates its replacement.
      const step = once(() => expect(other.openOrCreate()).toBe(true));
      const mine = racing({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)), host }).newMap(shared);
      try {
        expect(mine.openOrCreate()).toBe(false);
        expect(idOf(other.getFd())).toBe(pinnedId("shared"));
        expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
        expect(entries()).toEqual(["shared"]);
      } finally {
        mine.close();
        other.close();
      }
    });
  }

  it("openParallel whose pin another process replaced after this one opened it replaces theirs in turn", () => {
    pinSmall();
    const before = openFdsOf(w.driver);
    const other = w.bpf.newMap(shared);
    // The other agent's openParallel lands between this one's OBJ_GET of the old pin and its swap.
    const step = once(() => expect(other.openParallel()).toBe(true));
    const mine = racing({ objGet: (path, flags) => {
      const fd = w.driver.objGet(path, flags);
      step();
      return fd;
    } }).newMap(shared);
    try {
      // Parallel mode always pins a map of its own: the swap is tried again against theirs.
      expect(mine.openParallel()).toBe(true);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(idOf(other.getFd())).not.toBe(pinnedId("shared"));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
      other.close();
    }
    // The map made for the first, refused swap was closed.
    expect(openFdsOf(w.driver)).toBe(before);
  });

  it("openOrCreate upgrading a pin whose replace lock another process holds waits for it and takes what it pinned", () => {
    pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    const other = w.bpf.newMap(shared);
    let theirLock = -1;
    // The other process has taken the lock when this one comes to it ...
    const take = once(() => {
      theirLock = w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock));
      w.bpf.objPin(theirLock, lock);
    });
    // ... and finishes its upgrade while this one waits.
    const finish = once(() => {
      w.driver.host.unlink(lock);
      expect(other.openOrCreate()).toBe(true);
    });
    const mine = racing({
      mapCreate: (attr) => (take(), w.driver.mapCreate(attr)),
      host: { stat: (path) => (path === lock && theirLock >= 0 && finish(), w.driver.host.stat(path)) },
    }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(false);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(idOf(other.getFd())).toBe(pinnedId("shared"));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
      other.close();
    }
  });

  it("a replace lock left by a killed process is removed after a second and the upgrade goes on", () => {
    const small = pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
    const mine = w.bpf.newMap(shared);
    const t0 = Date.now();
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      expect(pinnedId("shared")).not.toBe(small);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
    }
  });

  it("the killed process's lock is removed under a test's fake timers too, which freeze Date, performance and hrtime", () => {
    // The wait counted Date.now() to a second; frozen, it never got there and the test hung.
    const small = pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
    const mine = w.bpf.newMap(shared);
    const t0 = Date.now();
    vi.useFakeTimers();
    try {
      expect(mine.openOrCreate()).toBe(true);
    } finally {
      vi.useRealTimers();
      mine.close();
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(pinnedId("shared")).not.toBe(small);
    expect(entries()).toEqual(["shared"]);
  });

  it("checkAndUpgrade of a map another process has upgraded since leaves that process's pin and says to reopen", () => {
    pinSmall();
    // The old agent still holds the 4-entry map; the new one has upgraded the pin to 8.
    const oldAgent = w.bpf.newMap({ ...shared, maxEntries: 4 });
    oldAgent.open();
    const newAgent = racing({}).newMap(shared);
    expect(newAgent.openOrCreate()).toBe(true);
    try {
      expect(oldAgent.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 8 })).toBe(true);
      expect(pinnedId("shared")).toBe(idOf(newAgent.getFd()));
      expect(w.logs.map((r) => r.msg)).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
      expect(entries()).toEqual(["shared"]);
      // Reopened, it is the new agent's map.
      oldAgent.close();
      const reopened = w.bpf.newMap(shared);
      expect(reopened.openOrCreate()).toBe(false);
      expect(idOf(reopened.getFd())).toBe(idOf(newAgent.getFd()));
      reopened.close();
    } finally {
      oldAgent.close();
      newAgent.close();
    }
  });

  it("checkAndUpgrade whose unpin meets the replace lock held twice in a row waits again, not unlocked, and leaves the pin the holder made", () => {
    pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    const path = w.bpf.mapPath("shared");
    // The other process holds the lock when this one comes to unpin; it lets go, takes the
    // lock again at once, and upgrades the pin: while this one waits on the lock a second
    // time, or, were this one to go on unlocked, between its check of the pin and its unlink.
    const lockMap = () => w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock));
    w.bpf.objPin(lockMap(), lock);
    let theirs = -1;
    let step = 0;
    const next = (): void => {
      if (step === 1) {
        step = 2;
        w.bpf.objPin(lockMap(), lock);
      } else if (step === 3) {
        step = 4;
        theirs = w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, path));
        w.driver.host.unlink(path);
        w.bpf.objPin(theirs, path);
        w.driver.host.unlink(lock);
      }
    };
    const logger = memoryLogger();
    const oldAgent = createBpf({ driver: wrapDriver(w.driver, {
      objGet: (p, flags) => (next(), w.driver.objGet(p, flags)),
      objPin: (fd, p) => (next(), w.driver.objPin(fd, p)),
      host: {
        stat: (p) => {
          next();
          if (p === lock && step === 0) {
            step = 1;
            w.driver.host.unlink(lock);
          } else if (p === lock && step === 2) step = 3;
          return w.driver.host.stat(p);
        },
        unlink: (p) => {
          if (p === path && step === 2) step = 3;
          next();
          return w.driver.host.unlink(p);
        },
      },
    }), mapRoot: w.fs.path, logger }).newMap({ ...shared, maxEntries: 4 });
    oldAgent.open();
    try {
      expect(oldAgent.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 8 })).toBe(true);
      expect(step).toBe(4);
      expect(pinnedId("shared")).toBe(idOf(theirs));
      expect(logger.records.map((r) => r.msg)).toContain("BPF map pinned at path was replaced by another process; left as it is");
      expect(logger.records.map((r) => r.msg)).not.toContain("Removing map to allow for property upgrade (expect map data loss)");
      expect(entries()).toEqual(["shared"]);
    } finally {
      oldAgent.close();
    }
  });

  it("openOrCreateUnpinned upgrading a pin another process upgraded meanwhile leaves that process's pin", () => {
    pinSmall();
    const other = w.bpf.newMap(shared);
    const step = once(() => expect(other.openOrCreate()).toBe(true));
    const mine = racing({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)) }).newMap(shared);
    try {
      expect(mine.openOrCreateUnpinned()).toBe(true);
      expect(pinnedId("shared")).toBe(idOf(other.getFd()));
      expect(idOf(mine.getFd())).not.toBe(idOf(other.getFd()));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
      other.close();
    }
  });

  it("unpin beside another process writing: the writer keeps its map and data, the path is free for a new one", () => {
    const writer = racing({}).newMap(shared);
    writer.openOrCreate();
    writer.update(1, 11);
    const mine = w.bpf.newMap(shared);
    mine.open();
    mine.unpin();
    writer.update(2, 22);
    try {
      expect([writer.lookup(1), writer.lookup(2)]).toEqual([11, 22]);
      // This process's fd still reaches the writer's map; a new open of the path does not.
      expect(mine.lookup(2)).toBe(22);
      const fresh = w.bpf.newMap(shared);
      expect(fresh.openOrCreate()).toBe(true);
      expect(fresh.lookup(1)).toBeUndefined();
      fresh.close();
    } finally {
      mine.close();
      writer.close();
    }
  });

  it("deleteAll of a map whose keys another process deletes meanwhile empties it without ENOENT", () => {
    const m = w.bpf.newMap({ ...shared, name: "flows" });
    m.openOrCreate();
    for (let k = 0; k < 6; k++) m.update(k, k);
    const other = w.bpf.openMap("flows", { key: u32, value: u32 });
    // The other process deletes every key this one has just found, before this one deletes it.
    const bpf = racing({ mapDeleteElem: (fd, key) => (other.delete(new DataView(key.buffer, key.byteOffset).getUint32(0, true)), w.driver.mapDeleteElem(fd, key)) });
    const mine = bpf.newMap({ ...shared, name: "flows" }).withCache();
    try {
      mine.deleteAll();
      expect(m.dump()).toEqual(new Map());
      expect(mine.getModel().cache).toEqual([]);
    } finally {
      mine.close();
      other.close();
      m.close();
    }
  });

  /** A Bpf as racing() gives, with its logger at hand. */
  function racingLogged(overrides: DriverOverrides): { bpf: Bpf; logs: () => string[] } {
    const logger = memoryLogger();
    const bpf = createBpf({ driver: wrapDriver(w.driver, overrides), mapRoot: w.fs.path, logger });
    return { bpf, logs: () => logger.records.map((r) => r.msg) };
  }

  const dataLoss = "Removing map to allow for property upgrade (expect map data loss)";

  /** Stops a loop the code under test should have ended: a hook called far more often than the bound. */
  function bounded(limit: number): () => number {
    let n = 0;
    return () => {
      if (++n > limit) throw new Error(`called ${n} times: the retries are not bounded`);
      return n;
    };
  }

  it("openOrCreate whose pin keeps coming second gives up after 8 creates with EEXIST, saying so", () => {
    // The other process pins after every stat that found the path empty, and unpins again as
    // soon as this one's pin has failed: every start ends at the pin.
    const path = w.bpf.mapPath("shared");
    const creates = bounded(20);
    let made = 0;
    const bpf = racing({
      mapCreate: (attr) => {
        made = creates();
        const fd = w.driver.mapCreate(attr);
        const theirs = w.driver.mapCreate(attr);
        w.driver.objPin(theirs, path);
        w.driver.close(theirs);
        return fd;
      },
      objPin: (fd, p) => {
        const r = w.driver.objPin(fd, p);
        if (p === path && r === -Errno.EEXIST) w.driver.host.unlink(path);
        return r;
      },
    });
    const before = openFdsOf(w.driver);
    const e = thrownBpfError(() => bpf.openOrCreateMap(path, MapType.Hash, 4, 4, 8, 0, 0, true));
    expect(made).toBe(8);
    // The last pin's error, as it would be without a race, with the count added.
    const last = e.cause as BpfError;
    expect(last).toBeInstanceOf(BpfError);
    expect([e.code, e.op, e.path]).toEqual(["EEXIST", last.op, path]);
    expect(last.message).not.toContain("another process");
    expect(e.message).toBe(`${last.message} (another process pinned and unpinned the path 7 times meanwhile)`);
    expect(openFdsOf(w.driver)).toBe(before);
  });

  it("openOrCreate upgrading a pin another process replaces every time gives up after 8 with EAGAIN, leaving theirs", () => {
    pinSmall();
    const path = w.bpf.mapPath("shared");
    const creates = bounded(20);
    let made = 0;
    let theirs = -1;
    // Each time this process has made its replacement, the other pins a new 4-entry map there.
    const bpf = racing({
      mapCreate: (attr) => {
        made = creates();
        const fd = w.driver.mapCreate(attr);
        const small = w.bpf.createMap(MapType.Hash, 4, 4, 4, 0, 0, path);
        w.driver.host.unlink(path);
        w.bpf.objPin(small, path);
        theirs = idOf(small);
        w.driver.close(small);
        return fd;
      },
    });
    const before = openFdsOf(w.driver);
    const e = thrownBpfError(() => bpf.newMap(shared).openOrCreate());
    expect(made).toBe(8);
    expect([e.code, e.path]).toEqual(["EAGAIN", path]);
    expect(e.message).toBe(`openOrCreate shared: Unable to upgrade the map pinned at ${path}: another process replaced it ` +
      "8 times meanwhile; what is pinned there now was kept");
    expect(pinnedId("shared")).toBe(theirs);
    expect(entries()).toEqual(["shared"]);
    expect(openFdsOf(w.driver)).toBe(before);
  });

  for (const how of ["checkAndUpgrade", "openOrCreateUnpinned"] as const) {
    it(`${how} beside a replace lock a killed process left removes the outdated pin after a second`, () => {
      pinSmall();
      const lock = w.bpf.mapPath(":bpfkit-lock-shared");
      w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
      const { bpf, logs } = racingLogged({});
      const t0 = Date.now();
      if (how === "checkAndUpgrade") {
        const m = bpf.newMap({ ...shared, maxEntries: 4 });
        m.open();
        try {
          expect(m.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 8 })).toBe(true);
        } finally {
          m.close();
        }
      } else {
        const m = bpf.newMap(shared);
        try {
          expect(m.openOrCreateUnpinned()).toBe(true);
        } finally {
          m.close();
        }
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
      // The outdated map is unpinned, as without the lock, and the stale lock is gone too.
      expect(entries()).toEqual([]);
      expect(logs()).toContain(dataLoss);
    });
  }

  it("a replace lock taken anew while this one waited is not removed before it too is a second old", () => {
    // The first lock's holder is slow; just before this process would take it for a killed
    // one, it finishes and another process takes the lock: that lock is live, not stale.
    const small = pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
    const t0 = Date.now();
    let secondAt = 0;
    let secondRemovedAt = 0;
    let polls = 0;
    const mine = racing({
      host: {
        stat: (p) => {
          // A waiter that never gives up would poll forever: stop it well past two seconds of polls.
          if (p === lock && ++polls > 20_000) throw new Error("still waiting for the lock");
          if (p === lock && secondAt === 0 && Date.now() - t0 >= 900) {
            w.driver.host.unlink(lock);
            w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
            secondAt = Date.now();
          }
          return w.driver.host.stat(p);
        },
        unlink: (p) => {
          if (p === lock && secondAt !== 0 && secondRemovedAt === 0) secondRemovedAt = Date.now();
          return w.driver.host.unlink(p);
        },
      },
    }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(secondAt).toBeGreaterThan(0);
      expect(secondRemovedAt - secondAt).toBeGreaterThanOrEqual(1000);
      expect(pinnedId("shared")).not.toBe(small);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
    }
  });

  it("checkAndUpgrade where the replace lock cannot be pinned still leaves a pin another process upgraded since", () => {
    pinSmall();
    const lockRefused = { objPin: (fd: number, p: string) => (p.includes(":bpfkit-lock-") ? -Errno.EPERM : w.driver.objPin(fd, p)) };
    const oldAgent = racing(lockRefused).newMap({ ...shared, maxEntries: 4 });
    oldAgent.open();
    const newAgent = racing({}).newMap(shared);
    expect(newAgent.openOrCreate()).toBe(true);
    try {
      expect(oldAgent.checkAndUpgrade({ mapType: MapType.Hash, keySize: 4, valueSize: 4, maxEntries: 8 })).toBe(true);
      expect(pinnedId("shared")).toBe(idOf(newAgent.getFd()));
      expect(entries()).toEqual(["shared"]);
    } finally {
      oldAgent.close();
      newAgent.close();
    }
  });

  it("openOrCreateUnpinned that leaves another process's new pin does not say it removed the map", () => {
    pinSmall();
    const other = w.bpf.newMap(shared);
    const step = once(() => expect(other.openOrCreate()).toBe(true));
    const { bpf, logs } = racingLogged({ mapCreate: (attr) => (step(), w.driver.mapCreate(attr)) });
    const mine = bpf.newMap(shared);
    try {
      expect(mine.openOrCreateUnpinned()).toBe(true);
      expect(pinnedId("shared")).toBe(idOf(other.getFd()));
      expect(logs()).not.toContain(dataLoss);
    } finally {
      mine.close();
      other.close();
    }
  });

  it("a path whose replace lock name would be too long is upgraded without the lock", () => {
    // Near NAME_MAX only the lock's longer name is ENAMETOOLONG: the replacement goes on, as before locks.
    const small = pinSmall();
    let tooLong = 0;
    const mine = racing({ objPin: (fd, p) => (p.includes(":bpfkit-lock-") ? (tooLong++, -Errno.ENAMETOOLONG) : w.driver.objPin(fd, p)) }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(tooLong).toBe(1);
      expect(pinnedId("shared")).not.toBe(small);
      expect(idOf(mine.getFd())).toBe(pinnedId("shared"));
      expect(entries()).toEqual(["shared"]);
    } finally {
      mine.close();
    }
  });

  it("an upgrade whose replace lock cannot be pinned keeps the old pin and says which pin failed", () => {
    pinSmall();
    const path = w.bpf.mapPath("shared");
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    const bpf = racing({ objPin: (fd, p) => (p === lock ? -Errno.ENOSPC : w.driver.objPin(fd, p)) });
    const before = openFdsOf(w.driver);
    const small = pinnedId("shared");
    const e = thrownBpfError(() => bpf.newMap(shared).openOrCreate());
    expect([e.code, e.path]).toEqual(["ENOSPC", path]);
    expect(e.message).toBe(`openOrCreate shared: Unable to pin the replace lock ${lock} for property upgrade: ` +
      "no space left on device; the existing map pinned there was kept");
    expect(pinnedId("shared")).toBe(small);
    expect(entries()).toEqual(["shared"]);
    expect(openFdsOf(w.driver)).toBe(before);
  });

  it("the replace lock is the replacement map itself, so two replacements of one map never share a lock", () => {
    // A waiter tells a killed holder's lock from the next holder's by the lock's map: were the
    // lock the old map, two replacements of the same old map would look like one held too long.
    const small = pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    let lockId: number | undefined;
    const mine = racing({
      host: { rename: (from, to, flags) => ((lockId = pinnedId(":bpfkit-lock-shared")), w.driver.host.rename!(from, to, flags)) },
    }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
      expect(lockId).not.toBe(small);
      expect(lockId).toBe(idOf(mine.getFd()));
      expect(w.driver.host.stat(lock).errno).toBe(Errno.ENOENT);
    } finally {
      mine.close();
    }
  });

  it("a replace lock left by a killed process is removed once it is a second old, not later", () => {
    pinSmall();
    const lock = w.bpf.mapPath(":bpfkit-lock-shared");
    w.bpf.objPin(w.track(w.bpf.createMap(MapType.Hash, 4, 4, 8, 0, 0, lock)), lock);
    // The clock moves 10 ms each time it is read: the wait is counted, not timed, and short.
    let now = Date.now();
    const clock = vi.spyOn(Date, "now").mockImplementation(() => (now += 10));
    let refusedAt = -1;
    let waited = -1;
    const mine = racing({
      objPin: (fd, p) => {
        const r = w.driver.objPin(fd, p);
        if (p === lock && r === -Errno.EEXIST) refusedAt = now;
        return r;
      },
      host: { unlink: (p) => (p === lock && waited < 0 && (waited = now - refusedAt), w.driver.host.unlink(p)) },
    }).newMap(shared);
    try {
      expect(mine.openOrCreate()).toBe(true);
    } finally {
      clock.mockRestore();
      mine.close();
    }
    expect(waited).toBeGreaterThanOrEqual(1000);
    expect(waited).toBeLessThanOrEqual(1050);
  });

  it("openOrCreate whose pin is refused for another reason than EEXIST fails at once, with no race in its message", () => {
    const path = w.bpf.mapPath("shared");
    let creates = 0;
    const bpf = racing({
      mapCreate: (attr) => (creates++, w.driver.mapCreate(attr)),
      objPin: (fd, p) => (p === path ? -Errno.EPERM : w.driver.objPin(fd, p)),
    });
    const before = openFdsOf(w.driver);
    const e = thrownBpfError(() => bpf.newMap(shared).openOrCreate());
    expect([e.code, e.path, creates]).toEqual(["EPERM", path, 1]);
    expect(e.message).not.toContain("another process");
    expect(openFdsOf(w.driver)).toBe(before);
  });

  it("openOrCreateUnpinned of a pin with other properties unpins it, says so and leaves no lock", () => {
    pinSmall();
    const { bpf, logs } = racingLogged({});
    const mine = bpf.newMap(shared);
    try {
      expect(mine.openOrCreateUnpinned()).toBe(true);
      expect(entries()).toEqual([]);
      expect(logs()).toContain(dataLoss);
    } finally {
      mine.close();
    }
  });

  it("openOrCreate whose open of the pin is refused for another reason than ENOENT fails at once, with no race in its message", () => {
    pinSmall();
    let opens = 0;
    const bpf = racing({ objGet: (p, flags) => (opens++, p.endsWith("/shared") ? -Errno.EACCES : w.driver.objGet(p, flags)) });
    const e = thrownBpfError(() => bpf.newMap(shared).openOrCreate());
    expect([e.code, opens]).toEqual(["EACCES", 1]);
    expect(e.message).not.toContain("another process");
  });
});
