// Where pkg/bpf's log lines go. Cilium logs through logrus with `subsys=bpf`; a library must not
// own the process's output, so the logger is injected per Bpf instance.

/** Where a Bpf's warnings and notes go (`createBpf({ logger })`); `silentLogger` and `memoryLogger()` are two. */
export interface Logger {
  /** Detail for debugging (opens, resolver runs); the default logger drops it. */
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** A note on normal operation (a bpffs found or mounted); the default logger drops it. */
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something a user should see, such as a map re-created for a property change (which loses its data). */
  warn(msg: string, fields?: Record<string, unknown>): void;
  /** A failure to report; the default logger prints it with `console.warn`. */
  error(msg: string, fields?: Record<string, unknown>): void;
}

const nothing = (): void => {};

/** Drops everything. */
export const silentLogger: Logger = Object.freeze({ debug: nothing, info: nothing, warn: nothing, error: nothing });

function toConsole(level: string) {
  return (msg: string, fields?: Record<string, unknown>): void => {
    if (fields === undefined) console.warn(`bpfkit ${level}: ${msg}`);
    else console.warn(`bpfkit ${level}: ${msg}`, fields);
  };
}

/**
 * The default: quiet for debug and info, `console.warn` for warn and error. The warnings are the
 * ones a user must see (a map removed for a property upgrade loses its data; bpffs mounted in a
 * fallback place), and the library stays silent otherwise.
 */
export const defaultLogger: Logger = Object.freeze({
  debug: nothing, info: nothing, warn: toConsole("warning"), error: toConsole("error"),
});

/** One record kept by `memoryLogger`. */
export interface LogRecord {
  /** The logger method that was called. */
  level: "debug" | "info" | "warn" | "error";
  /** The message. */
  msg: string;
  /** The structured fields logged with it (map, path, error, …), or undefined. */
  fields: Record<string, unknown> | undefined;
}

/** A logger that keeps every record, for tests and for callers that forward logs in batches. */
export function memoryLogger(): Logger & { readonly records: LogRecord[] } {
  const records: LogRecord[] = [];
  const at = (level: LogRecord["level"]) => (msg: string, fields?: Record<string, unknown>) => {
    records.push({ level, msg, fields });
  };
  return { records, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}
