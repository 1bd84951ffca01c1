// What a call threw, for assertions on the error itself.
import { BpfError } from "@bpfkit/core";

/** The error `f` throws; fails the test when it returns. */
export function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a throw");
}

/** The BpfError `f` throws; any other error is rethrown, and a return fails the test. */
export function thrownBpfError(f: () => unknown): BpfError {
  const e = thrown(f);
  if (e instanceof BpfError) return e;
  throw e;
}
