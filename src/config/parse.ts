/**
 * glance-api.conf parsing, read exactly as oslo.config's INI parser
 * (oslo_config.iniparser.BaseParser + cfg.ConfigParser) reads it, so a file
 * Glance accepts means the same thing here, and a file Glance refuses is
 * refused here too:
 *
 * - lines end at `\n`, `\r\n` or `\r` (Python's universal newlines); trailing
 *   whitespace is dropped first, and "whitespace" is Python's `str.isspace()`;
 * - `[section]` starts a section; the name is everything between the
 *   brackets, unstripped; names are matched lower-cased except `DEFAULT`
 *   (oslo looks options up in its normalized view), so `[Fast]` and `[fast]`
 *   are one section and `[default]` is not `[DEFAULT]`;
 * - a line starting with `#` or `;` is a comment, but only at column 0;
 * - a line starting with a space or tab continues the previous value (joined
 *   with `\n`, leading whitespace dropped), even if it looks like a comment;
 *   a blank line or any unindented line ends the value;
 * - `key = value` or `key: value`, split at whichever of `=` and `:` comes
 *   first; key and value are stripped; if the value's first and last
 *   characters are the same quote (`"` or `'`), they are removed, once, and only
 *   from the first line of a continued value (a lone `"` becomes empty);
 * - keys are case-sensitive and kept as written;
 * - a key repeated in a section, or in a repeated section, keeps every value in
 *   order (multi-valued options such as `filesystem_store_datadirs`).
 *
 * A byte-order mark is not skipped: oslo.config does not skip it either, so
 * such a file is refused (or its first key gets the mark) in both.
 *
 * Bytes are checked here: given a Buffer (or any Uint8Array), the file must
 * be valid UTF-8, as Python's strict decoding requires (Glance fails to start
 * on anything else); given text, it must be well-formed (no lone surrogate,
 * which no UTF-8 file can hold). Text read with `readFileSync(f, 'utf8')`
 * has already had invalid bytes replaced by U+FFFD: pass the Buffer instead.
 */
import { GlanceStoreError } from '../errors.js';
import { pyLStrip, pyRStrip, pyStrip } from './pystr.js';

/** Section name -> option name -> value; a key repeated within a section (or across same-named sections) is kept as an array of its values in order. */
export type ParsedConfig = Record<string, Record<string, string | string[]>>;

/** A line oslo.config would refuse, with its 1-based line number. */
export class ConfigParseError extends GlanceStoreError {
  declare readonly code: 'BadStoreConfiguration';
  constructor(
    /** What is wrong, in oslo.config's words. */
    readonly reason: string,
    /** 1-based line number. */
    readonly line: number,
    /**
     * The offending section header (trailing whitespace removed), or the key
     * of a key before any section. Other lines are not kept: a line without
     * `=`, or an unexpected continuation, may be a secret.
     */
    readonly text: string,
  ) {
    super('BadStoreConfiguration', `Config parse error at line ${line}: ${reason}${text === '' ? '' : `: ${JSON.stringify(text)}`}`);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The file's text, or a ConfigParseError naming the line of the first byte that is not UTF-8 (the line itself is not shown: it may hold a secret). */
function decode(bytes: Uint8Array): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return UTF8.decode(bytes);
  let line = 1;
  for (let i = 0; i < bad; i++) if (bytes[i] === 0x0a || (bytes[i] === 0x0d && bytes[i + 1] !== 0x0a)) line++;
  throw new ConfigParseError(`The file is not valid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad})`, line, '');
}

/** Where the first sequence that strict UTF-8 decoding refuses starts (overlong forms and surrogates included), or -1. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // The allowed range of the second byte, and how many bytes follow the first.
    let lo = 0x80;
    let hi = 0xbf;
    let n: number;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** oslo's `_normalize_group_name`: the name option lookups use. */
function sectionKey(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

/** Objects without a prototype, so keys such as `__proto__` or `constructor` are plain data. */
function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

function splitAssignment(line: string, lineNo: number): [string, string] {
  const colon = line.indexOf(':');
  const equal = line.indexOf('=');
  // The line itself is not quoted: it may be a password that lost its key.
  if (colon < 0 && equal < 0) throw new ConfigParseError("No ':' or '=' found in assignment", lineNo, '');
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  const key = pyStrip(line.slice(0, at));
  let value = pyStrip(line.slice(at + 1));
  if (value.length > 0 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) value = value.slice(1, -1);
  if (key === '') throw new ConfigParseError('Key cannot be empty', lineNo, '');
  return [key, value];
}

export function parseConfig(input: string | Uint8Array): ParsedConfig {
  let text: string;
  if (typeof input === 'string') {
    const bad = firstLoneSurrogate(input);
    if (bad < input.length) throw new ConfigParseError('The text holds a lone surrogate (no UTF-8 file can)', 1 + (input.slice(0, bad).match(/\r\n|\r|\n/g)?.length ?? 0), '');
    text = input;
  } else if (input instanceof Uint8Array) text = decode(input);
  else throw new TypeError('parseConfig expects the text of a config file or its bytes');
  // Glance would refuse it too, with a puzzling message about the first line.
  if (text.startsWith('\uFEFF')) throw new ConfigParseError('The file starts with a UTF-8 byte-order mark, which oslo.config reads as part of the first line: save it without one', 1, '');
  const sections = dict<Record<string, string[]>>();
  let section: Record<string, string[]> | undefined;
  // The assignment being read; it is stored once its value can no longer continue.
  let key: string | undefined;
  let value: string[] = [];
  let keyLine = 0;

  const flush = () => {
    if (key === undefined) return;
    // oslo reports this when it stores the value; the key's own line is more useful.
    if (section === undefined) throw new ConfigParseError('Section must be started before assignment', keyLine, key);
    (section[key] ??= []).push(value.join('\n'));
    key = undefined;
    value = [];
  };

  const lines = text.split(/\r\n|\r|\n/);
  // A final newline ends the last line; it does not start an empty one (harmless either way).
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = pyRStrip(raw);
    if (line === '') {
      flush();
      return;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (key === undefined) throw new ConfigParseError('Unexpected continuation line', lineNo, '');
      value.push(pyLStrip(line));
      return;
    }
    flush();
    if (line[0] === '[') {
      if (!line.endsWith(']')) throw new ConfigParseError('Invalid section (must end with ])', lineNo, line);
      if (line.length <= 2) throw new ConfigParseError('Empty section name', lineNo, line);
      section = sections[sectionKey(line.slice(1, -1))] ??= dict<string[]>();
    } else if (line[0] === '#' || line[0] === ';') {
      // A comment.
    } else {
      const [k, v] = splitAssignment(line, lineNo);
      key = k;
      value = [v];
      keyLine = lineNo;
    }
  });
  flush();

  return collapse(sections);
}

function firstLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else if (c >= 0xd800 && c <= 0xdfff) return i;
  }
  return s.length;
}

/** One value stays a string; a repeated key becomes the array of its values. */
function collapse(lists: Record<string, Record<string, string[]>>): ParsedConfig {
  const out = dict<Record<string, string | string[]>>();
  for (const name of Object.keys(lists)) {
    const options = lists[name]!;
    const sectionOut = dict<string | string[]>();
    for (const k of Object.keys(options)) {
      const values = options[k]!;
      sectionOut[k] = values.length === 1 ? values[0]! : values;
    }
    out[name] = sectionOut;
  }
  return out;
}

/**
 * Several parsed files read together, as oslo.config reads several config
 * files (`--config-file a --config-file b`, or a `.conf.d` directory in name
 * order): each key keeps the values of every file, in file order, so a
 * single-valued option gets the last file's value and a multi-valued one
 * gets every file's values.
 */
export function mergeConfigs(...configs: ParsedConfig[]): ParsedConfig {
  const lists = dict<Record<string, string[]>>();
  for (const config of configs) {
    for (const name of Object.keys(config)) {
      const section = (lists[name] ??= dict<string[]>());
      const options = config[name]!;
      for (const k of Object.keys(options)) {
        const list = (section[k] ??= []);
        // One at a time: spreading a key repeated 100,000 times would overflow the call stack.
        for (const v of ([] as string[]).concat(options[k]!)) list.push(v);
      }
    }
  }
  return collapse(lists);
}
