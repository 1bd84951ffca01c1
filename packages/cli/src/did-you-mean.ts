// "did you mean …?" for a mistyped word (an option, a map type, a flag): the one known word
// closest to it, when it is close enough to be a typo and no other is as close.

/** Levenshtein distance, with a swap of two neighbours counting as one edit (`hsah`). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

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
    const dist = distance(w, k.toLowerCase());
    if (dist < bestD) {
      best = k;
      bestD = dist;
      tie = false;
    } else if (dist === bestD) tie = true;
  }
  return best !== undefined && bestD > 0 && bestD <= limit && !tie ? best : undefined;
}
