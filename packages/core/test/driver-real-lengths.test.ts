// A driver checks a buffer by its real length, not by what a subclass's `byteLength` getter says:
// trusting the getter staged too few bytes (the rest of the key zeros, a batch's keys padded with
// the previous call's) or copied a value out past the buffer's end once the kernel had answered,
// so a lookupAndDelete threw with its element already taken. Each call here is refused with a
// RangeError before any syscall, and the map is as it was.
import { expect, it } from "vitest";
import { BPF_MAP_TYPE_HASH, type Driver } from "@bpfkit/core";
import { eachDriver } from "./support/env.js";

/** A Uint8Array of `real` bytes whose byteLength getter says `claimed`. */
function liar(real: number, claimed: number): Uint8Array {
  class Lying extends Uint8Array {
    override get byteLength(): number {
      return claimed;
    }
  }
  return new Lying(real);
}

const key = (k: number) => new Uint8Array([k, 0, 0, 0]);

eachDriver("a buffer's real length, whatever its byteLength says", (env) => {
  function hashOf(d: Driver, valueSize: number): number {
    const fd = d.mapCreate({ mapType: BPF_MAP_TYPE_HASH, keySize: 4, valueSize, maxEntries: 8 });
    expect(fd).toBeGreaterThanOrEqual(0);
    expect(d.mapUpdateElem(fd, key(1), new Uint8Array(valueSize).fill(7))).toBe(0);
    return fd;
  }
  const count = (d: Driver, fd: number) => {
    let n = 0;
    for (let k: Uint8Array | null = null, next = new Uint8Array(4); d.mapGetNextKey(fd, k, next) === 0; k = next.slice()) n++;
    return n;
  };

  it("element calls: a key or value shorter than it claims is a RangeError, and nothing is taken or written", () => {
    const d = env().driver;
    const fd = hashOf(d, 128);
    try {
      expect(() => d.mapLookupAndDeleteElem(fd, key(1), liar(64, 128))).toThrow(/value is 64 bytes, map fd \d+ needs 128/);
      expect(() => d.mapLookupElem(fd, key(1), liar(64, 128))).toThrow(RangeError);
      expect(() => d.mapUpdateElem(fd, liar(2, 4), new Uint8Array(128))).toThrow(/key is 2 bytes, map fd \d+ needs 4/);
      expect(() => d.mapDeleteElem(fd, liar(2, 4))).toThrow(RangeError);
      expect(() => d.mapGetNextKey(fd, null, liar(2, 4))).toThrow(/nextKey is 2 bytes/);
      const v = new Uint8Array(128);
      expect(d.mapLookupElem(fd, key(1), v)).toBe(0);
      expect(v.every((b) => b === 7)).toBe(true);
      expect(count(d, fd)).toBe(1);
    } finally {
      d.close(fd);
    }
  });

  it("batch calls: keys or values shorter than count elements is a RangeError, and nothing is written or deleted", () => {
    const d = env().driver;
    const fd = hashOf(d, 8);
    try {
      expect(() => d.mapUpdateBatch(fd, liar(8, 16), new Uint8Array(32), 4)).toThrow(/keys is 8 bytes, 4 elements of map fd \d+ need 16/);
      expect(() => d.mapDeleteBatch(fd, liar(4, 8), 2)).toThrow(RangeError);
      expect(() => d.mapLookupAndDeleteBatch(fd, null, new Uint8Array(4), new Uint8Array(32), liar(8, 64), 8)).toThrow(/values is 8 bytes/);
      expect(count(d, fd)).toBe(1);
    } finally {
      d.close(fd);
    }
  });
});
