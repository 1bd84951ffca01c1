// BPF_BTF_LOAD before the object exists (kernel/bpf/syscall.c bpf_btf_load, btf.c btf_parse):
// the capability, BTF_MAX_SIZE, the log attributes, the checker, the struct metas, and last the
// log's own verdict (ENOSPC replaces even success: the object is then not made).
import { Errno } from "@bpfkit/core";
import { checkBtf } from "./btf-check.js";
import { parseStructMetas } from "./btf-fields.js";
import type { BtfRecord } from "./btf-fields.js";
import { BtfLog } from "./btf-log.js";
import type { BtfData } from "./btf-types.js";

/** BTF_MAX_SIZE: 16 MiB. */
export const BTF_MAX_SIZE = 16 << 20;

export interface BtfLoadRequest {
  data: Uint8Array;
  logBuf: Uint8Array | null;
  logLevel: number;
  /** CAP_BPF. */
  privileged: boolean;
  /** The kernel's struct names, for kptrs (SimDriverOptions.kernelBtf); absent: none. */
  kernelStructs?: ReadonlySet<string>;
  /** Where btf_log_true_size goes once the log is finalized (left as it was before that). */
  logTrueSize?: Uint32Array | null;
}

/** The parsed BTF and its struct records, or a positive errno. */
export function loadBtf(r: BtfLoadRequest): { parsed: BtfData; metas: Map<number, BtfRecord> } | number {
  // bpf_btf_load: btf_flags (no field in the Driver: 0) and the token, then CAP_BPF.
  if (!r.privileged) return Errno.EPERM;
  if (r.data.length > BTF_MAX_SIZE) return Errno.E2BIG;
  const attr = BtfLog.attrErrno(r.logLevel, r.logBuf);
  if (attr !== 0) return attr;
  const log = new BtfLog(r.logLevel, r.logBuf);
  // The kernel copies the data in first: later changes to the caller's buffer do not count.
  const { errno, btf } = checkBtf(r.data.slice(), log);
  let err = errno;
  let metas: Map<number, BtfRecord> | null = null;
  if (err === 0) {
    btf!.kernelStructs = r.kernelStructs ?? null;
    const m = parseStructMetas(btf!);
    if (typeof m === "number") err = m;
    else metas = m;
  }
  // finalize_log overrides the load's own result with ENOSPC when the log did not fit.
  const fin = log.finalize();
  if (r.logTrueSize) r.logTrueSize[0] = log.trueSize;
  if (fin !== 0) return fin;
  if (err !== 0) return err;
  return { parsed: btf!, metas: metas! };
}
