// The hint under a permission error from the kernel: EACCES is a file's owner or mode, which no
// capability or --driver sim would fix, so it must not be told as a missing capability.
import { describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_PERF_EVENT_ARRAY, Errno, wrapDriver } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { permissionHint } from "../src/cli-error.js";
import { ExitCode } from "../src/index.js";
import { cliOver } from "./helpers.js";

describe("permissionHint on the kernel", () => {
  it("names a file's owner or mode for EACCES, whatever this process's capabilities", () => {
    expect(permissionHint(13, undefined)).toBe("a file's owner or mode refused it: check the path's permissions (or run as root)");
  });
});

describe("map event-pipe's EACCES", () => {
  // perf_event_open refuses a CPU-wide event without CAP_PERFMON where perf_event_paranoid is
  // above 0 (2 on most hosts): EACCES that no file's mode explains. The kernel tests run as root,
  // so the simulator, presented as the kernel, answers it.
  it("is told as perf_event_paranoid's, naming the map as the command does, not as a file's owner or mode", async () => {
    const sim = createSimDriver({ possibleCpus: 2 });
    const fd = sim.mapCreate({ mapType: BPF_MAP_TYPE_PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(sim.objPin(fd, "/sys/fs/bpf/events")).toBe(0);
    const asKernel = wrapDriver(sim, { kind: "kernel", perfEventOpen: () => -Errno.EACCES });
    const r = await cliOver(asKernel)("map", "event-pipe", "/sys/fs/bpf/events");
    expect(r.code).toBe(ExitCode.permission);
    expect(r.err).toContain("event-pipe map 1 at /sys/fs/bpf/events: permission denied (opening CPU 0's perf event (perf_event_open): " +
      "a CPU-wide perf event needs CAP_PERFMON");
    expect(r.err).not.toContain("a file's owner or mode");
    expect(r.err).toContain("run as root or with CAP_PERFMON");
    sim.close(fd);
  });
});
