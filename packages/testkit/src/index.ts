// @bpfkit/testkit: what every driver must pass, and the tools to find where one does not.
export * from "./bpffs.js";
export * from "./drivers.js";

// ---- arbitraries, reference model, differential runner, dump-reliability fuzzer
export {
  type MapSpec, type MapSpecOptions, type SpecMutation, FD_VALUE_MAP_TYPES, KEYLESS_MAP_TYPES, MAP_IN_MAP_TYPES, SPEC_MAP_TYPES,
  SPEC_MUTATIONS, breakSpec, isKeylessMapType, isMapInMapType, mapSpecArb,
} from "./arbitraries/map-spec.js";
export { INNER_VARIANTS, type InnerVariant, NUMA_NO_NODE, SIZE_EDGES, type SizeEdge } from "./arbitraries/wide-spec.js";
export { type SpecBtf, specBtfBlob } from "./arbitraries/btf-spec.js";
export { addBtfKindSample, type BtfKindSampleIds } from "./btf-kind-sample.js";
export { keyArb, keyFromMaterial, keyMaterialArb, valueArb, valueFromSeed } from "./arbitraries/keys.js";
export {
  type Op, type Program, type ProgramOptions, PROGRAM_MAP_TYPES, formatOp, formatProgram, formatSpec, isOrderFree, keyPoolLimit, programArb,
} from "./arbitraries/program.js";
export {
  type RingConsume, type RingMutation, type RingOp, type RingSize, RING_MUTATIONS, RING_SIZES, formatRingOp, isRingOp, ringMmapRange,
} from "./arbitraries/ring-ops.js";
export { jhash } from "./model/jhash.js";
export { MODELLED_MAP_TYPES, NotModelledError, checkMapCreate, effectiveMaxEntries, mapExtraOf } from "./model/create-check.js";
export type { ModelTable } from "./model/table.js";
export { HashTable, roundUpPow2 } from "./model/hash-table.js";
export { ArrayTable } from "./model/array-table.js";
export { LpmTable, lpmCompare } from "./model/lpm-table.js";
export { QueueStackTable } from "./model/queue-stack-table.js";
export { BloomTable, bloomBitsetMask } from "./model/bloom-table.js";
export { type ModelDriver, type ModelDriverOptions, createModelDriver } from "./model/model-driver.js";
export { type ProgramTrace, type RunProgramOptions, runProgram } from "./diff/run-program.js";
export { type Divergence, firstDivergence, formatDivergence } from "./diff/compare.js";
export { type DriverChoice, type DriverName, type ResolvedDriver, resolveDriver, resolvePair } from "./diff/driver-choice.js";
export {
  type Counterexample, type DifferentialOptions, type DifferentialProgress, type DifferentialSummary,
  type DriverThroughput, formatSummary, runDifferential,
} from "./diff/run-differential.js";
export {
  type BtfCase, type BtfCounterexample, type BtfDifferentialOptions, type BtfDifferentialProgress, type BtfDifferentialSummary,
  type BtfDivergence, type BtfLogDraw, type BtfMapDraw, type BtfTrace, BTF_FUZZ_MAP_TYPES, btfCaseArb, formatBtfCase, formatBtfSummary,
  runBtfCase, runBtfDifferential,
} from "./diff/run-btf.js";
export { type BtfFault, type BtfGraph, type BtfRef, type BtfTypeDraw, type BtfWord, type AutoWord, btfGraphArb, btfGraphTypeSize, encodeBtfGraph, formatBtfGraph } from "./arbitraries/btf-graph.js";
export { type DatapathOp, type InterleavingOptions, type InterleavingStep, datapathOpArb, formatInterleaving, interleavingArb } from "./arbitraries/interleaving.js";
export { type InterleavingPlay, type ScheduledCall, playInterleaving } from "./play-interleaving.js";
export { DUMP_FUZZ_MAP_TYPES, type DumpCase, type DumpCaseOptions, dumpCaseArb, formatDumpCase } from "./dump-fuzz/dump-case.js";
export { type Delivery, type DumpFuzzAlgorithm, type DumpRun, checkDump } from "./dump-fuzz/check-dump.js";
export { type DatapathRecord, newDatapathRecord } from "./dump-fuzz/datapath.js";
export { KeyUniverse, keyBytes } from "./dump-fuzz/universe.js";
export { type SimModule, simulatorPerCase } from "./dump-fuzz/sim-per-case.js";
export {
  type DumpFuzzOptions, type DumpFuzzProgress, type DumpFuzzSummary, type DumpFuzzViolation,
  type DumpImplementation, CORE_DUMPS, formatDumpFuzzSummary, runDumpFuzz,
} from "./dump-fuzz/run-dump-fuzz.js";

// ---- the driver conformance suite and its mutants
export * from "./conformance/index.js";

// ---- a ring buffer producer on either driver, for testing readers
export { type RingbufProducer, ringbufProducerFor } from "./ringbuf/producer.js";
export { type PerfProducer, perfProducerFor } from "./perf/producer.js";
export type { PairCommit } from "./ringbuf/programs.js";
export {
  DRAIN_EMPTY_VALUE, DRAIN_SAMPLE_SLOTS, DRAIN_STOP_VALUE, type DrainedSample, type RawUserRecord, runUserRingDrainCase, simUserRingDrain,
  USER_RING_DRAIN_CASES, type UserRingDrain,
  type UserRingDrainCase, type UserRingDrainOutcome, UserRingWriter,
} from "./ringbuf/user-ring-writer.js";
export {
  kernelUserRingDrainer, type KernelUserRingDrainer, userRingDrainBtf, userRingDrainerFor, userRingDrainKind, userRingDrainProgram,
} from "./ringbuf/user-ring-drain-program.js";
export { settledWithin } from "./settled-within.js";
