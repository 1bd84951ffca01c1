// `bpfkit btf list`: every BTF object the host has loaded, like `bpftool btf list`, with the
// maps and programs that hold each.
import { btfIds, decodeProgInfo, openBtfById, progIds, PROG_INFO_SIZE, type Driver } from "@bpfkit/core";
import { must } from "../cli-error.js";
import { noArgs, type Command } from "../command.js";
import { table } from "../format.js";
import { listMaps } from "./maps.js";

/** One BTF object: its info, and who holds it. */
export interface ListedBtf {
  id: number;
  name: string;
  size: number;
  kernelBtf: boolean;
  mapIds: number[];
  progIds: number[];
}

/** The ids of the programs that hold each BTF id (a program's bpf_prog_info.btf_id). */
function progsByBtf(driver: Driver): Map<number, number[]> {
  const by = new Map<number, number[]>();
  const buf = new Uint8Array(PROG_INFO_SIZE);
  for (const id of progIds({ driver, metrics: undefined })) {
    const fd = driver.progGetFdById(id);
    if (fd === -2) continue; // unloaded since its id was listed
    must(fd, "BPF_PROG_GET_FD_BY_ID", `id ${id}`);
    try {
      buf.fill(0);
      must(driver.objGetInfoByFd(fd, buf), "BPF_OBJ_GET_INFO_BY_FD", `prog ${id}`);
      const btf = decodeProgInfo(buf).btfId;
      if (btf !== 0) by.set(btf, [...(by.get(btf) ?? []), id]);
    } finally {
      driver.close(fd);
    }
  }
  return by;
}

/** Every BTF object loaded on the host, ascending by id; ones freed while listed are skipped. */
export function listBtf(driver: Driver): ListedBtf[] {
  const ctx = { driver, metrics: undefined };
  const maps = new Map<number, number[]>();
  for (const m of listMaps(driver)) if (m.btfId !== 0) maps.set(m.btfId, [...(maps.get(m.btfId) ?? []), m.id]);
  const progs = progsByBtf(driver);
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
