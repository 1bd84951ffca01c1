// BTF: the wire format, a parser, a builder, BTF from codecs, values printed by their type.
export * from "./btf-format.js";
export * from "./btf-parse.js";
export * from "./btf-builder.js";
export * from "./btf-codec.js";
export * from "./btf-value.js";
