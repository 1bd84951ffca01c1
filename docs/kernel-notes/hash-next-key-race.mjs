#!/usr/bin/env node
// Probe (needs root and a build: `npm run build`): while a second thread deletes and re-inserts
// other keys of a hash map, does a GET_NEXT_KEY walk from the main thread that runs to its end
// still see every key nobody touched? The kernel does not promise it: htab_map_get_next_key()
// finds the current key's element, then reads its `next` pointer, and a preallocated element
// deleted and reused for another key in between links into another bucket's chain, so the walk
// goes on from that bucket. See docs/kernel-notes.md.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const { createKernelDriver } = await import(new URL("../../packages/driver-kernel/dist/index.js", import.meta.url).href);

const STABLE = 300;
const CHURN = 600;
const SECONDS = Number(process.env.SECONDS ?? 10);
const BPF_MAP_TYPE_HASH = 1;
const ENOENT = 2;

const u32 = (n) => new Uint8Array(new Uint32Array([n]).buffer);

if (isMainThread) {
  const d = createKernelDriver();
  const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 4, maxEntries: 1024, mapFlags: Number(process.env.MAP_FLAGS ?? 0) });
  if (fd < 0) throw new Error(`map create: errno ${-fd}`);
  for (let i = 0; i < STABLE; i++) if (d.mapUpdateElem(fd, u32(i), u32(i), 0) !== 0) throw new Error(`update ${i}`);
  const info = new Uint8Array(104);
  d.objGetInfoByFd(fd, info);
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const churn = new Worker(new URL(import.meta.url), { workerData: { id: new DataView(info.buffer).getUint32(4, true), stop } });
  await new Promise((r) => setTimeout(r, 100));

  let walks = 0, ended = 0, short = 0, worst = STABLE;
  const cur = new Uint8Array(4), next = new Uint8Array(4);
  const nextView = new DataView(next.buffer);
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    // A next-key on a deleted key starts over from the first bucket: that only ever repeats keys.
    const seen = new Set();
    let r = d.mapGetNextKey(fd, null, next);
    let steps = 0;
    while (r === 0 && steps++ < 50 * (STABLE + CHURN)) {
      const k = nextView.getUint32(0, true);
      if (k < STABLE) seen.add(k);
      cur.set(next);
      r = d.mapGetNextKey(fd, cur, next);
    }
    walks++;
    if (r !== -ENOENT) continue;
    ended++;
    if (seen.size < STABLE) {
      short++;
      worst = Math.min(worst, seen.size);
    }
  }
  Atomics.store(stop, 0, 1);
  await new Promise((r) => churn.on("exit", r));
  d.close(fd);
  console.log(`${walks} walks (${ended} ran to the end) of ${STABLE} untouched keys while ${CHURN} others were deleted and re-inserted`);
  console.log(short > 0
    ? `${short} walks that ran to the end missed untouched keys (the worst saw ${worst} of ${STABLE}): the kernel's hash next-key race`
    : "no walk that ran to the end missed an untouched key in this run");
} else {
  const d = createKernelDriver();
  const fd = d.mapGetFdById(workerData.id);
  const v = new Uint8Array(4);
  for (let n = 0; Atomics.load(workerData.stop, 0) === 0; n++) {
    const k = u32(STABLE + (n % CHURN));
    d.mapDeleteElem(fd, k);
    d.mapUpdateElem(fd, k, v, 0);
  }
  d.close(fd);
  parentPort?.close();
}
