// The limit of scripts/vitest-watchdog.mjs, apart from it: that file starts its watcher when
// imported, and its test imports only this.

const DEFAULT_LIMIT_MS = 180_000;
/** How often the test's thread beats, and the watcher looks. */
export const BEAT_MS = 1_000;

/** The shortest limit: two beats, so that a beat late by a timer's jitter does not look like a stop. */
const MIN_LIMIT_MS = 2 * BEAT_MS;

/** The limit from BPFKIT_TEST_WATCHDOG_MS: a whole number of ms ≥ 2000, or the default. */
export function watchdogLimitMs(env = process.env) {
  const raw = env.BPFKIT_TEST_WATCHDOG_MS;
  if (raw === undefined || raw === "") return DEFAULT_LIMIT_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < MIN_LIMIT_MS) {
    throw new RangeError(`BPFKIT_TEST_WATCHDOG_MS must be a whole number of ms ≥ ${MIN_LIMIT_MS}, got ${JSON.stringify(raw)}`);
  }
  return ms;
}

