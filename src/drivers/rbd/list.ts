/**
 * Listing an rbd store's pool. An image is an RBD image named by an image
 * id that has the protected snapshot `snap` every finished add makes
 * (driver.ts): one without it is an add that died (or still runs), a
 * leftover. Snapshots are never listed on their own.
 *
 * The names come from the librbd binding's `list` (rbd_list2), which
 * answers with the whole pool at once, as librbd lists (it has no marker):
 * one buffer of the names' bytes, about 40 bytes an image, split here as
 * the listing goes. Each image is then opened through the binding, a few
 * at a time, for its size, snapshots and creation time.
 */
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import type { GlanceStoreError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import { rbdCode } from './errors.js';
import type { Ioctx, RbdBinding } from './native.js';
import { SNAPSHOT_NAME } from './location.js';

/** Images opened at once while listing. */
const OPENED_AT_ONCE = 8;

export interface RbdListing {
  storeId: string;
  pool: string;
  rbd: RbdBinding;
  ioctx(): Promise<Ioctx>;
  location(image: string): string;
  mapError(err: unknown, what: string): GlanceStoreError;
}

/** The pool's image names, taken one at a time from the binding's NUL-separated buffer. */
async function* names(l: RbdListing, io: Ioctx): AsyncGenerator<string> {
  let all: Buffer;
  try {
    all = await l.rbd.list(io);
  } catch (err) {
    throw l.mapError(err, `the images of pool ${l.pool}`);
  }
  for (let at = 0; at < all.length; ) {
    const end = all.indexOf(0, at);
    const stop = end < 0 ? all.length : end;
    if (stop > at) yield all.toString('utf8', at, stop);
    at = stop + 1;
  }
}

interface Inspected {
  name: string;
  size: number;
  finished: boolean;
  since: Date | undefined;
}

/** An image's size, whether its add finished (it has `snap`) and when it was made; undefined when it is gone since it was listed. */
async function inspect(l: RbdListing, io: Ioctx, name: string): Promise<Inspected | undefined> {
  let image;
  try {
    image = await l.rbd.open(io, name, null);
  } catch (err) {
    if (rbdCode(err) === 'ENOENT') return undefined;
    throw l.mapError(err, `image ${name}`);
  }
  try {
    const [size, snaps, created] = await Promise.all([l.rbd.size(image), l.rbd.snapList(image), l.rbd.createTimestamp(image)]);
    return { name, size, finished: snaps.includes(SNAPSHOT_NAME), since: created > 0 ? new Date(created * 1000) : undefined };
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
  for await (const name of names(l, io)) {
    signal?.throwIfAborted();
    if (!isImageId(name)) continue;
    batch.push(name);
    if (batch.length >= OPENED_AT_ONCE) yield* flush();
  }
  yield* flush();
}

export async function* listRbdImages(l: RbdListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const i of images(l, options.signal)) {
    if (i.finished) yield { id: i.name, size: i.size, location: l.location(i.name), ...(i.since ? { since: i.since } : {}) };
  }
}

export async function* rbdLeftovers(l: RbdListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const i of images(l, options.signal)) {
    if (!i.finished) yield { kind: 'image without snapshot', location: l.location(i.name), imageId: i.name, since: i.since, size: i.size };
  }
}
