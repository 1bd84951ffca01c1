// BTF: the wire format, a parser, a builder, BTF from codecs and codecs from BTF, values printed by their type, C headers, and
// the func_info and line_info records a program is loaded with.
export * from "./btf-format.js";
export * from "./btf-parse.js";
export * from "./btf-builder.js";
export * from "./btf-codec.js";
export * from "./btf-value.js";
export * from "./prog-info-records.js";
export * from "./btf-to-codec.js";
export * from "./btf-c.js";
