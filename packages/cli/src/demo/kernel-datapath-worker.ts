// The kernel demo's datapath thread (see kernel-datapath.ts). It waits while paused, so the
// datapath acts only while a GC pass runs, and stops when told. The fd is the main thread's (the
// driver learns its sizes on first use); this thread never closes it.
import { workerData } from "node:worker_threads";
import { BPF_NOEXIST, Errno } from "@bpfkit/core";
import { createKernelDriver } from "@bpfkit/driver-kernel";
import { ctKey, ctValue, flowKey, prng } from "./conntrack.js";
import { CONTROL } from "./kernel-datapath.js";

const { mapFd: fd, from, to, present: presentSab, control: controlSab, seed, expires } = workerData as {
  mapFd: number; from: number; to: number; present: SharedArrayBuffer; control: SharedArrayBuffer; seed: number; expires: bigint;
};
const control = new Int32Array(controlSab);
const present = new Int8Array(presentSab);
const d = createKernelDriver();
const rand = prng(seed ^ 0x5eed);
const key = new Uint8Array(ctKey.size);
const value = new Uint8Array(ctValue.size);
ctValue.encode({ expires, packets: 1n }, value);
Atomics.store(control, CONTROL.READY, 1);
while (Atomics.load(control, CONTROL.STOP) === 0) {
  if (Atomics.load(control, CONTROL.RUN) === 0) {
    Atomics.wait(control, CONTROL.RUN, 0, 50);
    continue;
  }
  const i = from + Math.floor(rand() * (to - from));
  ctKey.encode(flowKey(i), key);
  let r: number;
  if (present[i - from] === 1) {
    r = d.mapDeleteElem(fd, key);
    if (r === 0) Atomics.add(control, CONTROL.DELETES, 1);
    present[i - from] = 0;
  } else {
    r = d.mapUpdateElem(fd, key, value, BPF_NOEXIST);
    if (r === 0) Atomics.add(control, CONTROL.INSERTS, 1);
    present[i - from] = 1;
  }
  Atomics.add(control, CONTROL.STEPS, 1);
  Atomics.notify(control, CONTROL.STEPS);
  // A flow the GC removed, or a full table, is the datapath's daily life; anything else is a bug
  // the main thread reports when it stops this one.
  if (r < 0 && r !== -Errno.ENOENT && r !== -Errno.EEXIST && r !== -Errno.E2BIG) {
    Atomics.store(control, CONTROL.FAILED, -r);
    break;
  }
}
