// Walking the kernel's map or program ids (BPF_*_GET_NEXT_ID). The walk ends at ENOENT; any
// other errno is an error: without CAP_SYS_ADMIN the kernel says EPERM, and a listing that
// stopped there would claim that nothing is loaded.
import { Errno } from "@bpfkit/core";
import { must } from "./cli-error.js";

/** The ids after 0, ascending, from `next` (the driver's mapGetNextId or progGetNextId). */
export function* objectIds(next: (id: number) => number, op: "BPF_MAP_GET_NEXT_ID" | "BPF_PROG_GET_NEXT_ID"): Generator<number> {
  let id = next(0);
  for (; id > 0; id = next(id)) yield id;
  if (id !== -Errno.ENOENT) must(id, op);
}
