// `bpfkit maps`: every map the host has loaded, like `bpftool map show`.
import { BPF_F_RDONLY, BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_PROG_ARRAY, bloomHashFunctions, mapIds, type BpfMapInfo, type Driver } from "@bpfkit/core";
import { ByIdCloser } from "../by-id-close.js";
import { must } from "../cli-error.js";
import { noArgs, type Command } from "../command.js";
import { table } from "../format.js";
import { mapFdFacts, mapFrozenReadOnly, mapInfo, mapLabel } from "../map-ref.js";
import { mapFlagNames, mapFlagsText, mapTypeKernelName } from "../names.js";
import { objectKind } from "../object-kind.js";

/**
 * A map's info, whether it is frozen and the bytes the kernel charges for it (bpftool's
 * `memlock`), each undefined where bpfkit cannot tell.
 */
export type ListedMap = BpfMapInfo & { frozen: boolean | undefined; memlock: number | undefined };

/**
 * Every loaded map's info, by id; maps that vanish while listed are skipped. Each is opened
 * read-only, as bpftool's map show: frozen and memlock come from its fdinfo where the driver
 * reads it. A driver without mapFdInfo has FROZEN probed through a second, read-write fd.
 */
export function listMaps(driver: Driver): ListedMap[] {
  const out: ListedMap[] = [];
  // PROG_ARRAYs are closed at the end, once the clear their owner may have queued has run.
  const closer = new ByIdCloser(driver);
  try {
    for (const id of mapIds({ driver, metrics: undefined })) {
      const openedAt = performance.now();
      const fd = driver.mapGetFdById(id, BPF_F_RDONLY);
      if (fd === -2) continue; // freed between MAP_GET_NEXT_ID and MAP_GET_FD_BY_ID
      must(fd, "BPF_MAP_GET_FD_BY_ID", `id ${id}`);
      let type = BPF_MAP_TYPE_PROG_ARRAY; // held unless known to be another type
      try {
        const info = mapInfo(driver, fd);
        type = info.type;
        const facts = mapFdFacts(driver, fd);
        const frozen = facts?.frozen ?? mapFrozenReadOnly(driver, { fd, info, path: undefined, label: mapLabel(info) });
        out.push({ ...info, frozen, memlock: facts?.memlock });
      } finally {
        closer.close(fd, type, openedAt);
      }
    }
  } finally {
    closer.flush();
  }
  return out;
}

/**
 * Pin paths by map id, from every bpffs mount (like `bpftool map show -f`): each file is
 * opened with OBJ_GET, identified by its info, and closed. Programs and unreadable pins are skipped.
 */
export function mapPins(driver: Driver): Map<number, string[]> {
  const pins = new Map<number, string[]>();
  const mounts = driver.host.mountInfo();
  if (typeof mounts === "number") return pins;
  const walk = (dir: string, depth: number) => {
    const names = driver.host.readdir(dir);
    if (typeof names === "number" || depth > 16) return;
    for (const name of names) {
      const path = dir === "/" ? `/${name}` : `${dir}/${name}`;
      const st = driver.host.stat(path);
      if (st.errno !== 0) continue;
      if (st.isDirectory) {
        walk(path, depth + 1);
        continue;
      }
      // Read-only, as bpftool's pin table: a pin readable only is listed too.
      const fd = driver.objGet(path, BPF_F_RDONLY);
      if (fd < 0) continue;
      try {
        // Links and programs are skipped: a link's info would decode as some map's id.
        const k = objectKind(driver, fd);
        if (typeof k === "number" || k.kind !== "map") continue;
        const id = mapInfo(driver, fd).id;
        pins.set(id, [...(pins.get(id) ?? []), path]);
      } catch {
        // unreadable info
      } finally {
        driver.close(fd);
      }
    }
  };
  for (const m of mounts) if (m.fsType === "bpf") walk(m.mountPoint, 0);
  return pins;
}

/**
 * `frozen` and `memlock` only where asked for (null: asked, not known): a map just created has
 * not been frozen yet, so callers may leave them out.
 */
export function mapJson(m: BpfMapInfo, frozen?: boolean | null, memlock?: number | null): Record<string, unknown> {
  return {
    id: m.id, type: mapTypeKernelName(m.type), typeId: m.type, name: m.name, keySize: m.keySize,
    valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.mapFlags, flagNames: mapFlagNames(m.mapFlags), btfId: m.btfId,
    // A bloom filter's map_extra is its hash count (0: the kernel's 5).
    ...(m.type === BPF_MAP_TYPE_BLOOM_FILTER ? { mapExtra: Number(m.mapExtra), hashFuncs: bloomHashFunctions(m.mapExtra) } : {}),
    ...(frozen !== undefined ? { frozen } : {}),
    ...(memlock !== undefined ? { memlock } : {}),
  };
}

/** `yes`, `no`, or `?` for a type bpfkit does not probe. */
export function frozenText(frozen: boolean | undefined): string {
  return frozen === undefined ? "?" : frozen ? "yes" : "no";
}

/** bpftool's `memlock 2320B`, or `?` where the driver cannot read fdinfo. */
export function memlockText(memlock: number | undefined): string {
  return memlock === undefined ? "?" : `${memlock}B`;
}

export const mapsCommand: Command = {
  name: "maps",
  summary: "list the maps loaded on this host (like bpftool map show)",
  usage: "maps [--pins] [--json]",
  details: "Walks BPF_MAP_GET_NEXT_ID, opens each map read-only by id, reads its info and fdinfo and closes it again.\n" +
    "FROZEN (bpftool's `frozen`): whether BPF_MAP_FREEZE made the map read-only for user space, from the map's fdinfo.\n" +
    "MEMLOCK (bpftool's `memlock`): the bytes the kernel charges for the map, from its fdinfo; it grows with the\n" +
    "elements of a NO_PREALLOC hash or an LPM trie. A driver that cannot read fdinfo shows MEMLOCK `?` (null), and\n" +
    "FROZEN is then told by an update the kernel refuses before writing, through a second, read-write fd (EPERM when\n" +
    "frozen), for the types bpfkit models, else `?` (null).\n" +
    "--pins also walks every bpffs mount and shows where each map is pinned (like bpftool map show -f;\n" +
    "each pin is opened read-only, so one readable only is listed too;\n" +
    "with --json, every path under \"pins\", where map show, map create and map pin give the one path as \"pinned\").",
  options: { pins: { type: "boolean", help: "show pin paths (walks every bpffs mount)" } },
  async run(ctx, args, opts) {
    noArgs(this, args);
    const d = await ctx.driver();
    const maps = listMaps(d);
    const pins = opts.pins === true ? mapPins(d) : undefined;
    ctx.emit(
      () => maps.length === 0 ? `no maps are loaded (driver: ${d.kind})\n` : table(maps, [
        { title: "ID", get: (m) => String(m.id), right: true },
        { title: "TYPE", get: (m) => mapTypeKernelName(m.type) },
        { title: "NAME", get: (m) => m.name || "-" },
        { title: "KEY", get: (m) => String(m.keySize), right: true },
        { title: "VALUE", get: (m) => String(m.valueSize), right: true },
        { title: "MAX", get: (m) => String(m.maxEntries), right: true },
        { title: "FLAGS", get: (m) => mapFlagsText(m.mapFlags) },
        { title: "FROZEN", get: (m) => frozenText(m.frozen) },
        { title: "MEMLOCK", get: (m) => memlockText(m.memlock), right: true },
        ...(pins ? [{ title: "PINNED", get: (m: ListedMap) => (pins.get(m.id) ?? []).join(" ") || "-" }] : []),
      ]),
      // `pins`, every path the map is pinned at; `pinned` (map show, create, pin) is the one path used.
      () => maps.map((m) => {
        const j = mapJson(m, m.frozen ?? null, m.memlock ?? null);
        return pins ? { ...j, pins: pins.get(m.id) ?? [] } : j;
      }),
    );
    return 0;
  },
};
