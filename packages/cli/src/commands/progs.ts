// `bpfkit progs`: every program the host has loaded, like `bpftool prog show`.
import { decodeProgInfo, getProgMapIds, progIds, PROG_INFO_SIZE, type BpfProgInfo, type Driver } from "@bpfkit/core";
import { must } from "../cli-error.js";
import { noArgs, type Command } from "../command.js";
import { hexCompact, table } from "../format.js";
import { progTypeKernelName } from "../names.js";

/** A program's info and the ids of the maps it uses. */
export type ListedProg = BpfProgInfo & { mapIds: number[] };

/** Every program loaded on the host, with its info and the ids of the maps it uses (`bpfkit progs`). */
export function listProgs(driver: Driver): ListedProg[] {
  const out: ListedProg[] = [];
  const buf = new Uint8Array(PROG_INFO_SIZE);
  for (const id of progIds({ driver, metrics: undefined })) {
    const fd = driver.progGetFdById(id);
    if (fd === -2) continue; // unloaded since its id was listed
    must(fd, "BPF_PROG_GET_FD_BY_ID", `id ${id}`);
    try {
      buf.fill(0);
      must(driver.objGetInfoByFd(fd, buf), "BPF_OBJ_GET_INFO_BY_FD", `prog ${id}`);
      const info = decodeProgInfo(buf);
      const mapIds = getProgMapIds(driver, fd, info.nrMapIds);
      // A map bound since the info was read is in mapIds: the count says what the list holds.
      out.push({ ...info, nrMapIds: mapIds.length, mapIds });
    } finally {
      driver.close(fd);
    }
  }
  return out;
}

export const progsCommand: Command = {
  name: "progs",
  summary: "list the programs loaded on this host (like bpftool prog show)",
  usage: "progs [--json]",
  details: "Walks BPF_PROG_GET_NEXT_ID and reads each program's info, with the ids of the maps it uses (bpftool's\n" +
    "map_ids) and the BTF it was loaded with (btf_id, - for none). Unlike bpftool prog show there is no\n" +
    "memlock or pids; --json's loadTimeNs is bpf_prog_info.load_time, nanoseconds since boot, where\n" +
    "bpftool's loaded_at is a wall-clock time.",
  options: {},
  async run(ctx, args) {
    noArgs(this, args);
    const d = await ctx.driver();
    const progs = listProgs(d);
    ctx.emit(
      () => progs.length === 0 ? `no programs are loaded (driver: ${d.kind})\n` : table(progs, [
        { title: "ID", get: (p) => String(p.id), right: true },
        { title: "TYPE", get: (p) => progTypeKernelName(p.type) },
        { title: "NAME", get: (p) => p.name || "-" },
        { title: "TAG", get: (p) => hexCompact(p.tag) },
        { title: "GPL", get: (p) => (p.gplCompatible ? "yes" : "no") },
        { title: "XLATED", get: (p) => String(p.xlatedProgLen), right: true },
        { title: "JITED", get: (p) => String(p.jitedProgLen), right: true },
        { title: "MAP_IDS", get: (p) => p.mapIds.join(",") || "-" },
        { title: "BTF_ID", get: (p) => (p.btfId === 0 ? "-" : String(p.btfId)), right: true },
        { title: "UID", get: (p) => String(p.createdByUid), right: true },
      ]),
      () => progs.map((p) => ({
        id: p.id, type: progTypeKernelName(p.type), typeId: p.type, name: p.name, tag: hexCompact(p.tag),
        gplCompatible: p.gplCompatible, xlatedBytes: p.xlatedProgLen, jitedBytes: p.jitedProgLen,
        nrMapIds: p.nrMapIds, mapIds: p.mapIds, btfId: p.btfId, createdByUid: p.createdByUid, loadTimeNs: p.loadTime,
        runCnt: p.runCnt, runTimeNs: p.runTimeNs, verifiedInsns: p.verifiedInsns,
      })),
    );
    return 0;
  },
};
