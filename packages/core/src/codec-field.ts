// A FieldCodec from its offset-taking halves, with the bounds checks every codec makes: the
// builder under core's own codecs and the ones made from BTF. Not exported from the package.
import type { FieldCodec } from "./codec.js";

function checkOut(name: string, out: unknown, offset: number, size: number): void {
  if (!(out instanceof Uint8Array)) throw new TypeError(`${name}: output must be a Uint8Array`);
  if (offset + size > out.length) {
    throw new RangeError(`${name}: needs ${size} bytes at offset ${offset}, output has ${out.length}`);
  }
}

function checkIn(name: string, bytes: unknown, offset: number, size: number): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: input must be a Uint8Array`);
  if (offset + size > bytes.length) {
    throw new RangeError(`${name}: needs ${size} bytes at offset ${offset}, got ${bytes.length}`);
  }
}

/** Builds a FieldCodec from its offset-taking halves. */
export function field<T>(name: string, size: number, align: number,
  enc: (value: T, out: Uint8Array, offset: number) => void,
  dec: (bytes: Uint8Array, offset: number) => T,
  format: (value: T) => string): FieldCodec<T> {
  const encodeAtChecked = (value: T, out: Uint8Array, offset: number): void => {
    checkOut(name, out, offset, size);
    enc(value, out, offset);
  };
  const decodeAtChecked = (bytes: Uint8Array, offset: number): T => {
    checkIn(name, bytes, offset, size);
    return dec(bytes, offset);
  };
  return Object.freeze({
    name, size, align,
    encode: (value: T, out: Uint8Array) => encodeAtChecked(value, out, 0),
    decode: (bytes: Uint8Array) => decodeAtChecked(bytes, 0),
    encodeAt: encodeAtChecked,
    decodeAt: decodeAtChecked,
    format,
  });
}
