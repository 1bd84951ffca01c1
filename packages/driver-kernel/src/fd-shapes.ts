// What this thread knows about its map fds, so that every buffer is checked against what the
// kernel will read or write before bpf(2) runs. One table for every kernel driver of the module
// instance, because fd numbers are per process: a close through any driver must forget the fd
// before the number is reused for another map. A worker thread that loads the driver has its own
// instance and table, which a close in another thread does not reach: threads share maps by pin
// or id, not fd number (docs/bpf-instance-and-codecs.md, "Several processes and threads").
//
// The table is a flat Int32Array indexed by fd (STRIDE slots each) rather than objects: the
// element hot path then touches one more page, not several. With PTI and no PCID (this VM)
// every syscall flushes the TLB, so what the hot path touches is refilled on every call.
import { batchTokenSize, userValueSize } from "@bpfkit/core";

export const STRIDE = 4;
/** Slot 0: key_size + 1 (0 = unknown fd; queue/stack maps have key_size 0). */
export const KEY = 0;
/** Slot 1: bytes of one user-space value (per-CPU: roundUp(value_size, 8) × possible CPUs). */
export const VALUE = 1;
/** Slot 2: bytes of a batch token. */
export const TOKEN = 2;
/** Slot 3: map type. */
export const TYPE = 3;

/** The table; replaced (not resized in place) when an fd outgrows it. */
export let shapes: Int32Array = new Int32Array(256 * STRIDE);

/**
 * A driver's copy of one fd's row, kept in its own fields so the hot path reads no table page.
 * The table clears every copy of a row it changes (`hotFd = -1`), so no driver acts on a map
 * that was closed, even through another driver, or replaced under the same fd number.
 */
export interface HotFd {
  hotFd: number;
}

const hot = new Set<WeakRef<HotFd>>();
const unwatch = new FinalizationRegistry<WeakRef<HotFd>>((ref) => hot.delete(ref));

/** Registers a driver's hot copy for clearing; it is dropped once the driver is garbage. */
export function watch(cache: HotFd): void {
  const ref = new WeakRef(cache);
  hot.add(ref);
  unwatch.register(cache, ref);
}

function clearHot(fd: number): void {
  for (const ref of hot) {
    const c = ref.deref();
    if (c !== undefined && c.hotFd === fd) c.hotFd = -1;
  }
}

/** The row of `fd`, cleared of hot copies, the table grown to hold it. */
function rowFor(fd: number): number {
  clearHot(fd);
  const at = fd * STRIDE;
  if (at >= shapes.length) {
    const grown = new Int32Array(Math.max(shapes.length * 2, (fd + 1) * STRIDE * 2));
    grown.set(shapes);
    shapes = grown;
  }
  return at;
}

export function rememberMap(fd: number, mapType: number, keySize: number, valueSize: number, possibleCpus: number): void {
  const at = rowFor(fd);
  shapes[at + KEY] = keySize + 1;
  shapes[at + VALUE] = userValueSize(mapType, valueSize, possibleCpus);
  shapes[at + TOKEN] = batchTokenSize(mapType, keySize);
  shapes[at + TYPE] = mapType;
}

/** `copy` (a dup of `fd`) takes `fd`'s row: the same map, so the same shape. */
export function rememberCopy(fd: number, copy: number): void {
  const from = shapeIndex(fd);
  if (from < 0) return;
  const to = rowFor(copy);
  // rowFor may have replaced the table: read the source row from the one in use now.
  shapes.copyWithin(to, from, from + STRIDE);
}

/** The table index of a known map fd, or -1. */
export function shapeIndex(fd: number): number {
  const at = fd * STRIDE;
  return fd >= 0 && at < shapes.length && shapes[at + KEY] !== 0 ? at : -1;
}

export function forget(fd: number): void {
  clearHot(fd);
  const at = fd * STRIDE;
  if (fd >= 0 && at < shapes.length) shapes.fill(0, at, at + STRIDE);
}
