// Pins on a private bpffs (kernel-maps.md §12), ids (§13), and fd access modes: what OBJ_PIN,
// OBJ_GET, GET_NEXT_ID and GET_FD_BY_ID give through the driver, including their errnos.
import { mkdtempSync, rmdirSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  BPF_F_RDONLY, BPF_F_WRONLY, BPF_FS_MAGIC, BPF_MAP_TYPE_HASH, decodeMapInfo, Errno, MAP_INFO_SIZE,
  ProgType,
} from "@bpfkit/core";
import { mountPrivateBpffs, type PrivateBpffs } from "../../testkit/src/bpffs.js";
import { describeKernel, kernelForFile, kernelUnavailable, readU32, RET0_INSNS, u32, withFds } from "./helpers.js";

const k = kernelForFile();
let fs: PrivateBpffs;

beforeAll(() => {
  if (kernelUnavailable === undefined) fs = mountPrivateBpffs(k.d);
});
afterAll(() => fs?.dispose());

function mapId(fd: number): number {
  const info = new Uint8Array(MAP_INFO_SIZE);
  expect(k.d.objGetInfoByFd(fd, info)).toBe(MAP_INFO_SIZE);
  return decodeMapInfo(info).id;
}

describeKernel("kernel driver: pins, ids, access modes", () => {
  it("the private mount is bpffs and the host's /sys/fs/bpf is not touched", () => {
    expect(k.d.host.statfsType(fs.path)).toBe(BPF_FS_MAGIC);
    expect(k.d.host.mountInfo()).toContainEqual(expect.objectContaining({ mountPoint: fs.path, fsType: "bpf" }));
  });

  it("pin, get (same id and data), EEXIST, ENOENT, unpin by unlink", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expect(d.mapUpdateElem(fd, u32(1), u32(11))).toBe(0);
      const path = join(fs.path, "m1");
      expect(d.objPin(fd, path)).toBe(0);
      expect(d.host.stat(path)).toEqual({ errno: 0, isDirectory: false, isFile: true });
      expect(d.objPin(fd, path)).toBe(-Errno.EEXIST);
      expect(d.objPin(fd, join(fs.path, "no-such-dir", "m"))).toBe(-Errno.ENOENT);
      const again = keep(d.objGet(path));
      expect(mapId(again)).toBe(mapId(fd));
      const out = new Uint8Array(4);
      expect(d.mapLookupElem(again, u32(1), out)).toBe(0);
      expect(readU32(out)).toBe(11);
      // The fd from OBJ_GET has its shape checked like any other.
      expect(() => d.mapLookupElem(again, u32(1), new Uint8Array(8))).toThrow(RangeError);
      expect(d.host.unlink(path)).toBe(0);
      expect(d.objGet(path)).toBe(-Errno.ENOENT);
    });
  });

  it("off bpffs: OBJ_PIN is EPERM, OBJ_GET of a plain file or a directory is EACCES", () => {
    const { d } = k;
    const dir = mkdtempSync(join(tmpdir(), "bpfkit-offfs-"));
    try {
      withFds(d, (keep) => {
        const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
        expect(d.objPin(fd, join(dir, "m"))).toBe(-Errno.EPERM);
        writeFileSync(join(dir, "plain"), "x");
        expect(d.objGet(join(dir, "plain"))).toBe(-Errno.EACCES);
        unlinkSync(join(dir, "plain"));
        expect(d.host.mkdir(join(fs.path, "sub"), 0o700)).toBe(0);
        expect(d.objGet(join(fs.path, "sub"))).toBe(-Errno.EACCES);
        expect(d.host.rmdir(join(fs.path, "sub"))).toBe(0);
      });
    } finally {
      rmdirSync(dir);
    }
  });

  it("pin of a closed fd or a non-BPF fd is EINVAL; unknown file_flags are EINVAL", () => {
    const { d } = k;
    const gone = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(d.close(gone)).toBe(0);
    expect(d.objPin(gone, join(fs.path, "gone"))).toBe(-Errno.EINVAL);
    expect(d.objPin(0, join(fs.path, "stdin"))).toBe(-Errno.EINVAL);
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      const path = join(fs.path, "flags");
      expect(d.objPin(fd, path)).toBe(0);
      expect(d.objGet(path, BPF_F_RDONLY | BPF_F_WRONLY)).toBe(-Errno.EINVAL);
      expect(d.objGet(path, 1 << 20)).toBe(-Errno.EINVAL);
      expect(d.host.unlink(path)).toBe(0);
    });
  });

  it("a pinned program comes back from OBJ_GET as a program", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const prog = keep(d.progLoad({ progType: ProgType.SocketFilter, insns: RET0_INSNS, license: "GPL" }));
      const path = join(fs.path, "prog");
      expect(d.objPin(prog, path)).toBe(0);
      const again = keep(d.objGet(path));
      // Not a map: the kernel refuses element operations on it (EINVAL), buffers untouched.
      const out = new Uint8Array(4).fill(3);
      expect(d.mapLookupElem(again, u32(0), out)).toBe(-Errno.EINVAL);
      expect(out.every((b) => b === 3)).toBe(true);
      expect(d.host.unlink(path)).toBe(0);
    });
  });

  it("RDONLY and WRONLY fds from OBJ_GET and GET_FD_BY_ID allow what they say (others EPERM)", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expect(d.mapUpdateElem(fd, u32(1), u32(1))).toBe(0);
      const path = join(fs.path, "modes");
      expect(d.objPin(fd, path)).toBe(0);
      const id = mapId(fd);
      const ro = [keep(d.objGet(path, BPF_F_RDONLY)), keep(d.mapGetFdById(id, BPF_F_RDONLY))];
      const wo = [keep(d.objGet(path, BPF_F_WRONLY)), keep(d.mapGetFdById(id, BPF_F_WRONLY))];
      const v = new Uint8Array(4), nk = new Uint8Array(4);
      const batch = (f: number) => d.mapLookupBatch(f, null, new Uint8Array(4), new Uint8Array(16), new Uint8Array(16), 4).errno;
      for (const f of ro) {
        expect(d.mapLookupElem(f, u32(1), v)).toBe(0);
        expect(d.mapGetNextKey(f, null, nk)).toBe(0);
        expect(batch(f)).toBe(Errno.ENOENT);
        expect(d.mapUpdateElem(f, u32(2), u32(2))).toBe(-Errno.EPERM);
        expect(d.mapDeleteElem(f, u32(1))).toBe(-Errno.EPERM);
        expect(d.mapFreeze(f)).toBe(-Errno.EPERM);
        expect(mapId(f)).toBe(id);
      }
      for (const f of wo) {
        expect(d.mapLookupElem(f, u32(1), v)).toBe(-Errno.EPERM);
        expect(d.mapGetNextKey(f, null, nk)).toBe(-Errno.EPERM);
        expect(batch(f)).toBe(Errno.EPERM);
        expect(d.mapUpdateElem(f, u32(2), u32(2))).toBe(0);
        expect(d.mapDeleteElem(f, u32(2))).toBe(0);
        expect(mapId(f)).toBe(id);
      }
      expect(d.mapGetFdById(id, 1 << 20)).toBe(-Errno.EINVAL);
      expect(d.host.unlink(path)).toBe(0);
    });
  });

  it("a pin keeps the map (id and data) alive after its last fd closes; unlink frees it", () => {
    const { d } = k;
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 });
    expect(d.mapUpdateElem(fd, u32(5), u32(55))).toBe(0);
    const id = mapId(fd);
    const path = join(fs.path, "alive");
    expect(d.objPin(fd, path)).toBe(0);
    expect(d.close(fd)).toBe(0);
    withFds(d, (keep) => {
      const byId = keep(d.mapGetFdById(id));
      const out = new Uint8Array(4);
      expect(d.mapLookupElem(byId, u32(5), out)).toBe(0);
      expect(readU32(out)).toBe(55);
    });
    expect(d.host.unlink(path)).toBe(0);
    expect(d.mapGetFdById(id)).toBe(-Errno.ENOENT);
  });

  it("MAP_GET_NEXT_ID walks ids upwards to ENOENT; start ≥ INT_MAX is EINVAL", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const a = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 }));
      const b = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1 }));
      const [ia, ib] = [mapId(a), mapId(b)];
      expect(ib).toBeGreaterThan(ia);
      // Other processes create maps concurrently: ours must be among the ids, in order.
      const ids: number[] = [];
      for (let id = d.mapGetNextId(0); id > 0; id = d.mapGetNextId(id)) ids.push(id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(ids).toContain(ia);
      expect(ids).toContain(ib);
      expect(d.mapGetNextId(0x7fffffff)).toBe(-Errno.EINVAL);
      expect(d.mapGetFdById(0)).toBe(-Errno.ENOENT);
      expect(d.progGetNextId(0x7fffffff)).toBe(-Errno.EINVAL);
    });
  });

  it("MAP_FREEZE: writes become EPERM, reads still work, a second freeze is EPERM", () => {
    const { d } = k;
    withFds(d, (keep) => {
      const fd = keep(d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }));
      expect(d.mapUpdateElem(fd, u32(1), u32(1))).toBe(0);
      expect(d.mapFreeze(fd)).toBe(0);
      expect(d.mapUpdateElem(fd, u32(2), u32(2))).toBe(-Errno.EPERM);
      expect(d.mapDeleteElem(fd, u32(1))).toBe(-Errno.EPERM);
      expect(d.mapLookupElem(fd, u32(1), new Uint8Array(4))).toBe(0);
      expect(d.mapFreeze(fd)).toBe(-Errno.EPERM);
    });
  });
});
