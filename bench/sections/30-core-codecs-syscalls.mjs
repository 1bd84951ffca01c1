// core-a's hot paths: the codecs every BpfMap call encodes and decodes through, and the seed's
// element functions on Bpf (error mapping and the optional syscall-duration hook) against the
// raw kernel driver call they wrap.

/** What each of the two sections this file writes measures. */
export const about = {
  "core codecs": "One encode into a reused buffer plus one decode, per op (no syscall).",
  "core syscall layer": [
    "`bpf.lookupElement` on a 100k-entry hash (key 4, value 8) over the kernel driver; the ratio",
    "column is Bpf / raw `driver.mapLookupElem` (not C), on the fastest rounds' thread CPU time.",
    "The metrics case adds a `syscall` hook that only counts.",
  ].join("\n"),
};

const ENTRIES = 100_000;

function codecCase(ctx, name, codec, values, rounds) {
  const out = new Uint8Array(codec.size);
  const n = values.length;
  const reps = ctx.quick ? 20 : 200;
  const s = ctx.summarize(ctx.measure(() => {
    let sink = 0;
    for (let r = 0; r < reps; r++) {
      for (let i = 0; i < n; i++) {
        codec.encode(values[i], out);
        if (codec.decode(out) !== undefined) sink++;
      }
    }
    if (sink !== reps * n) throw new Error("decode returned undefined");
    return reps * n;
  }, rounds));
  return { section: "core codecs", case: name, ns_per_op: s.min, note: `median ${s.median.toFixed(1)} ns` };
}

export async function run(ctx) {
  const core = await ctx.import("core");
  const rounds = ctx.quick ? 3 : 7;
  const rows = [];
  const nums = Array.from({ length: 1000 }, (_, i) => (i * 2654435761) >>> 0);
  rows.push(codecCase(ctx, "u32", core.u32, nums, rounds));
  rows.push(codecCase(ctx, "u64 (bigint)", core.u64, nums.map((x) => BigInt(x) * 65537n), rounds));
  const ips = nums.map((x) => `${x >>> 24}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`);
  rows.push(codecCase(ctx, "ipv4 (string)", core.ipv4, ips, rounds));
  const tuple = core.struct({ ip: core.ipv4, port: core.be16, proto: core.u8 });
  rows.push(codecCase(ctx, "struct {ipv4, be16, u8}", tuple, ips.map((ip, i) => ({ ip, port: i & 0xffff, proto: 6 })), rounds));
  rows.push(codecCase(ctx, "endpointKey (IPv4)", core.endpointKey, ips.slice(0, 200).map((ip) => core.newEndpointKey(ip)), rounds));

  let kernel;
  try {
    kernel = await ctx.import("driver-kernel");
    if (!kernel.kernelDriverAvailable()) kernel = undefined;
  } catch {
    kernel = undefined;
  }
  if (kernel === undefined) return rows;

  const driver = kernel.createKernelDriver();
  const fd = driver.mapCreate({ mapType: core.BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: ENTRIES });
  if (fd < 0) throw new Error(`map create: errno ${-fd}`);
  try {
    const n = ctx.quick ? 10_000 : ENTRIES;
    const keys = new Uint8Array(ENTRIES * 4), values = new Uint8Array(ENTRIES * 8);
    const kv = new DataView(keys.buffer);
    for (let i = 0; i < ENTRIES; i++) kv.setUint32(i * 4, i, true);
    const r = driver.mapUpdateBatch(fd, keys, values, ENTRIES);
    if (r.errno !== 0) throw new Error(`populate: errno ${r.errno}`);
    const key = new Uint8Array(4), value = new Uint8Array(8);
    const kdv = new DataView(key.buffer);
    const raw = () => {
      for (let k = 0; k < n; k++) {
        kdv.setUint32(0, k, true);
        if (driver.mapLookupElem(fd, key, value) !== 0) throw new Error("lookup failed");
      }
      return n;
    };
    const viaBpf = (bpf) => () => {
      for (let k = 0; k < n; k++) {
        kdv.setUint32(0, k, true);
        bpf.lookupElement(fd, key, value);
      }
      return n;
    };
    let calls = 0;
    const plain = core.createBpf({ driver, mapRoot: "/sys/fs/bpf", logger: core.silentLogger });
    const hooked = core.createBpf({ driver, mapRoot: "/sys/fs/bpf", logger: core.silentLogger, metrics: { syscall: () => { calls++; } } });
    // Alternate the sides so that load from the shared machine hits each alike.
    const sides = { raw: [], bpf: [], hooked: [] };
    for (let a = 0; a < 3; a++) {
      sides.raw.push(...ctx.measure(raw, rounds));
      sides.bpf.push(...ctx.measure(viaBpf(plain), rounds));
      sides.hooked.push(...ctx.measure(viaBpf(hooked), rounds));
    }
    if (calls === 0) throw new Error("metrics hook never called");
    const s = Object.fromEntries(Object.entries(sides).map(([k, v]) => [k, ctx.summarize(v)]));
    const row = (name, x) => ({
      section: "core syscall layer", case: name, ns_per_op: x.min, ratio: x.cpuMin / s.raw.cpuMin,
      note: `median ${x.median.toFixed(1)} ns; ratio vs raw driver lookup (${s.raw.min.toFixed(1)} ns)`,
    });
    rows.push({ section: "core syscall layer", case: "driver.mapLookupElem (raw)", ns_per_op: s.raw.min, note: `median ${s.raw.median.toFixed(1)} ns` });
    rows.push(row("bpf.lookupElement", s.bpf));
    rows.push(row("bpf.lookupElement + metrics hook", s.hooked));
  } finally {
    driver.close(fd);
  }
  return rows;
}
