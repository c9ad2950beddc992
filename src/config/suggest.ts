/**
 * Did-you-mean hints for misspelt option names, store ids, types and CLI
 * words. Bounded so that a hostile config cannot make them expensive: names
 * longer than a real option name get no hint, candidates whose length alone
 * rules them out are skipped, and the edit distance stops as soon as it
 * passes what would count as a typo.
 */

/** Longer names get no suggestion: no option name comes near this, and the distance costs length². */
export const SUGGEST_MAX_NAME = 100;

/** Damerau-Levenshtein distance (optimal string alignment), or `cutoff + 1` once it is sure to exceed `cutoff`. */
function distanceWithin(a: string, b: string, cutoff: number): number {
  if (Math.abs(a.length - b.length) > cutoff) return cutoff + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
      best = Math.min(best, d);
    }
    if (best > cutoff) return cutoff + 1;
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The closest candidate, if it is close enough to be a likely typo: one edit
 * for short names (else every short name "resembles" every other), about one
 * edit per four characters for longer ones. Case is ignored.
 */
export function suggest(name: string, candidates: readonly string[]): string | undefined {
  if (name.length > SUGGEST_MAX_NAME) return undefined;
  const allowed = name.length <= 4 ? 1 : Math.max(2, Math.floor(name.length / 4));
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const c of candidates) {
    const dist = distanceWithin(lower, c.toLowerCase(), bestDistance - 1);
    if (dist < bestDistance) {
      bestDistance = dist;
      best = c;
    }
  }
  return best;
}
