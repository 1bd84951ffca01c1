// A loaded BTF object: its id (from the BTF id space, btf_idr), the raw data as loaded (which
// BTF_GET_INFO copies back), what the checker parsed, and the records of its own structs.
// Reference counts as kernel/bpf/btf.c's refcnt: each fd, each map created with it and each
// program loaded with it (prog_btf_fd) holds one; the id goes when the last is dropped.
import type { BtfData } from "./btf-types.js";
import type { BtfRecord } from "./btf-fields.js";

export class SimBtf {
  readonly kind = "btf";
  refcnt = 0;
  freed = false;

  constructor(
    readonly id: number,
    readonly parsed: BtfData,
    /** btf_parse_struct_metas: records of the program's own structs with special fields, by struct id. */
    readonly metas: ReadonlyMap<number, BtfRecord>,
    /** `name`: "vmlinux" for the kernel's own, "" for BTF user space loaded. */
    readonly name = "",
    /** `kernel_btf`: the kernel's own, which maps and programs may not be made with (EACCES). */
    readonly kernel = false,
  ) {}

  /** `btf_size`: the raw data's length. */
  get size(): number {
    return this.parsed.data.length;
  }
}
