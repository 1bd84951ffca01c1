// Every conformance case, in spec order.
import type { ConformanceCase } from "../types.js";
import { arrayCases } from "./array.js";
import { batchCases } from "./batch.js";
import { btfCases } from "./btf.js";
import { createCases, unprivilegedCases } from "./create.js";
import { dupCases } from "./dup.js";
import { elementCases } from "./elements.js";
import { fdInfoCases } from "./fdinfo.js";
import { hashCases } from "./hash.js";
import { lpmCases } from "./lpm.js";
import { lruCases } from "./lru.js";
import { mapInMapCases } from "./map-in-map.js";
import { memAllocCases } from "./mem-alloc.js";
import { mmapCases } from "./mmap.js";
import { mmapAtomicCases } from "./mmap-atomic.js";
import { fdModeCases, freezeCases, idCases, infoCases, pinCases } from "./objects.js";
import { perCpuCases } from "./percpu.js";
import { queueStackCases } from "./queue-stack.js";
import { bloomCases } from "./bloom.js";
import { btfCheckCases } from "./btf-checks.js";
import { progAttachCases } from "./prog-attach.js";
import { renameCases } from "./rename.js";
import { ringbufCases } from "./ringbuf.js";
import { progBtfCases } from "./prog-btf.js";
import { perfCases } from "./perf.js";
import { progInfoCases, progLoadCases, progRewriteCases } from "./programs.js";
import { safetyCases } from "./safety.js";

/** Every case of the conformance suite, in spec order: what `runConformance` selects from and runs. */
export const conformanceCases: readonly ConformanceCase[] = [
  ...createCases, ...elementCases, ...memAllocCases, ...freezeCases, ...hashCases, ...perCpuCases, ...lruCases,
  ...arrayCases, ...lpmCases, ...queueStackCases, ...bloomCases, ...mmapCases, ...mmapAtomicCases, ...ringbufCases, ...perfCases, ...batchCases, ...mapInMapCases, ...pinCases, ...renameCases, ...fdModeCases,
  ...dupCases, ...idCases, ...infoCases, ...fdInfoCases, ...progInfoCases, ...progLoadCases, ...progRewriteCases, ...progBtfCases, ...progAttachCases, ...btfCases, ...safetyCases, ...unprivilegedCases,
  ...btfCheckCases,
];

{
  const seen = new Set<string>();
  for (const c of conformanceCases) {
    if (seen.has(c.name)) throw new Error(`duplicate conformance case name: ${c.name}`);
    seen.add(c.name);
  }
}
