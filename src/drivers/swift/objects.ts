/**
 * Operations on the objects and listings of one Swift account, over a
 * SwiftConnection: what uploads, downloads and deletes are built from. Swift's
 * answers become the library's errors here (src/net/failure.ts, with
 * Swift's own meaning of 409).
 */
import { BackendUnavailableError } from '../../errors.js';
import { reached, waitUntil, waiting } from '../../net/poller.js';
import { discard, expectOk, headerValue, type Response } from '../../net/response.js';
import { SWIFT_CLIENT, type SwiftConnection } from './connection.js';

const DELETES_IN_FLIGHT = 8;
const CONTAINER_REMOVAL_MS = 3000;

/**
 * Turns a non-2xx answer into the error glance_store raises for it
 * (expectOk with Swift's meaning of the statuses). A 2xx body is drained
 * unless the caller still reads it (`keepBody`).
 */
export function checkSwiftStatus(res: Response, what: string, keepBody = false): Promise<void> {
  return expectOk(res, { what, service: SWIFT_CLIENT.service!, statuses: SWIFT_CLIENT.statuses! }, keepBody);
}

export async function objectExists(conn: SwiftConnection, container: string, obj: string, signal?: AbortSignal): Promise<boolean> {
  const res = await conn.request({ method: 'HEAD', container, obj, signal });
  discard(res);
  if (res.statusCode === 404) return false;
  await checkSwiftStatus(res, `HEAD of ${container}/${obj}`);
  return true;
}

/** A DLO manifest header `container/prefix`, decoded. */
export function splitManifest(manifest: string): { container: string; prefix: string } {
  const slash = manifest.indexOf('/');
  return { container: decodeURIComponent(manifest.slice(0, slash)), prefix: decodeURIComponent(manifest.slice(slash + 1)) };
}

/** A container's listing of a prefix, page by page; nothing when the container does not exist. */
export async function* listingPages(conn: SwiftConnection, container: string, prefix: string, signal?: AbortSignal): AsyncGenerator<{ name: string; bytes: number }[]> {
  for (let marker = ''; ; ) {
    const res = await conn.request({ method: 'GET', container, query: { format: 'json', prefix, ...(marker ? { marker } : {}) }, signal });
    if (res.statusCode === 404 || res.statusCode === 204) {
      discard(res);
      return;
    }
    await checkSwiftStatus(res, `listing of ${container}`, true);
    const page = (await res.body.json()) as { name: string; bytes: number }[];
    if (page.length === 0) return;
    yield page;
    marker = page.at(-1)!.name;
  }
}

/** Every object name with a prefix. */
export async function listNames(conn: SwiftConnection, container: string, prefix: string, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  for await (const page of listingPages(conn, container, prefix, signal)) for (const o of page) names.push(o.name);
  return names;
}

/** How many segments a DLO manifest (`container/prefix`) joins, their bytes, and the listing pages they took. */
export async function segmentBytes(conn: SwiftConnection, manifest: string, signal?: AbortSignal): Promise<{ count: number; bytes: number; pages: number }> {
  const { container, prefix } = splitManifest(manifest);
  let count = 0;
  let bytes = 0;
  let pages = 0;
  for await (const page of listingPages(conn, container, prefix, signal)) {
    pages++;
    count += page.length;
    for (const o of page) bytes += o.bytes;
  }
  return { count, bytes, pages };
}

/** Deletes objects a few at a time; a missing one is fine, any other failure is reported after all were tried. */
export async function deleteNames(conn: SwiftConnection, container: string, names: readonly string[], signal?: AbortSignal): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < names.length) {
      const name = names[next++]!;
      try {
        const res = await conn.request({ method: 'DELETE', container, obj: name, signal });
        discard(res);
        if (res.statusCode !== 404) await checkSwiftStatus(res, `DELETE of ${container}/${name}`);
      } catch (err) {
        failures.push(`${name}: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DELETES_IN_FLIGHT, names.length) }, worker));
  if (failures.length) throw new BackendUnavailableError(`${failures.length} of ${names.length} objects in ${container} could not be deleted: ${failures.slice(0, 3).join('; ')}`);
}

/** Segments first, manifest last (as glance_store): a delete that fails half-way can be run again. */
export async function removeObjectAndSegments(conn: SwiftConnection, container: string, obj: string, head: Response, signal?: AbortSignal): Promise<void> {
  if ((headerValue(head, 'x-static-large-object') ?? '').toLowerCase() === 'true') {
    const res = await conn.request({ method: 'DELETE', container, obj, query: { 'multipart-manifest': 'delete' }, signal });
    discard(res);
    return checkSwiftStatus(res, `DELETE of ${container}/${obj}`);
  }
  const manifest = headerValue(head, 'x-object-manifest');
  if (manifest) {
    const segments = splitManifest(manifest);
    await deleteNames(conn, segments.container, await listNames(conn, segments.container, segments.prefix, signal), signal);
  }
  const res = await conn.request({ method: 'DELETE', container, obj, signal });
  discard(res);
  if (res.statusCode !== 404) await checkSwiftStatus(res, `DELETE of ${container}/${obj}`);
}

/**
 * Removes an emptied container; a listing that still counts just-deleted
 * objects (409) gets a few more tries, all within 3 s (a Swift that stopped
 * answering included).
 */
export async function deleteContainerQuietly(conn: SwiftConnection, container: string): Promise<void> {
  const signal = AbortSignal.timeout(CONTAINER_REMOVAL_MS);
  await waitUntil(
    async () => {
      const res = await conn.request({ method: 'DELETE', container, signal });
      discard(res);
      return res.statusCode === 409 ? waiting('not empty (HTTP 409)') : reached(undefined);
    },
    { what: `container ${container} to be deletable`, timeoutMs: CONTAINER_REMOVAL_MS, firstPauseMs: 200, maxPauseMs: 1000, signal },
  ).catch(() => undefined); // best effort: the container is only left over, and the add's own outcome stands
}
