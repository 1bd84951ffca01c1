// The demo's conntrack table: Cilium-like 5-tuple keys and {expires, packets} values, and the
// flows it starts with. Everything comes from one seed, so a run can be repeated exactly.
import { be16, ipv4, struct, u32, u64, u8, type Codec } from "@bpfkit/core";

/** `struct { __be32 saddr, daddr; __be16 sport, dport; __u8 proto; }`: 16 bytes with padding. */
export const ctKey = struct({ saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8 });
/** `struct { __u64 expires; __u64 packets; }`: expiry in CLOCK_MONOTONIC ns, as ktime_get_ns(). */
export const ctValue = struct({ expires: u64, packets: u64 });

export type CtKey = ReturnType<typeof ctKey.decode>;
export type CtValue = ReturnType<typeof ctValue.decode>;

/** Flow i as a key: 10.0.x.y → 10.1.0.1, a distinct source port each. */
export function flowKey(i: number): CtKey {
  return {
    saddr: `10.0.${(i >> 8) & 0xff}.${i & 0xff}`,
    daddr: "10.1.0.1",
    sport: 1024 + (i % 60000),
    dport: i % 2 === 0 ? 443 : 80,
    proto: 6,
  };
}

/** The flow number a key was made from (the inverse of flowKey within the demo's range). */
export function flowIndex(k: CtKey): number {
  const [, , a, b] = k.saddr.split(".").map(Number) as [number, number, number, number];
  return (a << 8) | b;
}

/** A small fast PRNG (mulberry32): the same seed gives the same run. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function encode<T>(c: Codec<T>, v: T): Uint8Array {
  const b = new Uint8Array(c.size);
  c.encode(v, b);
  return b;
}

export { u32 };
