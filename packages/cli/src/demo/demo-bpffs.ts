// A bpffs the demo owns: its own instance mounted on a fresh directory (each bpffs mount is
// separate), so the demo's pin never lands in the host's /sys/fs/bpf. Unmounted afterwards.
import type { Driver } from "@bpfkit/core";
import { CliError, ExitCode } from "../cli-error.js";

export function mountDemoBpffs(d: Driver): { path: string; dispose(): void } {
  const path = `/tmp/bpfkit-demo-${process.pid}-${Date.now().toString(36)}`;
  let r = d.host.mkdirAll(path, 0o700);
  if (r < 0) throw new CliError(`mkdir ${path}: errno ${-r}`, ExitCode.failure);
  r = d.host.mount("bpf", path, "bpf");
  if (r < 0) {
    d.host.rmdir(path);
    throw new CliError(`mount -t bpf bpf ${path}: errno ${-r}`, r === -1 ? ExitCode.permission : ExitCode.failure,
      r === -1 ? "mounting bpffs needs root (CAP_SYS_ADMIN); or run the demo with --driver sim" : undefined);
  }
  return {
    path,
    dispose() {
      d.host.umount(path);
      d.host.rmdir(path);
    },
  };
}
