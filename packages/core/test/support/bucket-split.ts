// Stable and churn keys for dumps of a kernel hash map under concurrent change, chosen so that
// the kernel's own GET_NEXT_KEY race cannot skip a stable key (docs/kernel-notes.md): the walk
// reads the `next` pointer of the current key's element, and a preallocated element deleted and
// reused for another key in between sits in another bucket, so the walk goes on from there. With
// BPF_F_ZERO_SEED and every churn key in a bucket after every stable key, such a jump only ever
// passes over churn buckets, and a stable key the dump misses is the dump algorithm's fault.
import { jhash } from "../../../testkit/src/model/jhash.js";
import { roundUpPow2 } from "../../../testkit/src/model/hash-table.js";

/** u32 keys counting up from `from`: `stable` in the lower half of the buckets, `churn` in the upper. */
export function splitByBucket(maxEntries: number, stable: number, churn: number, from = 0): { stable: number[]; churn: number[] } {
  const buckets = roundUpPow2(maxEntries);
  const out = { stable: [] as number[], churn: [] as number[] };
  const key = new Uint8Array(4);
  const view = new DataView(key.buffer);
  for (let k = from; out.stable.length < stable || out.churn.length < churn; k++) {
    view.setUint32(0, k, true);
    const side = (jhash(key, 0) & (buckets - 1)) < buckets / 2 ? out.stable : out.churn;
    if (side.length < (side === out.stable ? stable : churn)) side.push(k);
  }
  return out;
}
