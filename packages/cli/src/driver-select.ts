// `--driver kernel|sim|auto`: the real bpf(2) where it is usable, else the embedded simulator.
// The drivers load lazily, so `bpfkit --help` needs neither koffi nor the wasm module.
import type { Driver } from "@bpfkit/core";
import { CliError, ExitCode, usageError } from "./cli-error.js";
import type { CliIo, DriverKind } from "./io.js";

export type DriverChoice = DriverKind | "auto";

export function parseDriverChoice(s: string | undefined, env: CliIo["env"]): DriverChoice {
  const v = s ?? env.BPFKIT_DRIVER ?? "auto";
  if (v === "kernel" || v === "sim" || v === "auto") return v;
  // Name where the bad value came from: a stale environment variable is not on the command line.
  throw usageError(`${s !== undefined ? "--driver " : "BPFKIT_DRIVER="}${v}: expected kernel, sim or auto`);
}

/** Why the kernel driver is not usable here, or undefined when it is. */
export async function kernelUnavailableReason(io: CliIo): Promise<string | undefined> {
  if (io.kernelAvailable) return io.kernelAvailable();
  if (process.platform !== "linux") return `bpf(2) exists only on Linux (this is ${process.platform})`;
  try {
    const k = await import("@bpfkit/driver-kernel");
    return k.kernelDriverUnavailable();
  } catch (e) {
    return `the kernel driver did not load: ${(e as Error).message}`;
  }
}

export async function createDriver(io: CliIo, kind: DriverKind): Promise<Driver> {
  if (io.createDriver) return io.createDriver(kind);
  if (kind === "kernel") {
    const k = await import("@bpfkit/driver-kernel");
    return k.createKernelDriver();
  }
  const s = await import("@bpfkit/driver-wasm-sim");
  const sim = s.createSimDriver();
  freshSims.add(sim);
  return sim;
}

/** Simulators this process booted for one command: nothing outlives the command in them. */
const freshSims = new WeakSet<Driver>();

/** Whether `d` is a simulated host that began empty with this command (a test's may persist). */
export function isFreshSim(d: Driver): boolean {
  return freshSims.has(d);
}

/** The hint for "not found" on a fresh simulator, where a map from an earlier run cannot be. */
export const FRESH_SIM_HINT = "the simulator starts empty on every run: maps created by earlier bpfkit commands are not there (use --driver kernel)";

/** The hint for a missing directory on a fresh simulator: its host has only the kernel's own. */
export const FRESH_SIM_PATH_HINT = "the simulated host has only /tmp, /proc, /sys and the bpffs at /sys/fs/bpf: pin under /sys/fs/bpf (use --driver kernel for this host's files)";

/** The stderr note after a change made on a fresh simulator, which the command's end discards. */
export function freshSimNote(what: string): string {
  return `bpfkit: note: the simulated host ends with this command, and ${what} with it\n`;
}

/**
 * The driver for a command. `auto` says on stderr which one it took (and why the simulator),
 * so a script reading stdout is not disturbed and a person is never misled.
 */
export async function selectDriver(io: CliIo, choice: DriverChoice, quiet: boolean): Promise<Driver> {
  if (choice === "sim") return createDriver(io, "sim");
  const why = await kernelUnavailableReason(io);
  if (choice === "kernel") {
    if (why !== undefined) {
      // Only a refusal for want of privilege is exit 3 with "run as root": off Linux, or with
      // koffi unable to load, root would not help.
      const privilege = /needs root or CAP_BPF/.test(why);
      throw new CliError(`--driver kernel: ${why}`, privilege ? ExitCode.permission : ExitCode.failure,
        privilege ? "run as root (or with CAP_BPF), or use --driver sim for the simulator" : "use --driver sim for the simulator");
    }
    return createDriver(io, "kernel");
  }
  if (why === undefined) {
    if (!quiet) io.stderr("bpfkit: driver: kernel\n");
    return createDriver(io, "kernel");
  }
  if (!quiet) io.stderr(`bpfkit: driver: simulator (${why}; each run starts a fresh simulated host)\n`);
  return createDriver(io, "sim");
}
