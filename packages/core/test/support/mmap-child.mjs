// A second process for map-memory-sharing.test.ts: it loads bpfkit itself (the built dist/, as a
// user's other process would), opens the pinned mmapable array, maps it, and reports what it
// read, having written its own slot; then it tries to freeze the map, which the test's writable
// mapping must refuse. Plain JS, as it cannot load the TS sources. One JSON line on stdout.
import { createBpf, u32, u64 } from "../../dist/index.js";
import { createKernelDriver } from "../../../driver-kernel/dist/index.js";

const { path } = JSON.parse(process.argv[2]);
const bpf = createBpf({ driver: createKernelDriver() });
const m = bpf.openMap(path, { key: u32, value: u64 });
const out = {};
const mem = m.memory();
try {
  out.seen = String(mem.load(0));
  mem.store(1, mem.load(0) + 1n);
} finally {
  mem.close();
}
try {
  m.freeze();
  out.freeze = "ok";
} catch (e) {
  out.freeze = `${e.code}: ${e.message}`;
}
m.close();
process.stdout.write(`${JSON.stringify(out)}\n`);
