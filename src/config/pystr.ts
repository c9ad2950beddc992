/**
 * The few Python string rules oslo.config's reading depends on. JavaScript's
 * own versions differ at the edges (`trim()` strips U+FEFF but not U+001C..1F
 * or U+0085; `Number()` reads hex and rejects `1_000`), and a value must mean
 * the same here as in Glance, so the Python rules are spelled out.
 */

/** Exactly the characters for which Python's `str.isspace()` is true. */
const PY_SPACE = '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const LEADING = new RegExp(`^[${PY_SPACE}]+`);
const TRAILING = new RegExp(`[${PY_SPACE}]+$`);

export function isPySpace(ch: string): boolean {
  return ch.length > 0 && LEADING.test(ch);
}
export function pyStrip(s: string): string {
  return s.replace(LEADING, '').replace(TRAILING, '');
}
export function pyLStrip(s: string): string {
  return s.replace(LEADING, '');
}
export function pyRStrip(s: string): string {
  return s.replace(TRAILING, '');
}

/**
 * Python's `int()` and `float()` accept any Unicode decimal digit (`٤٢` is 42).
 * Unicode encodes every decimal digit set as a run of ten code points, 0 to 9,
 * so a digit's value is its distance from the start of its run, modulo 10.
 */
function asciiDigits(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch >= '0' && ch <= '9') out += ch;
    else if (/\p{Nd}/u.test(ch)) {
      let cp = ch.codePointAt(0)!;
      let run = 0;
      while (/\p{Nd}/u.test(String.fromCodePoint(cp - 1))) {
        cp--;
        run++;
      }
      out += String(run % 10);
    } else out += ch;
  }
  return out;
}

/** Digits with single underscores between them, as Python's number grammar allows. */
const DIGITS = '[0-9](?:_?[0-9])*';
const PY_INT = new RegExp(`^[+-]?${DIGITS}$`);
const PY_FLOAT = new RegExp(`^[+-]?(?:(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?)$`);

/** Python's `int(text)` (base 10), or undefined where Python raises ValueError. */
export function pyInt(text: string): number | undefined {
  const s = asciiDigits(pyStrip(text));
  if (!PY_INT.test(s)) return undefined;
  return Number(s.replace(/_/g, ''));
}

/** Python's `float(text)`, or undefined where Python raises ValueError. */
export function pyFloat(text: string): number | undefined {
  const s = asciiDigits(pyStrip(text));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!PY_FLOAT.test(s)) return undefined;
  return Number(s.replace(/_/g, ''));
}

/** Python's `str()` of a converted option value, as template substitution inserts it. */
export function pyStr(value: unknown, isFloat = false): string {
  if (value === undefined || value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    // Python writes a whole float with '.0' (and switches to exponents at 1e16).
    if (isFloat && Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
    return String(value);
  }
  return String(value);
}
