// The shapes of the conformance suite: cases, options, reports. No test framework involved.
import type { Driver } from "@bpfkit/core";
import type { CaseContext } from "./context.js";

/** The spec areas the suite covers; each case belongs to one. */
export type ConformanceGroup =
  | "create" | "elements" | "freeze" | "hash" | "percpu" | "lru" | "lru-exact" | "array" | "lpm"
  | "batch" | "map-in-map" | "prog-array" | "prog-load" | "prog-btf" | "prog-attach" | "pin" | "fd-modes" | "dup" | "ids"
  | "rename" | "info" | "fdinfo" | "safety" | "unprivileged" | "queue-stack" | "bloom" | "mmap" | "ringbuf" | "perf" | "btf";

/** Every conformance group: the names `groups` may list. */
export const allGroups: readonly ConformanceGroup[] = [
  "create", "elements", "freeze", "hash", "percpu", "lru", "lru-exact", "array", "lpm", "batch",
  "map-in-map", "prog-array", "prog-load", "prog-btf", "prog-attach", "pin", "rename", "fd-modes", "dup", "ids", "info", "fdinfo", "safety",
  "unprivileged", "queue-stack", "bloom", "mmap", "ringbuf", "perf", "btf",
];

/** One rule of the kernel-maps spec, checked on a driver: its name, group, and the check. */
export interface ConformanceCase {
  /** Starts with the spec section it checks: `§5.3 hash: walk of u32 0..15 …`. */
  readonly name: string;
  /** The spec area the case belongs to, which `groups` selects by. */
  readonly group: ConformanceGroup;
  /** Throws (an `AssertionError` or anything) when the driver breaks the rule. */
  run(ctx: CaseContext): void;
}

/** `runConformance`'s options (the suite's README has the table); any other key is a TypeError. */
export interface ConformanceOptions {
  /** Only these groups (default: all). */
  groups?: readonly ConformanceGroup[];
  /** Only cases whose name includes one of these strings. */
  only?: readonly string[];
  /**
   * Cases this driver does not claim to pass, each with the reason: a case whose name includes
   * `match` is skipped (reported as skipped with `excluded: <reason>`, never dropped silently).
   */
  exclude?: readonly { readonly match: string; readonly reason: string }[];
  /**
   * Where pins go. A string is an existing bpffs directory the suite may fill (it cleans up what
   * it pins); a function mounts one per case. Default: `mountPrivateBpffs(driver)` per case.
   */
  bpffs?: string | ((driver: Driver) => { path: string; dispose(): void });
  /**
   * Whether the driver's LRU eviction is exactly the single-CPU sequence of kernel-maps.md
   * §7.2/§7.3 (the simulator; the kernel when every syscall runs on CPU 0). Without it the
   * `lru-exact` cases are skipped with that reason.
   */
  exactLru?: boolean;
  /** Runs an `lru-exact` case with the calling thread on one CPU (the kernel: `onCpu0`). */
  pinCpu?: <T>(fn: () => T) => T;
  /**
   * Whether the driver runs with every capability (default true). `false` runs the
   * `unprivileged` cases (§3.1 capability gate, with unprivileged_bpf_disabled = 2) instead of
   * the privileged-only rows.
   */
  privileged?: boolean;
}

/** A conformance case that failed: its name and what differed. */
export interface CaseFailure {
  /** The case's name, starting with the spec section it checks. */
  name: string;
  /** What differed from the spec (or the exception the case threw). */
  message: string;
  /**
   * The call stack of what the case threw, when it was no rule's mismatch but an exception (from
   * the driver, say): its frames say which driver call of the case threw it. formatReport shows it.
   */
  stack?: string;
}

/** A conformance case that was not run, and why. */
export interface CaseSkip {
  /** The case's name, starting with the spec section it checks. */
  name: string;
  /** Why it was skipped (`excluded: <reason>`, the group needs privileges, …). */
  reason: string;
}

/** What `runConformance` found: the cases passed, failed (with what differed) and skipped (with why). */
export interface ConformanceReport {
  /** The driver's `kind`. */
  driver: string;
  /** Number of cases that passed. */
  passed: number;
  /** The names of the cases that passed. */
  passedNames: string[];
  /** The cases that failed, each with what differed. */
  failed: CaseFailure[];
  /** The cases not run, each with why (excluded, not privileged, no exact LRU, …). */
  skipped: CaseSkip[];
  /** Wall time of the run, ms. */
  ms: number;
}

/** One case's outcome. */
export type CaseOutcome =
  | { status: "passed" }
  | { status: "failed"; message: string; stack?: string }
  | { status: "skipped"; reason: string };
