// The masks the simulator builds from bpffs's delegate_* options, and its BTF enum tables,
// against 6.18. The kernel shows the masks only as super options in /proc/self/mountinfo
// (bpf_show_options), which the Driver's mountInfo does not carry, so this test prints the
// simulator's masks the way seq_print_delegate_opts does and compares the text: with what the
// kernel printed when these rows were probed, and with the running kernel when it is there.
// The conformance suite checks the mount results themselves (§12 delegate case).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DELEGATE_OPTIONS, isDelegateOption, parseDelegateMask, type DelegateOption } from "../src/bpffs-delegate.js";
import { kernel, kernelDriver } from "./sim-helpers.js";

const ORDER: readonly DelegateOption[] = ["delegate_cmds", "delegate_maps", "delegate_progs", "delegate_attachs"];

/** The `__MAX_*` constant of an option's enum: one bit per value below it is shown. */
function maxOf(option: DelegateOption): number {
  const max = DELEGATE_OPTIONS[option].enumType.values.find(([name]) => name.startsWith("__MAX_"));
  if (max === undefined) throw new Error(`${option}: no __MAX_* constant`);
  return max[1];
}

/** seq_print_delegate_opts: unknown bits dropped, "any" for all, else names in enum order (first alias). */
function showDelegate(option: DelegateOption, mask: bigint): string {
  const all = (1n << BigInt(maxOf(option))) - 1n;
  let m = mask & all;
  if (m === 0n) return "";
  if (m === all) return `,${option}=any`;
  const { enumType, prefix } = DELEGATE_OPTIONS[option];
  const names: string[] = [];
  for (const [name, value] of enumType.values) {
    const bit = 1n << BigInt(value);
    if (!name.startsWith(prefix) || (m & bit) === 0n) continue;
    names.push(name.slice(prefix.length).toLowerCase());
    m &= ~bit;
  }
  if (m !== 0n) names.push(`0x${m.toString(16)}`);
  return `,${option}=${names.join(":")}`;
}

/** The delegate part of the super options the simulator's masks would show for `data`. */
function simShows(data: string): string {
  const masks = new Map<DelegateOption, bigint>();
  for (const opt of data.split(",")) {
    const eq = opt.indexOf("=");
    const key = eq < 0 ? opt : opt.slice(0, eq);
    if (!isDelegateOption(key)) continue;
    const m = parseDelegateMask(key, eq < 0 ? null : opt.slice(eq + 1));
    if (typeof m === "number") throw new Error(`${data}: errno ${-m}`);
    // bpf_parse_param: `*delegate_msk |= msk`, so a repeated option adds to the first.
    masks.set(key, (masks.get(key) ?? 0n) | m);
  }
  return ORDER.map((o) => showDelegate(o, masks.get(o) ?? 0n)).join("");
}

/** Mounts bpffs with `data` on the kernel and returns the delegate part of its super options. */
function kernelShows(data: string): string {
  const h = kernelDriver().host;
  const dir = `/tmp/bpfkit-test-${process.pid}-delegate-${Date.now().toString(36)}`;
  expect(h.mkdirAll(dir, 0o700)).toBe(0);
  try {
    const r = h.mount("bpf", dir, "bpf", 0, data);
    if (r < 0) throw new Error(`mount -o ${data}: errno ${-r}`);
    try {
      const line = readFileSync("/proc/self/mountinfo", "utf8").split("\n").find((l) => l.split(" ")[4] === dir);
      if (line === undefined) throw new Error(`${dir} is not in mountinfo`);
      const superOptions = line.slice(line.indexOf(" - ") + 3).split(" ")[2]!;
      return superOptions.split(",").filter((o) => o.startsWith("delegate_")).map((o) => `,${o}`).join("");
    } finally {
      expect(h.umount(dir)).toBe(0);
    }
  } finally {
    h.rmdir(dir);
  }
}

// What 6.18 showed for each row (probed with mount(2) on this machine; docs/kernel-notes.md).
const shown: ReadonlyArray<readonly [data: string, shows: string]> = [
  ["delegate_maps=HASH:Array", ",delegate_maps=hash:array"],
  ["delegate_progs=xdp:socket_filter", ",delegate_progs=socket_filter:xdp"],
  ["delegate_cmds=prog_run", ",delegate_cmds=prog_test_run"],
  ["delegate_maps=cgroup_storage", ",delegate_maps=cgroup_storage_deprecated"],
  ["delegate_maps=0x6", ",delegate_maps=hash:array"],
  ["delegate_maps=007", ",delegate_maps=unspec:hash:array"],
  // A number replaces the mask built before it in the same option.
  ["delegate_maps=hash:0x4", ",delegate_maps=array"],
  ["delegate_maps=0x4:hash", ",delegate_maps=hash:array"],
  ["delegate_maps=any:0x2", ",delegate_maps=hash"],
  ["delegate_maps=0x2:any", ",delegate_maps=any"],
  ["delegate_maps=hash:0", ""],
  // A repeated option adds to it; bits past __MAX_* are kept but never shown.
  ["delegate_maps=hash,delegate_maps=array", ",delegate_maps=hash:array"],
  ["delegate_maps=hash,delegate_maps=0", ",delegate_maps=hash"],
  ["delegate_maps=any,delegate_maps=hash", ",delegate_maps=any"],
  ["delegate_maps=0x3ffffffff", ",delegate_maps=any"],
  ["delegate_maps=0x400000000", ""],
  ["delegate_maps=0x8000000000000002", ",delegate_maps=hash"],
  ["delegate_cmds=0x7fffffffff", ",delegate_cmds=any"],
  ["delegate_attachs=0x200000000000000", ",delegate_attachs=trace_uprobe_session"],
  ["delegate_attachs=0x400000000000000", ""],
  ["delegate_progs=0x1ffffffff", ",delegate_progs=any"],
  // Always in this order, whatever the order of the options.
  ["delegate_attachs=xdp,delegate_progs=xdp,delegate_maps=hash,delegate_cmds=map_create",
    ",delegate_cmds=map_create,delegate_maps=hash,delegate_progs=xdp,delegate_attachs=xdp"],
];

describe("bpffs delegate_* masks", () => {
  it.each(shown)("%j shows %j", (data, shows) => {
    expect(simShows(data)).toBe(shows);
  });

  it("answers a negative errno, or all 64 bits", () => {
    expect(parseDelegateMask("delegate_maps", "ANY")).toBe(-22);
    expect(parseDelegateMask("delegate_maps", null)).toBe(-22);
    expect(parseDelegateMask("delegate_maps", "hash:0x10000000000000000")).toBe(-34);
    expect(parseDelegateMask("delegate_maps", "0xffffffffffffffff")).toBe((1n << 64n) - 1n);
  });

  it("has 6.18's enum sizes", () => {
    expect(ORDER.map(maxOf)).toEqual([38, 34, 33, 58]);
    expect(ORDER.map((o) => DELEGATE_OPTIONS[o].enumType.values.length)).toEqual([40, 37, 34, 59]);
  });
});

describe.skipIf(kernel.unavailable !== undefined)("bpffs delegate_* masks: simulator vs kernel", () => {
  it.each(shown)("%j: the kernel shows what was recorded", (data, shows) => {
    expect(kernelShows(data)).toBe(shows);
  });

  // Every bit of every option alone: the kernel's name for each value (and none past __MAX_*)
  // is the table's first name for it.
  it.each(ORDER)("%s: each bit's name is the kernel's", (option) => {
    const got: string[] = [], want: string[] = [];
    for (let bit = 0; bit < 64; bit++) {
      const data = `${option}=0x${(1n << BigInt(bit)).toString(16)}`;
      got.push(kernelShows(data));
      want.push(simShows(data));
    }
    expect(got).toEqual(want);
  });

  // Every name of the table, aliases included, means the same bit to the kernel.
  it.each(ORDER)("%s: each name of the table is the kernel's, for the same value", (option) => {
    const { enumType, prefix } = DELEGATE_OPTIONS[option];
    const got: string[] = [], want: string[] = [];
    for (const [name] of enumType.values) {
      if (!name.startsWith(prefix)) continue;
      const data = `${option}=${name.slice(prefix.length).toLowerCase()}`;
      got.push(kernelShows(data));
      want.push(simShows(data));
    }
    expect(got).toEqual(want);
  });
});
