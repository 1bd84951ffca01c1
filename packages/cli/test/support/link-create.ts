// BPF_LINK_CREATE through a raw bpf(2), for tests that need a pinned link: the Driver has no link
// commands. Its own koffi (the kernel driver's copy), its own attr memory.
import { createRequire } from "node:module";

const BPF_LINK_CREATE = 28;

/** Links `progFd` to the object `targetFd` with `attachType`; returns the link fd or -errno. */
export function linkCreate(progFd: number, targetFd: number, attachType: number): number {
  const k = koffi();
  const block = k.koffi.alloc("uint8_t", 64);
  try {
    const dv = new DataView(k.koffi.view(block, 64) as ArrayBuffer);
    for (let i = 0; i < 64; i += 4) dv.setUint32(i, 0, true);
    dv.setUint32(0, progFd, true);
    dv.setUint32(4, targetFd, true);
    dv.setUint32(8, attachType, true);
    const r = Number(k.syscall(process.arch === "arm64" ? 280 : 321, BPF_LINK_CREATE, Number(k.koffi.address(block)), 64));
    return r < 0 ? -k.koffi.errno() : r;
  } finally {
    k.koffi.free(block);
  }
}

/** open(2) of a directory (a cgroup), for a link's target fd; -errno on failure. */
export function openDirectory(path: string): number {
  const k = koffi();
  const fd = k.open(path, 0o200000 /* O_RDONLY | O_DIRECTORY */) as number;
  return fd < 0 ? -k.koffi.errno() : fd;
}

type Koffi = any;
let loaded: { koffi: Koffi; syscall: (...a: unknown[]) => unknown; open: (...a: unknown[]) => unknown } | undefined;

function koffi() {
  if (loaded) return loaded;
  const req = createRequire(new URL("../../../driver-kernel/package.json", import.meta.url));
  const kf = req("koffi") as Koffi;
  const libc = kf.load("libc.so.6");
  loaded = {
    koffi: kf,
    syscall: libc.func("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)"),
    open: libc.func("int open(const char *path, int flags)"),
  };
  return loaded;
}
