// What the concurrent datapath did during one dump: enough to know which keys were present for
// the whole dump (never touched) and which values a dump may legitimately read.

/**
 * What the concurrent datapath did during one dump: the keys it touched, deleted and wrote, and the versions it
 * wrote.
 */
export interface DatapathRecord {
  /** Keys the datapath updated or deleted successfully (from just before the dump to its end). */
  readonly touched: Set<number>;
  /** Keys the datapath deleted successfully. */
  readonly deleted: Set<number>;
  /** Keys the datapath wrote (so they may be present although not there before the dump). */
  readonly written: Set<number>;
  /** The last version the datapath wrote per key (versions start at 1; 0 is the setup's). */
  readonly maxVersion: Map<number, number>;
  /** True when writes set one CPU's slot (a BPF program): new per-CPU elements zero the others. */
  readonly slotWrites: boolean;
  /** Datapath operations performed. */
  ops: number;
  /** Seconds the datapath ran. */
  seconds: number;
}

/** An empty record; `slotWrites` for a datapath that writes one CPU's slot (a BPF program). */
export function newDatapathRecord(slotWrites: boolean): DatapathRecord {
  return { touched: new Set(), deleted: new Set(), written: new Set(), maxVersion: new Map(), slotWrites, ops: 0, seconds: 0 };
}
