// Errors the command reports as one line and an exit code, with what to do about them.
import { BpfError, errnoOf } from "@bpfkit/core";
import { CAP_BPF, hasCapability, sysAdminMissing } from "@bpfkit/driver-kernel";

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

export class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
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
 * What to do about EPERM/EACCES. With CAP_BPF but not CAP_SYS_ADMIN, "needs CAP_BPF" would be
 * wrong: say what the kernel keeps for CAP_SYS_ADMIN instead.
 */
function permissionHint(): string {
  const gap = sysAdminMissing();
  return gap !== undefined && hasCapability(CAP_BPF)
    ? `${gap}: run as root, or on the simulator with --driver sim`
    : "needs root or CAP_BPF (try sudo), or run on the simulator with --driver sim";
}

/** The exit code and hint for any error a command may throw. */
export function describeError(err: unknown): { message: string; exitCode: number; hint: string | undefined } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode, hint: err.hint };
  const errno = errnoOf(err);
  const message = err instanceof Error ? err.message : String(err);
  if (errno === 1 || errno === 13) return { message, exitCode: ExitCode.permission, hint: permissionHint() };
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
