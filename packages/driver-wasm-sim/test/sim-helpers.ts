// Helpers for the simulator's tests: run one scenario on the simulator and on the kernel, each
// with its own private bpffs, and compare what they answered. Fds and ids differ between the two
// worlds (other engineers' maps exist on the kernel), so scenarios record them symbolically.
import { errnoName, type Driver } from "@bpfkit/core";
import { expect } from "vitest";
import { kernelUnderTest, mountPrivateBpffs } from "@bpfkit/testkit";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { instantiateEngine } from "@bpfkit/driver-wasm-sim";
import type { EngineExports, SimDriver, SimDriverOptions } from "@bpfkit/driver-wasm-sim";

export const kernel = kernelUnderTest();
if (kernel.unavailable !== undefined) console.log(`kernel comparisons skipped: ${kernel.unavailable}`);

let kernelInstance: Driver | undefined;
/** The one kernel driver of this test file. */
export function kernelDriver(): Driver {
  kernelInstance ??= kernel.create();
  return kernelInstance;
}

export function sim(options?: SimDriverOptions): SimDriver {
  return createSimDriver({ possibleCpus: 2, ...options });
}

/**
 * An engine factory whose mapUpdate traps (WebAssembly's "unreachable") once `trap.on` is set,
 * for tests of what the driver does after its engine broke.
 */
export function trappingEngine(trap: { on: boolean }): () => EngineExports {
  return () => {
    const real = instantiateEngine();
    return { ...real, memory: real.memory, mapUpdate: (h, k, v, f) => {
      if (trap.on) throw new WebAssembly.RuntimeError("unreachable");
      return real.mapUpdate(h, k, v, f);
    } };
  };
}

export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
export const u64 = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
export const readU32 = (b: Uint8Array, off = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);
export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** What a scenario sees: its driver, a private bpffs, and a recorder. */
export interface Scene {
  readonly d: Driver;
  readonly bpffs: string;
  /** A scratch directory that is not on bpffs. */
  readonly plainDir: string;
  readonly log: unknown[];
  /** Records a result; fds (>= 3 when `fd`) become "fd", errnos their names. */
  rec(label: string, r: number, kind?: "fd" | "ret"): number;
  /** Records an id as its symbolic name (first id seen is id#0, …). */
  recId(label: string, id: number): void;
  /** Remembers an fd to close at the end. */
  keep(fd: number): number;
}

export const errName = (r: number): string => (r >= 0 ? "OK" : errnoName(-r));

let dirCounter = 0;

function runScene(d: Driver, scenario: (s: Scene) => void): unknown[] {
  const fs = mountPrivateBpffs(d);
  const plainDir = `/tmp/bpfkit-sim-plain-${process.pid}-${dirCounter++}`;
  d.host.mkdirAll(plainDir, 0o700);
  const ids = new Map<number, string>();
  const fds: number[] = [];
  const log: unknown[] = [];
  const scene: Scene = {
    d, bpffs: fs.path, plainDir, log,
    rec(label, r, kind = "ret") {
      log.push([label, r < 0 ? errName(r) : kind === "fd" ? "fd" : r]);
      return r;
    },
    recId(label, id) {
      if (!ids.has(id)) ids.set(id, `id#${ids.size}`);
      log.push([label, ids.get(id)]);
    },
    keep(fd) {
      if (fd >= 0) fds.push(fd);
      return fd;
    },
  };
  try {
    scenario(scene);
  } finally {
    for (const fd of fds) d.close(fd);
    fs.dispose();
    d.host.removeAll(plainDir);
  }
  return log;
}

/**
 * Runs `scenario` on a fresh simulator and, where bpf(2) works, on the kernel; returns both logs.
 * The caller asserts they are equal and checks the simulator's log against known answers.
 */
export function onBoth(scenario: (s: Scene) => void, options?: SimDriverOptions): { sim: unknown[]; kernel: unknown[] | undefined } {
  const s = runScene(sim(options), scenario);
  const k = kernel.unavailable === undefined ? runScene(kernelDriver(), scenario) : undefined;
  return { sim: s, kernel: k };
}

/** Both transcripts equal, and the simulator's contains each expected [label, answer]. */
export function check(r: { sim: unknown[]; kernel: unknown[] | undefined }, expected: Array<[string, ...unknown[]]>): void {
  if (r.kernel !== undefined) expect(r.sim).toEqual(r.kernel);
  for (const e of expected) expect(r.sim).toContainEqual(e);
}

/** The info bytes of an fd, decoded as bpf_map_info's first fields. */
export function mapInfo(d: Driver, fd: number): { type: number; id: number; keySize: number; valueSize: number; maxEntries: number; mapFlags: number; name: string } {
  const b = new Uint8Array(104);
  const r = d.objGetInfoByFd(fd, b);
  if (r < 0) throw new Error(`objGetInfoByFd(${fd}): ${errName(r)}`);
  const name = Buffer.from(b.subarray(24, 40)).toString("latin1").replace(/\0.*$/s, "");
  return { type: readU32(b, 0), id: readU32(b, 4), keySize: readU32(b, 8), valueSize: readU32(b, 12), maxEntries: readU32(b, 16), mapFlags: readU32(b, 20), name };
}

/** Polls `cond` for up to a second: the kernel frees some things in a workqueue. */
export function eventually(cond: () => boolean): boolean {
  const end = Date.now() + 1000;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    const t = Date.now() + 5;
    while (Date.now() < t) { /* spin: tests are synchronous */ }
  }
}

/** Minimal programs: `r0 = imm; exit`. */
export function retProg(imm: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 0xb7;
  new DataView(b.buffer).setInt32(4, imm, true);
  b[8] = 0x95;
  return b;
}

/** `r1 = map fd (ld_imm64 BPF_PSEUDO_MAP_FD); r0 = 0; exit`: a program that holds a map. */
export function progUsingMap(mapFd: number): Uint8Array {
  const b = new Uint8Array(32);
  b[0] = 0x18;
  b[1] = 0x10 | 1; // src_reg = BPF_PSEUDO_MAP_FD, dst_reg = r1
  new DataView(b.buffer).setInt32(4, mapFd, true);
  b[16] = 0xb7;
  b[24] = 0x95;
  return b;
}
