// bpffs's delegate_cmds, delegate_maps, delegate_progs and delegate_attachs mount options
// (bpf_parse_param in kernel/bpf/inode.c): what a BPF token made from the mount may do, one bit
// per enum value. Checked on 6.18 (docs/kernel-notes.md).
import {
  BTF_ENUM_BPF_ATTACH_TYPE, BTF_ENUM_BPF_CMD, BTF_ENUM_BPF_MAP_TYPE, BTF_ENUM_BPF_PROG_TYPE, Errno, type BtfEnum,
} from "@bpfkit/core";
import { kstrtoull } from "./kstrtox.js";

export type DelegateOption = "delegate_cmds" | "delegate_maps" | "delegate_progs" | "delegate_attachs";

/** Each option's enum, and the prefix its constants are named without. */
export const DELEGATE_OPTIONS: Readonly<Record<DelegateOption, { readonly enumType: BtfEnum; readonly prefix: string }>> = {
  delegate_cmds: { enumType: BTF_ENUM_BPF_CMD, prefix: "BPF_" },
  delegate_maps: { enumType: BTF_ENUM_BPF_MAP_TYPE, prefix: "BPF_MAP_TYPE_" },
  delegate_progs: { enumType: BTF_ENUM_BPF_PROG_TYPE, prefix: "BPF_PROG_TYPE_" },
  delegate_attachs: { enumType: BTF_ENUM_BPF_ATTACH_TYPE, prefix: "BPF_" },
};

export function isDelegateOption(key: string): key is DelegateOption {
  return Object.hasOwn(DELEGATE_OPTIONS, key);
}

/** strcasecmp's folding: ASCII letters only, so no other character ever equals one of them. */
function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20));
}

/**
 * find_btf_enum_const: the first constant named `prefix` + `str`, both compared without case
 * ("Hash" is BPF_MAP_TYPE_HASH). `__MAX_*` lacks the prefix, so it is never a name.
 */
function findBtfEnumConst(e: BtfEnum, prefix: string, str: string): number | undefined {
  const p = asciiLower(prefix), s = asciiLower(str);
  for (const [name, value] of e.values) {
    const n = asciiLower(name);
    if (n.startsWith(p) && n.slice(p.length) === s) return value;
  }
  return undefined;
}

/**
 * One delegate option's mask, or a negative errno. The value is ":"-separated: "any" (only in
 * lower case) sets every bit, a name sets its value's bit, and anything else must be a u64 for
 * kstrtou64 (base 0), which *replaces* the mask built so far ("hash:0x4" is array alone, "0x4:hash"
 * is both). An empty value, a bare option or an empty item is EINVAL; a number past u64, ERANGE.
 * The kernel's EPERM for a non-zero mask without CAP_SYS_ADMIN cannot happen here: mount(2) itself
 * needs that capability in the one user namespace the simulator has.
 */
export function parseDelegateMask(option: DelegateOption, value: string | null): bigint | number {
  // fsparam_string: a value is required. An empty one fails as an empty item does below.
  if (value === null) return -Errno.EINVAL;
  const { enumType, prefix } = DELEGATE_OPTIONS[option];
  let msk = 0n;
  for (const p of value.split(":")) {
    if (p === "any") {
      msk = (1n << 64n) - 1n;
      continue;
    }
    const v = findBtfEnumConst(enumType, prefix, p);
    if (v !== undefined) {
      msk |= 1n << BigInt(v);
      continue;
    }
    const n = kstrtoull(p, 0);
    if (typeof n === "number") return n;
    msk = n;
  }
  return msk;
}
