// Why a path cannot take a new pin, told before BPF_OBJ_PIN: the kernel answers EPERM both for a
// path off bpffs and for a name with a dot on it, and EEXIST for a directory as for a pin.
import { BPF_FS_MAGIC, Errno, type Driver } from "@bpfkit/core";
import { CliError, ExitCode } from "./cli-error.js";
import { FRESH_SIM_PATH_HINT, isFreshSim } from "./driver-select.js";

/**
 * `subject` starts each message (`pin at /p`, `pin map 12 to /p`); `after` ends each hint
 * (`; nothing was created`). Undefined when nothing can be told before trying.
 */
export function pinPathProblem(d: Driver, path: string, subject: string, after = ""): CliError | undefined {
  const here = d.host.stat(path);
  if (here.errno === 0 && here.isDirectory) return new CliError(`${subject}: ${path} is a directory`, ExitCode.failure, `pin under it (${path}/NAME) or pick another path${after}`);
  if (here.errno === 0) return new CliError(`${subject}: something is already pinned there`, ExitCode.failure, `unpin it (rm) or pick another path${after}`);
  const slash = path.lastIndexOf("/");
  const dir = slash > 0 ? path.slice(0, slash) : slash === 0 ? "/" : ".";
  const st = d.host.stat(dir);
  if (st.errno === 2) {
    return new CliError(`${subject}: the directory ${dir} does not exist`, ExitCode.notFound,
      isFreshSim(d) ? FRESH_SIM_PATH_HINT : `create it first (mkdir -p)${after}`);
  }
  if (st.errno === 0 && !st.isDirectory) return new CliError(`${subject}: ${dir} is not a directory`, ExitCode.failure);
  // A pin or file higher up: the kernel's ENOTDIR would not say which part of the path it is.
  if (st.errno === Errno.ENOTDIR) return new CliError(`${subject}: a part of ${dir} is not a directory`, ExitCode.failure, `check the path${after}`);
  const fsType = d.host.statfsType(dir);
  if (fsType >= 0 && fsType !== BPF_FS_MAGIC) {
    // A bare name is a map under the map root when it names MAP, but a PATH is taken as given:
    // `map create foo` from a shell in $HOME lands here.
    return new CliError(`${subject}: the path is not on a BPF filesystem`, ExitCode.failure, path.startsWith("/")
      ? `pin under a bpffs mount (see \`bpfkit mount\`)${after}`
      : `a relative PATH is taken from the current directory, not the map root (which only MAP's bare names use): give the absolute path on bpffs${after}`);
  }
  // bpf_lookup: bpffs keeps names with a dot for itself (EPERM, which would read as privilege).
  const name = path.slice(slash + 1);
  if (fsType === BPF_FS_MAGIC && name.includes(".")) {
    return new CliError(`${subject}: bpffs refuses a name with a dot (${JSON.stringify(name)})`, ExitCode.usage, `pick a name without '.'${after}`);
  }
  return undefined;
}
