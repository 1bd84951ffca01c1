// How an error shows a value it refused: as the caller wrote it, so that a string "8" does not
// read as the number 8, nor 8n as 8, nor a DataView as "[object DataView]".

/** `v` as an argument error names it: a number as is, a string quoted (cut at 64), a bigint with its `n`, an object by its class. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case "string": return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}…` : v);
    case "bigint": return `${v}n`;
    case "symbol": return v.toString();
    case "function": return "a function";
    case "object": {
      if (v === null) return "null";
      // The prototype's constructor, not a "constructor" field the object may carry itself.
      const proto = Object.getPrototypeOf(v) as { constructor?: unknown } | null;
      if (proto === null) return "an object with no prototype";
      // A prototype with no constructor (Object.create of a null-prototype object) names no class.
      if (typeof proto.constructor !== "function") return "an object of no class";
      // An anonymous class's instance: its constructor's name is "".
      return proto.constructor.name !== "" ? proto.constructor.name : "an object of an unnamed class";
    }
    default: return String(v);
  }
}
