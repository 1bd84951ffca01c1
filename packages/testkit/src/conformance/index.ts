export { runConformance, runCase, selectCases, skipReason, formatReport } from "./run.js";
export { defineConformanceTests, type TestApi } from "./define-tests.js";
export { defineMapPollTests, mapPollCases, type PollCase, type PollWorld } from "./map-poll-tests.js";
export { definePerfPollTests, perfPollCases, type PerfPollCase, type PerfPollWorld } from "./perf-poll-tests.js";
export { conformanceCases } from "./cases/index.js";
export { CaseContext } from "./context.js";
export { ConformanceError, CaseSkipped } from "./assert.js";
export { onCpu0, onCpu, canPinCpu } from "./pin-cpu.js";
export { mutants, type Mutant } from "./mutants.js";
// The suite's own models (kernel-maps.md §5, §7, §9), for users who want to predict a driver.
export { HtabModel } from "./models/htab.js";
export { lpmMatch } from "./models/lpm.js";
export { commonLruLive, perCpuLruLive } from "./models/lru.js";
// The raw BTF writer the `btf` cases build their blobs with, malformed ones too.
export {
  BTF_HDR_LEN, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_MAGIC, btfArray, btfBlob, btfEnum, btfFuncProto, btfInfo, btfInt,
  BtfKind, btfRef, btfStrings, btfStruct, pairBlob, type BtfBlobParts,
} from "./btf-blob.js";
export {
  allGroups, type ConformanceCase, type ConformanceGroup, type ConformanceOptions, type ConformanceReport,
  type CaseFailure, type CaseSkip, type CaseOutcome,
} from "./types.js";
