/**
 * glance-api.conf parsing, read exactly as oslo.config's INI parser reads it,
 * so a file Glance accepts means the same thing here:
 *
 * - `[section]` headers; section names are lower-cased except `DEFAULT`,
 *   and a repeated section merges into the first;
 * - `key = value` or `key: value` (whichever separator comes first); the key
 *   and value are stripped; one pair of matching surrounding quotes (`"` or
 *   `'`) is removed from the value;
 * - lines starting with `#` or `;` are comments (only at column 0: an
 *   indented line is always a continuation);
 * - an indented line continues the previous value, joined with a newline; a
 *   blank line ends it;
 * - a key repeated in a section keeps every value in order (multi-valued
 *   options such as `filesystem_store_datadirs`).
 */
import { GlanceStoreError } from '../errors.js';

/** Section name -> option name -> value; a repeated key keeps all its values, in order. */
export type ParsedConfig = Record<string, Record<string, string | string[]>>;

/** A line oslo.config would refuse, with its 1-based line number. */
export class ConfigParseError extends GlanceStoreError {
  declare readonly code: 'BadStoreConfiguration';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly text: string,
  ) {
    super('BadStoreConfiguration', `Config parse error at line ${line}: ${reason}: ${JSON.stringify(text)}`);
  }
}

function sectionKey(name: string): string {
  return name === 'DEFAULT' ? name : name.toLowerCase();
}

function splitAssignment(line: string, lineNo: number): [string, string] {
  const colon = line.indexOf(':');
  const equal = line.indexOf('=');
  if (colon < 0 && equal < 0) throw new ConfigParseError("no ':' or '=' found in assignment", lineNo, line);
  const at = colon < 0 || (equal >= 0 && equal < colon) ? equal : colon;
  const key = line.slice(0, at).trim();
  let value = line.slice(at + 1).trim();
  if (value.length > 0 && value[0] === value[value.length - 1] && (value[0] === '"' || value[0] === "'")) value = value.slice(1, -1);
  if (key === '') throw new ConfigParseError('key cannot be empty', lineNo, line);
  return [key, value];
}

export function parseConfig(text: string): ParsedConfig {
  if (typeof text !== 'string') throw new TypeError('parseConfig expects the text of a config file');
  const lists: Record<string, Record<string, string[]>> = Object.create(null) as Record<string, Record<string, string[]>>;
  let section: string | undefined;
  let key: string | undefined;
  let value: string[] = [];
  let keyLine = 0;

  const flush = () => {
    if (key === undefined) return;
    if (section === undefined) throw new ConfigParseError('section must be started before assignment', keyLine, key);
    const bucket = lists[section]!;
    (bucket[key] ??= []).push(value.join('\n'));
    key = undefined;
    value = [];
  };

  // Python's universal newlines: \r\n, \r and \n all end a line. A byte-order mark is
  // not skipped: oslo.config refuses such a file, and so does this.
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.replace(/\s+$/, '');
    if (line === '') {
      flush();
      return;
    }
    if (line[0] === ' ' || line[0] === '\t') {
      if (key === undefined) throw new ConfigParseError('unexpected continuation line', lineNo, line);
      value.push(line.replace(/^\s+/, ''));
      return;
    }
    flush();
    if (line[0] === '[') {
      if (!line.endsWith(']')) throw new ConfigParseError('invalid section (must end with ])', lineNo, line);
      if (line.length <= 2) throw new ConfigParseError('empty section name', lineNo, line);
      section = sectionKey(line.slice(1, -1));
      lists[section] ??= Object.create(null) as Record<string, string[]>;
    } else if (line[0] === '#' || line[0] === ';') {
      // comment
    } else {
      [key, value] = ((): [string, string[]] => {
        const [k, v] = splitAssignment(line, lineNo);
        return [k, [v]];
      })();
      keyLine = lineNo;
    }
  });
  flush();

  const out: ParsedConfig = {};
  for (const [name, options] of Object.entries(lists)) {
    const sectionOut: Record<string, string | string[]> = {};
    for (const [k, values] of Object.entries(options)) sectionOut[k] = values.length === 1 ? values[0]! : values;
    out[name] = sectionOut;
  }
  return out;
}
