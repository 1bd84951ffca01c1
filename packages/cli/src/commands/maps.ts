// `bpfkit maps`: every map the host has loaded, like `bpftool map show`.
import type { BpfMapInfo, Driver } from "@bpfkit/core";
import { must } from "../cli-error.js";
import type { Command } from "../command.js";
import { table } from "../format.js";
import { mapInfo } from "../map-ref.js";
import { mapFlagsText, mapTypeKernelName } from "../names.js";

/** Every loaded map's info, by id; maps that vanish while listed are skipped. */
export function listMaps(driver: Driver): BpfMapInfo[] {
  const out: BpfMapInfo[] = [];
  for (let id = driver.mapGetNextId(0); id > 0; id = driver.mapGetNextId(id)) {
    const fd = driver.mapGetFdById(id);
    if (fd === -2) continue; // freed between MAP_GET_NEXT_ID and MAP_GET_FD_BY_ID
    must(fd, "BPF_MAP_GET_FD_BY_ID", `id ${id}`);
    try {
      out.push(mapInfo(driver, fd));
    } finally {
      driver.close(fd);
    }
  }
  return out;
}

export function mapJson(m: BpfMapInfo): Record<string, unknown> {
  return {
    id: m.id, type: mapTypeKernelName(m.type), typeId: m.type, name: m.name, keySize: m.keySize,
    valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.mapFlags, flagNames: mapFlagsText(m.mapFlags),
  };
}

export const mapsCommand: Command = {
  name: "maps",
  summary: "list the maps loaded on this host (like bpftool map show)",
  usage: "maps [--json]",
  details: "Walks BPF_MAP_GET_NEXT_ID, opens each map by id, reads its info and closes it again.",
  options: {},
  async run(ctx) {
    const d = await ctx.driver();
    const maps = listMaps(d);
    ctx.emit(
      () => maps.length === 0 ? `no maps are loaded (driver: ${d.kind})\n` : table(maps, [
        { title: "ID", get: (m) => String(m.id), right: true },
        { title: "TYPE", get: (m) => mapTypeKernelName(m.type) },
        { title: "NAME", get: (m) => m.name || "-" },
        { title: "KEY", get: (m) => String(m.keySize), right: true },
        { title: "VALUE", get: (m) => String(m.valueSize), right: true },
        { title: "MAX", get: (m) => String(m.maxEntries), right: true },
        { title: "FLAGS", get: (m) => mapFlagsText(m.mapFlags) },
      ]),
      () => maps.map(mapJson),
    );
    return 0;
  },
};
