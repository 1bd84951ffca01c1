// What a composite codec is made of, for code that describes codecs rather than runs them (BTF
// from a codec). bytes(), array(), aligned() and lpmKey() record their parts here instead of on the frozen
// codec objects, so that the codecs' public types stay as they were.
import type { Codec } from "./codec.js";

/** The parts of a codec built from others. */
export type CodecShape =
  | { readonly kind: "array"; readonly element: Codec<unknown>; readonly length: number }
  | { readonly kind: "aligned"; readonly inner: Codec<unknown> }
  | { readonly kind: "lpmKey"; readonly data: Codec<unknown> }
  | { readonly kind: "bytes" };

const shapes = new WeakMap<object, CodecShape>();

/** Remembers what `codec` is made of; returns it. */
export function recordShape<C extends object>(codec: C, shape: CodecShape): C {
  shapes.set(codec, shape);
  return codec;
}

/** What `codec` is made of, if one of the builders above made it. */
export function codecShape(codec: object): CodecShape | undefined {
  return shapes.get(codec);
}
