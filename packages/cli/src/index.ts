// @bpfkit/cli: the `bpfkit` command as a function, for the bin and for tests.
export { main, commandHelp, overview, VERSION } from "./main.js";
export { COMMANDS } from "./commands/index.js";
export type { Command, OptionSpec } from "./command.js";
export { captureIo, processIo, type CapturedIo, type CliIo, type DriverKind } from "./io.js";
export { ExitCode, CliError } from "./cli-error.js";
export { parseType, bytesType, parseHexBytes, type ValueType } from "./types.js";
export { listMaps } from "./commands/maps.js";
export { listProgs } from "./commands/progs.js";
export { probeDriver, type ProbeReport, type TypeProbe } from "./commands/probe.js";
