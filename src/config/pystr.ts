/**
 * The few Python string rules oslo.config's reading depends on. JavaScript's
 * own versions differ at the edges (`trim()` strips U+FEFF but not U+001C..1F
 * or U+0085; `Number()` reads hex and rejects `1_000`), and a value must mean
 * the same here as in Glance, so the Python rules are spelled out.
 */

/**
 * A dict's keys in the file's order. A JavaScript object lists integer-like
 * keys (`1`, `2`) first whatever the order they were added in; Python keeps
 * insertion order, and `str()` of a dict inserted by a reference shows it.
 */
export const KEY_ORDER = Symbol('keyOrder');

/** Exactly the characters for which Python's `str.isspace()` is true (all in the BMP, so one UTF-16 unit each). */
const PY_SPACE = '\t\n\u000b\u000c\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const SPACE_CLASS = new RegExp(`^[${PY_SPACE}]$`);
const SPACE_UNITS = new Set<number>();
for (let u = 0; u <= 0x3000; u++) if (SPACE_CLASS.test(String.fromCharCode(u))) SPACE_UNITS.add(u);

export function isPySpace(ch: string): boolean {
  return ch.length === 1 && SPACE_UNITS.has(ch.charCodeAt(0));
}

// Loops, not `/\s+$/`-style regexes: those retry at every position of a long
// inner run of spaces, which makes one hostile line quadratic.
function firstNonSpace(s: string): number {
  let i = 0;
  while (i < s.length && SPACE_UNITS.has(s.charCodeAt(i))) i++;
  return i;
}
function endOfNonSpace(s: string): number {
  let j = s.length;
  while (j > 0 && SPACE_UNITS.has(s.charCodeAt(j - 1))) j--;
  return j;
}
export function pyStrip(s: string): string {
  const i = firstNonSpace(s);
  return i === s.length ? '' : s.slice(i, endOfNonSpace(s));
}
export function pyLStrip(s: string): string {
  return s.slice(firstNonSpace(s));
}
export function pyRStrip(s: string): string {
  return s.slice(0, endOfNonSpace(s));
}

/**
 * Python's `int()` and `float()` accept any Unicode decimal digit (`٤٢` is 42).
 * Unicode encodes every decimal digit set as a run of ten code points, 0 to 9,
 * so a digit's value is its distance from the start of its run, modulo 10.
 */
function asciiDigits(s: string): string {
  // Plain ASCII needs no mapping: a range from NUL to DEL, control characters included.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s;
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

/** Python refuses to convert a decimal string of more digits than this (sys.int_info.default_max_str_digits). */
export const PY_MAX_INT_DIGITS = 4300;

/**
 * Python's `int(text)` (base 10), exactly: a number when it is a safe integer,
 * a bigint beyond 2^53, undefined where Python raises ValueError (including
 * past 4300 digits, Python's limit on converting decimal text).
 */
export function pyInt(text: string): number | bigint | undefined {
  const s = asciiDigits(pyStrip(text));
  if (!PY_INT.test(s)) return undefined;
  const plain = s.replace(/_/g, '');
  const digits = plain.replace(/^[+-]/, '');
  if (digits.length > PY_MAX_INT_DIGITS) return undefined;
  const n = Number(plain);
  return Number.isSafeInteger(n) ? n : BigInt(plain);
}

/** Python's `float(text)`, or undefined where Python raises ValueError. */
export function pyFloat(text: string): number | undefined {
  const s = asciiDigits(pyStrip(text));
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return special[2]!.toLowerCase() === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  if (!PY_FLOAT.test(s)) return undefined;
  return Number(s.replace(/_/g, ''));
}

/**
 * Python's `repr(float)`: the shortest digits that read back exactly (as
 * JavaScript's), written in fixed notation for exponents -4..15 and as
 * `1e+16` / `1.5e-07` outside them, with `.0` on whole numbers.
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  const sign = x < 0 ? '-' : '';
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac || '0'}`;
}

/** Python's `str.isprintable()` for one code point: not Other (C*) nor Separator (Z*), but space is. */
const PY_NONPRINTABLE = /^[\p{C}\p{Z}]$/u;

/** Python's `repr(str)`: quotes chosen as Python chooses them, the same escapes. */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp < 0x7f || !PY_NONPRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return out + quote;
}

/**
 * Python's `str()` of a converted option value, as oslo.config's template
 * substitution inserts it: `True`, `7`, `1e+16`, `['a', 'b']`,
 * `{'k': 'v'}`; None (undefined here) is inserted as an empty string.
 */
export function pyStr(value: unknown, isFloat = false): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return isFloat ? pyFloatRepr(value) : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? pyRepr(v) : pyStr(v, isFloat))).join(', ')}]`;
  if (typeof value === 'object') {
    const dict = value as Record<string, unknown> & { [KEY_ORDER]?: string[] };
    const keys = dict[KEY_ORDER] ?? Object.keys(dict);
    return `{${keys.map((k) => `${pyRepr(k)}: ${typeof dict[k] === 'string' ? pyRepr(dict[k]) : pyStr(dict[k], isFloat)}`).join(', ')}}`;
  }
  return String(value);
}
