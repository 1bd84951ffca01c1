// LPM_TRIE (kernel-maps.md §9). Work in progress: not yet implemented.
import { ENOTSUPP } from "./errno";
import { MapHdr } from "./map";
export function lpmInit(m: MapHdr): i32 { return -ENOTSUPP; }
export function lpmRelease(m: MapHdr): void {}
export function lpmClear(m: MapHdr): void {}
export function lpmLookup(m: MapHdr, key: usize, value: usize): i32 { return -ENOTSUPP; }
export function lpmUpdate(m: MapHdr, key: usize, value: usize, flags: u32): i32 { return -ENOTSUPP; }
export function lpmDelete(m: MapHdr, key: usize): i32 { return -ENOTSUPP; }
export function lpmGetNextKey(m: MapHdr, key: usize, nextKey: usize): i32 { return -ENOTSUPP; }
