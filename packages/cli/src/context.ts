// What every command gets: the io, the parsed global options, and the driver (opened lazily:
// `bpfkit map lookup` with a bad key fails before any bpf(2) call).
import { createBpf, type Driver, type Logger } from "@bpfkit/core";
import { selectDriver, type DriverChoice } from "./driver-select.js";
import { toJson } from "./format.js";
import type { CliIo } from "./io.js";
import type { MapRoot } from "./map-ref.js";

export interface Ctx {
  readonly io: CliIo;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly driverChoice: DriverChoice;
  driver(): Promise<Driver>;
  /** The map root and prefix that bare map names resolve under. */
  mapRoot(driver: Driver): MapRoot;
  /** The map root the user set (--map-root, else BPFKIT_MAP_ROOT), before any discovery. */
  readonly givenMapRoot: string | undefined;
  /** Writes a JSON document (with --json) or the human text. */
  emit(human: () => string, json: () => unknown): void;
  /** A progress line on a terminal's stderr, overwritten in place; `done` clears it. */
  progress(text: string | undefined): void;
}

export interface CtxOptions {
  json: boolean;
  quiet: boolean;
  driverChoice: DriverChoice;
  mapRoot: string | undefined;
  mapPrefix: string;
  /** Told the driver once it is made. */
  onDriver?: (d: Driver) => void;
}

export function makeCtx(io: CliIo, o: CtxOptions): Ctx {
  let driver: Promise<Driver> | undefined;
  let shown = false;
  const givenMapRoot = o.mapRoot ?? io.env.BPFKIT_MAP_ROOT;
  return {
    io,
    json: o.json,
    quiet: o.quiet,
    driverChoice: o.driverChoice,
    givenMapRoot,
    driver: () => (driver ??= selectDriver(io, o.driverChoice, o.quiet).then((d) => {
      o.onDriver?.(d);
      return d;
    })),
    mapRoot(d) {
      // core's rule: /sys/fs/bpf when a bpffs is mounted there, else the first bpffs mount.
      const root = givenMapRoot ?? createBpf({ driver: d, logger: quietLogger }).getMapRoot();
      return { root, prefix: o.mapPrefix };
    },
    emit(human, json) {
      io.stdout(o.json ? toJson(json()) : human());
    },
    progress(text) {
      if (!io.stderrIsTty || o.quiet) return;
      if (text === undefined) {
        if (shown) io.stderr("\r\x1b[K");
        shown = false;
        return;
      }
      io.stderr(`\r\x1b[K${text}`);
      shown = true;
    },
  };
}

const quietLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
