// A codec that refuses the bytes a map holds (a value written by a newer datapath, say): the
// error names the map, the operation and the bytes, keeps the codec's error as its cause, and
// loses nothing — an error the caller's own callback throws passes through untouched, and what a
// lookup-and-delete batch took out of the map comes back raw in the error.
import { expect, it } from "vitest";
import { BatchCursor, DecodeError, newDumpStats, u32, type Codec, type DumpParser } from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown } from "./support/thrown.js";

/** u32 states 0–3; anything else is a state this program does not know. */
const state: Codec<number> = {
  size: 4,
  encode: (v, out) => u32.encode(v, out),
  decode: (b) => {
    const v = u32.decode(b);
    if (v > 3) throw new RangeError(`state ${v} is unknown`);
    return v;
  },
};

function expectDecodeError(e: Error, op: string, what: string, bytes: number[]): void {
  expect(e).toBeInstanceOf(DecodeError);
  const d = e as DecodeError;
  expect([d.op, d.map, d.what, [...d.bytes]]).toEqual([op, "cilium_test", what, bytes]);
  expect(d.cause).toBeInstanceOf(RangeError);
  const text = `${op} cilium_test: cannot decode the ${what} read from the map: ${(d.cause as Error).message}`;
  expect(d.message.slice(0, text.length)).toBe(text);
}

eachDriver("BpfMap decode errors", (get) => {
  it("lookup names the map and the value bytes it could not decode; other keys still read", () => {
    const m = get().map({ ...testMapSpec(), value: state });
    m.openOrCreate();
    m.update(1, 7);
    m.update(2, 3);
    expectDecodeError(thrown(() => m.lookup(1)), "lookup", "value", [7, 0, 0, 0]);
    expect(m.lookup(2)).toBe(3);
  });

  it("getNextKey, keys() and entries() name the key bytes they could not decode", () => {
    const m = get().map({ ...testMapSpec(), key: state });
    m.openOrCreate();
    m.update(9, 1);
    expectDecodeError(thrown(() => m.getNextKey(null)), "getNextKey", "key", [9, 0, 0, 0]);
    expectDecodeError(thrown(() => [...m.keys()]), "keys", "key", [9, 0, 0, 0]);
    expectDecodeError(thrown(() => [...m.entries()]), "entries", "key", [9, 0, 0, 0]);
  });

  for (const algorithm of ["walk", "batch"] as const) {
    it(`dumpWithCallback (${algorithm}): a refused value is a DecodeError; the callback's own error passes through as it is`, () => {
      const m = get().map({ ...testMapSpec(), value: state });
      m.openOrCreate();
      m.update(1, 5);
      expectDecodeError(thrown(() => m.dumpWithCallback(() => {}, { algorithm })), "dumpWithCallback", "value", [5, 0, 0, 0]);
      // The seed's reliable dump counts a parse failure as an interruption before returning it.
      const stats = newDumpStats(m);
      expectDecodeError(thrown(() => m.dumpReliablyWithCallback(() => {}, stats, { algorithm })), "dumpReliablyWithCallback", "value", [5, 0, 0, 0]);
      expect([stats.interrupted, stats.completed, stats.delivered]).toEqual([1, false, 1]);
      m.update(1, 2);
      const own = new Error("the caller's own");
      expect(thrown(() => m.dumpWithCallback(() => {
        throw own;
      }, { algorithm }))).toBe(own);
    });
  }

  it("a DumpParser that throws is named as a whole element: key bytes, then value bytes", () => {
    const parser: DumpParser<number, number> = () => {
      throw new RangeError("no such layout");
    };
    const m = get().map({ ...testMapSpec(), dumpParser: parser });
    m.openOrCreate();
    m.update(4, 6);
    expectDecodeError(thrown(() => m.dump()), "dump", "element", [4, 0, 0, 0, 6, 0, 0, 0]);
  });

  it("lookupBatch: the cursor has moved on, so the batch comes back raw in the error; the map keeps it", () => {
    const m = get().map({ ...testMapSpec(), value: state });
    m.openOrCreate();
    m.update(1, 1);
    m.update(2, 9);
    const cursor = new BatchCursor();
    const e = thrown(() => m.lookupBatch(cursor, 16)) as DecodeError;
    expectDecodeError(e, "lookupBatch", "value", [9, 0, 0, 0]);
    expect(e.message).toMatch(/the cursor has moved past the call's 2 element\(s\); their raw bytes are in error\.batch\)$/);
    expect(e.deleted).toBe(false);
    expect(e.batch!.map((el) => u32.decode(el.key)).sort()).toEqual([1, 2]);
    expect(cursor.done).toBe(true);
    expect(m.lookup(1)).toBe(1);
  });

  it("lookupAndDeleteBatch: the deleted elements come back raw in the error, and the cache forgets them", () => {
    const m = get().map({ ...testMapSpec(), value: state }).withCache();
    m.openOrCreate();
    m.update(1, 1);
    m.update(2, 7);
    m.update(3, 2);
    const e = thrown(() => m.lookupAndDeleteBatch(new BatchCursor(), 16)) as DecodeError;
    expectDecodeError(e, "lookupAndDeleteBatch", "value", [7, 0, 0, 0]);
    expect(e.message).toMatch(/the call deleted 3 element\(s\) from the map; their raw bytes are in error\.batch\)$/);
    expect(e.deleted).toBe(true);
    const raw = e.batch!.map((el) => [u32.decode(el.key), u32.decode(el.value)]).sort((a, b) => a[0]! - b[0]!);
    expect(raw).toEqual([[1, 1], [2, 7], [3, 2]]);
    // The kernel no longer holds them, and the cache does not think it should write them back.
    expect(m.getNextKey(null)).toBeUndefined();
    expect(m.getModel().cache).toEqual([]);
  });
});
