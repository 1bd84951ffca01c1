// BTF objects in the kernel: raw BTF loaded with BPF_BTF_LOAD, found again by id, read back.
// A map created with a BTF fd holds the object, so a handle may be closed once its maps exist
// (cilium/ebpf's btf.Handle; libbpf's btf__load_into_kernel).
import { type BtfInfo, type Driver } from "./driver.js";
import { driverContractError, isNegErrno } from "./driver-contract.js";
import "./dispose-symbol.js"; // before the class below takes [Symbol.dispose] as a key
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { btfObjectIds } from "./object-ids.js";
import { type SyscallContext } from "./syscalls.js";
import { describeValue } from "./describe-value.js";

/** The log kept of a refused load when `loadBtf` is given no `logSize`: libbpf's first size. */
export const DEFAULT_BTF_LOG_SIZE = 64 * 1024;
/** The kernel's bound on a log buffer (bpf_verifier_log_attr_valid: UINT_MAX >> 2). */
const MAX_BTF_LOG_SIZE = 0x3fff_ffff;
/** How many of the log's last lines a refusal's message quotes; `BtfLoadError.log` has it all. */
const QUOTED_LOG_LINES = 2;

/** Options of `bpf.loadBtf`. */
export interface LoadBtfOptions {
  /**
   * Bytes of the kernel checker's log to keep when it refuses the BTF (the load is then made a
   * second time with the log on, as libbpf does, so a load that succeeds pays nothing for it;
   * the error quotes its last two lines: usually the type at fault and why; for a check the
   * kernel runs after listing every type, the last type listed and why).
   * 0: no second load, and the error says only the errno. Default `DEFAULT_BTF_LOG_SIZE`.
   */
  logSize?: number;
}

/**
 * What an E2BIG from BPF_BTF_LOAD means. The checker logs nothing for its last cause (btf_parse's
 * struct metas: a kind of special field a struct may hold once, found twice), which a value
 * struct with two `bpfSpinLock` fields meets.
 */
const E2BIG_WHY = " (BTF over 16 MiB, a header longer than the kernel's with non-zero bytes past it, or a struct holding two " +
  "special fields of a kind it may hold once, such as two bpf_spin_locks)";

/** BPF_BTF_LOAD refused the BTF: the errno, and the checker's log (`""` when none was asked). */
export class BtfLoadError extends BpfError {
  /**
   * The kernel checker's log, as it wrote it (NUL and what follows cut off): the whole of it, or
   * its end when it outgrew the buffer (`logTrueSize` is then larger than `logSize`).
   */
  readonly log: string;
  /**
   * `btf_log_true_size`: the bytes the checker's whole log needed, its NUL included, so that a
   * load with `logSize` at least this keeps all of it; 0 when there was no logged load.
   */
  readonly logTrueSize: number;

  /**
   * Makes the error from the refusal's errno, the log, and the message it quotes. `path`: the map
   * whose create loaded the BTF (createMap's raw `btf`), which the message then names first.
   * `logTrueSize`: what the logged load reported, when the log was cut short the message says so.
   */
  constructor(errno: number, log: string, path?: string, logTrueSize = 0) {
    const lines = log.split("\n").filter((l) => l.trim() !== "");
    const quoted = lines.slice(-QUOTED_LOG_LINES).join(" / ");
    const what = path !== undefined ? `Unable to create map ${path}: Unable to load its BTF` : "Unable to load BTF";
    const cut = logTrueSize > new TextEncoder().encode(log).length + 1 ? `; the log kept its end: logSize ${logTrueSize} keeps all of it` : "";
    super({ errno, op: "BPF_BTF_LOAD", ...(path !== undefined ? { path } : {}),
      message: `${what}: ${errnoText(errno)}${errno === Errno.E2BIG ? E2BIG_WHY : ""}${quoted !== "" ? ` (the kernel's checker: ${quoted}${cut})` : ""}` });
    this.name = "BtfLoadError";
    this.log = log;
    this.logTrueSize = logTrueSize;
  }
}

type BtfDriver = Required<Pick<Driver, "btfLoad" | "btfGetFdById" | "btfGetNextId" | "btfGetInfo">> & Driver;

/** The driver, when it has the BTF methods; else a BpfError EOPNOTSUPP naming it and what was asked. */
export function btfDriver(driver: Driver, what: string): BtfDriver {
  if (typeof driver.btfLoad !== "function") {
    throw new BpfError({ errno: Errno.EOPNOTSUPP, op: what,
      message: `${what}: driver ${JSON.stringify(driver.kind)} has no BTF methods (btfLoad and the others are optional Driver methods)` });
  }
  return driver as BtfDriver;
}

/** The driver's btfGetInfo, checked against the contract; -errno passes through. */
function readInfo(driver: BtfDriver, fd: number, data: Uint8Array | null): BtfInfo | number {
  const r: unknown = driver.btfGetInfo(fd, data);
  if (typeof r === "number") {
    if (!isNegErrno(r)) throw driverContractError(driver, "btfGetInfo", r, "a BtfInfo");
    return r;
  }
  if (r === null || typeof r !== "object" || !Number.isInteger((r as BtfInfo).id) || !Number.isInteger((r as BtfInfo).btfSize)) {
    throw driverContractError(driver, "btfGetInfo", r, "a BtfInfo");
  }
  return r as BtfInfo;
}

function checkedFd(driver: Driver, method: string, r: unknown): number {
  if (typeof r !== "number" || !(isNegErrno(r) || (Number.isInteger(r) && r >= 0))) throw driverContractError(driver, method, r, "an fd");
  return r;
}

/**
 * An open BTF object: its fd, and what its info said when it was opened. `close()` gives the fd
 * back; the object lives on while a map or program holds it.
 */
export class BtfHandle implements Disposable {
  readonly #driver: BtfDriver;
  #fd: number;
  /** The BTF object's id (`bpftool btf show id N`), unique while it lives. */
  readonly id: number;
  /** Bytes of its raw data. */
  readonly size: number;
  /** "vmlinux" or a module's name for the kernel's own BTF; "" for BTF user space loaded. */
  readonly name: string;
  /** Whether it is the kernel's own (vmlinux or a module's). */
  readonly kernelBtf: boolean;

  /**
   * Takes `fd`, a BTF object's, from `driver` (closing it if its info cannot be read); a driver
   * without the BTF methods is EOPNOTSUPP. `what` names the object in errors. Usually made by
   * `bpf.loadBtf` or `bpf.openBtfById`.
   */
  constructor(anyDriver: Driver, fd: number, what: string) {
    const driver = btfDriver(anyDriver, "BtfHandle");
    let info: BtfInfo | number;
    try {
      info = readInfo(driver, fd, null);
    } catch (e) {
      // A driver that broke its contract: the fd is still ours to give back.
      driver.close(fd);
      throw e;
    }
    if (typeof info === "number") {
      driver.close(fd);
      throw new BpfError({ errno: -info, op: "BPF_OBJ_GET_INFO_BY_FD", message: `Unable to read the info of ${what}: ${errnoText(-info)}` });
    }
    this.#driver = driver;
    this.#fd = fd;
    this.id = info.id;
    this.size = info.btfSize;
    this.name = info.name;
    this.kernelBtf = info.kernelBtf;
  }

  /** The fd, or -1 once closed. Pass it as a map's `btf.fd`. */
  get fd(): number {
    return this.#fd;
  }

  /** The raw BTF as the kernel holds it (header, types, strings). */
  raw(): Uint8Array {
    const out = new Uint8Array(this.size);
    const info = readInfo(this.#driver, this.#open("raw"), out);
    if (typeof info === "number") {
      throw new BpfError({ errno: -info, op: "BPF_OBJ_GET_INFO_BY_FD", message: `Unable to read BTF id ${this.id}: ${errnoText(-info)}` });
    }
    return out;
  }

  /** Closes the fd (again: nothing). Maps created with it keep the object alive. */
  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    this.#driver.close(fd);
  }

  /** `using btf = bpf.loadBtf(raw)` closes it at the end of the block. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(op: string): number {
    if (this.#fd < 0) throw new BpfError({ errno: Errno.EBADF, op, message: `${op} BTF id ${this.id}: the handle is closed` });
    return this.#fd;
  }
}

/** The log's text: up to its first NUL. */
function logText(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/** BPF_BTF_LOAD of `raw`: a handle, or a BtfLoadError with the checker's log. */
export function loadBtf(ctx: SyscallContext, raw: Uint8Array, options: LoadBtfOptions = {}): BtfHandle {
  const op = "loadBtf";
  if (!(raw instanceof Uint8Array)) throw new TypeError(`${op}: raw must be a Uint8Array of BTF, got ${describeValue(raw)}`);
  if (options === null || typeof options !== "object") throw new TypeError(`${op}: options must be { logSize? }`);
  const logSize = options.logSize ?? DEFAULT_BTF_LOG_SIZE;
  if (!Number.isInteger(logSize) || logSize < 0 || logSize > MAX_BTF_LOG_SIZE) {
    throw new RangeError(`${op}: options.logSize ${String(logSize)} is not 0..${MAX_BTF_LOG_SIZE} (the kernel's bound)`);
  }
  const driver = btfDriver(ctx.driver, op);
  let fd = checkedFd(driver, "btfLoad", driver.btfLoad({ btf: raw }));
  if (fd < 0) {
    const errno = -fd;
    // E2BIG (the size), EPERM (privilege) and ENOMEM say all there is. A refusal of the content
    // (EINVAL; ENOTSUPP for a version, flag or encoding; EEXIST for a type loop) has a log
    // worth a second load.
    if (logSize === 0 || errno === Errno.E2BIG || errno === Errno.EPERM || errno === Errno.ENOMEM) throw new BtfLoadError(errno, "");
    const logBuf = new Uint8Array(logSize);
    const logTrueSize = new Uint32Array(1);
    fd = checkedFd(driver, "btfLoad", driver.btfLoad({ btf: raw, logBuf, logLevel: 1, logTrueSize }));
    // ENOSPC: the log outgrew its buffer; the first refusal's errno is the answer.
    if (fd < 0) throw new BtfLoadError(fd === -Errno.ENOSPC ? errno : -fd, logText(logBuf), undefined, logTrueSize[0]);
    // Loaded the second time (another process freed memory?): keep it.
  }
  return new BtfHandle(driver, fd, "the BTF just loaded");
}

/** BPF_BTF_GET_FD_BY_ID: a handle on the BTF object with that id (ENOENT when there is none). */
export function openBtfById(ctx: SyscallContext, id: number): BtfHandle {
  const op = "openBtfById";
  if (!Number.isInteger(id) || id < 0 || id > 0xffff_ffff) throw new RangeError(`${op}: id ${String(id)} is not a u32`);
  const driver = btfDriver(ctx.driver, op);
  const fd = checkedFd(driver, "btfGetFdById", driver.btfGetFdById(id));
  if (fd < 0) {
    const why = fd === -Errno.EPERM ? " (opening by id needs CAP_SYS_ADMIN)" : "";
    throw new BpfError({ errno: -fd, op: "BPF_BTF_GET_FD_BY_ID", message: `Unable to open BTF id ${id}: ${errnoText(-fd)}${why}` });
  }
  return new BtfHandle(driver, fd, `BTF id ${id}`);
}

/** Every BTF object's id, ascending (the kernel's own first), as `mapIds` walks maps. */
export function btfIds(ctx: SyscallContext): Generator<number, void, undefined> {
  btfDriver(ctx.driver, "btfIds");
  return btfObjectIds(ctx);
}
