// Node 20.0–20.3 have no Symbol.dispose; core defines it as Symbol.for("nodejs.dispose") there
// (dispose-symbol.ts). That is only right while it is the value Node 20.4+ gives it, so a map
// disposed by `using` finds the same key on every Node 20. (Run on 20.3.1 by hand: `using` works.)
import { expect, it } from "vitest";
import { BpfMap } from "@bpfkit/core";

it("Symbol.dispose is Symbol.for('nodejs.dispose'), the key BpfMap's dispose is under", () => {
  expect(Symbol.dispose).toBe(Symbol.for("nodejs.dispose"));
  expect(typeof (BpfMap.prototype as unknown as Record<symbol, unknown>)[Symbol.for("nodejs.dispose")]).toBe("function");
});
