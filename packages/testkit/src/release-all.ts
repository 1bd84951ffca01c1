// Releasing what a fuzz runner, ring writer or drainer made: every step runs, whatever an
// earlier one threw.

/**
 * Runs every step of a release, even after one throws (a broken driver's munmap or close), so
 * that one failure does not leak what the later steps free; then throws the first error.
 */
export function releaseAll(steps: Iterable<() => unknown>): void {
  let first: { error: unknown } | undefined;
  for (const step of steps) {
    try {
      step();
    } catch (e) {
      first ??= { error: e };
    }
  }
  if (first !== undefined) throw first.error;
}
