// One test's world for core-a's driver tests: a driver from driversUnderTest(), a private bpffs
// on it (the kernel's never touches /sys/fs/bpf), and a Bpf rooted there with a logger that
// keeps records. dispose() closes what the test registered and unmounts.
import { readdirSync } from "node:fs";
import { describe, it } from "vitest";
import { createBpf, Errno, memoryLogger, type Bpf, type BpfOptions, type Driver, type LogRecord } from "@bpfkit/core";
import { mountPrivateBpffs, type PrivateBpffs } from "../../../testkit/src/bpffs.js";
import { driversUnderTest, type DriverUnderTest } from "../../../testkit/src/drivers.js";

export interface World {
  readonly name: "sim" | "kernel";
  readonly driver: Driver;
  readonly fs: PrivateBpffs;
  readonly bpf: Bpf;
  readonly logs: LogRecord[];
  /** fds to close at dispose (closing twice is harmless: EBADF is ignored). */
  track(fd: number): number;
  dispose(): void;
}

export function makeWorld(d: DriverUnderTest, options: Partial<BpfOptions> = {}): World {
  const driver = d.create();
  const fs = mountPrivateBpffs(driver);
  const logger = memoryLogger();
  const bpf = createBpf({ driver, mapRoot: fs.path, logger, ...options });
  const fds: number[] = [];
  return {
    name: d.name, driver, fs, bpf, logs: logger.records,
    track(fd) {
      fds.push(fd);
      return fd;
    },
    dispose() {
      for (const fd of fds) driver.close(fd);
      fs.dispose();
    },
  };
}

/** A describe block per driver; an unavailable one says why instead of passing silently. */
export function forEachDriver(title: string, body: (d: DriverUnderTest) => void): void {
  for (const d of driversUnderTest()) {
    if (d.unavailable !== undefined) {
      describe(`${title} [${d.name}]`, () => {
        it(`not run: ${d.unavailable}`, (ctx) => ctx.skip());
      });
      console.warn(`${title} [${d.name}] not run: ${d.unavailable}`);
      continue;
    }
    describe(`${title} [${d.name}]`, () => body(d));
  }
}

/** Open fds of this process (kernel only: the simulator's fds are its own). */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/**
 * Open fds as `driver` sees them: this process's for the kernel; for the simulator, whose fds
 * are its own, those whose info it gives (or refuses as not a BPF object) rather than answering
 * EBADFD, as bpf_obj_get_info_by_fd answers a closed fd.
 */
export function openFdsOf(driver: Driver): number {
  if (driver.kind !== "sim") return openFdCount();
  const info = new Uint8Array(256);
  let n = 0;
  for (let fd = 0; fd < 1024; fd++) if (driver.objGetInfoByFd(fd, info) !== -Errno.EBADFD) n++;
  return n;
}
