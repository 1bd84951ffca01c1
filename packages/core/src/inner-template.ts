// A map of maps is made from a template: `innerId`, the fd of an inner map, whose shape the
// kernel copies at BPF_MAP_CREATE and never reads again. A BpfMap may be created again long
// after its first open (openOrCreate of a pin that changed, openParallel), and by then the
// template may be closed (Cilium closes it once the outer map exists) and its fd number reused
// by some other map. The kernel would take that map's shape, silently, and the outer map would
// then accept the wrong inner maps. So the shape seen at the first open is kept, and a create
// that would meet another is refused.
import { Errno } from "./errno.js";
import { BpfError } from "./errors.js";
import type { BpfMapInfo } from "./info.js";
import { mapTypeName } from "./constants.js";
import { getMapInfoByFd, type SyscallContext } from "./syscalls.js";

/**
 * Core's own create option, beside CreateMapOptions' public keys and not exported from the
 * package: a check BpfMap runs just before each BPF_MAP_CREATE it asks for, and only then, since
 * most opens create nothing.
 */
export const beforeCreate: unique symbol = Symbol("bpfkit.beforeCreate");

/** The template's fd as a BpfMap's spec gave it, and its shape once read. */
export class InnerTemplate {
  #seen: BpfMapInfo | undefined;

  constructor(readonly fd: number) {}

  /**
   * Reads the template's shape if it has not been read yet. An fd that is no map now is left to
   * the kernel, whose refusal (EBADF, EINVAL) core already explains.
   */
  note(ctx: SyscallContext): void {
    if (this.#seen === undefined) this.#seen = readShape(ctx, this.fd);
  }

  /**
   * Throws an EINVAL BpfError, worded as createMap's own errors (its caller names the map), when
   * the fd now holds a map of another shape than it did. `path` is the map's, for the message.
   */
  check(ctx: SyscallContext, path: string): void {
    const was = this.#seen;
    const now = readShape(ctx, this.fd);
    if (was === undefined) {
      this.#seen = now;
      return;
    }
    if (now === undefined || sameShape(was, now)) return;
    const op = "Unable to create map";
    throw new BpfError({ errno: Errno.EINVAL, op, path,
      message: `${op} ${path}: innerId ${this.fd} is now ${shapeText(now)}, not the inner-map template first seen ` +
        `there (${shapeText(was)}): the template was closed and its fd number reused. Keep the template open while ` +
        `the map may be created again, or make a new map object with the new template's fd` });
  }
}

/** The template's shape, or undefined when the kernel will not say (a driver's exception is thrown on). */
function readShape(ctx: SyscallContext, fd: number): BpfMapInfo | undefined {
  try {
    return getMapInfoByFd(ctx, fd);
  } catch (e) {
    if (!(e instanceof BpfError)) throw e;
    return undefined;
  }
}

/** What the kernel copies from a template (bpf_map_meta_alloc) and compares inner maps with. */
function sameShape(a: BpfMapInfo, b: BpfMapInfo): boolean {
  return a.type === b.type && a.keySize === b.keySize && a.valueSize === b.valueSize &&
    a.maxEntries === b.maxEntries && a.mapFlags === b.mapFlags;
}

function shapeText(i: BpfMapInfo): string {
  return `map id ${i.id} (${mapTypeName(i.type)}, key ${i.keySize}, value ${i.valueSize}, max ${i.maxEntries}, flags 0x${i.mapFlags.toString(16)})`;
}
