/**
 * Listing an rbd store's pool. An image is an RBD image named by an image
 * id that has the protected snapshot `snap` every finished add makes
 * (driver.ts): one without it is an add that died (or still runs), a
 * leftover. Snapshots are never listed on their own.
 *
 * The librbd binding (glance-store-rbd) has no directory listing, so the
 * names come from Ceph's own `rbd ls`, with the store's ceph.conf and user,
 * read line by line as it prints them; each image is then opened through
 * the binding, a few at a time, for its size and snapshots.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import { BackendUnavailableError, type GlanceStoreError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import { rbdCode } from './errors.js';
import type { Ioctx, RbdBinding } from './native.js';
import { SNAPSHOT_NAME } from './location.js';

const run = promisify(execFile);
/** Images opened at once while listing. */
const OPENED_AT_ONCE = 8;

export interface RbdListing {
  storeId: string;
  pool: string;
  confFile: string;
  user: string | undefined;
  rbd: RbdBinding;
  ioctx(): Promise<Ioctx>;
  location(image: string): string;
  mapError(err: unknown, what: string): GlanceStoreError;
}

/** `rbd` with the store's configuration and user. */
const cliArgs = (l: RbdListing, ...args: string[]) => ['-c', l.confFile, ...(l.user ? ['--id', l.user] : []), ...args];

/** The pool's image names, as `rbd ls` prints them, one at a time. */
async function* names(l: RbdListing, signal: AbortSignal | undefined): AsyncGenerator<string> {
  const child = spawn('rbd', cliArgs(l, 'ls', '-p', l.pool), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  const stop = () => child.kill();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) if (line) yield line;
    const code = await exited;
    signal?.throwIfAborted();
    if (code !== 0) throw new BackendUnavailableError(`Listing pool ${l.pool} of store ${l.storeId}: rbd ls failed (exit ${code}): ${stderr.trim().split('\n').at(-1) ?? ''}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BackendUnavailableError(`Listing pool ${l.pool} of store ${l.storeId} needs Ceph's rbd command (Debian: ceph-common), which is not installed`, { cause: err });
    throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
    if (child.exitCode === null) child.kill();
  }
}

interface Inspected {
  name: string;
  size: number;
  finished: boolean;
}

/** An image's size and whether its add finished (it has `snap`); undefined when it is gone since it was listed. */
async function inspect(l: RbdListing, io: Ioctx, name: string): Promise<Inspected | undefined> {
  let image;
  try {
    image = await l.rbd.open(io, name, null);
  } catch (err) {
    if (rbdCode(err) === 'ENOENT') return undefined;
    throw l.mapError(err, `image ${name}`);
  }
  try {
    const [size, snaps] = await Promise.all([l.rbd.size(image), l.rbd.snapList(image)]);
    return { name, size, finished: snaps.includes(SNAPSHOT_NAME) };
  } catch (err) {
    throw l.mapError(err, `image ${name}`);
  } finally {
    await l.rbd.close(image).catch(() => undefined);
  }
}

async function* images(l: RbdListing, signal: AbortSignal | undefined): AsyncGenerator<Inspected> {
  const io = await l.ioctx();
  let batch: string[] = [];
  const flush = async function* () {
    const found = await Promise.all(batch.map((n) => inspect(l, io, n)));
    batch = [];
    for (const f of found) if (f) yield f;
  };
  for await (const name of names(l, signal)) {
    if (!isImageId(name)) continue;
    batch.push(name);
    if (batch.length >= OPENED_AT_ONCE) yield* flush();
  }
  yield* flush();
}

/** When an image was made, as `rbd info` tells it. */
async function createdAt(l: RbdListing, name: string): Promise<Date | undefined> {
  try {
    const { stdout } = await run('rbd', cliArgs(l, 'info', '--format', 'json', `${l.pool}/${name}`), { encoding: 'utf8' });
    const t = Date.parse((JSON.parse(stdout) as { create_timestamp?: string }).create_timestamp ?? '');
    return Number.isNaN(t) ? undefined : new Date(t);
  } catch {
    return undefined;
  }
}

export async function* listRbdImages(l: RbdListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const i of images(l, options.signal)) if (i.finished) yield { id: i.name, size: i.size, location: l.location(i.name) };
}

export async function* rbdLeftovers(l: RbdListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const i of images(l, options.signal)) {
    if (i.finished) continue;
    yield { kind: 'image without snapshot', location: l.location(i.name), imageId: i.name, since: await createdAt(l, i.name), size: i.size };
  }
}
