/**
 * One option value converted from text as the matching oslo.config type
 * converts it (types.Boolean, Integer, Float, Port, List, Dict, String), in
 * time linear in the text: oslo's List and Dict re-split a growing string
 * when an item is refused, which a hostile value turns quadratic; the same
 * result is reached here without that.
 *
 * Two deliberate differences, each refused with its own kind so callers and
 * tests can tell them from values oslo.config refuses too:
 * - `integer-range`: an integer beyond ±(2^53 - 1) (oslo keeps it exact;
 *   JavaScript numbers would round it);
 * - `empty-number`: an empty int/float/port value for an option that has a
 *   default (oslo gives None, which glance_store then fails on or misuses;
 *   an option without a default is simply unset, as in oslo).
 */
import type { OptionSpec, RefusalKind } from './schema.js';
import { KEY_ORDER, pyFloat, pyInt, pyStrip } from './pystr.js';

export type { RefusalKind } from './schema.js';

/** `value: undefined` means oslo.config's `None`: the option is unset. */
export type Converted = { ok: true; value: unknown } | { ok: false; why: string; kind: RefusalKind };

const TRUE_VALUES = ['true', '1', 'on', 'yes'];
const FALSE_VALUES = ['false', '0', 'off', 'no'];

const refused = (why: string, kind: RefusalKind = 'value'): Converted => ({ ok: false, why, kind });

function inChoices(spec: OptionSpec, item: string): boolean {
  return !spec.choices || spec.choices.includes(item);
}

function convertNumber(spec: OptionSpec, text: string): Converted {
  if (pyStrip(text) === '') {
    if (spec.default === undefined) return { ok: true, value: undefined };
    return refused(`is empty: remove the line to use the default (${String(spec.default)})`, 'empty-number');
  }
  const isFloat = spec.type === 'float';
  const n = isFloat ? pyFloat(text) : pyInt(text);
  if (n === undefined) return refused(isFloat ? 'expected a number' : 'expected an integer');
  // A port is an integer within 0..65535, narrowed further by min/max.
  const min = spec.type === 'port' ? (spec.min ?? 0) : spec.min;
  const max = spec.type === 'port' ? (spec.max ?? 65535) : spec.max;
  if (spec.choices) {
    // With choices, oslo checks membership only (not min/max).
    if (!spec.choices.some((c) => typeof n === 'number' && Number(c) === n)) return refused(`must be one of ${spec.choices.join(', ')}`);
  } else {
    // Exact comparisons (a bigint against a bound), so a value just past a bound is refused as oslo refuses it.
    if (min !== undefined && n < min) return refused(`must be at least ${min}`);
    if (max !== undefined && n > max) return refused(`must be at most ${max}`);
  }
  if (typeof n === 'bigint') return refused(`is too large: integers are read exactly only up to ±${Number.MAX_SAFE_INTEGER}`, 'integer-range');
  return { ok: true, value: n };
}

/**
 * oslo's List and Dict split at commas and, when an item is refused, glue the
 * next piece on and retry. A glued item always contains a comma (a comma is
 * not whitespace, so stripping keeps it), so gluing can only help when a
 * choice contains a comma; otherwise each piece stands or falls alone.
 */
function choicesNeedGluing(spec: OptionSpec): boolean {
  return spec.choices?.some((c) => c.includes(',')) ?? false;
}

/** Text with trailing commas removed, as Python's `rstrip(',')`, without a backtracking regex. */
function rstripCommas(s: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === ',') end--;
  return s.slice(0, end);
}

function convertList(spec: OptionSpec, text: string): Converted {
  // Trailing commas are dropped (all of them); empty items elsewhere are kept.
  const s = rstripCommas(pyStrip(text));
  if (s === '') return { ok: true, value: [] };
  const pieces = s.split(',');
  const why = `each item must be one of ${spec.choices?.join(', ')}`;
  if (!choicesNeedGluing(spec)) {
    const items = pieces.map(pyStrip);
    return items.every((i) => inChoices(spec, i)) ? { ok: true, value: items } : refused(why);
  }
  // A choice contains a comma: glue as oslo does, stopping once the item is longer than any choice.
  const longest = Math.max(...spec.choices!.map((c) => c.length));
  const items: string[] = [];
  for (let i = 0; i < pieces.length; ) {
    let item = pieces[i++]!;
    while (!inChoices(spec, pyStrip(item))) {
      if (i >= pieces.length || pyStrip(item).length > longest) return refused(why);
      item += ',' + pieces[i++]!;
    }
    items.push(pyStrip(item));
  }
  return { ok: true, value: items };
}

function convertDict(spec: OptionSpec, text: string): Converted {
  const s = pyStrip(text);
  // A Map keeps the file's order and makes the object once, at the end.
  const out = new Map<string, string>();
  if (s === '') return { ok: true, value: {} };
  const pieces = s.split(',');
  const glueValues = choicesNeedGluing(spec);
  const longest = glueValues ? Math.max(...spec.choices!.map((c) => c.length)) : 0;
  for (let i = 0; i < pieces.length; ) {
    // Pieces without ':' are glued on until one has it: they become part of the key.
    const start = i;
    while (i < pieces.length && !pieces[i]!.includes(':')) i++;
    if (i >= pieces.length) return refused('expected key:value pairs separated by commas');
    const colonPiece = pieces[i++]!;
    const colon = colonPiece.indexOf(':');
    const key = pyStrip([...pieces.slice(start, i - 1), colonPiece.slice(0, colon)].join(','));
    let value = colonPiece.slice(colon + 1);
    while (!inChoices(spec, pyStrip(value))) {
      if (!glueValues || i >= pieces.length || pyStrip(value).length > longest) return refused(`each value must be one of ${spec.choices!.join(', ')}`);
      value += ',' + pieces[i++]!;
    }
    if (key === '') return refused('a key is empty');
    if (out.has(key)) return refused(`key ${JSON.stringify(key)} appears twice`);
    out.set(key, pyStrip(value));
  }
  const dict: Record<string, string> = {};
  for (const [k, v] of out) dict[k] = v;
  return { ok: true, value: withKeyOrder(dict, [...out.keys()]) };
}

/** Records a dict's keys in the file's order when JavaScript would list them otherwise (integer-like keys come first in an object). */
function withKeyOrder<T extends object>(dict: T, keys: string[]): T {
  if (keys.some((k) => /^(0|[1-9][0-9]*)$/.test(k))) Object.defineProperty(dict, KEY_ORDER, { value: keys });
  return dict;
}

/** One value converted as the oslo.config type of the option converts it. */
export function convert(spec: OptionSpec, text: string): Converted {
  switch (spec.type) {
    case 'bool': {
      // oslo neither strips nor accepts empty: `x =` is an error for a boolean.
      const l = text.toLowerCase();
      if (TRUE_VALUES.includes(l)) return { ok: true, value: true };
      if (FALSE_VALUES.includes(l)) return { ok: true, value: false };
      return refused(`expected a boolean (${TRUE_VALUES.join('/')} or ${FALSE_VALUES.join('/')})`);
    }
    case 'int':
    case 'port':
    case 'float':
      return convertNumber(spec, text);
    case 'list':
      return convertList(spec, text);
    case 'dict':
      return convertDict(spec, text);
    case 'string':
    case 'multistring':
      // oslo compares choices exactly (case and whitespace matter).
      if (!inChoices(spec, text)) return refused(`must be one of ${spec.choices!.join(', ')}`);
      return { ok: true, value: text };
  }
}
