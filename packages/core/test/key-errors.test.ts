// "The key is not in the map" is told apart from "the map is not there" (cilium/ebpf's
// ErrKeyNotExist against os.ErrNotExist): both are ENOENT, so isNotExist alone cannot say which.
import { expect, it } from "vitest";
import {
  BPF_EXIST, BPF_MAP_TYPE_ARRAY, BPF_NOEXIST, BatchError, BpfError, isKeyExist, isKeyNotExist, isNotExist, u32,
} from "@bpfkit/core";
import { eachDriver, testMapSpec } from "./support/env.js";
import { thrown, thrownBpfError } from "./support/thrown.js";

const le32 = (n: number) => Uint8Array.of(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);

eachDriver("isKeyNotExist and isKeyExist", (get) => {
  it("a missing key is isKeyNotExist; a map with nothing pinned is isNotExist but not isKeyNotExist", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    const key = thrownBpfError(() => m.delete(2));
    expect([key.code, isNotExist(key), isKeyNotExist(key), isKeyExist(key), key.aboutKey]).toEqual(["ENOENT", true, true, false, true]);
    const exist = thrownBpfError(() => m.update(2, 20, BPF_EXIST));
    expect([exist.code, isKeyNotExist(exist)]).toEqual(["ENOENT", true]);

    // The same calls on a map never created: the ENOENT is the pin's.
    const ghost = env.map(testMapSpec("ghost"));
    for (const e of [thrownBpfError(() => ghost.delete(1)), thrownBpfError(() => ghost.update(1, 1, BPF_EXIST)),
      thrownBpfError(() => ghost.lookup(1)), thrownBpfError(() => ghost.deleteBatch([1])),
      thrownBpfError(() => env.bpf.openMap("ghost", { key: u32, value: u32 }))]) {
      expect([e.code, isNotExist(e), isKeyNotExist(e), e.aboutKey]).toEqual(["ENOENT", true, false, false]);
    }
    expect(ghost.deleteWithErrno(1).error!.aboutKey).toBe(false);
    expect(m.deleteWithErrno(2).error!.aboutKey).toBe(true);
  });

  it("BPF_NOEXIST on a present key, or on any array index, is isKeyExist", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    const e = thrownBpfError(() => m.update(1, 11, BPF_NOEXIST));
    expect([e.code, isKeyExist(e), isKeyNotExist(e), isNotExist(e)]).toEqual(["EEXIST", true, false, false]);
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 2 });
    a.openOrCreate();
    expect(isKeyExist(thrown(() => a.update(0, 1, BPF_NOEXIST)))).toBe(true);
  });

  it("other refusals are neither: a full map, a frozen map, an array's delete", () => {
    const env = get();
    const m = env.map({ ...testMapSpec(), maxEntries: 1 });
    m.openOrCreate();
    m.update(1, 10);
    const full = thrownBpfError(() => m.update(2, 20));
    expect([full.code, full.aboutKey, isKeyNotExist(full), isKeyExist(full)]).toEqual(["E2BIG", false, false, false]);
    const a = env.map({ name: "arr", type: BPF_MAP_TYPE_ARRAY, key: u32, value: u32, maxEntries: 2 });
    a.openOrCreate();
    expect(thrownBpfError(() => a.delete(0)).aboutKey).toBe(false);
    m.freeze();
    const frozen = thrownBpfError(() => m.delete(1));
    expect([frozen.code, frozen.aboutKey]).toEqual(["EPERM", false]);
  });

  it("deleteBatch stopping at a missing key is a BatchError that isKeyNotExist", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.updateBatch([1, 2], [10, 20]);
    const e = thrown(() => m.deleteBatch([1, 3, 2]));
    expect(e).toBeInstanceOf(BatchError);
    expect([(e as BatchError).code, (e as BatchError).count, isKeyNotExist(e)]).toEqual(["ENOENT", 1, true]);
  });

  it("an EEXIST about a pin, not a key, is not isKeyExist", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    const e = thrownBpfError(() => env.bpf.objPin(m.getFd(), m.path()));
    expect([e.code, e.aboutKey, isKeyExist(e), isKeyNotExist(e)]).toEqual(["EEXIST", false, false, false]);
  });

  it("the seed's element functions on an fd mark their ENOENT and EEXIST too", () => {
    const env = get();
    const m = env.map(testMapSpec());
    m.openOrCreate();
    m.update(1, 10);
    const fd = m.getFd();
    expect(isKeyNotExist(thrown(() => env.bpf.lookupElement(fd, le32(2), new Uint8Array(4))))).toBe(true);
    expect(isKeyNotExist(thrown(() => env.bpf.deleteElement(fd, le32(2))))).toBe(true);
    expect(isKeyExist(thrown(() => env.bpf.updateElement(fd, le32(1), le32(5), BPF_NOEXIST)))).toBe(true);
    expect(isKeyNotExist(thrown(() => env.bpf.updateElement(fd, le32(2), le32(5), BPF_EXIST)))).toBe(true);
    // A bad fd is not about a key.
    const badFd = thrownBpfError(() => env.bpf.deleteElement(9999, le32(1)));
    expect([badFd.code, badFd.aboutKey]).toEqual(["EBADF", false]);
  });

  it("only ENOENT and EEXIST can be about the key, and anything but a BpfError is neither", () => {
    expect(new BpfError({ errno: 22, op: "update", aboutKey: true }).aboutKey).toBe(false);
    expect(isKeyNotExist({ errno: 2, aboutKey: true })).toBe(false);
    expect(isKeyExist(undefined)).toBe(false);
  });
});
