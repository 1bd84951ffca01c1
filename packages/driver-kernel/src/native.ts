// The one place that touches koffi: libc loaded lazily (importing this package on macOS or
// Windows must not crash), bpf(2) through a fixed-prototype `syscall`, and the few libc calls
// the host services need. Every function here returns the C result; errno is read right after.
import { createRequire } from "node:module";

/** The koffi functions bpfkit calls, bound once per process. */
export interface Libc {
  readonly koffi: Koffi;
  /** `long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)`: bpf(2) without varargs. */
  readonly syscall: (nr: number, cmd: number, attr: number, size: number) => number;
  readonly close: (fd: number) => number;
  /**
   * `int fcntl(int fd, int cmd, int arg)`: fcntl's one variadic argument as a fixed third int,
   * which the x86-64 and arm64 Linux calling conventions pass as they pass a variadic one.
   */
  readonly fcntl: (fd: number, cmd: number, arg: number) => number;
  readonly statfs: (path: string, buf: number) => number;
  readonly mount: (source: string, target: string, fsType: string, flags: number, data: string | null) => number;
  readonly umount2: (target: string, flags: number) => number;
  /** glibc 2.28's wrapper of renameat2(2); AT_FDCWD for both directories. */
  readonly renameat2: (oldDirFd: number, oldPath: string, newDirFd: number, newPath: string, flags: number) => number;
  readonly clockGettime: (clock: number, ts: number) => number;
  readonly prlimit: (pid: number, resource: number, newLimit: number, oldLimit: number) => number;
  /** The scratch block's guard page. */
  readonly mprotect: (addr: number, length: number, prot: number) => number;
  readonly getpagesize: () => number;
  /**
   * mmap(2) of a map fd (mmap.ts). A pointer comes back as koffi's pointer object, which
   * koffi.view accepts; MAP_FAILED is the pointer whose address is 2^64 - 1.
   */
  readonly mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => unknown;
  readonly munmap: (addr: unknown, length: number) => number;
  /** poll(2) of `struct pollfd` entries in `fds`; map-poll.ts only looks (timeout 0). */
  readonly poll: (fds: Uint8Array, nfds: number, timeout: number) => number;
  readonly epollCreate1: (flags: number) => number;
  /** `struct epoll_event` in `event` (null for EPOLL_CTL_DEL). */
  readonly epollCtl: (epfd: number, op: number, fd: number, event: Uint8Array | null) => number;
  /** epoll_wait(2); map-poll.ts calls it only through `.async`, on a libuv worker thread. */
  readonly epollWait: AsyncCall<[epfd: number, events: Uint8Array, maxEvents: number, timeout: number]>;
  readonly eventfd: (initval: number, flags: number) => number;
  readonly read: (fd: number, buf: Uint8Array, count: number) => number;
  readonly write: (fd: number, buf: Uint8Array, count: number) => number;
  /** sched_getaffinity(2) and sched_setaffinity(2) (cpu-affinity.ts): `pid` 0 is the calling thread. */
  readonly schedGetaffinity: (pid: number, size: number, mask: Uint8Array) => number;
  readonly schedSetaffinity: (pid: number, size: number, mask: Uint8Array) => number;
  /** `__NR_bpf` for this architecture. */
  readonly nrBpf: number;
  /**
   * `long syscall(long nr, uintptr_t attr, int pid, int cpu, int group_fd, unsigned long flags)`:
   * perf_event_open(2), which glibc does not wrap, with its five arguments fixed.
   */
  readonly perfEventOpen: (nr: number, attr: number, pid: number, cpu: number, groupFd: number, flags: number) => number;
  /** `__NR_perf_event_open` for this architecture. */
  readonly nrPerfEventOpen: number;
}

/**
 * A koffi function that may also run on a libuv worker thread: `.async(...args, callback)` calls
 * it there and hands its result (or koffi's error) to `callback` on the event loop.
 */
export interface AsyncCall<A extends unknown[]> {
  (...args: A): number;
  async(...args: [...A, (err: unknown, result: number) => void]): void;
}

/** The part of koffi's API used here (its own typings are not imported: koffi loads lazily). */
export interface Koffi {
  load(path: string): { func(decl: string): (...args: unknown[]) => unknown };
  alloc(type: string, length: number): unknown;
  free(ptr: unknown): void;
  address(ptr: unknown): bigint;
  view(ptr: unknown, length: number): ArrayBuffer;
  errno(): number;
}

/** `__NR_bpf` by `process.arch`: x86-64 and arm64 are the architectures bpfkit supports. */
export const NR_BPF: Readonly<Record<string, number>> = { x64: 321, arm64: 280 };
/** `__NR_perf_event_open` by `process.arch`. */
export const NR_PERF_EVENT_OPEN: Readonly<Record<string, number>> = { x64: 298, arm64: 241 };

let libc: Libc | undefined;

/** Loads koffi and libc on first use; throws an Error naming the reason when it cannot. */
export function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  if (process.platform !== "linux") {
    throw new Error(`@bpfkit/driver-kernel needs Linux (bpf(2)); this is ${process.platform}`);
  }
  const nrBpf = NR_BPF[process.arch];
  if (nrBpf === undefined) {
    throw new Error(`@bpfkit/driver-kernel knows __NR_bpf for x64 and arm64, not ${process.arch}`);
  }
  let koffi: Koffi;
  try {
    koffi = createRequire(import.meta.url)("koffi") as Koffi;
  } catch (e) {
    // koffi is an optional dependency, so that a simulator-only install survives a platform where
    // koffi has no prebuilt binary and cannot build: say so rather than print a resolver trace.
    const missing = (e as { code?: unknown }).code === "MODULE_NOT_FOUND" && /'koffi'/.test((e as Error).message);
    throw new Error(
      missing
        ? "@bpfkit/driver-kernel cannot load koffi: it is not installed (an optional dependency, skipped where its install failed); install koffi@3.3.4"
        : `@bpfkit/driver-kernel cannot load koffi: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const lib = koffi.load("libc.so.6");
  const f = <T>(decl: string) => lib.func(decl) as unknown as T;
  libc = {
    koffi,
    nrBpf,
    nrPerfEventOpen: NR_PERF_EVENT_OPEN[process.arch]!,
    syscall: f("long syscall(long nr, int cmd, uintptr_t attr, unsigned int size)"),
    perfEventOpen: f("long syscall(long nr, uintptr_t attr, int pid, int cpu, int group_fd, unsigned long flags)"),
    close: f("int close(int fd)"),
    fcntl: f("int fcntl(int fd, int cmd, int arg)"),
    statfs: f("int statfs(const char *path, uintptr_t buf)"),
    mount: f("int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)"),
    umount2: f("int umount2(const char *target, int flags)"),
    renameat2: f("int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)"),
    clockGettime: f("int clock_gettime(int clock, uintptr_t ts)"),
    prlimit: f("int prlimit(int pid, int resource, uintptr_t new_limit, uintptr_t old_limit)"),
    mprotect: f("int mprotect(uintptr_t addr, size_t length, int prot)"),
    getpagesize: f("int getpagesize()"),
    mmap: f("void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)"),
    munmap: f("int munmap(void *addr, size_t length)"),
    poll: f("int poll(void *fds, unsigned long nfds, int timeout)"),
    epollCreate1: f("int epoll_create1(int flags)"),
    epollCtl: f("int epoll_ctl(int epfd, int op, int fd, void *event)"),
    epollWait: f("int epoll_wait(int epfd, void *events, int maxevents, int timeout)"),
    eventfd: f("int eventfd(unsigned int initval, int flags)"),
    read: f("long read(int fd, void *buf, unsigned long count)"),
    write: f("long write(int fd, const void *buf, unsigned long count)"),
    schedGetaffinity: f("int sched_getaffinity(int pid, size_t size, void *mask)"),
    schedSetaffinity: f("int sched_setaffinity(int pid, size_t size, const void *mask)"),
  };
  return libc;
}
