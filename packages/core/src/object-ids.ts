// Walking the kernel's map and program ids (BPF_MAP_GET_NEXT_ID, BPF_PROG_GET_NEXT_ID): the
// seed's GetProgNextID, its map twin, and generators over every id. Ids are handed out in
// increasing order and never reused until they wrap, so a walk from 0 meets each object that
// lives through it once, in the order it was made.
import { driverContractError, isNegErrno } from "./driver-contract.js";
import { Errno, errnoText } from "./errno.js";
import { BpfError } from "./errors.js";
import { MetricOp } from "./metrics.js";
import { type SyscallContext, timeEnd, timeStart } from "./syscalls.js";

type IdKind = {
  op: "BPF_MAP_GET_NEXT_ID" | "BPF_PROG_GET_NEXT_ID" | "BPF_BTF_GET_NEXT_ID";
  metric: string;
  next: "mapGetNextId" | "progGetNextId" | "btfGetNextId";
};

const MAPS: IdKind = { op: "BPF_MAP_GET_NEXT_ID", metric: MetricOp.mapGetNextID, next: "mapGetNextId" };
const PROGS: IdKind = { op: "BPF_PROG_GET_NEXT_ID", metric: MetricOp.progGetNextID, next: "progGetNextId" };
const BTFS: IdKind = { op: "BPF_BTF_GET_NEXT_ID", metric: MetricOp.btfGetNextID, next: "btfGetNextId" };

/**
 * The next id after `current`, or the negative errno (ENOENT after the last); the driver checks
 * `current`. BTF's method is optional: its caller has checked that the driver has it.
 */
function nextId(ctx: SyscallContext, kind: IdKind, current: number): number {
  const t0 = timeStart(ctx);
  const r = ctx.driver[kind.next]!(current);
  if (!isNegErrno(r) && !(Number.isInteger(r) && r > 0)) throw driverContractError(ctx.driver, kind.next, r, "an id");
  timeEnd(ctx, kind.metric, r, t0);
  return r;
}

/** `lead` begins the message: the seed's words for its GetProgNextID, the command's for a walk. */
function failed(kind: IdKind, errno: number, lead: string): BpfError {
  // Without CAP_SYS_ADMIN the kernel refuses the walk outright; CAP_BPF is not enough.
  const why = errno === Errno.EPERM ? " (listing ids needs CAP_SYS_ADMIN)" : "";
  return new BpfError({ errno, op: kind.op, message: `${lead}: ${errnoText(errno)}${why}` });
}

function getNextId(ctx: SyscallContext, kind: IdKind, current: number): number {
  const r = nextId(ctx, kind, current);
  if (r < 0) throw failed(kind, -r, "Unable to get next id");
  return r;
}

function* ids(ctx: SyscallContext, kind: IdKind): Generator<number, void, undefined> {
  let r = nextId(ctx, kind, 0);
  for (; r > 0; r = nextId(ctx, kind, r)) yield r;
  // ENOENT is the end; anything else (EPERM) must not read as "nothing is loaded".
  if (r !== -Errno.ENOENT) throw failed(kind, -r, kind.op);
}

/** The seed's GetProgNextID: the next program id after `current`; ENOENT (isNotExist) at the end. */
export function getProgNextId(ctx: SyscallContext, current: number): number {
  return getNextId(ctx, PROGS, current);
}

/** GetProgNextID's twin for maps: the next map id after `current`; ENOENT at the end. */
export function getMapNextId(ctx: SyscallContext, current: number): number {
  return getNextId(ctx, MAPS, current);
}

/** Every map id, ascending; a BpfError for anything but the ENOENT that ends the walk. */
export function mapIds(ctx: SyscallContext): Generator<number, void, undefined> {
  return ids(ctx, MAPS);
}

/** Every program id, ascending; a BpfError for anything but the ENOENT that ends the walk. */
export function progIds(ctx: SyscallContext): Generator<number, void, undefined> {
  return ids(ctx, PROGS);
}

/** Every BTF object id, ascending; the caller has checked that the driver has btfGetNextId. */
export function btfObjectIds(ctx: SyscallContext): Generator<number, void, undefined> {
  return ids(ctx, BTFS);
}
