// How far one word is from another, for the "did you mean …?" of a mistyped option key (core)
// or command-line word (the CLI): one algorithm serves both.

/**
 * Optimal-string-alignment distance (insert, delete, substitute, swap two neighbours), or
 * `cap` once it is certain to be at least that (default: no cap). Option keys, CLI words and
 * map type names are short and the sets small.
 */
export function editDistance(a: string, b: string, cap = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin >= cap) return cap;
    prev2 = prev;
    prev = cur;
  }
  return Math.min(prev[b.length]!, cap);
}
