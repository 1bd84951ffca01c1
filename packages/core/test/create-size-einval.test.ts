// A create refused with EINVAL for one size alone says which (htab_map_alloc_check,
// array_map_alloc_check, fd_array_map_alloc_check, trie_alloc): a bare "invalid argument" did
// not tell a max_entries of 0 from a bad flag. On both drivers, whose EINVAL is the kernel's.
import { afterEach, beforeEach, expect, it } from "vitest";
import { bytes, MapType, u32, u64, type Codec } from "@bpfkit/core";
import { forEachDriver, makeWorld, type World } from "./support/bpf-world.js";
import { thrownBpfError } from "./support/thrown.js";

interface Case {
  type: number;
  key: Codec<unknown>;
  value: Codec<unknown>;
  maxEntries: number;
  flags?: number;
  why: string;
}

const NO_PREALLOC = 1;
const cases: Case[] = [
  { type: MapType.Hash, key: u32, value: u64, maxEntries: 0, why: "max_entries 0: a hash map holds at least one element" },
  { type: MapType.LRUHash, key: bytes(0), value: u64, maxEntries: 4, why: "key_size 0: a hash map's key is at least one byte" },
  { type: MapType.Hash, key: u32, value: bytes(0), maxEntries: 4, why: "value_size 0: a hash map's value is at least one byte" },
  { type: MapType.Array, key: u64, value: u64, maxEntries: 4, why: "an array's key is a u32 index: key_size 4, not 8" },
  { type: MapType.Array, key: u32, value: u64, maxEntries: 0, why: "max_entries 0: an array holds at least one element" },
  { type: MapType.ProgArray, key: u32, value: u64, maxEntries: 4, why: "ProgArray values are fds: value_size 4, not 8" },
  { type: MapType.LPMTrie, key: u32, value: u64, maxEntries: 4, flags: NO_PREALLOC,
    why: "an LPM trie's key is a u32 prefix length and 1 to 256 bytes of data: key_size 5 to 260, not 4" },
];

forEachDriver("a create's EINVAL names the size at fault", (d) => {
  let w: World;
  beforeEach(() => {
    w = makeWorld(d);
  });
  afterEach(() => w.dispose());

  it.each(cases.map((c, i) => ({ ...c, i })))("$why", ({ why, i, ...spec }) => {
    const e = thrownBpfError(() => w.bpf.newMap({ name: `sz${i}`, ...spec, flags: spec.flags ?? 0 }).openOrCreateUnpinned());
    expect(e.code).toBe("EINVAL");
    expect(e.message.endsWith(`: invalid argument (${why})`), e.message).toBe(true);
  });

  it("a create refused for a flag, not a size, gets no size hint", () => {
    const e = thrownBpfError(() => w.bpf.newMap({ name: "flagged", type: MapType.Array, key: u32, value: u64, maxEntries: 4, flags: NO_PREALLOC })
      .openOrCreateUnpinned());
    expect(e.code).toBe("EINVAL");
    expect(e.message).toMatch(/: invalid argument$/);
  });
});
