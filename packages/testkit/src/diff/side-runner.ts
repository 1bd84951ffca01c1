// What runProgram hands the ops of a map kind with a side of its own (a ring buffer's producer
// and reader, a user ring's writer and drain, a perf event array's events): one runner per
// program and driver, made after the create.

/** The steps of one program's own ops on one driver. */
export interface SideRunner<O> {
  /** What the info line adds (whether the ring or the writer's mappings mapped). */
  readonly viewLine: string;
  /**
   * Runs `op` through `fd` (the fd ops go through) and returns its trace line, or a promise of
   * it for a poll (its answer is taken when the op runs; only the promise comes later).
   */
  step(op: O, fd: number): string | Promise<string>;
  /** The final line's part: what is left in the ring or the events. */
  final(): string;
  /** Unmaps and closes what the runner made, before the program's own fds close. */
  close(): void;
}
