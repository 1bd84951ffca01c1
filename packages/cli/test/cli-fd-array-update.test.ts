// `map update` on an array of fds (PROG_ARRAY, ARRAY_OF_MAPS): the kernel takes BPF_ANY only there,
// and its EINVAL for a flag must not be explained as a wrong inner map or program.
import { describe, expect, it } from "vitest";
import { createSimDriver } from "@bpfkit/driver-wasm-sim";
import { ExitCode } from "../src/index.js";
import { cliOver, SOCKET_FILTER_INSNS } from "./helpers.js";

describe("map update on an array of fds with noexist or exist", () => {
  it("names the flag the kernel refused (bpf_fd_array_map_update_elem: BPF_ANY only), not the inner object", async () => {
    const d = createSimDriver();
    const inner = d.mapCreate({ mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
    const aom = d.mapCreate({ mapType: 12, keySize: 4, valueSize: 4, maxEntries: 2, innerMapFd: inner });
    const progArray = d.mapCreate({ mapType: 3, keySize: 4, valueSize: 4, maxEntries: 2 });
    const prog = d.progLoad({ progType: 1, insns: SOCKET_FILTER_INSNS, license: "GPL" });
    try {
      const bpfkit = cliOver(d);
      for (const [mapId, type, value] of [["2", "array_of_maps", "id 1"], ["3", "prog_array", "id 1"]] as const) {
        for (const flag of ["noexist", "exist"]) {
          const r = await bpfkit("map", "update", "id", mapId, "key", "0", "--key-type", "u32", "value", ...value.split(" "), flag);
          expect(r.code, `${type} ${flag}`).toBe(ExitCode.failure);
          expect(r.err, `${type} ${flag}`).toContain(`update map ${mapId}: a ${type} map takes only \`any\`, not \`${flag}\` (invalid argument)`);
          expect(r.err).not.toMatch(/template|programs of one type/);
        }
        const ok = await bpfkit("map", "update", "id", mapId, "key", "0", "--key-type", "u32", "value", ...value.split(" "), "--flags", "any");
        expect(ok.code, ok.err).toBe(0);
      }
    } finally {
      for (const fd of [prog, progArray, aom, inner]) d.close(fd);
    }
  });
});
