// `bpfkit btf list` on each driver: the BTF a test loads is listed with the map that holds it,
// and the table and the JSON say the same.
import { beforeAll, describe, expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, decodeMapInfo, MAP_INFO_SIZE, wrapDriver, type Driver } from "@bpfkit/core";
import { driversUnderTest, pairBlob } from "@bpfkit/testkit";
import { cliOver } from "./helpers.js";

for (const dut of driversUnderTest()) {
  describe.skipIf(dut.unavailable !== undefined)(`btf list on ${dut.name}`, () => {
    let d: Driver;
    beforeAll(() => { d = dut.create(); });

    it("lists a loaded BTF object (no name, not the kernel's, its size) with the id of the map created with it", async () => {
      const btf = d.btfLoad!({ btf: pairBlob() });
      expect(btf).toBeGreaterThan(0);
      // key int (id 1), value struct pair (id 2): 4 and 8 bytes.
      const map = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize: 8, maxEntries: 4, btfFd: btf, btfKeyTypeId: 1, btfValueTypeId: 2 });
      expect(map).toBeGreaterThan(0);
      try {
        const info = new Uint8Array(MAP_INFO_SIZE);
        expect(d.objGetInfoByFd(map, info)).toBeGreaterThan(0);
        const { id: mapId, btfId } = decodeMapInfo(info);
        const r = await cliOver(d)("btf", "list", "--json");
        expect(r.code).toBe(0);
        const all = JSON.parse(r.out) as Array<{ id: number; name: string; size: number; kernelBtf: boolean; mapIds: number[]; progIds: number[] }>;
        expect(all.find((b) => b.id === btfId)).toEqual({ id: btfId, name: "", size: pairBlob().length, kernelBtf: false, mapIds: [mapId], progIds: [] });
        expect(all.map((b) => b.id)).toEqual([...all.map((b) => b.id)].sort((a, b) => a - b));
        const text = (await cliOver(d)("btf", "list")).out.split("\n");
        expect(text[0]).toMatch(/^\s*ID\s+NAME\s+SIZE\s+KERNEL\s+MAP_IDS\s+PROG_IDS$/);
        expect(text.find((l) => l.trimStart().startsWith(`${btfId} `))).toMatch(new RegExp(`^\\s*${btfId}\\s+-\\s+${pairBlob().length}B\\s+no\\s+${mapId}\\s+-$`));
      } finally {
        d.close(map);
        d.close(btf);
      }
    });

    it("a driver without the BTF methods is refused, naming it", async () => {
      const old = wrapDriver(d, { kind: "old", btfLoad: null, btfGetFdById: null, btfGetNextId: null, btfGetInfo: null });
      const r = await cliOver(old)("btf", "list");
      expect(r.code).not.toBe(0);
      expect(r.err).toContain('btfIds: driver "old" has no BTF methods');
    });
  });
}
