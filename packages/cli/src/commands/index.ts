// Every command, in the order `bpfkit --help` lists them.
import type { Command } from "../command.js";
import { btfListCommand } from "./btf.js";
import { btfDumpCommand } from "./btf-dump.js";
import { demoCommand } from "./demo.js";
import { fuzzBtfCommand, fuzzDiffCommand, fuzzDumpCommand } from "./fuzz.js";
import { mapsCommand } from "./maps.js";
import { mountCommand } from "./mount.js";
import { mapCreateCommand } from "./map-create.js";
import { mapDumpCommand } from "./map-dump.js";
import {
  mapDeleteCommand, mapFreezeCommand, mapLookupCommand, mapNextCommand, mapPinCommand, mapShowCommand, mapUpdateCommand,
} from "./map-elem.js";
import { mapDequeueCommand, mapEnqueueCommand, mapPeekCommand, mapPopCommand, mapPushCommand } from "./map-queue.js";
import { mapConsumeCommand } from "./map-consume.js";
import { mapProduceCommand } from "./map-produce.js";
import { mapEventPipeCommand } from "./map-event-pipe.js";
import { probeCommand } from "./probe.js";
import { progsCommand } from "./progs.js";

/** Every command of `bpfkit`, in the order `bpfkit --help` lists them. */
export const COMMANDS: readonly Command[] = [
  demoCommand,
  mapsCommand,
  mapShowCommand,
  mapDumpCommand,
  mapLookupCommand,
  mapUpdateCommand,
  mapDeleteCommand,
  mapNextCommand,
  mapPinCommand,
  mapFreezeCommand,
  mapPushCommand,
  mapPopCommand,
  mapPeekCommand,
  mapConsumeCommand,
  mapProduceCommand,
  mapEventPipeCommand,
  mapEnqueueCommand,
  mapDequeueCommand,
  mapCreateCommand,
  progsCommand,
  btfListCommand,
  btfDumpCommand,
  probeCommand,
  mountCommand,
  fuzzDiffCommand,
  fuzzBtfCommand,
  fuzzDumpCommand,
];
