// The demo's datapath: what the BPF programs of a node do to the conntrack table while user
// space garbage-collects it — open new flows and close old ones, only in the "churn" part of
// the table. On the simulator it acts between syscalls through the interleaving hook
// (deterministic from the seed); on the kernel it is a second thread hammering the same map.

export interface DatapathCounts {
  inserts: number;
  deletes: number;
}

export interface DemoDatapath {
  /** One line for the report. */
  readonly description: string;
  /** Operations so far. */
  counts(): DatapathCounts;
  /** Runs `fn` while the datapath acts on the map. */
  during<T>(fn: () => T): T;
  close(): Promise<void>;
}

/** The flows the datapath may open and close: [from, to). `present[i - from]` says which are in. */
export interface ChurnPool {
  from: number;
  to: number;
  present: Int8Array;
}
