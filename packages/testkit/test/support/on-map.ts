// A map for one step of a test: created (it must be), handed to the body, closed after.
import type { Driver, MapCreateAttr } from "@bpfkit/core";
import { expect } from "vitest";

/** Runs `body` on a fresh map of `attr` and closes it; `body` returns what it saw. */
export function onMap<T>(d: Driver, attr: MapCreateAttr, body: (fd: number) => T): T {
  const fd = d.mapCreate(attr);
  expect(fd, `${d.kind} create`).toBeGreaterThanOrEqual(0);
  try {
    return body(fd);
  } finally {
    d.close(fd);
  }
}
