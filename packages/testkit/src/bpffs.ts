// A private bpffs for one test: a fresh directory, its own bpffs instance mounted on it, and a
// dispose that unmounts and removes it. Works the same over any driver's host services, so the
// kernel's tests never touch the host's /sys/fs/bpf and the simulator's use its virtual fs.
import type { Driver } from "@bpfkit/core";

export interface PrivateBpffs {
  readonly path: string;
  dispose(): void;
  [Symbol.dispose](): void;
}

let counter = 0;

export function mountPrivateBpffs(driver: Driver, base = "/tmp"): PrivateBpffs {
  const path = `${base}/bpfkit-test-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  const host = driver.host;
  let r = host.mkdirAll(path, 0o700);
  if (r < 0) throw new Error(`mkdir ${path}: errno ${-r}`);
  r = host.mount("bpf", path, "bpf");
  if (r < 0) {
    host.rmdir(path);
    throw new Error(`mount -t bpf bpf ${path}: errno ${-r}`);
  }
  let done = false;
  const dispose = () => {
    if (done) return;
    done = true;
    const u = host.umount(path);
    if (u < 0) throw new Error(`umount ${path}: errno ${-u}`);
    host.rmdir(path);
  };
  return { path, dispose, [Symbol.dispose]: dispose };
}
