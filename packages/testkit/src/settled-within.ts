// For tests of waits: what a promise settled to within a stretch of real time, or "pending".
// A wait that should have ended (a kernel wake-up comes from irq_work, within microseconds)
// fails the test by a margin, rather than hanging it until vitest's timeout.

/** What `p` settled to within `ms` of real time, or "pending"; a rejection rejects. */
export async function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"pending">((resolve) => {
    t = setTimeout(() => resolve("pending"), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(t);
  }
}
