// A bpffs the demo owns: its own instance mounted on a fresh directory (each bpffs mount is
// separate), so the demo's pin never lands in the host's /sys/fs/bpf. Unmounted afterwards.
import type { Driver } from "@bpfkit/core";
import { CliError, ExitCode } from "../cli-error.js";

export interface DemoBpffs {
  path: string;
  /** False when bpffs could not be mounted (CAP_BPF without CAP_SYS_ADMIN): the map stays unpinned. */
  mounted: boolean;
  dispose(): void;
}

export function mountDemoBpffs(d: Driver): DemoBpffs {
  const path = `/tmp/bpfkit-demo-${process.pid}-${Date.now().toString(36)}`;
  let r = d.host.mkdirAll(path, 0o700);
  if (r < 0) throw new CliError(`mkdir ${path}: errno ${-r}`, ExitCode.failure);
  r = d.host.mount("bpf", path, "bpf");
  if (r === -1) {
    // bpf(2) with CAP_BPF alone cannot mount: keep going with an unpinned map under an empty dir.
    // openOrCreate makes <root>/tc/globals in it: remove the whole (fresh, demo-only) tree.
    return { path, mounted: false, dispose: () => void d.host.removeAll(path) };
  }
  if (r < 0) {
    d.host.rmdir(path);
    throw new CliError(`mount -t bpf bpf ${path}: errno ${-r}`, ExitCode.failure);
  }
  return {
    path,
    mounted: true,
    dispose() {
      d.host.umount(path);
      d.host.rmdir(path);
    },
  };
}
