// The optional Driver.dup: fcntl(fd, F_DUPFD_CLOEXEC, 0) on a BPF object's fd. Its rules are
// the kernel's file table (fs/file.c), not bpf(2)'s: the lowest free number, the same open file
// (so the same object, id and access mode), one reference more (the map lives until its last fd
// and pin are gone), and EBADF for a number that is not open.
import { Errno, type Driver } from "@bpfkit/core";
import { CaseSkipped, expectBytes, expectEqual, expectResult, expectThrows } from "../assert.js";
import type { CaseContext } from "../context.js";
import { readU32, u32 } from "../context.js";
import type { ConformanceCase } from "../types.js";
import { ARRAY, Checks, F, HASH } from "./common.js";

type Dup = NonNullable<Driver["dup"]>;

/** The driver's dup, or a skip: the method is optional, and one that answers ENOSYS offers nothing. */
function dupOf(ctx: CaseContext): Dup {
  const d = ctx.driver;
  if (d.dup === undefined) throw new CaseSkipped(`${d.kind} has no dup (optional)`);
  const probe = d.dup(ctx.closedFd());
  if (probe === -Errno.ENOSYS) throw new CaseSkipped(`${d.kind}'s dup answers ENOSYS (not offered)`);
  return d.dup.bind(d);
}

/** The first 8 bytes of an object's info: its type and id, for maps and programs alike. */
function typeAndId(ctx: CaseContext, fd: number): Uint8Array {
  const info = new Uint8Array(8);
  expectResult(ctx.driver.objGetInfoByFd(fd, info), "OK", `info of fd ${fd}`);
  return info;
}

export const dupCases: ConformanceCase[] = [
  {
    name: "§13 dup: F_DUPFD_CLOEXEC gives the lowest free fd for the same map (same id, same data); closing either leaves the other working",
    group: "dup",
    run(ctx) {
      const dup = dupOf(ctx);
      const d = ctx.driver;
      const a = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4, mapName: "dup_src" });
      ctx.put(a, u32(1), u32(10));
      // A number just freed is the lowest free one again: the copy must take it, as any new fd would.
      const hole = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.close(hole);
      const b = ctx.own(dup(a));
      expectResult(b, "OK", "dup of a map fd");
      expectEqual(b, hole, "the copy's number (the lowest free one)");
      const c = new Checks("dup of a map");
      const id = ctx.id(a);
      c.equal(ctx.id(b), id, "the copy's map id");
      c.equal(ctx.info(b).name, "dup_src", "the copy's map name");
      c.step(() => expectBytes(ctx.get(b, u32(1), 4), u32(10), "a value written through the source, read through the copy"));
      c.result(d.mapUpdateElem(b, u32(2), u32(20)), "OK", "update through the copy");
      c.step(() => expectBytes(ctx.get(a, u32(2), 4), u32(20), "read back through the source"));
      // A copy of the copy is the same map too.
      const b2 = ctx.own(dup(b));
      c.result(b2, "OK", "dup of the copy");
      if (b2 >= 0) c.equal(ctx.id(b2), id, "the copy of the copy's map id");
      ctx.close(a);
      c.step(() => expectBytes(ctx.get(b, u32(2), 4), u32(20), "the copy after the source was closed"));
      c.result(d.mapDeleteElem(b, u32(1)), "OK", "delete through the copy after the source was closed");
      c.equal(ctx.id(b), id, "the copy's id after the source was closed");
      c.result(d.mapLookupElem(a, u32(2), new Uint8Array(4)), "EBADF", "lookup through the closed source");
      // The map lives while any fd holds it, and goes with the last.
      const byId = ctx.own(d.mapGetFdById(id));
      c.result(byId, "OK", "by id while a copy is open");
      if (byId >= 0) ctx.close(byId);
      if (b2 >= 0) ctx.close(b2);
      ctx.close(b);
      c.result(ctx.own(d.mapGetFdById(id)), "ENOENT", "by id after the last copy was closed");
      c.done();
    },
  },
  {
    name: "§12 dup: the copy shares the fd's access mode (a RDONLY fd's copy is read-only, a WRONLY one's write-only)",
    group: "dup",
    run(ctx) {
      const dup = dupOf(ctx);
      const d = ctx.driver;
      const fd = ctx.create({ mapType: HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
      ctx.put(fd, u32(1), u32(11));
      const path = ctx.pinPath("modes");
      expectResult(d.objPin(fd, path), "OK", "pin");
      const ro = ctx.own(d.objGet(path, F.RDONLY));
      const wo = ctx.own(d.objGet(path, F.WRONLY));
      expectResult(ro, "OK", "get RDONLY");
      expectResult(wo, "OK", "get WRONLY");
      const roCopy = ctx.own(dup(ro));
      const woCopy = ctx.own(dup(wo));
      expectResult(roCopy, "OK", "dup of the RDONLY fd");
      expectResult(woCopy, "OK", "dup of the WRONLY fd");
      const c = new Checks("dup access modes");
      const v = new Uint8Array(4);
      c.result(d.mapLookupElem(roCopy, u32(1), v), "OK", "lookup through the RDONLY copy");
      c.equal(readU32(v), 11, "the value read through the RDONLY copy");
      c.result(d.mapUpdateElem(roCopy, u32(2), u32(2)), "EPERM", "update through the RDONLY copy");
      c.result(d.mapDeleteElem(roCopy, u32(1)), "EPERM", "delete through the RDONLY copy");
      c.result(d.mapLookupElem(woCopy, u32(1), v), "EPERM", "lookup through the WRONLY copy");
      c.result(d.mapUpdateElem(woCopy, u32(3), u32(33)), "OK", "update through the WRONLY copy");
      c.step(() => expectBytes(ctx.get(fd, u32(3), 4), u32(33), "the WRONLY copy's write, read through the creation fd"));
      c.done();
    },
  },
  {
    name: "§13 dup: a program's fd and stdin dup as a map's does; a closed or negative fd is EBADF; a non-integer fd is a TypeError before anything",
    group: "dup",
    run(ctx) {
      const dup = dupOf(ctx);
      const prog = ctx.prog("dup_prog");
      const p = ctx.own(dup(prog));
      expectResult(p, "OK", "dup of a program fd");
      expectBytes(typeAndId(ctx, p), typeAndId(ctx, prog), "the copy's program type and id");
      expectResult(ctx.driver.progGetMapIds(p, new Uint32Array(1)), "OK", "the copy reads as a program");
      expectResult(ctx.own(dup(0)), "OK", "dup of stdin (no BPF object: fcntl dups any open file)");
      const gone = ctx.create({ mapType: ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
      ctx.close(gone);
      const c = new Checks("dup of what is not open");
      c.result(ctx.own(dup(gone)), "EBADF", "dup of a just-closed fd");
      c.result(ctx.own(dup(ctx.closedFd())), "EBADF", "dup of an fd far above any open one");
      c.result(ctx.own(dup(-1)), "EBADF", "dup of -1");
      c.result(ctx.own(dup(-0x8000_0000)), "EBADF", "dup of INT_MIN");
      c.done();
      for (const bad of [1.5, NaN, "3", null, undefined, 3n]) {
        expectThrows(() => ctx.own(dup(bad as never)), TypeError, `dup(${typeof bad === "string" ? JSON.stringify(bad) : String(bad)})`);
      }
      // The Driver's fd range (assertFd): past an int is a RangeError, as for every fd argument.
      expectThrows(() => ctx.own(dup(2 ** 31)), RangeError, "dup(2^31)");
    },
  },
];
