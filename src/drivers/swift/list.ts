/**
 * Listing a single-tenant swift store: its container (or, with
 * swift_store_multiple_containers_seed, every `<container>_<seed>` one), a
 * listing page at a time. Swift lists names in order, so a large image's
 * DLO manifest `<id>` comes right before its segments `<id>-00001`, ...
 * (segments.ts), with only names that start with `<id>` in between: one
 * pass tells images from segments, holding only the chain of names that
 * are prefixes of the current one. A manifest's size is its segments' sum;
 * segments whose manifest is missing (an add that died, or is still
 * running) are leftovers, never images.
 */
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import { ForbiddenError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import { discard } from '../../net/response.js';
import type { SwiftConnection } from './connection.js';
import { checkSwiftStatus, listingPages } from './objects.js';
import { formatSwiftConfigLocation, formatSwiftLocation, type SwiftLocation } from './location.js';

/** What a listing needs of the store. */
export interface SwiftListing {
  storeId: string;
  multiTenant: boolean;
  container: string;
  seeded: boolean;
  /** Where an add of the store goes (tenancy.ts): its connection, and the location it writes. */
  target(): Promise<{ conn: SwiftConnection; loc: SwiftLocation }>;
  /** default_swift_reference, when locations name it (swift_store_config_file). */
  reference?: string;
}

interface Listed {
  name: string;
  bytes: number;
  last_modified?: string;
}

type Found = { image: ListedImage } | { leftover: StoreLeftover };

const SEGMENT = /^(.+)-\d{5,}$/;

/** Swift's last_modified is UTC without a zone. */
const modified = (o: Listed): Date | undefined => {
  const t = o.last_modified ? Date.parse(/Z|[+-]\d\d:?\d\d$/.test(o.last_modified) ? o.last_modified : `${o.last_modified}Z`) : NaN;
  return Number.isNaN(t) ? undefined : new Date(t);
};

/** The store's containers: the one configured, and its seeded ones. */
async function* containers(l: SwiftListing, conn: SwiftConnection, signal: AbortSignal | undefined): AsyncGenerator<string> {
  yield l.container;
  if (!l.seeded) return;
  const prefix = `${l.container}_`;
  for (let marker = ''; ; ) {
    const res = await conn.request({ method: 'GET', query: { format: 'json', prefix, ...(marker ? { marker } : {}) }, signal });
    if (res.statusCode === 204) return discard(res);
    await checkSwiftStatus(res, `listing of the containers of store ${l.storeId}`, true);
    const page = (await res.body.json()) as { name: string }[];
    if (page.length === 0) return;
    for (const c of page) yield c.name;
    marker = page.at(-1)!.name;
  }
}

/** One container, in order: each name is an image, a segment of the image before it, or a leftover segment. */
async function* walk(conn: SwiftConnection, container: string, locate: (container: string, obj: string) => string, signal: AbortSignal | undefined): AsyncGenerator<Found> {
  /** Names that are prefixes of the current one, each with the bytes of the segments seen for it. */
  const chain: Array<Listed & { segments: number }> = [];
  const settle = function* (o: Listed & { segments: number }): Generator<Found> {
    if (!isImageId(o.name)) return;
    const since = modified(o);
    yield { image: { id: o.name, size: o.bytes > 0 ? o.bytes : o.segments, location: locate(container, o.name), ...(since ? { since } : {}) } };
  };
  for await (const page of listingPages(conn, container, '', signal)) {
    for (const o of page as Listed[]) {
      while (chain.length && !o.name.startsWith(chain.at(-1)!.name)) yield* settle(chain.pop()!);
      const base = SEGMENT.exec(o.name)?.[1];
      const owner = base === undefined ? undefined : chain.find((c) => c.name === base);
      if (owner && owner.bytes === 0) {
        owner.segments += o.bytes;
        continue;
      }
      if (base !== undefined && isImageId(base)) {
        // Its manifest would have been listed just before it: an add that died (or still runs) left it.
        yield { leftover: { kind: owner ? 'segment of a whole object' : 'segment without manifest', location: locate(container, o.name), imageId: base, since: modified(o), size: o.bytes } };
        continue;
      }
      chain.push({ ...o, segments: 0 });
    }
  }
  while (chain.length) yield* settle(chain.pop()!);
}

async function* found(l: SwiftListing, signal: AbortSignal | undefined): AsyncGenerator<Found> {
  if (l.multiTenant) throw new ForbiddenError(`Store ${l.storeId} is multi-tenant: its images are in the accounts of the users who added them, which it cannot list`);
  const { conn, loc } = await l.target();
  const locate = (container: string, obj: string) => (l.reference ? formatSwiftConfigLocation(l.reference, container, obj) : formatSwiftLocation({ ...loc, container, obj }));
  for await (const c of containers(l, conn, signal)) yield* walk(conn, c, locate, signal);
}

export async function* listSwiftImages(l: SwiftListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const f of found(l, options.signal)) if ('image' in f) yield f.image;
}

export async function* swiftLeftovers(l: SwiftListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const f of found(l, options.signal)) if ('leftover' in f) yield f.leftover;
}
