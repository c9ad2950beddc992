/**
 * Listing a cinder store: the project's volumes, a page at a time
 * (/volumes/detail with limit and marker). An image is a volume named
 * `image-<id>` that an add finished (driver.ts): available or in use, with
 * glance_store's `glance_image_id` metadata and without the add's mark. A
 * volume of that name still `creating` or `downloading`, in `error`, still
 * marked, or lacking the metadata is what an add left (or an add still
 * running): a leftover, never an image.
 */
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import type { ServiceClient } from '../../net/client.js';
import { CINDER_CLIENT, type Volume } from './api.js';
import { formatCinderLocation } from './location.js';

const PAGE = 500;
const GiB = 2 ** 30;
/** States of a volume that holds a finished image. */
const HOLDS_IMAGE = new Set(['available', 'in-use']);
const GONE = new Set(['deleting', 'deleted']);

export interface CinderListing {
  storeId: string;
  /** The store's client with a token for the listing's context. */
  client(options: DriverListOptions): ServiceClient;
  /** Metadata that marks a volume as an add's until it is written. */
  addMark: string;
}

type Found = { image: ListedImage } | { leftover: StoreLeftover };

async function* volumes(l: CinderListing, options: DriverListOptions): AsyncGenerator<Volume> {
  const client = l.client(options);
  for (let marker: string | undefined; ; ) {
    const q = new URLSearchParams({ limit: String(PAGE), sort: 'created_at:asc', ...(marker ? { marker } : {}) });
    const page = await client.json<{ volumes: Volume[] }>(
      { method: 'GET', path: `/volumes/detail?${q}`, idempotent: true, signal: options.signal, what: `Cinder GET the volumes of store ${l.storeId}` },
      { statuses: CINDER_CLIENT.statuses },
    );
    yield* page.volumes;
    if (page.volumes.length < PAGE) return;
    marker = page.volumes.at(-1)!.id;
  }
}

function classify(l: CinderListing, v: Volume): Found | undefined {
  const id = /^image-(.+)$/.exec(v.name ?? '')?.[1];
  if (!id || GONE.has(v.status)) return undefined;
  const location = formatCinderLocation({ storeId: l.storeId, volumeId: v.id });
  const since = v.created_at ? new Date(/Z|[+-]\d\d:?\d\d$/.test(v.created_at) ? v.created_at : `${v.created_at}Z`) : undefined;
  const finished = HOLDS_IMAGE.has(v.status) && v.metadata?.['glance_image_id'] === id && v.metadata?.[l.addMark] === undefined;
  if (finished) {
    const recorded = Number(v.metadata?.['image_size']);
    return { image: { id, size: Number.isSafeInteger(recorded) && recorded > 0 ? recorded : v.size * GiB, location, ...(since ? { since } : {}) } };
  }
  const kind = v.metadata?.['glance_image_id'] === undefined ? 'volume without image metadata' : v.metadata?.[l.addMark] !== undefined ? `volume of an unfinished add (${v.status})` : `volume ${v.status}`;
  return { leftover: { kind, location, imageId: id, since, size: v.size * GiB } };
}

export async function* listCinderImages(l: CinderListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const v of volumes(l, options)) {
    const f = classify(l, v);
    if (f && 'image' in f) yield f.image;
  }
}

export async function* cinderLeftovers(l: CinderListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const v of volumes(l, options)) {
    const f = classify(l, v);
    if (f && 'leftover' in f) yield f.leftover;
  }
}
