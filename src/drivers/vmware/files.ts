/**
 * Image files on datastores, through vCenter's `/folder` HTTP endpoint
 * (`/folder/<path>?dcPath=<datacenter>&dsName=<datastore>`) with the
 * session's cookie: PUT streams an image in, GET reads it (Range honoured),
 * HEAD gives its size. A 401 means the session ended: the request is sent
 * again after a new login, when its body can be sent again.
 */
import { Readable } from 'node:stream';
import { AuthenticationFailedError, BackendError, BackendUnavailableError } from '../../errors.js';
import type { RequestBody, ServiceClient } from '../../net/client.js';
import { transportError } from '../../net/failure.js';
import { checkedLength, contentLength, discard, expectOk, type Response } from '../../net/response.js';
import type { VsphereSession } from './session.js';

/**
 * A read keeps the socket busy while its reader works: undici and the length
 * check each buffer up to 1 MiB (undici's default, 64 KiB, paused the TLS
 * socket every four records), and the reader gets 256 KiB chunks instead of
 * one per 16 KiB TLS record (docs/performance.md, the vmware notes).
 */
const READ_AHEAD_BYTES = 1 << 20;
const GATHER_BYTES = 256 << 10;

/** A file below `/folder`: its path (quoted, as in a location) and the query naming its datastore and datacenter. */
export interface FolderFile {
  path: string;
  query: string;
}

export interface FolderRequest {
  method: 'GET' | 'HEAD' | 'PUT';
  file: FolderFile;
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal | undefined;
  highWaterMark?: number;
  what: string;
}

export class DatastoreFiles {
  constructor(
    private readonly client: ServiceClient,
    private readonly session: VsphereSession,
    private readonly origin: string,
  ) {}

  url(file: FolderFile): string {
    return `${this.origin}${file.path}${file.query ? `?${file.query}` : ''}`;
  }

  /** One request with the session cookie; after a 401, once more with a new login when the body allows it. */
  async send(req: FolderRequest): Promise<Response> {
    const repeatable = req.body === undefined || typeof req.body === 'string' || req.body instanceof Uint8Array || typeof req.body === 'function';
    let cookie = await this.session.sessionCookie(req.signal);
    for (let relogged = false; ; relogged = true) {
      const res = await this.client.send({
        method: req.method,
        url: this.url(req.file),
        headers: { ...req.headers, cookie },
        ...(req.body !== undefined ? { body: req.body } : {}),
        signal: req.signal,
        ...(req.highWaterMark !== undefined ? { highWaterMark: req.highWaterMark } : {}),
        what: req.what,
      });
      if (res.statusCode !== 401) return res;
      discard(res);
      if (relogged || !repeatable) throw new AuthenticationFailedError(`${req.what}: vCenter refused the session (HTTP 401)${relogged ? ' after a new login' : ''}`);
      cookie = await this.session.login(cookie, req.signal);
    }
  }

  /** The file's size, or undefined when there is no such file. */
  async size(file: FolderFile, what: string, signal?: AbortSignal): Promise<number | undefined> {
    const res = await this.send({ method: 'HEAD', file, signal, what });
    discard(res);
    if (res.statusCode === 404) return undefined;
    await expectOk(res, this.client.meaning(what), false);
    return contentLength(res) ?? 0;
  }

  /** The file's bytes from `offset`, `length` of them (the whole file when neither is given). */
  async read(file: FolderFile, what: string, range: { offset?: number; length?: number }, signal?: AbortSignal): Promise<{ stream: Readable; size: number | undefined }> {
    const ranged = range.offset !== undefined || range.length !== undefined;
    const offset = range.offset ?? 0;
    const headers: Record<string, string> = ranged ? { range: `bytes=${offset}-${range.length !== undefined ? offset + range.length - 1 : ''}` } : {};
    const res = await this.send({ method: 'GET', file, headers, signal, what, highWaterMark: READ_AHEAD_BYTES });
    if (res.statusCode === 416) {
      discard(res);
      // An empty image, or a range past its end.
      return { stream: Readable.from([]), size: 0 };
    }
    await expectOk(res, { ...this.client.meaning(what), signal }, true);
    if (ranged && res.statusCode !== 206) {
      discard(res);
      throw new BackendError(`${what}: vCenter ignored the Range header (HTTP ${res.statusCode})`);
    }
    const size = contentLength(res);
    const call = { what: `Reading ${what}`, service: 'vCenter', ...(signal ? { signal } : {}) };
    const stream = checkedLength(res.body, size, (seen) => new BackendUnavailableError(`Reading ${what}: vCenter sent ${seen} of ${size} bytes`), (err) => transportError(err, call), {
      highWaterMark: READ_AHEAD_BYTES,
      gatherBytes: GATHER_BYTES,
    });
    return { stream, size };
  }

  /** Streams `body` into the file (chunked when `size` is undefined); any failing status rejects. */
  async write(file: FolderFile, body: Readable, size: number | undefined, what: string, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...(size !== undefined ? { 'content-length': String(size) } : {}) };
    const res = await this.send({ method: 'PUT', file, headers, body, signal, what });
    await expectOk(res, { ...this.client.meaning(what), signal });
  }
}
