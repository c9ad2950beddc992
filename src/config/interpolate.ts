/**
 * `$name` substitution in option values, as oslo.config's `_substitute` does
 * it (Python's string.Template with oslo's identifier pattern, in
 * safe_substitute mode), and the fixed limits that keep a hostile config file
 * from taking more than time and memory linear in its size.
 */
import type { RefusalKind } from './schema.js';

/** Limits on substitution. Exceeding one is a BadStoreConfiguration, never a crash or a hang. */
export const INTERPOLATION_LIMITS = Object.freeze({
  /** References nested deeper than this are refused (oslo.config itself fails at about 100-140, on Python's recursion limit). */
  depth: 32,
  /** Longest value a substitution may produce, in characters (a value written that long without references is fine). */
  valueLength: 65_536,
  /** All substitutions of one config together may produce this many characters per character of the file... */
  totalPerSourceChar: 16,
  /** ...or this many, whichever is more. */
  totalMinimum: 1 << 20,
});

/**
 * Python's `[_a-z]` under re.IGNORECASE: ASCII letters and `_`, plus the four
 * non-ASCII letters whose case mapping reaches an ASCII one (İ ı ſ K).
 */
const ID_START = '_a-zA-Z\u0130\u0131\u017f\u212a';
const ID_CHAR = `.${ID_START}0-9`;
/** `$$`, `$name`, `${name}`, or a `$` that starts none of them (left as it is). */
const TEMPLATE = new RegExp(`\\$(?:(\\$)|([${ID_START}][${ID_CHAR}]*)|\\{([${ID_START}][${ID_CHAR}]*)\\}|)`, 'g');

/** A substitution that cannot be made; `kind` as for a refused value (see convert.ts). */
export interface Failure {
  why: string;
  kind: RefusalKind;
  /** The option whose refusal this one follows from, and why. */
  root?: string;
}

export function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && 'why' in x;
}

/** The characters every substitution of one config may still produce. */
export class ExpansionBudget {
  private left: number;
  constructor(sourceLength: number) {
    this.left = Math.max(INTERPOLATION_LIMITS.totalMinimum, sourceLength * INTERPOLATION_LIMITS.totalPerSourceChar);
  }
  spend(chars: number): boolean {
    this.left -= chars;
    return this.left >= 0;
  }
}

/** The names a value refers to, in order, as substitution will meet them. */
export function referencesIn(text: string): string[] {
  const refs: string[] = [];
  for (const m of escapeBackslashes(text).matchAll(TEMPLATE)) {
    const ref = m[2] ?? m[3];
    if (ref !== undefined) refs.push(ref);
  }
  return refs;
}

/** oslo turns `\$` into `$$` before substituting (it reads better to users). */
function escapeBackslashes(text: string): string {
  return text.includes('\\$') ? text.replace(/\\\$/g, '$$$$') : text;
}

/**
 * Substitutes every reference in `text`: `\$` is first turned into `$$`,
 * `$$` gives `$`, a `$` not followed by a name stays as it is, and each
 * `$name` / `${name}` is replaced by what `resolve` gives. Stops at the
 * first failure, and fails once the result would pass the value limit or
 * the config's budget.
 */
export function substitute(text: string, resolve: (ref: string) => string | Failure, budget: ExpansionBudget): string | Failure {
  const source = escapeBackslashes(text);
  const limit = Math.max(INTERPOLATION_LIMITS.valueLength, source.length);
  const tooLong = (): Failure => ({ why: `substitution makes the value longer than ${limit} characters`, kind: 'limit' });
  const parts: string[] = [];
  let length = 0;
  let last = 0;
  const add = (piece: string): boolean => {
    length += piece.length;
    parts.push(piece);
    return length <= limit;
  };
  for (const m of source.matchAll(TEMPLATE)) {
    if (!add(source.slice(last, m.index))) return tooLong();
    last = m.index + m[0].length;
    const ref = m[2] ?? m[3];
    let piece: string;
    if (m[1] !== undefined) piece = '$';
    else if (ref === undefined) piece = m[0];
    else {
      const got = resolve(ref);
      if (typeof got !== 'string') return got;
      piece = got;
    }
    if (!add(piece)) return tooLong();
  }
  if (!add(source.slice(last))) return tooLong();
  if (!budget.spend(length)) return { why: 'substitutions in this config produce too much text (a reference is repeated too often)', kind: 'limit' };
  return parts.join('');
}
