// "did you mean …?" for a mistyped word (an option, a map type, a flag): the one known word
// closest to it, when it is close enough to be a typo and no other is as close.
import { editDistance } from "@bpfkit/core";

/**
 * The known word `word` most likely mistypes: within 2 edits (1 for words of up to 4
 * letters), and strictly closer than any other; undefined when none or several are.
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = w.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestD = Infinity;
  let tie = false;
  for (const k of known) {
    const dist = editDistance(w, k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
      tie = false;
    } else if (dist === bestD) tie = true;
  }
  return best !== undefined && bestD > 0 && bestD <= limit && !tie ? best : undefined;
}
