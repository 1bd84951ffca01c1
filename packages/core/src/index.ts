export * from "./constants.js";
export * from "./bpf-enums.js";
export * from "./errno.js";
export * from "./errors.js";
export * from "./driver.js";
export { type AbortSignalLike, isAbortSignalLike } from "./abort-signal.js";
export * from "./layout.js";
export * from "./info.js";
export { getMapFdInfo, mapFdInfoIfReadable, parseMapFdInfo, type MapFdInfo } from "./fdinfo.js";
export * from "./driver-checks.js";
export { describeValue } from "./describe-value.js";
export { checkPerfEventOpenAttr, type PerfWakeup } from "./perf-event-attr.js";
// core-a: the Bpf instance, the seed's functions, codecs, programs.
export * from "./bpf.js";
export * from "./codec.js";
export * from "./endpoint.js";
export * from "./ip.js";
export * from "./dump-parser.js";
export * from "./logger.js";
export { MetricOp, meteredDriver, nowMs, type MetricsHook, type Outcome } from "./metrics.js";
export * from "./common-name.js";
export { cleanPath, joinPath, basename, dirname, mapNameProblem, assertMapName, localMapName } from "./paths.js";
export { kernelNameProblem, assertKernelName } from "./kernel-name.js";
export { allowsPreallocation, requiresPreallocation, preAllocateMapFlags } from "./prealloc.js";
export { driverProber, MapTypeProbes, probeTellsMapType, type MapTypeProber } from "./probes.js";
export { DEFAULT_FALLBACK_MAP_ROOT, isMountFs, hasMultipleMounts } from "./bpffs.js";
export { DUMMY_PROG_INSNS, getProgMapIds, type ProgInfo } from "./prog.js";
export { accessOfFileFlags, type AccessFlags, type OpenMapOptions } from "./access-mode.js";
export { btfCodecs, rawCodecs, type OpenedMapShape, type OpenMapCodecChooser } from "./opened-codecs.js";
export { getMapNextId, getProgNextId, mapIds, progIds } from "./object-ids.js";
export { BtfHandle, btfIds, BtfLoadError, DEFAULT_BTF_LOG_SIZE, loadBtf, openBtfById, type LoadBtfOptions } from "./btf-objects.js";
export { MapRegistry } from "./registry.js";
export type { SyscallContext } from "./syscalls.js";
// core-b: the map object, dumps, the cache, iterators, batches, per-CPU maps.
export { type MapBtfInfo } from "./map-btf.js";
export { BpfMap, type BpfMapInternal, type DesiredMapInfo, type WithCacheOptions } from "./map.js";
export { MapMemory, type MapMemoryInit, type MapMemoryOptions, type MemoryFieldName, type WordFieldArgs, type WordFieldName } from "./map-memory.js";
export { MappedWord, type WordAtomic } from "./mapped-word.js";
export { MapIncompatibleError, mapDifferences, type MapDifference, type WantedMapProperties } from "./map-compat.js";
export { type BpfMapModel, type CompatibleSpec, type DumpAlgorithmChoice, type DumpCallback, type DumpOptions, type MapSpec, type MapValidator, type OpenMapCodecs } from "./map-spec.js";
export {
  DesiredAction, desiredActionString, MapCache, systemClock, MAX_SYNC_ERRORS, ERROR_RESOLVER_DELAY_MS,
  ERROR_RESOLVER_INTERVAL_MS, type BpfMapEntryModel, type CacheEntry, type ResolverClock, type ResolverRun,
} from "./map-cache.js";
export {
  DEFAULT_EVENTS_MAX_SIZE, type EventClock, type MapEvent, type MapEventAction, type MapEventCallback, type MapEventOp,
  type SubscribeEventsOptions, type Unsubscribe, type WithEventsOptions,
} from "./map-events.js";
export { newDumpStats, dumpDuration, type DumpAlgorithm, type DumpStats } from "./dump-stats.js";
export { walkDump, batchDump, BatchScratch, lookupBudget, type DumpTarget, type RawSink } from "./dump-reliable.js";
export { lpmKeyOrder } from "./lpm-order.js";
export { countCpuList, parseCpuList } from "./cpu-list.js";
export { iterateMap, DEFAULT_MAX_RESTARTS, type IterateOptions } from "./iterate.js";
export { BatchCursor, BatchError, lookupBatchRaw, updateBatchRaw, deleteBatchRaw, type RawBatch } from "./map-batch.js";
export { newPerCpuHashMap, newPerCpuMap, perCpuValues, type PerCpuMapSpec } from "./percpu.js";
// Keyless maps: queue, stack and bloom filter.
export { KeylessMap, type KeylessKind, type KeylessMapRef, type KeylessMapSpec, type KeylessOpened } from "./keyless-map.js";
export { BpfQueueMap, type DrainOptions, type PushOptions, type QueueMapSpec } from "./queue-map.js";
export {
  BpfBloomFilter, bloomHashFunctions, DEFAULT_BLOOM_HASH_FUNCTIONS, MAX_BLOOM_HASH_FUNCTIONS, type BloomFilterSpec,
} from "./bloom-filter.js";
// Ring buffers: records from programs, read through the map's pages.
export { RingMap, type RingSide } from "./ring-map.js";
export { BpfRingBuf, type RingBufSpec } from "./ringbuf.js";
export { BpfUserRingBuf, type UserRingBufSpec } from "./user-ringbuf.js";
export {
  USER_RINGBUF_MAX_SAMPLE, UserRingBufProducer, type UserRingBufProducerInit, UserRingBufSample, type UserRingBufSampleHost,
  type UserRingBufWaitOptions,
} from "./user-ringbuf-producer.js";
export {
  BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ, RINGBUF_PAGE_SIZE, RingPages, type RingPagesInit, type RingBufWaitOptions,
} from "./ring-pages.js";
export { RingBufReader, type RingBufReaderInit } from "./ringbuf-reader.js";
// Perf event arrays: samples from programs, read through a perf event per CPU.
export {
  BpfPerfEventArray, DEFAULT_PERF_BUFFER, type PerfEventArraySpec, type PerfReaderOptions,
} from "./perf-event-array.js";
export { PerfReader, type PerfReaderInit, type PerfReaderSlot, type PerfReadOptions } from "./perf-reader.js";
export { PERF_RECORD_LOST, PERF_RECORD_SAMPLE, type PerfRecord } from "./perf-ring.js";
export { DEFAULT_PAGE_SIZE, driverPageSize, isPageSize } from "./page-size.js";
export { sameMapExtra } from "./map-compat.js";
export * from "./driver-wrap.js";
export { assertOptionKeys, optionKeys } from "./option-keys.js";
export { editDistance } from "./edit-distance.js";
export * from "./btf/index.js";
export { bpfSpinLock, type SpinLockCodec } from "./spin-lock.js";
