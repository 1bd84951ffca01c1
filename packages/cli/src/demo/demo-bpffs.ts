// A bpffs the demo owns: its own instance mounted on a fresh directory (each bpffs mount is
// separate), so the demo's pin never lands in the host's /sys/fs/bpf. Unmounted afterwards, on
// Ctrl-C too; one a killed run left is swept by the next (see commands/demo.ts).
import type { Driver } from "@bpfkit/core";
import { CliError, ExitCode } from "../cli-error.js";
import { STOP_SIGNALS } from "../signals.js";

export interface DemoBpffs {
  path: string;
  /** False when bpffs could not be mounted (CAP_BPF without CAP_SYS_ADMIN): the map stays unpinned. */
  mounted: boolean;
  dispose(): void;
}

/** Where the demo's mounts go, named `bpfkit-demo-<pid>-…` for sweepStaleBpffs. */
export const DEMO_BPFFS_BASE = "/tmp";
export const DEMO_BPFFS_NAME = "bpfkit-demo-";

export function mountDemoBpffs(d: Driver): DemoBpffs {
  const path = `${DEMO_BPFFS_BASE}/${DEMO_BPFFS_NAME}${process.pid}-${Date.now().toString(36)}`;
  // The handlers go in before the mount: a signal between the two would end the process with
  // the mount in place. The cleanup undoes whatever has been done by then.
  let mounted = false;
  const dispose = untilSignal(() => {
    if (mounted) d.host.umount(path);
    // Unmounted, openOrCreate may have made <root>/tc/globals in it: the tree is the demo's own.
    d.host.removeAll(path);
  });
  let r = d.host.mkdirAll(path, 0o700);
  if (r < 0) {
    dispose();
    throw new CliError(`mkdir ${path}: errno ${-r}`, ExitCode.failure);
  }
  r = d.host.mount("bpf", path, "bpf");
  mounted = r === 0;
  // bpf(2) with CAP_BPF alone cannot mount: keep going with an unpinned map under an empty dir.
  if (r === 0 || r === -1) return { path, mounted, dispose };
  dispose();
  throw new CliError(`mount -t bpf bpf ${path}: errno ${-r}`, ExitCode.failure);
}


/**
 * `cleanup`, run once: by the returned dispose, or on a signal before it, after which the signal
 * is raised again so the process ends as it would have (exit 130 for Ctrl-C), unless another
 * listener of the process's handles it.
 */
function untilSignal(cleanup: () => void): () => void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    cleanup();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    once();
    // Raised again only when nobody else listens: an embedder with its own handler (main() run
    // in-process) decides itself, and would count a second delivery as a second Ctrl-C.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return once;
}
