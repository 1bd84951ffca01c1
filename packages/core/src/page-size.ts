// The host's page size, which a mapping's offsets and a ring buffer's layout are counted in.
// x86-64 has 4 KiB pages only; arm64 kernels are built with 4, 16 or 64 KiB.
import type { Driver } from "./driver.js";

/** The page size of a driver that does not say (x86-64's, and every kernel's smallest). */
export const DEFAULT_PAGE_SIZE = 4096;

/** A page size a kernel can have: a power of 2, at least 4096, at most 2^30 (no kernel has more). */
export function isPageSize(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= DEFAULT_PAGE_SIZE && v <= 2 ** 30 && (v & (v - 1)) === 0;
}

/** The driver's page size, or 4096 for a driver written before `Driver.pageSize`. */
export function driverPageSize(d: Driver): number {
  return d.pageSize ?? DEFAULT_PAGE_SIZE;
}
