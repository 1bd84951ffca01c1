// Where pkg/bpf's log lines go. Cilium logs through logrus with `subsys=bpf`; a library must not
// own the process's output, so the logger is injected per Bpf instance.

/** Where a Bpf's warnings and notes go (`createBpf({ logger })`); `silentLogger` and `memoryLogger()` are two. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
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
  level: "debug" | "info" | "warn" | "error";
  msg: string;
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
