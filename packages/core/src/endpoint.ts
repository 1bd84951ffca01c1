// Cilium's `struct endpoint_key` (bpf/lib/common.h): the key of the endpoint and tunnel maps.
// 16 address bytes (IPv4 in the first 4), family, a sub-key, and 2 bytes of padding.
import { hostIsLittleEndian as le, type FieldCodec } from "./codec.js";
import { EndpointKeyIPv4, EndpointKeyIPv6 } from "./constants.js";
import { formatIp, isIpv4Mapped, parseIp } from "./ip.js";

/** Bytes of Cilium's `struct endpoint_key`: 16 of address, family, key, and 2 of padding. */
export const ENDPOINT_KEY_SIZE = 20;

/** Cilium's 20-byte `struct endpoint_key`: an IPv4 or IPv6 address, its family and a key (`newEndpointKey(ip)`). */
export class EndpointKey {
  /** IPv6, or IPv4 in bytes 0..3 with the rest zero. */
  readonly ip: Uint8Array;
  /** `EndpointKeyIPv4` (1), `EndpointKeyIPv6` (2), or 0 for none (byte 16). */
  family: number;
  /** The sub-key, a u8 the datapath keys endpoint entries by beside the address (byte 17). */
  key: number;
  /** The trailing u16 of padding (the C struct's `pad5`), which the datapath keeps zero. */
  pad2: number;

  /**
   * Makes a key from its fields as they are (the ip array is kept, not copied); `newEndpointKey(ip)` makes one
   * from an address.
   */
  constructor(ip: Uint8Array = new Uint8Array(16), family = 0, key = 0, pad2 = 0) {
    if (!(ip instanceof Uint8Array) || ip.length !== 16) throw new TypeError("EndpointKey: ip must be 16 bytes");
    this.ip = ip;
    this.family = family;
    this.key = key;
    this.pad2 = pad2;
  }

  /** The seed's ToIP: 4 bytes for IPv4, 16 for IPv6, undefined for any other family. A copy. */
  toIp(): Uint8Array | undefined {
    if (this.family === EndpointKeyIPv4) return this.ip.slice(0, 4);
    if (this.family === EndpointKeyIPv6) return this.ip.slice();
    return undefined;
  }

  /** `10.0.0.1:0`, `[f00d::1]:0` (host:port joining with the sub-key), or `nil`. */
  toString(): string {
    const ip = this.toIp();
    if (ip === undefined) return "nil";
    const text = formatIp(ip);
    return text.includes(":") ? `[${text}]:${this.key}` : `${text}:${this.key}`;
  }

  /** The 20 raw bytes, as a map key or value (the seed's GetKeyPtr / GetValuePtr). */
  toBytes(): Uint8Array {
    const b = new Uint8Array(ENDPOINT_KEY_SIZE);
    endpointKey.encode(this, b);
    return b;
  }

  /** The seed's DeepCopy. */
  clone(): EndpointKey {
    return new EndpointKey(this.ip.slice(), this.family, this.key, this.pad2);
  }

  /** Whether the two keys have the same 20 bytes: address, family, key and padding. */
  equals(other: EndpointKey): boolean {
    if (this.family !== other.family || this.key !== other.key || this.pad2 !== other.pad2) return false;
    for (let i = 0; i < 16; i++) if (this.ip[i] !== other.ip[i]) return false;
    return true;
  }
}

/**
 * The seed's NewEndpointKey. IPv4 text, 4 bytes, and IPv4-mapped IPv6 (`::ffff:a.b.c.d`) give
 * family 1 with the address in bytes 0..3; anything else is family 2 with up to 16 bytes copied
 * (a short or missing input leaves the rest zero, as in Go). Text that is not an address throws.
 */
export function newEndpointKey(ip: string | Uint8Array | null | undefined): EndpointKey {
  let b: Uint8Array | null | undefined;
  if (typeof ip === "string") {
    b = parseIp(ip);
    if (b === undefined) throw new TypeError(`newEndpointKey: ${JSON.stringify(ip)} is not an IP address`);
  } else if (ip === null || ip === undefined || ip instanceof Uint8Array) {
    b = ip;
  } else {
    throw new TypeError("newEndpointKey: ip must be a string or a Uint8Array");
  }
  const k = new EndpointKey();
  if (b !== null && b !== undefined && (b.length === 4 || isIpv4Mapped(b))) {
    k.ip.set(b.length === 4 ? b : b.subarray(12, 16));
    k.family = EndpointKeyIPv4;
  } else {
    if (b !== null && b !== undefined) k.ip.set(b.subarray(0, 16));
    k.family = EndpointKeyIPv6;
  }
  return k;
}

function checkBuf(what: string, b: unknown, o: number): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`endpointKey: ${what} must be a Uint8Array`);
  if (o + ENDPOINT_KEY_SIZE > b.length) {
    throw new RangeError(`endpointKey: needs ${ENDPOINT_KEY_SIZE} bytes at offset ${o}, ${what} has ${b.length}`);
  }
}

function checkInt(what: string, v: unknown, max: number): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`endpointKey: ${what} ${String(v)} is not an integer in [0, ${max}]`);
  }
}

function encodeAt(v: EndpointKey, out: Uint8Array, o: number): void {
  checkBuf("output", out, o);
  if (!(v instanceof EndpointKey)) throw new TypeError("endpointKey: expected an EndpointKey");
  checkInt("family", v.family, 0xff);
  checkInt("key", v.key, 0xff);
  checkInt("pad2", v.pad2, 0xffff);
  if (!(v.ip instanceof Uint8Array) || v.ip.length !== 16) throw new TypeError("endpointKey: ip must be 16 bytes");
  out.set(v.ip, o);
  out[o + 16] = v.family;
  out[o + 17] = v.key;
  // pad2 is a host-order u16; the datapath keeps it zero.
  out[o + (le ? 18 : 19)] = v.pad2 & 0xff;
  out[o + (le ? 19 : 18)] = (v.pad2 >>> 8) & 0xff;
}

function decodeAt(b: Uint8Array, o: number): EndpointKey {
  checkBuf("input", b, o);
  const pad2 = le ? b[o + 18]! | (b[o + 19]! << 8) : b[o + 19]! | (b[o + 18]! << 8);
  return new EndpointKey(b.slice(o, o + 16), b[o + 16]!, b[o + 17]!, pad2);
}

/** The codec of `struct endpoint_key` (20 bytes, aligned to 4 like its `__u32` union). */
export const endpointKey: FieldCodec<EndpointKey> = Object.freeze({
  name: "endpointKey",
  size: ENDPOINT_KEY_SIZE,
  align: 4,
  encode: (v: EndpointKey, out: Uint8Array) => encodeAt(v, out, 0),
  decode: (b: Uint8Array) => decodeAt(b, 0),
  encodeAt,
  decodeAt,
  format: (v: EndpointKey) => v.toString(),
});
