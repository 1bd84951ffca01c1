// Linux x86-64 errno numbers, used on every platform: the simulator answers with the same
// numbers as the kernel. Texts are glibc's strerror in lower case, as Go's syscall.Errno prints
// them, because Cilium's messages embed that text.

const table: ReadonlyArray<readonly [number, string, string]> = [
  [1, "EPERM", "operation not permitted"],
  [2, "ENOENT", "no such file or directory"],
  [3, "ESRCH", "no such process"],
  [4, "EINTR", "interrupted system call"],
  [5, "EIO", "input/output error"],
  [6, "ENXIO", "no such device or address"],
  [7, "E2BIG", "argument list too long"],
  [8, "ENOEXEC", "exec format error"],
  [9, "EBADF", "bad file descriptor"],
  [10, "ECHILD", "no child processes"],
  [11, "EAGAIN", "resource temporarily unavailable"],
  [12, "ENOMEM", "cannot allocate memory"],
  [13, "EACCES", "permission denied"],
  [14, "EFAULT", "bad address"],
  [15, "ENOTBLK", "block device required"],
  [16, "EBUSY", "device or resource busy"],
  [17, "EEXIST", "file exists"],
  [18, "EXDEV", "invalid cross-device link"],
  [19, "ENODEV", "no such device"],
  [20, "ENOTDIR", "not a directory"],
  [21, "EISDIR", "is a directory"],
  [22, "EINVAL", "invalid argument"],
  [23, "ENFILE", "too many open files in system"],
  [24, "EMFILE", "too many open files"],
  [25, "ENOTTY", "inappropriate ioctl for device"],
  [27, "EFBIG", "file too large"],
  [28, "ENOSPC", "no space left on device"],
  [30, "EROFS", "read-only file system"],
  [34, "ERANGE", "numerical result out of range"],
  [36, "ENAMETOOLONG", "file name too long"],
  [38, "ENOSYS", "function not implemented"],
  [39, "ENOTEMPTY", "directory not empty"],
  [40, "ELOOP", "too many levels of symbolic links"],
  [75, "EOVERFLOW", "value too large for defined data type"],
  // OBJ_GET_INFO_BY_FD on an fd that is not open (6.x kernels; other commands say EBADF).
  [77, "EBADFD", "file descriptor in bad state"],
  [95, "EOPNOTSUPP", "operation not supported"],
  [110, "ETIMEDOUT", "connection timed out"],
  // The kernel's internal ENOTSUPP, which bpf(2) leaks to user space (libc's strerror only
  // says "Unknown error 524"): the map type or the kernel has no such operation.
  [524, "ENOTSUPP", "operation not supported by this map type or kernel (ENOTSUPP, 524)"],
];

/** Errno numbers by name (`Errno.ENOENT === 2`). ENOTSUPP is the kernel-internal 524. */
export const Errno = Object.freeze(Object.fromEntries(table.map(([n, name]) => [name, n]))) as {
  readonly EPERM: 1; readonly ENOENT: 2; readonly ESRCH: 3; readonly EINTR: 4; readonly EIO: 5;
  readonly ENXIO: 6; readonly E2BIG: 7; readonly ENOEXEC: 8; readonly EBADF: 9; readonly ECHILD: 10;
  readonly EAGAIN: 11; readonly ENOMEM: 12; readonly EACCES: 13; readonly EFAULT: 14; readonly ENOTBLK: 15;
  readonly EBUSY: 16; readonly EEXIST: 17; readonly EXDEV: 18; readonly ENODEV: 19;
  readonly ENOTDIR: 20; readonly EISDIR: 21; readonly EINVAL: 22; readonly ENFILE: 23;
  readonly EMFILE: 24; readonly ENOTTY: 25; readonly EFBIG: 27; readonly ENOSPC: 28;
  readonly EROFS: 30; readonly ERANGE: 34; readonly ENAMETOOLONG: 36; readonly ENOSYS: 38;
  readonly ENOTEMPTY: 39; readonly ELOOP: 40; readonly EOVERFLOW: 75; readonly EBADFD: 77; readonly EOPNOTSUPP: 95;
  readonly ETIMEDOUT: 110; readonly ENOTSUPP: 524;
};
/** The name of an errno bpfkit knows (`ENOENT`, `EPERM`, …), as in `Errno`. */
export type ErrnoName = keyof typeof Errno;

const names = new Map<number, string>();
const texts = new Map<number, string>();
for (const [n, name, text] of table) {
  names.set(n, name);
  texts.set(n, text);
}

/** `ENOENT` for 2; `errno 999` for a number not in the table. Accepts -errno too. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return names.get(n) ?? `errno ${n}`;
}

/** strerror-like text: `no such file or directory`. Accepts -errno too. */
export function errnoText(errno: number): string {
  const n = Math.abs(errno);
  return texts.get(n) ?? `unknown error ${n}`;
}

/** The number for an errno name, or undefined. */
export function errnoFromName(name: string): number | undefined {
  return (Errno as Record<string, number>)[name];
}
