// What one dump did, syscall by syscall: the calls it made with their keys and answers, what it
// handed to its sink, and the datapath's moves between them. Recorded for the minimal failing
// case only (on the simulator, where a rerun is exact), so that a report shows why a key went
// missing rather than only that it did.
import { errnoName } from "@bpfkit/core";
import { hex } from "../model/bytes.js";
import type { KeyUniverse } from "./universe.js";

export class DumpTrace {
  readonly lines: string[] = [];
  private readonly named = new Set<number>();

  /** `index`: the number of the syscall just made, as the case's "before syscall N" counts. */
  constructor(private readonly universe: KeyUniverse, private readonly index: () => number) {}

  /** `key 3` for universe key 3 (remembered for the legend), its bytes for any other. */
  key(k: Uint8Array | null): string {
    if (k === null) return "NULL";
    const id = this.universe.idOf(k);
    if (id === undefined) return hex(k);
    this.named.add(id);
    return `key ${id}`;
  }

  call(text: string): void {
    this.lines.push(`#${this.index()} ${text}`);
  }

  /** A datapath move made before the syscall that follows it. */
  datapath(text: string): void {
    this.lines.push(`   datapath: ${text}`);
  }

  deliver(key: Uint8Array, slots: ReturnType<KeyUniverse["decode"]>): void {
    const v = slots.map((s) => s === undefined ? "zeros" : s === "torn" ? "torn" : `v${s.version}${s.id === this.universe.idOf(key) ? "" : ` of key ${s.id}`}`);
    this.lines.push(`   → delivered ${this.key(key)} (${v.length === 1 ? v[0] : `per CPU: ${v.join(" ")}`})`);
  }

  errno(r: number): string {
    return errnoName(Math.abs(r));
  }

  /** The bytes of each universe key the trace named: what a debugger of one's own dump shows. */
  legend(): string {
    const ids = [...this.named].sort((a, b) => a - b);
    return ids.map((id) => `key ${id} = ${hex(this.universe.keys[id]!)}`).join(", ");
  }
}
