// The seed's DumpParser: how a dump turns the raw key and value bytes it read into the objects
// handed to the callback. The standard one, convertKeyValue, decodes with the map's codecs.
import type { Codec } from "./codec.js";

/** One decoded entry; a dump may hand the same object to the parser for every entry. */
export interface KeyValue<K, V> {
  /** The decoded key. */
  key: K;
  /** The decoded value. */
  value: V;
}

/**
 * `(keyBytes, valueBytes, keyCodec, valueCodec, out)`: decode into `out` and return it (or a
 * new object). Empty `valueBytes` means "key only" (the seed's DeleteAll), and the same for an
 * empty key. A parser throws to abort the dump.
 */
export type DumpParser<K = any, V = any> = (
  keyBytes: Uint8Array,
  valueBytes: Uint8Array,
  keyCodec: Codec<K>,
  valueCodec: Codec<V>,
  out: KeyValue<K, V>,
) => KeyValue<K, V>;

/** A parse failure: `Unable to convert key: …` / `Unable to convert value: …`. */
export class ConvertError extends Error {
  /** Makes the error for the part (`key` or `value`) that failed, with the codec's error as `cause`. */
  constructor(what: "key" | "value", cause: unknown) {
    const text = cause instanceof Error ? cause.message : String(cause);
    super(`Unable to convert ${what}: ${text}`, { cause });
    this.name = "ConvertError";
  }
}

function decodeChecked<T>(what: "key" | "value", codec: Codec<T>, bytes: Uint8Array): T {
  // Go's encoding/binary says `unexpected EOF` for a short buffer; a long one is read up to size.
  if (bytes.length < codec.size) throw new ConvertError(what, new Error("unexpected EOF"));
  try {
    return codec.decode(bytes);
  } catch (e) {
    throw new ConvertError(what, e);
  }
}

/**
 * The seed's ConvertKeyValue, the standard DumpParser: decodes the key when `keyBytes` is not
 * empty and the value when `valueBytes` is not empty, into `out`, and returns `out`.
 */
export const convertKeyValue: DumpParser = (keyBytes, valueBytes, keyCodec, valueCodec, out) => {
  if (keyBytes.length > 0) out.key = decodeChecked("key", keyCodec, keyBytes);
  if (valueBytes.length > 0) out.value = decodeChecked("value", valueCodec, valueBytes);
  return out;
};
