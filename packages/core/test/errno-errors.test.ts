// The errno table and the error classes every layer throws: names and texts take -errno as well
// as errno, and a BpfError keeps a comparable code and a message in the seed's form.
import { describe, expect, it } from "vitest";
import {
  BpfError, DecodeError, Errno, IterationAbortedError, check, errnoFromName, errnoName, errnoOf, errnoText, isNotExist,
} from "@bpfkit/core";

describe("errno table", () => {
  it("names and texts accept -errno as drivers return it", () => {
    expect(errnoName(-Errno.ENOENT)).toBe("ENOENT");
    expect(errnoName(Errno.ENOENT)).toBe("ENOENT");
    expect(errnoText(-Errno.EPERM)).toBe("operation not permitted");
    expect(errnoText(Errno.ENOTSUPP)).toMatch(/^operation not supported by this map type or kernel/);
  });

  it("a number outside the table still names itself, as positive", () => {
    expect(errnoName(999)).toBe("errno 999");
    expect(errnoName(-999)).toBe("errno 999");
    expect(errnoText(-999)).toBe("unknown error 999");
    expect(errnoFromName("EBADFD")).toBe(77);
    expect(errnoFromName("ENOPE")).toBeUndefined();
  });
});

describe("BpfError", () => {
  it("the default message is `<op> <path>: <text>`, without the path when it is empty", () => {
    expect(new BpfError({ errno: 2, op: "Unable to get object", path: "/sys/fs/bpf/x" }).message)
      .toBe("Unable to get object /sys/fs/bpf/x: no such file or directory");
    const e = new BpfError({ errno: -17, op: "pin", path: "" });
    expect(e.message).toBe("pin: file exists");
    expect(e.errno).toBe(17);
    expect(e.code).toBe("EEXIST");
  });

  it("keeps the cause it was given, and none when there is none", () => {
    const cause = new Error("inner");
    expect(new BpfError({ errno: 1, op: "x", cause }).cause).toBe(cause);
    expect("cause" in new BpfError({ errno: 1, op: "x" })).toBe(false);
  });

  it("isNotExist and errnoOf see ENOENT (positive or negative) on any error that carries an errno", () => {
    expect(isNotExist(new BpfError({ errno: 2, op: "x" }))).toBe(true);
    expect(isNotExist(new BpfError({ errno: 1, op: "x" }))).toBe(false);
    expect(isNotExist({ errno: -2 })).toBe(true);
    expect(errnoOf({ errno: -9 })).toBe(9);
    expect(errnoOf({ errno: "9" })).toBeUndefined();
    expect(errnoOf(null)).toBeUndefined();
  });

  it("check throws only for a negative result", () => {
    expect(check(0, "op")).toBe(0);
    expect(check(5, "op")).toBe(5);
    expect(() => check(-1, "op")).toThrow(new BpfError({ errno: 1, op: "op" }).message);
  });
});

describe("IterationAbortedError and DecodeError", () => {
  it("IterationAbortedError says how many restarts it gave up after", () => {
    const e = new IterationAbortedError("entries m", 17);
    expect(e.message).toBe("entries m: iteration aborted after 17 restarts");
    expect(e.restarts).toBe(17);
  });

  it("DecodeError says whether the batch it carries was deleted from the map", () => {
    const base = { op: "lookupBatch", map: "m", what: "value" as const, bytes: new Uint8Array(1), cause: new Error("bad") };
    const kept = new DecodeError({ ...base, batch: [] });
    expect(kept.deleted).toBe(false);
    expect(kept.message).toBe("lookupBatch m: cannot decode the value read from the map: bad (the cursor has moved past the call's 0 element(s); their raw bytes are in error.batch)");
    const gone = new DecodeError({ ...base, batch: [], deleted: false });
    expect(gone.deleted).toBe(false);
    expect(gone.message).toContain("the cursor has moved past");
    const deleted = new DecodeError({ ...base, batch: [], deleted: true });
    expect(deleted.deleted).toBe(true);
    expect(deleted.message).toContain("the call deleted 0 element(s) from the map");
    expect(new DecodeError(base).message).toBe("lookupBatch m: cannot decode the value read from the map: bad");
  });
});
