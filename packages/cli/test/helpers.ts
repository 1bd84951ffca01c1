// Runs the real `bpfkit` command in-process over a given driver, capturing what it prints.
import { afterAll, beforeAll, expect } from "vitest";
import { decodeMapInfo, MAP_INFO_SIZE, type Driver, type MapCreateAttr } from "@bpfkit/core";
import { createSimDriver, type SimDriver } from "@bpfkit/driver-wasm-sim";
import { mountPrivateBpffs, type DriverUnderTest, type PrivateBpffs } from "@bpfkit/testkit";
import { captureIo, main, parseType } from "../src/index.js";

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** A `bpfkit` bound to one driver (the same world across calls, as a host is). */
export function cliOver(driver: Driver, env: Record<string, string> = {}): (...argv: string[]) => Promise<Run> {
  return async (...argv) => {
    const io = captureIo({ env, createDriver: () => driver, kernelAvailable: () => undefined });
    const code = await main(argv, io);
    return { code, out: io.text(), err: io.errText() };
  };
}

export interface SimMaps {
  /** A simulator of the test's own, fresh: its maps are the test's, ids 1, 2, … in order. */
  d: SimDriver;
  fds: number[];
  /** `bpfkit` over `d` (cliOver(d)). */
  bpfkit: (...argv: string[]) => Promise<Run>;
}

/**
 * Runs `fn` with a fresh simulator holding one map per attr, made in order, and closes their fds
 * afterwards whatever happens; resolves with what `fn` returns.
 */
export async function withSimMaps<T>(attrs: readonly MapCreateAttr[], fn: (m: SimMaps) => T | Promise<T>): Promise<T> {
  const d = createSimDriver();
  const fds: number[] = [];
  try {
    for (const attr of attrs) {
      const fd = d.mapCreate(attr);
      if (fd < 0) throw new Error(`withSimMaps: BPF_MAP_CREATE answered ${fd}`);
      fds.push(fd);
    }
    return await fn({ d, fds, bpfkit: cliOver(d) });
  } finally {
    for (const fd of fds) d.close(fd);
  }
}

/** withSimMaps with one map (id 1), its fd as `fd`. */
export function withSimMap<T>(attr: MapCreateAttr, fn: (m: Omit<SimMaps, "fds"> & { fd: number }) => T | Promise<T>): Promise<T> {
  return withSimMaps([attr], ({ fds, ...rest }) => fn({ ...rest, fd: fds[0]! }));
}

/** The bytes `text` becomes as a value of the type `spec` (as `--key-type`/`--value-type` read it). */
export function encodeText(spec: string, text: string): number[] {
  const t = parseType(spec);
  const b = new Uint8Array(t.size);
  t.parse(text, b, 0);
  return Array.from(b);
}

export function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

export function u64le(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

/** The two-instruction socket filter of kernel-maps.md §2: r0 = 0; exit. */
export const SOCKET_FILTER_INSNS = Uint8Array.of(
  0xb7, 0, 0, 0, 0, 0, 0, 0, // mov r0, 0
  0x95, 0, 0, 0, 0, 0, 0, 0, // exit
);

export interface PinnedMap {
  fd: number;
  id: number;
  path: string;
}

/**
 * A map for a CLI test: created with `attr`, pinned as `pin` under `dir` (a private bpffs), its
 * fd pushed on `fds` for the test to close.
 */
export function createPinned(d: Driver, dir: string, fds: number[], attr: Parameters<Driver["mapCreate"]>[0], pin: string): PinnedMap {
  const fd = d.mapCreate(attr);
  expect(fd, `create ${pin}`).toBeGreaterThanOrEqual(0);
  fds.push(fd);
  const info = new Uint8Array(MAP_INFO_SIZE);
  expect(d.objGetInfoByFd(fd, info)).toBeGreaterThan(0);
  const path = `${dir}/${pin}`;
  expect(d.objPin(fd, path)).toBe(0);
  return { fd, id: decodeMapInfo(info).id, path };
}

/** What `suiteWorld` sets up for a suite: read its fields inside tests and hooks, not before. */
export interface SuiteWorld {
  /** The suite's driver of the kind under test. */
  readonly d: Driver;
  /** A private bpffs on it, removed after the suite. */
  readonly fs: PrivateBpffs;
  /** Fds the tests open (createPinned pushes there), closed after the suite. */
  readonly fds: number[];
  /** `bpfkit` over `d`. */
  bpfkit(...argv: string[]): Promise<Run>;
}

/**
 * For a describe block: a driver of `dut`, a private bpffs and `bpfkit` over them, made before
 * its tests and closed and unmounted after them.
 */
export function suiteWorld(dut: DriverUnderTest): SuiteWorld {
  let d: Driver | undefined;
  let fs: PrivateBpffs | undefined;
  let run: ((...argv: string[]) => Promise<Run>) | undefined;
  const fds: number[] = [];
  beforeAll(() => {
    d = dut.create();
    fs = mountPrivateBpffs(d);
    run = cliOver(d);
  });
  afterAll(() => {
    for (const fd of fds) d?.close(fd);
    fs?.dispose();
  });
  return {
    get d() { return d!; },
    get fs() { return fs!; },
    fds,
    bpfkit: (...argv) => run!(...argv),
  };
}
