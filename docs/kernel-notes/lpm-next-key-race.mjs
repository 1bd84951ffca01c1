#!/usr/bin/env node
// Probe (needs root and a build: `npm run build`): while a second thread keeps updating a few
// existing keys of an LPM trie in place, does a GET_NEXT_KEY walk from the main thread still
// see every key? On 6.18 it does not: now and then the walk misses the updated key's sibling,
// a key nobody touched. See docs/kernel-notes.md.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const { createKernelDriver } = await import(new URL("../../packages/driver-kernel/dist/index.js", import.meta.url).href);

const KEYS = 256;
const UPDATED = [0, 77, 128, 200, 255];
const SECONDS = Number(process.env.SECONDS ?? 3);
const BPF_MAP_TYPE_LPM_TRIE = 11;
const BPF_F_NO_PREALLOC = 1;

/** 10.0.i.i/32 as an LPM key: u32 prefixlen, then the address big-endian. */
function lpmKey(i) {
  const k = new Uint8Array(8);
  new DataView(k.buffer).setUint32(0, 32, true);
  k.set([10, 0, i >> 8, i & 255], 4);
  return k;
}

if (isMainThread) {
  const d = createKernelDriver();
  const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_LPM_TRIE, keySize: 8, valueSize: 8, maxEntries: 1024, mapFlags: BPF_F_NO_PREALLOC });
  if (fd < 0) throw new Error(`map create: errno ${-fd}`);
  const value = new Uint8Array(8);
  for (let i = 0; i < KEYS; i++) if (d.mapUpdateElem(fd, lpmKey(i), value, 0) !== 0) throw new Error(`update ${i}`);
  const info = new Uint8Array(104);
  d.objGetInfoByFd(fd, info);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const writer = new Worker(new URL(import.meta.url), { workerData: { id: new DataView(info.buffer).getUint32(4, true), stop } });
  await new Promise((r) => setTimeout(r, 100));

  let walks = 0;
  let short = 0;
  const missed = new Map();
  const cur = new Uint8Array(8);
  const next = new Uint8Array(8);
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const seen = new Set();
    let r = d.mapGetNextKey(fd, null, next);
    // No key is ever deleted, so the walk never restarts: at most KEYS steps.
    while (r === 0 && seen.size <= KEYS) {
      seen.add(next[6] * 256 + next[7]);
      cur.set(next);
      r = d.mapGetNextKey(fd, cur, next);
    }
    walks++;
    if (seen.size < KEYS) {
      short++;
      for (let i = 0; i < KEYS; i++) if (!seen.has(i)) missed.set(i, (missed.get(i) ?? 0) + 1);
    }
  }
  Atomics.store(stop, 0, 1);
  await new Promise((r) => writer.on("exit", r));
  d.close(fd);
  const untouched = [...missed].filter(([i]) => !UPDATED.includes(i));
  console.log(`${walks} walks of ${KEYS} keys while keys ${UPDATED.join(", ")} were updated in place`);
  console.log(`${short} walks missed keys; missed (key: times): ${[...missed].map(([i, n]) => `${i}: ${n}`).join(", ") || "none"}`);
  console.log(untouched.length > 0 ? "untouched keys were missed: the kernel's LPM next-key race" : "no untouched key was missed in this run");
} else {
  const d = createKernelDriver();
  const fd = d.mapGetFdById(workerData.id);
  const value = new Uint8Array(8);
  for (let n = 0; Atomics.load(workerData.stop, 0) === 0; n++) {
    value[0] = n & 255;
    d.mapUpdateElem(fd, lpmKey(UPDATED[n % UPDATED.length]), value, 0);
  }
  d.close(fd);
  parentPort?.close();
}
