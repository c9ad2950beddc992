/**
 * The files `glance-store audit` compares a store with, as exported from
 * Glance's database (docs/cli.md): `--known`, one location URI a line
 * (image_locations.value); `--verify`, a location, its md5 checksum and its
 * multihash a line, optionally the multihash's algorithm (images.checksum,
 * os_hash_value, os_hash_algo). Blank lines and `#` comments are skipped.
 * A malformed line stops the audit with its line number, unless
 * `--skip-bad-lines` (it is then reported and left out).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { nodeHashName } from '../pipeline/hash-algo.js';
import { UsageError } from './args.js';

export interface KnownLocation {
  line: number;
  url: string;
}

export interface VerifyRecord extends KnownLocation {
  checksum: string;
  multihash: string;
  hashAlgo: string;
}

export interface BadLine {
  file: string;
  line: number;
  why: string;
}

const URI = /^[a-z][a-z0-9+.-]*:\/\/\S+$/i;

/**
 * Who a location belongs to: this store (`ours`), another store of the
 * config (its id), or no store at all (undefined).
 */
export type Owner = (url: string) => 'ours' | string | undefined;

/**
 * The same image whatever credentials a location carries: Glance's records
 * and a listing may hold different keys (one rotated, one masked).
 */
export function locationKey(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** Each record of a file, its line number kept; a bad line is thrown (UsageError) or handed to `bad`. */
async function* lines(file: string): AsyncGenerator<{ n: number; text: string }> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const opened = new Promise<void>((resolve, reject) => input.once('open', () => resolve()).once('error', reject));
  try {
    await opened;
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let n = 0;
  for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    yield { n, text };
  }
}

function rejectLine(file: string, n: number, why: string, skip: boolean, bad: BadLine[]): void {
  if (!skip) throw new UsageError(`${file}, line ${n}: ${why} (run with --skip-bad-lines to report such lines and go on)`);
  bad.push({ file, line: n, why });
}

export async function readKnown(file: string, skip: boolean, bad: BadLine[]): Promise<KnownLocation[]> {
  const known: KnownLocation[] = [];
  for await (const { n, text } of lines(file)) {
    if (!URI.test(text)) rejectLine(file, n, 'not a location URI (one location a line, as image_locations.value holds it)', skip, bad);
    else known.push({ line: n, url: text });
  }
  return known;
}

export async function readVerify(file: string, skip: boolean, bad: BadLine[]): Promise<VerifyRecord[]> {
  const records: VerifyRecord[] = [];
  for await (const { n, text } of lines(file)) {
    const [url, checksum, multihash, hashAlgo = 'sha512', ...rest] = text.split(/\s+/);
    const why =
      rest.length > 0 || multihash === undefined
        ? 'expected LOCATION CHECKSUM MULTIHASH [HASH_ALGO]'
        : !URI.test(url!)
          ? 'the first field is not a location URI'
          : !/^[0-9a-f]{32}$/i.test(checksum!)
            ? 'the checksum is not an md5 (32 hex digits)'
            : !/^[0-9a-f]+$/i.test(multihash)
              ? 'the multihash is not hexadecimal'
              : !nodeHashName(hashAlgo)
                ? `unknown hash algorithm ${JSON.stringify(hashAlgo)}`
                : undefined;
    if (why) rejectLine(file, n, why, skip, bad);
    else records.push({ line: n, url: url!, checksum: checksum!.toLowerCase(), multihash: multihash!.toLowerCase(), hashAlgo });
  }
  return records;
}

/** `--older-than`: `90s`, `30m`, `12h`, `7d`, `2w` (a bare number is seconds), in milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--older-than must be a duration such as 90s, 30m, 12h, 7d or 2w; got ${JSON.stringify(text)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? 's') as 's'];
  return Number(m[1]) * unit * 1000;
}

/** An age for people: `42s`, `17m`, `5h`, `3d`. */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return 'age unknown';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}
