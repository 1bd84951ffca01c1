// The kernel's own BTF as BPF_BTF_LOAD consults it for a kptr (btf.c btf_parse_kptr): the
// pointee struct is looked up by name among the kernel's (bpf_find_btf_id). Not found, it is the
// program's own type; found, a referenced kptr needs a destructor kfunc registered for that
// struct (btf_find_dtor_kfunc), else ENOENT.
import { BtfKind, parseBtf } from "@bpfkit/core";

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
