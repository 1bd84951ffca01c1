// The signals that ask a long-running command to stop (Ctrl-C, a service manager, a closed
// terminal): the demo cleans up on them, `map consume --follow` stops taking records.
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
