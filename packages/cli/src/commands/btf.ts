// `bpfkit btf list`: every BTF object the host has loaded, like `bpftool btf list`, with the
// maps and programs that hold each.
import { btfIds, openBtfById, type Driver } from "@bpfkit/core";
import { noArgs, type Command } from "../command.js";
import { table } from "../format.js";
import { listMaps } from "./maps.js";
import { listProgs } from "./progs.js";

/** One BTF object: its info, and who holds it. */
export interface ListedBtf {
  id: number;
  name: string;
  size: number;
  kernelBtf: boolean;
  mapIds: number[];
  progIds: number[];
}

/** Every BTF object loaded on the host, ascending by id; ones freed while listed are skipped. */
export function listBtf(driver: Driver): ListedBtf[] {
  const ctx = { driver, metrics: undefined };
  const maps = new Map<number, number[]>();
  for (const m of listMaps(driver)) if (m.btfId !== 0) maps.set(m.btfId, [...(maps.get(m.btfId) ?? []), m.id]);
  const progs = new Map<number, number[]>();
  for (const p of listProgs(driver)) if (p.btfId !== 0) progs.set(p.btfId, [...(progs.get(p.btfId) ?? []), p.id]);
  const out: ListedBtf[] = [];
  for (const id of btfIds(ctx)) {
    let h;
    try {
      h = openBtfById(ctx, id);
    } catch (e) {
      if ((e as { errno?: number }).errno === 2) continue; // freed between GET_NEXT_ID and GET_FD_BY_ID
      throw e;
    }
    try {
      out.push({ id, name: h.name, size: h.size, kernelBtf: h.kernelBtf, mapIds: maps.get(id) ?? [], progIds: progs.get(id) ?? [] });
    } finally {
      h.close();
    }
  }
  return out;
}

export const btfListCommand: Command = {
  name: "btf list",
  summary: "list the BTF objects loaded on this host (like bpftool btf list)",
  usage: "btf list [--json]",
  details: "Walks BPF_BTF_GET_NEXT_ID and opens each object by id for its info: the kernel's own BTF (vmlinux and\n" +
    "its modules', KERNEL yes) and the BTF user space loaded (no name), with the maps and programs holding each\n" +
    "(bpftool's map_ids and prog_ids). A driver without the BTF methods (optional) is refused, naming it.",
  options: {},
  async run(ctx, args) {
    noArgs(this, args);
    const d = await ctx.driver();
    const all = listBtf(d);
    ctx.emit(
      () => all.length === 0 ? `no BTF is loaded (driver: ${d.kind})\n` : table(all, [
        { title: "ID", get: (b) => String(b.id), right: true },
        { title: "NAME", get: (b) => b.name || "-" },
        { title: "SIZE", get: (b) => `${b.size}B`, right: true },
        { title: "KERNEL", get: (b) => (b.kernelBtf ? "yes" : "no") },
        { title: "MAP_IDS", get: (b) => b.mapIds.join(",") || "-" },
        { title: "PROG_IDS", get: (b) => b.progIds.join(",") || "-" },
      ]),
      () => all.map((b) => ({ id: b.id, name: b.name, size: b.size, kernelBtf: b.kernelBtf, mapIds: b.mapIds, progIds: b.progIds })),
    );
    return 0;
  },
};
