// The seed's names for the kernel's numbers (constants.ts) against the 6.18 BTF enums, so a
// hand-typed value that drifts from the kernel fails here.
import { describe, expect, it } from "vitest";
import * as core from "@bpfkit/core";
import {
  BTF_ENUM_BPF_ATTACH_TYPE, BTF_ENUM_BPF_CMD, BTF_ENUM_BPF_MAP_TYPE, BTF_ENUM_BPF_PROG_TYPE, BpfCmd, MapType,
  MAX_BPF_MAP_TYPE, ProgType, type BtfEnum,
} from "@bpfkit/core";

const ENUMS = [BTF_ENUM_BPF_CMD, BTF_ENUM_BPF_MAP_TYPE, BTF_ENUM_BPF_PROG_TYPE, BTF_ENUM_BPF_ATTACH_TYPE];

/** The values of the constants named `name`, in any of the four enums. */
function valuesNamed(name: string): number[] {
  return ENUMS.flatMap((e) => e.values.filter(([n]) => n === name).map(([, v]) => v));
}

/** The values of the constants a seed CamelCase name stands for: `LRUPerCPUHash` is `LRU_PERCPU_HASH`. */
function valuesOfSeedName(e: BtfEnum, prefix: string, seedName: string): number[] {
  const want = seedName.toUpperCase();
  return e.values.filter(([n]) => n.startsWith(prefix) && n.slice(prefix.length).replace(/_/g, "") === want).map(([, v]) => v);
}

describe("constants against the 6.18 BTF enums", () => {
  it.each(Object.entries(BpfCmd))("BpfCmd.%s is %i", (name, value) => {
    expect(valuesNamed(`BPF_${name}`)).toEqual([value]);
  });

  // MapTypeMaximum is the seed's own bound (19), not a kernel constant.
  it.each(Object.entries(MapType).filter(([name]) => name !== "MapTypeMaximum"))("MapType.%s is %i", (name, value) => {
    expect(valuesOfSeedName(BTF_ENUM_BPF_MAP_TYPE, "BPF_MAP_TYPE_", name)).toEqual([value]);
  });

  it.each(Object.entries(ProgType))("ProgType.%s is %i", (name, value) => {
    expect(valuesOfSeedName(BTF_ENUM_BPF_PROG_TYPE, "BPF_PROG_TYPE_", name)).toEqual([value]);
  });

  it("MAX_BPF_MAP_TYPE is __MAX_BPF_MAP_TYPE", () => {
    expect(valuesNamed("__MAX_BPF_MAP_TYPE")).toEqual([MAX_BPF_MAP_TYPE]);
  });

  // Every flat BPF_* export is a constant of one of the enums, with its value, or one of the
  // kernel's numbers that lives elsewhere (flags, the element-update modes, sizes, a ring buffer
  // record header's bits and size and the ring helpers' flags, which uapi declares in enums
  // without a name, checked against vmlinux's BTF in btf-parse.test.ts): a misspelt name fails
  // as surely as a wrong value.
  const notInEnums = /^BPF_(F_\w+|ANY|NOEXIST|EXIST|FS_MAGIC|ATTR_SIZE|RINGBUF_(BUSY_BIT|DISCARD_BIT|HDR_SZ)|RB_\w+)$/;
  const flat = Object.entries(core).filter(([name, v]) => /^BPF_/.test(name) && typeof v === "number" && !notInEnums.test(name));
  it.each(flat)("%s is the BTF's value", (name, value) => {
    expect(valuesNamed(name)).toEqual([value]);
  });
});
