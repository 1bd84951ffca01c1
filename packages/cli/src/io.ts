// Where the command reads and writes. `main` takes one so tests run it in-process with captured
// output and a prepared simulator, and the bin passes the real process streams.
import type { Driver } from "@bpfkit/core";

/** Which bpf(2) a command runs over: the real kernel's or the simulator's. */
export type DriverKind = "kernel" | "sim";

/** Where a command reads its environment and writes its output, and how it gets a driver. */
export interface CliIo {
  /** Writes to standard output (no newline added). */
  stdout(text: string): void;
  /** Writes to standard error (no newline added). */
  stderr(text: string): void;
  /** Standard output is a terminal: human tables and colour-free, aligned output. */
  readonly stdoutIsTty: boolean;
  /** Standard error is a terminal: progress lines for long dumps. */
  readonly stderrIsTty: boolean;
  /**
   * The environment the CLI reads: `BPFKIT_DRIVER`, `BPFKIT_MAP_ROOT`, `BPFKIT_DEBUG`, and npm's
   * variables for the demo's hint.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Makes the driver a command runs over. The default loads `@bpfkit/driver-kernel` or
   * `@bpfkit/driver-wasm-sim`; tests pass a prepared simulator here.
   */
  createDriver?(kind: DriverKind): Driver | Promise<Driver>;
  /** Whether the kernel driver is usable here (the default asks `kernelDriverAvailable()`). */
  kernelAvailable?(): string | undefined | Promise<string | undefined>;
}

/** The process's own streams. */
export function processIo(): CliIo {
  // `bpfkit map dump … | head`: a reader that went away is the end of the output, not an error.
  // Any other write error (a full disk, /dev/full) is the user's to see, in one line.
  process.stdout.once("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    const why = e.code !== undefined ? `${e.message.replace(/^[A-Z]+: /, "").replace(/, write$/, "")} (${e.code})` : e.message;
    process.stderr.write(`bpfkit: cannot write to standard output: ${why}\n`);
    process.exit(1);
  });
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stdoutIsTty: process.stdout.isTTY === true,
    stderrIsTty: process.stderr.isTTY === true,
    env: process.env,
  };
}

/** An io that collects everything written, for tests and for embedding. */
export interface CapturedIo extends CliIo {
  /** Every piece written to standard output, in order. */
  readonly out: string[];
  /** Every piece written to standard error, in order. */
  readonly err: string[];
  /** All of standard output as one string. */
  text(): string;
  /** All of standard error as one string. */
  errText(): string;
}

/**
 * An io that keeps what commands write instead of printing it, with no terminal and an empty environment unless
 * `overrides` say otherwise.
 */
export function captureIo(overrides: Partial<CliIo> = {}): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdoutIsTty: false,
    stderrIsTty: false,
    env: {},
    ...overrides,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    out,
    err,
    text: () => out.join(""),
    errText: () => err.join(""),
  };
}
