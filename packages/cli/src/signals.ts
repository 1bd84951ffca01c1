// The signals that ask a long-running command to stop (Ctrl-C, a service manager, a closed
// terminal): the demo cleans up on them, `map consume --follow` and `map event-pipe` stop.
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Prints each record `records(signal)` yields until `count` were printed or a stop signal came,
 * then closes `reader` (always): `map consume --follow` and `map event-pipe`. Returns exit code 0.
 */
export async function followUntilStopped<T>(records: (signal: AbortSignal) => AsyncIterable<T>, print: (record: T) => void,
  count: number | undefined, reader: { close(): void }): Promise<number> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  let taken = 0;
  try {
    for await (const r of records(stop.signal)) {
      print(r);
      if (count !== undefined && ++taken >= count) break;
    }
  } catch (e) {
    if (!stop.signal.aborted) throw e;
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    reader.close();
  }
  return 0;
}
