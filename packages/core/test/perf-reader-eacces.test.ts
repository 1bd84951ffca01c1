// A perf event array's reader opens one CPU-wide perf event per CPU; with
// kernel.perf_event_paranoid above 0 (2 on most distributions) perf_event_open refuses that
// without CAP_PERFMON, EACCES, and bpf(2) with CAP_BPF alone has done everything else. The
// reader's error says what the event needs. The kernel tests run as root, where nothing
// refuses: the simulator without privilege refuses the event as such a kernel does.
import { expect, it } from "vitest";
import { createBpf, memoryLogger } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { thrownBpfError } from "./support/thrown.js";

it("a perf event the kernel refuses (EACCES) says a CPU-wide event needs CAP_PERFMON", () => {
  const driver = createSimDriver({ privileged: false, unprivilegedBpfDisabled: 0, possibleCpus: 2 });
  const bpf = createBpf({ driver, logger: memoryLogger() });
  using events = bpf.newPerfEventArray({ name: "events" });
  events.openOrCreateUnpinned();
  const e = thrownBpfError(() => events.reader());
  expect(e.code).toBe("EACCES");
  expect(e.message).toBe("reader events: permission denied (opening CPU 0's perf event (perf_event_open): a CPU-wide " +
    "perf event needs CAP_PERFMON (or CAP_SYS_ADMIN) where kernel.perf_event_paranoid is above 0)");
});
