// Types of vitest-watchdog-limit.mjs, for the test that imports it.
export declare const BEAT_MS: number;
export declare function watchdogLimitMs(env?: Record<string, string | undefined>): number;
