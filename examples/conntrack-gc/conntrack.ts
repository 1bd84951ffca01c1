// A conntrack table as Cilium lays one out: a 5-tuple key and an entry whose `expires` is a
// CLOCK_MONOTONIC time in ns — what the datapath's bpf_ktime_get_ns() returns and what
// `bpf.getMtime()` reads in user space, so the two compare directly.
import { be16, ipv4, struct, u32, u64, u8 } from "@bpfkit/core";

/** `struct { __be32 saddr, daddr; __be16 sport, dport; __u8 proto; }` (16 bytes, 3 of padding). */
export const ctKey = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 }, { name: "ct_key" });
/** `struct { __u64 expires; __u32 packets; __u32 flags; }`. */
export const ctEntry = struct({ expires: u64, packets: u32, flags: u32 }, { name: "ct_entry" });

export type CtKey = ReturnType<typeof ctKey.decode>;
export type CtEntry = ReturnType<typeof ctEntry.decode>;

export const IPPROTO_TCP = 6;

/** Flow `i`: 10.0.x.y:(1024+i) → 10.1.0.1:443 over TCP. */
export function flowKey(i: number): CtKey {
  return { saddr: `10.0.${(i >> 8) & 0xff}.${i & 0xff}`, daddr: "10.1.0.1", sport: 1024 + i, dport: 443, proto: IPPROTO_TCP };
}

/** `flowKey`'s inverse, for tests that track flows by number. */
export function flowNumber(k: CtKey): number {
  return k.sport - 1024;
}
