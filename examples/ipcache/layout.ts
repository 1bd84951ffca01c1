// The ipcache's key and value as Cilium's datapath lays them out (bpf/lib/maps.h), as codecs.
//
// struct ipcache_key {                       struct remote_endpoint_info {
//   struct bpf_lpm_trie_key lpm_key;  // u32    __u32 sec_identity;
//   __u16 cluster_id;                          union v6addr tunnel_endpoint; // v4: first 4 bytes
//   __u8  pad1;                                __u16 pad;
//   __u8  family;                              __u8  key;          // IPsec key index
//   union v6addr ip;  // v4: first 4 bytes     __u8  flags;
// };                                         };
//
// Two things a port has to get right, and the codecs below do:
//  - the trie matches on the whole key after lpm_key, so cluster_id, pad1 and family are part of
//    every prefix: a /8 is prefixlen 32 + 8 (Cilium's getStaticPrefixBits);
//  - an IPv4 address sits in the first 4 bytes of a 16-byte union. Nothing in those 16 bytes
//    says which family it is: the key has `family`, the value a flag.
import { type Codec, bytes, formatIpv4, formatIpv6, lpmKey, pad, parseIpv4, parseIpv6, struct, u16, u32, u8 } from "@bpfkit/core";

export const ENDPOINT_KEY_IPV4 = 1;
export const ENDPOINT_KEY_IPV6 = 2;
/** cluster_id, pad1 and family: the bits every prefix covers before the address's own. */
export const STATIC_PREFIX_BITS = 32;

/** A prefix of one cluster: `10.0.0.0/8`, `f00d::/64`; a plain address is a /32 or /128. */
export interface IpcacheKey {
  prefix: string;
  clusterId: number;
}

const rawKey = lpmKey(struct({ clusterId: u16, pad1: pad(1), family: u8, ip: bytes(16) }, { name: "ipcache_key" }));

/** The address text → its family and 16 union bytes, or undefined. */
function parseUnion(text: string): { family: number; ip: Uint8Array } | undefined {
  const v4 = parseIpv4(text);
  const b = v4 ?? parseIpv6(text);
  if (b === undefined) return undefined;
  const ip = new Uint8Array(16);
  ip.set(b);
  return { family: v4 !== undefined ? ENDPOINT_KEY_IPV4 : ENDPOINT_KEY_IPV6, ip };
}

/**
 * The ipcache key. Encoding zeroes the address bits past the prefix: the trie ignores them, and
 * a dump then shows `10.1.0.0/16` for what was written as `10.1.0.5/16`.
 */
export const ipcacheKey: Codec<IpcacheKey> = {
  size: rawKey.size,
  encode(k, out) {
    if (k === null || typeof k !== "object" || typeof k.prefix !== "string") {
      throw new TypeError(`ipcacheKey: expected { prefix, clusterId }, got ${JSON.stringify(k)}`);
    }
    const slash = k.prefix.indexOf("/");
    const addr = parseUnion(slash < 0 ? k.prefix : k.prefix.slice(0, slash));
    if (addr === undefined) throw new TypeError(`ipcacheKey: ${JSON.stringify(k.prefix)} is not an address or prefix`);
    const max = addr.family === ENDPOINT_KEY_IPV4 ? 32 : 128;
    const bits = slash < 0 ? max : Number(k.prefix.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && !/^\d+$/.test(k.prefix.slice(slash + 1)))) {
      throw new RangeError(`ipcacheKey: ${JSON.stringify(k.prefix)} has no prefix length in [0, ${max}]`);
    }
    for (let bit = bits; bit < 128; bit++) addr.ip[bit >> 3] = addr.ip[bit >> 3]! & ~(0x80 >> (bit & 7));
    rawKey.encode({ prefixLen: STATIC_PREFIX_BITS + bits, data: { clusterId: k.clusterId, family: addr.family, ip: addr.ip } }, out);
  },
  decode(b) {
    const { prefixLen, data } = rawKey.decode(b);
    const addr = data.family === ENDPOINT_KEY_IPV4 ? formatIpv4(data.ip) : formatIpv6(data.ip);
    return { prefix: `${addr}/${prefixLen - STATIC_PREFIX_BITS}`, clusterId: data.clusterId };
  },
  // Cilium's PrefixCluster.String(): the cluster only when there is one.
  format: (k) => (k.clusterId !== 0 ? `${k.prefix}@${k.clusterId}` : k.prefix),
};

export const FLAG_SKIP_TUNNEL = 1 << 0;
export const FLAG_HAS_TUNNEL_ENDPOINT = 1 << 1;
export const FLAG_IPV6_TUNNEL_ENDPOINT = 1 << 2;

/** What the datapath learns of a peer: its security identity and where to tunnel to it. */
export interface RemoteEndpointInfo {
  identity: number;
  /** The node that hosts it (either family), or undefined when traffic is not tunnelled. */
  tunnelEndpoint: string | undefined;
  /** The IPsec key index. */
  encryptKey: number;
  /** FLAG_SKIP_TUNNEL …; the tunnel flags follow `tunnelEndpoint` and are set by encode. */
  flags: number;
}

const rawValue = struct({ identity: u32, tunnelEndpoint: bytes(16), pad: pad(2), encryptKey: u8, flags: u8 },
  { name: "remote_endpoint_info" });
const TUNNEL_FLAGS = FLAG_HAS_TUNNEL_ENDPOINT | FLAG_IPV6_TUNNEL_ENDPOINT;

/** The ipcache value, the tunnel endpoint's family read from (and written to) its flags. */
export const remoteEndpointInfo: Codec<RemoteEndpointInfo> = {
  size: rawValue.size,
  encode(v, out) {
    let flags = v.flags & ~TUNNEL_FLAGS;
    const ip = new Uint8Array(16);
    if (v.tunnelEndpoint !== undefined) {
      const addr = parseUnion(v.tunnelEndpoint);
      if (addr === undefined) throw new TypeError(`remoteEndpointInfo: tunnelEndpoint ${JSON.stringify(v.tunnelEndpoint)} is not an address`);
      ip.set(addr.ip);
      flags |= FLAG_HAS_TUNNEL_ENDPOINT | (addr.family === ENDPOINT_KEY_IPV6 ? FLAG_IPV6_TUNNEL_ENDPOINT : 0);
    }
    rawValue.encode({ identity: v.identity, tunnelEndpoint: ip, encryptKey: v.encryptKey, flags }, out);
  },
  decode(b) {
    const r = rawValue.decode(b);
    const tunnelEndpoint = (r.flags & FLAG_HAS_TUNNEL_ENDPOINT) === 0 ? undefined
      : (r.flags & FLAG_IPV6_TUNNEL_ENDPOINT) !== 0 ? formatIpv6(r.tunnelEndpoint) : formatIpv4(r.tunnelEndpoint);
    return { identity: r.identity, tunnelEndpoint, encryptKey: r.encryptKey, flags: r.flags & ~TUNNEL_FLAGS };
  },
  format: (v) => `identity=${v.identity} encryptkey=${v.encryptKey} tunnelendpoint=${v.tunnelEndpoint ?? "<nil>"}`,
};
