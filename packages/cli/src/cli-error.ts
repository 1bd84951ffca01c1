// Errors the command reports as one line and an exit code, with what to do about them.
import { BpfError, Errno, errnoOf, type Driver } from "@bpfkit/core";
import { CAP_BPF, CAP_SYS_ADMIN, hasCapability, sysAdminMissing } from "@bpfkit/driver-kernel";

/** Exit codes: documented in `bpfkit --help`. */
export const ExitCode = {
  ok: 0,
  /** The operation failed (the kernel or the simulator said no). */
  failure: 1,
  /** The command line is wrong. */
  usage: 2,
  /** bpf(2) or mount(2) needs privileges this process lacks. */
  permission: 3,
  /** The map, program or path does not exist. */
  notFound: 4,
  /** A fuzz run found a divergence or a broken invariant. */
  divergence: 5,
} as const;

/** An error the CLI reports in one line on standard error and exits with `exitCode` for. */
export class CliError extends Error {
  /** The process exit code (`ExitCode`): 2 bad command line, 3 privileges, 4 not found, …. */
  readonly exitCode: number;
  /** A line of advice printed after the message (what to run or check), if any. */
  readonly hint: string | undefined;
  /** Makes the error with its message, exit code (default 1, failure) and optional hint. */
  constructor(message: string, exitCode: number = ExitCode.failure, hint?: string) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, ExitCode.usage, hint);
}

/**
 * What to do about an EPERM or EACCES, given the driver that answered it. A simulated host's
 * refusals say nothing of this host's privileges: it runs as root (no hint) unless its embedder
 * made it unprivileged. From the kernel, EACCES is a file's owner or mode; EPERM is a capability
 * this process lacks (CAP_BPF, or CAP_SYS_ADMIN beyond it), and with both, something no
 * capability changes (an LSM, lockdown): no hint.
 */
export function permissionHint(errno: number, driver: Driver | undefined): string | undefined {
  if (driver !== undefined && driver.kind !== "kernel") {
    return (driver as { privileged?: boolean }).privileged === false
      ? "the simulated host runs unprivileged (privileged: false), as a user without root or CAP_BPF"
      : undefined;
  }
  if (errno === Errno.EACCES) return "a file's owner or mode refused it: check the path's permissions (or run as root)";
  if (!hasCapability(CAP_BPF) && !hasCapability(CAP_SYS_ADMIN)) return "needs root or CAP_BPF (try sudo), or run on the simulator with --driver sim";
  const gap = sysAdminMissing();
  return gap !== undefined ? `${gap}: run as root, or on the simulator with --driver sim` : undefined;
}

/** The exit code and hint for any error a command may throw; `driver`: the one it ran on, if any. */
export function describeError(err: unknown, driver?: Driver): { message: string; exitCode: number; hint: string | undefined } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode, hint: err.hint };
  const errno = errnoOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (errno === Errno.EPERM || errno === Errno.EACCES) return { message, exitCode: ExitCode.permission, hint: permissionHint(errno, driver) };
  if (errno === 2) return { message, exitCode: ExitCode.notFound, hint: undefined };
  if (err instanceof BpfError || errno !== undefined) return { message, exitCode: ExitCode.failure, hint: undefined };
  if (err instanceof RangeError || err instanceof TypeError) return { message, exitCode: ExitCode.usage, hint: undefined };
  return { message, exitCode: ExitCode.failure, hint: undefined };
}

/** Throws a BpfError for a negative driver result, naming the operation and the object. */
export function must(ret: number, op: string, what?: string): number {
  if (ret < 0) {
    const init = what !== undefined ? { errno: -ret, op, path: what } : { errno: -ret, op };
    throw new BpfError(init);
  }
  return ret;
}
