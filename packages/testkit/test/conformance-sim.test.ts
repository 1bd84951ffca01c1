// The conformance suite on the simulator: one test per case. The simulator models one CPU, so
// the exact LRU sequences of kernel-maps.md §7.2/§7.3 apply to it as to a kernel pinned to CPU 0.
// A second run with 3 possible CPUs checks everything sized or scheduled by the CPU count; runs
// with 16 and 64 KiB pages (an arm64 kernel's) check that every case, and the simulator, go by
// the driver's page size.
import { describe, it } from "vitest";
import { allGroups, defineConformanceTests } from "../src/conformance/index.js";
import { simUnderTest } from "../src/drivers.js";

const sim = simUnderTest();
defineConformanceTests({ describe, it }, "conformance: sim", () => sim.create(), {
  exactLru: true,
  groups: allGroups.filter((g) => g !== "unprivileged"),
});

const nobody = simUnderTest({ privileged: false });
defineConformanceTests({ describe, it }, "conformance: sim without capabilities", () => nobody.create(), {
  privileged: false,
  groups: ["unprivileged"],
});

const sim3 = simUnderTest({ possibleCpus: 3 });
defineConformanceTests({ describe, it }, "conformance: sim with 3 possible CPUs", () => sim3.create(), {
  exactLru: true,
  groups: ["create", "percpu", "lru", "lru-exact", "batch", "info", "fdinfo", "safety"],
});

for (const pageSize of [16384, 65536]) {
  const paged = simUnderTest({ pageSize });
  defineConformanceTests({ describe, it }, `conformance: sim with ${pageSize / 1024} KiB pages`, () => paged.create(), {
    exactLru: true,
    groups: allGroups.filter((g) => g !== "unprivileged"),
  });
  const pagedNobody = simUnderTest({ pageSize, privileged: false });
  defineConformanceTests({ describe, it }, `conformance: sim with ${pageSize / 1024} KiB pages, without capabilities`, () => pagedNobody.create(), {
    privileged: false,
    groups: ["unprivileged"],
  });
}
