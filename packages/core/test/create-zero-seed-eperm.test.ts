// BPF_F_ZERO_SEED on a hash-family map needs CAP_SYS_ADMIN (htab_map_alloc_check), not only
// CAP_BPF: a service running with CAP_BPF alone gets a bare EPERM from the create, which reads
// as "may not create maps at all". The create's error says which it is, as the other
// CAP_SYS_ADMIN refusals (mount, ids) do. The kernel tests run as root, where nothing refuses:
// the simulator without privilege and with unprivileged BPF allowed answers as such a kernel.
import { expect, it } from "vitest";
import { BPF_F_ZERO_SEED, createBpf, MapType, memoryLogger, u32 } from "@bpfkit/core";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { thrownBpfError } from "./support/thrown.js";

it("an EPERM to a hash map made with BPF_F_ZERO_SEED says the flag needs CAP_SYS_ADMIN", () => {
  const driver = createSimDriver({ privileged: false, unprivilegedBpfDisabled: 0 });
  const bpf = createBpf({ driver, logger: memoryLogger() });
  const spec = { type: MapType.Hash, key: u32, value: u32, maxEntries: 4 };
  const e = thrownBpfError(() => bpf.newMap({ name: "zs", ...spec, flags: BPF_F_ZERO_SEED }).openOrCreateUnpinned());
  expect(e.code).toBe("EPERM");
  expect(e.message).toBe("openOrCreateUnpinned zs: Unable to create map /sys/fs/bpf/tc/globals/zs: operation not permitted " +
    "(BPF_F_ZERO_SEED needs CAP_SYS_ADMIN, not only CAP_BPF)");
  // The same map without the flag is created: the EPERM was the flag's.
  using plain = bpf.newMap({ name: "plain", ...spec });
  expect(plain.openOrCreateUnpinned()).toBe(true);
});
