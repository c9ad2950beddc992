/**
 * The commands of `glance-store`, each a small function over a MultiStore.
 * They return what to print; main.ts owns parsing, output and exit codes.
 */
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { MultiStore, StoreInfo, StoreInfoDetail } from '../multistore.js';
import { maskLocation } from '../location.js';
import { configurationReference } from '../config/reference.js';
import { BUILTIN_DRIVERS } from '../drivers/index.js';
import type { ProgressReporter } from './progress.js';
import type { AnyDriverDefinition } from '../driver.js';
import { AbortedError } from '../errors.js';
import { UsageError } from './args.js';
import { inspectImage, type Inspection } from '../inspect/index.js';
import type { InspectSetting } from '../inspect/policy.js';

export interface CommandContext {
  ms: MultiStore;
  signal: AbortSignal;
  progress: ProgressReporter;
  /** Where the default store keeps images, when no config was given. */
  defaultDatadir?: string;
  /** Every warning given so far (the config's, the stores' at start), for --json output. */
  warnings: readonly string[];
  /** Whether standard output is a terminal: image data is not written there unasked. */
  stdoutIsTerminal: boolean;
}

export type Output = { json: unknown; text: string };

const text = (lines: string[]): string => lines.join('\n');

export function stores(ctx: CommandContext, detail: boolean): Output {
  const info: Array<StoreInfo | StoreInfoDetail> = detail ? ctx.ms.infoDetail() : ctx.ms.info();
  const lines = info.map((s) => {
    const flags = [s.default ? 'default' : '', s['read-only'] ? 'read-only' : ''].filter(Boolean).join(', ');
    const extra = 'type' in s ? ` [${s.type}, weight ${s.weight}] ${JSON.stringify(s.properties)}` : '';
    return `${s.id}${flags ? ` (${flags})` : ''}: ${s.description}${extra}`;
  });
  if (ctx.defaultDatadir) lines.push(`(no --config: images are kept in ${ctx.defaultDatadir})`);
  return { json: info, text: text(lines) };
}

export async function add(ctx: CommandContext, file: string, opts: { store?: string; id?: string; size?: number; inspect?: InspectSetting }): Promise<Output> {
  const id = opts.id ?? randomUUID();
  let size = opts.size;
  let source: NodeJS.ReadableStream;
  if (file === '-') source = process.stdin;
  else {
    const st = await fs.stat(file).catch((err: NodeJS.ErrnoException) => {
      throw Object.assign(new Error(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`), { code: 'SourceError' });
    });
    if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'SourceError' });
    size ??= st.size;
    // Large reads: 64 KiB reads cost more than hashing the data.
    source = createReadStream(file, { highWaterMark: 4 * 1024 * 1024 });
  }
  ctx.progress.start(size);
  try {
    const r = await ctx.ms.add(id, source as AsyncIterable<Uint8Array>, {
      store: opts.store,
      size,
      signal: ctx.signal,
      onProgress: (p) => ctx.progress.update(p.bytes),
      ...(opts.inspect !== undefined ? { inspect: opts.inspect } : {}),
    });
    ctx.progress.done();
    const json = { id, ...r, location: maskLocation(r.location) };
    return {
      json,
      text: text([
        `id:        ${id}`,
        `store:     ${r.metadata.store}`,
        `location:  ${maskLocation(r.location)}`,
        `size:      ${r.size}`,
        `checksum:  ${r.checksum}`,
        `multihash: ${r.multihash} (${r.hashAlgo})`,
        ...(r.inspection ? inspectionLines(r.inspection) : []),
      ]),
    };
  } catch (err) {
    ctx.progress.done();
    throw err;
  }
}

export async function get(ctx: CommandContext, uri: string, opts: { output?: string; offset?: number; length?: number; store?: string }): Promise<Output | undefined> {
  // `-o -` asks for standard output explicitly; left out, a terminal would get binary data.
  if (!opts.output && ctx.stdoutIsTerminal) throw new UsageError('get writes image data: refusing to write it to a terminal; use -o FILE (or -o - to write to standard output anyway)');
  // An image id instead of a URI: its location in --store, where the driver can tell it from the id.
  if (!uri.includes('://')) {
    if (!opts.store) throw new UsageError(`${JSON.stringify(uri)} is not a location URI: to read an image by id, name its store with --store STORE`);
    uri = await ctx.ms.locationFor(opts.store, uri, { signal: ctx.signal });
  }
  const r = await ctx.ms.get(uri, { offset: opts.offset, length: opts.length, store: opts.store, signal: ctx.signal });
  if (!opts.output || opts.output === '-') {
    await interruptible(ctx, pipeline(r.stream, process.stdout, { signal: ctx.signal }));
    return undefined;
  }
  // Written under a temporary name and renamed only once complete.
  const target = path.resolve(opts.output);
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  ctx.progress.start(r.size);
  let n = 0;
  try {
    r.stream.on('data', (c: Buffer) => ctx.progress.update((n += c.length)));
    await interruptible(ctx, pipeline(r.stream, createWriteStream(tmp, { flags: 'wx' }), { signal: ctx.signal }));
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.unlink(tmp).catch(() => undefined);
    throw err;
  } finally {
    ctx.progress.done();
  }
  return { json: { file: target, size: n, store: r.store }, text: `wrote ${n} bytes to ${target}` };
}

/** A transfer stopped by Ctrl-C is an interruption (exit 130), as an add's is, not an unexpected error. */
async function interruptible<T>(ctx: CommandContext, transfer: Promise<T>): Promise<T> {
  try {
    return await transfer;
  } catch (err) {
    if (ctx.signal.aborted) throw new AbortedError('Interrupted: the image was not read to its end', { cause: err });
    throw err;
  }
}

export async function size(ctx: CommandContext, uri: string, store?: string): Promise<Output> {
  const n = await ctx.ms.getSize(uri, { store });
  // An http server without Content-Length does not say.
  return { json: { size: n ?? null }, text: n === undefined ? 'unknown' : String(n) };
}

export async function remove(ctx: CommandContext, uri: string, store?: string): Promise<Output> {
  await ctx.ms.delete(uri, { store });
  return { json: { deleted: maskLocation(uri) }, text: `deleted ${maskLocation(uri)}` };
}

export async function copy(ctx: CommandContext, uri: string, opts: { to: string; id?: string; from?: string }): Promise<Output> {
  const r = await ctx.ms.copy(uri, opts.to, { imageId: opts.id, fromStore: opts.from, signal: ctx.signal, onProgress: (p) => ctx.progress.update(p.bytes) });
  ctx.progress.done();
  return { json: { ...r, location: maskLocation(r.location) }, text: `copied to ${opts.to}: ${maskLocation(r.location)} (${r.size} bytes, md5 ${r.checksum})` };
}

/** An inspection as the text output shows it (after an add's lines, or alone). */
function inspectionLines(i: Inspection): string[] {
  const d = i.details;
  const facts: Array<[string, unknown]> = [
    ['backing file', d.backingFile],
    ['data file', d.dataFile],
    ['create type', d.createType],
    ['image type', d.imageType],
    ['partitions', d.partitionTable],
    ['encrypted', d.encrypted ? 'yes' : undefined],
  ];
  const line = (k: string, v: unknown) => `${`${k}:`.padEnd(14)}${String(v)}`;
  return [
    line('format', i.format),
    line('virtual size', i.virtualSize ?? 'unknown'),
    line('safe', i.safe ? 'yes' : 'no'),
    ...i.problems.map((p) => line('problem', `${p.code}: ${p.message}`)),
    ...facts.filter(([, v]) => v !== undefined).map(([k, v]) => line(k, v)),
  ];
}

/**
 * The inspection of a file (or standard input, -) or of a stored image (a
 * location): what an inspected add would find. `safe` is false: exit 9.
 */
export async function inspect(ctx: CommandContext, target: string, store?: string): Promise<Output & { safe: boolean }> {
  let source: AsyncIterable<Uint8Array>;
  let release = () => {};
  if (target === '-') source = process.stdin;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    const st = await fs.stat(target).catch((err: NodeJS.ErrnoException) => {
      throw Object.assign(new Error(`cannot read ${target}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`), { code: 'SourceError' });
    });
    if (!st.isFile()) throw Object.assign(new Error(`${target} is not a regular file`), { code: 'SourceError' });
    source = createReadStream(target, { highWaterMark: 4 * 1024 * 1024, signal: ctx.signal });
  } else {
    const r = await ctx.ms.get(target, { store, signal: ctx.signal });
    source = r.stream;
    release = () => r.stream.destroy();
  }
  try {
    const i = await interruptible(ctx, inspectImage(source));
    return { safe: i.safe, json: i, text: text(inspectionLines(i)) };
  } finally {
    release();
  }
}

export function check(ctx: CommandContext): Output & { ok: boolean } {
  const states = ctx.ms.states();
  const ok = states.every((s) => s.ok);
  const lines = states.map((s) => {
    const head = `${s.ok ? 'ok  ' : 'FAIL'} ${s.id} (${s.type}${s.reserved ? ', reserved' : ''})`;
    const caps = s.capabilities.length ? s.capabilities.join(', ') : 'nothing';
    return s.ok ? `${head}: ${caps}` : `${head}: ${s.error} (can: ${caps})`;
  });
  return { ok, json: { ok, stores: states, warnings: ctx.warnings }, text: text(lines) };
}

/** The configuration reference of the built-in drivers and those loaded with --driver. */
export function reference(drivers: readonly AnyDriverDefinition[] = []): Output {
  const md = configurationReference([...BUILTIN_DRIVERS, ...drivers]);
  return { json: { markdown: md }, text: md };
}
