// Symbol.dispose, for Node 20.0–20.3, which do not define it: `using map = …` (TypeScript's
// helper asks for Symbol.dispose when the statement runs) and BpfMap's [Symbol.dispose] key both
// need it. Node 20.4+ defines it as Symbol.for("nodejs.dispose"), so that is the value given
// here too, and code built against either sees one key. Imported for its effect, before any
// class that uses the symbol is defined; a user's own polyfill would run too late.
const symbols = Symbol as { dispose?: symbol };
symbols.dispose ??= Symbol.for("nodejs.dispose");

export {};
