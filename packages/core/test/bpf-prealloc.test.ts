import { describe, expect, it } from "vitest";
import {
  allowsPreallocation, BPF_F_NO_PREALLOC, MapType, preAllocateMapFlags, requiresPreallocation,
} from "@bpfkit/core";

describe("pre-allocation flags", () => {
  it("TestDefaultMapFlags: default is NO_PREALLOC for Hash and LPM only; enabling changes only Hash", () => {
    let setting = BPF_F_NO_PREALLOC; // the seed's (and createBpf's) default
    expect(preAllocateMapFlags(MapType.LPMTrie, setting)).toBe(BPF_F_NO_PREALLOC);
    expect(preAllocateMapFlags(MapType.Array, setting)).toBe(0);
    expect(preAllocateMapFlags(MapType.LRUHash, setting)).toBe(0);
    expect(preAllocateMapFlags(MapType.Hash, setting)).toBe(BPF_F_NO_PREALLOC);
    setting = 0; // EnableMapPreAllocation
    expect(preAllocateMapFlags(MapType.Hash, setting)).toBe(0);
    expect(preAllocateMapFlags(MapType.LPMTrie, setting)).toBe(BPF_F_NO_PREALLOC);
    expect(preAllocateMapFlags(MapType.Array, setting)).toBe(0);
    expect(preAllocateMapFlags(MapType.LRUHash, setting)).toBe(0);
  });

  it("TestPreallocationFlags: no map type both forbids and requires pre-allocation", () => {
    for (let t = 0; t < MapType.MapTypeMaximum; t++) {
      expect(allowsPreallocation(t) || !requiresPreallocation(t), `type ${t}`).toBe(true);
    }
  });

  it("only Hash, PerCPUHash and HashOfMaps follow the switch", () => {
    const follow = [];
    for (let t = 0; t < MapType.MapTypeMaximum; t++) {
      if (preAllocateMapFlags(t, 0) !== preAllocateMapFlags(t, BPF_F_NO_PREALLOC)) follow.push(t);
    }
    expect(follow).toEqual([MapType.Hash, MapType.PerCPUHash, MapType.HashOfMaps]);
  });
});
