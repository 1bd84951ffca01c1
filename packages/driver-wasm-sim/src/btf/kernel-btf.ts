// The kernel's own BTF as BPF_BTF_LOAD consults it for a kptr (btf.c btf_parse_kptr): the
// pointee struct is looked up by name among the kernel's (bpf_find_btf_id). Not found, it is the
// program's own type; found, a referenced kptr needs a destructor kfunc registered for that
// struct (btf_find_dtor_kfunc), else ENOENT.
import { BtfKind, parseBtf } from "@bpfkit/core";
import { BtfData } from "./btf-types.js";
import { SimBtf } from "./sim-btf.js";

/**
 * The structs with a destructor kfunc on 6.18 (register_btf_id_dtor_kfuncs in helpers.c,
 * cpumask.c, crypto.c and net/bpf/test_run.c), found by loading a kptr to each of vmlinux's
 * 9,592 structs on this machine's kernel: these loaded, every other one was ENOENT.
 */
export const KPTR_DTOR_STRUCTS: ReadonlySet<string> = new Set([
  "task_struct", "cgroup", "bpf_cpumask", "bpf_crypto_ctx", "prog_test_member", "prog_test_ref_kfunc",
]);

/**
 * The names of the STRUCTs of raw kernel BTF (anonymous ones are never found by name); BTF that
 * cannot be read is createSimDriver's TypeError.
 */
export function kernelStructNames(raw: Uint8Array): ReadonlySet<string> {
  let btf;
  try {
    btf = parseBtf(raw);
  } catch (e) {
    throw new TypeError(`createSimDriver: kernelBtf is not BTF the simulator can read: ${(e as Error).message}`, { cause: e });
  }
  const names = new Set<string>();
  for (const t of btf.types) if (t.kind === BtfKind.STRUCT && t.name !== "") names.add(t.name);
  return names;
}

/**
 * The kernel's vmlinux BTF object (btf_vmlinux): id 1, as the kernel's is the first BTF object
 * it makes at boot, named "vmlinux", held by the kernel for ever (its reference is never put).
 * Only its bytes and header are kept: nothing may be made with it (EACCES before its types are
 * read), so its types are not parsed again here. `raw` has been read by kernelStructNames.
 */
export function vmlinuxBtf(raw: Uint8Array): SimBtf {
  const data = raw.slice();
  const dv = new DataView(data.buffer);
  // struct btf_header: hdr_len at 4, str_off and str_len at 16 and 20, from the header's end.
  const data0 = new BtfData(data, dv.getUint32(4, true) + dv.getUint32(16, true), dv.getUint32(20, true));
  const b = new SimBtf(1, data0, new Map(), "vmlinux", true);
  b.refcnt = 1;
  return b;
}
