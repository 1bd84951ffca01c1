// `bpfkit mount`: core's checkOrMountFS — make sure a bpffs is mounted at the map root (or a
// given directory), mounting one when there is none, as the Cilium agent does at start-up.
import { createBpf, type Logger } from "@bpfkit/core";
import { usageError } from "../cli-error.js";
import { flag, type Command } from "../command.js";
import { freshSimNote, isFreshSim } from "../driver-select.js";

export const mountCommand: Command = {
  name: "mount",
  summary: "check that bpffs is mounted at the map root (or DIR), and mount it if not (checkOrMountFS)",
  usage: "mount [DIR] [--warn] [--json]",
  details: "Without DIR: the --map-root (or BPFKIT_MAP_ROOT) when one is given, else /sys/fs/bpf, falling back to\n" +
    "/run/cilium/bpffs when another filesystem is mounted there.\n" +
    "Fails when DIR holds another filesystem, or when several mounts are stacked at the root.\n" +
    "Refuses a DIR that is not a mount point and has entries: bpffs mounted there would hide them.",
  options: { warn: { type: "boolean", help: "print Cilium's warning when bpffs had to be mounted (on stderr, even with -q)" } },
  examples: ["bpfkit mount", "bpfkit mount /run/my-bpffs"],
  async run(ctx, args, opts) {
    if (args.length > 1) throw usageError("mount takes at most one DIR");
    const dir = args[0] ?? ctx.givenMapRoot;
    // (A relative --map-root was refused before the command ran.)
    if (dir !== undefined && !dir.startsWith("/")) throw usageError(`mount ${dir}: DIR must be an absolute path`);
    const d = await ctx.driver();
    const notes: string[] = [];
    const logger: Logger = {
      debug() {},
      info: (m) => notes.push(m),
      warn: (m) => notes.push(`warning: ${m}`),
      error: (m) => notes.push(`error: ${m}`),
    };
    const bpffsMounts = () => {
      const mounts = d.host.mountInfo();
      return new Set(typeof mounts === "number" ? [] : mounts.filter((m) => m.fsType === "bpf").map((m) => m.mountPoint));
    };
    const bpf = createBpf({ driver: d, logger });
    const before = bpffsMounts();
    // checkOrMountFS refuses a directory with entries (a typo like `bpfkit mount /etc` would
    // hide its files until umount).
    bpf.checkOrMountFS(dir ?? "", flag(opts, "warn"));
    const root = bpf.getMapRoot();
    const mounted = !before.has(root) && bpffsMounts().has(root);
    // -q hides the notes (what was detected or mounted), not warnings: --warn's banner is asked for.
    if (!ctx.json) for (const n of notes) if (!ctx.quiet || /^(warning|error): /.test(n)) ctx.io.stderr(`bpfkit: ${n}\n`);
    if (!ctx.quiet && mounted && isFreshSim(d)) ctx.io.stderr(freshSimNote("the mount"));
    ctx.emit(
      () => `${mounted ? "mounted bpffs at" : "bpffs is already mounted at"} ${root}\n`,
      () => ({ root, mounted, notes, driver: d.kind }),
    );
    return 0;
  },
};
