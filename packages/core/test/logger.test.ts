// The loggers core ships: the default prints warnings and errors (a map re-created for a property
// change loses its data: the user must see it) and drops the rest; memoryLogger keeps each
// record under the level it was logged at.
import { afterEach, describe, expect, it, vi } from "vitest";
import { defaultLogger, memoryLogger, silentLogger } from "@bpfkit/core";

describe("loggers", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("the default logger prints warnings and errors with console.warn, with their fields, and drops debug and info", () => {
    const printed: unknown[][] = [];
    vi.spyOn(console, "warn").mockImplementation((...a: unknown[]) => {
      printed.push(a);
    });
    defaultLogger.debug("a debug line", { n: 1 });
    defaultLogger.info("an info line");
    defaultLogger.warn("map re-created", { map: "cilium_x" });
    defaultLogger.error("broken");
    expect(printed).toEqual([["bpfkit warning: map re-created", { map: "cilium_x" }], ["bpfkit error: broken"]]);
  });

  it("memoryLogger keeps every record at its own level, in order; silentLogger prints nothing", () => {
    const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
    const log = memoryLogger();
    log.debug("d");
    log.info("i", { k: 1 });
    log.warn("w");
    log.error("e", { k: 2 });
    expect(log.records).toEqual([
      { level: "debug", msg: "d", fields: undefined },
      { level: "info", msg: "i", fields: { k: 1 } },
      { level: "warn", msg: "w", fields: undefined },
      { level: "error", msg: "e", fields: { k: 2 } },
    ]);
    silentLogger.warn("w");
    silentLogger.error("e");
    expect(spy).not.toHaveBeenCalled();
  });
});
