/**
 * The http store: reads images from http(s) URLs. It implements only
 * `StoreDriver` (no add, no delete), so writing to it does not compile.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ServiceClient } from '../../net/client.js';
import { checkedLength, contentLength, discard, headerValue, type Response } from '../../net/response.js';
import { statusError, transportError, type FailedCall } from '../../net/failure.js';
import { readTls } from '../../net/tls.js';
import { BackendUnavailableError, BadStoreUriError, InvalidRangeError, NotFoundError } from '../../errors.js';
import { throwStoreProblems } from '../store-problems.js';
import type { Capability, DriverCallOptions, DriverContext, DriverGetOptions, DriverGetResult, StoreDriver } from '../../driver.js';
import { maskLocation } from '../../location.js';
import { parseHttpLocation, type HttpTarget } from './location.js';
import type { HttpStoreOptions } from './options.js';

/** Redirects followed before giving up (the 6th fails). */
export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CONNECT_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 30_000;
const BODY_TIMEOUT_MS = 60_000;

export class HttpStore implements StoreDriver {
  private constructor(
    readonly id: string,
    private readonly client: ServiceClient,
    private readonly verified: boolean,
    private readonly proxied: readonly string[],
  ) {}

  static create(ctx: DriverContext<HttpStoreOptions>): HttpStore {
    const options = ctx.options;
    const { tls, problems } = readTls(
      { caFile: options.https_ca_certificates_file, insecure: options.https_insecure },
      { caFile: 'https_ca_certificates_file', insecure: 'https_insecure' },
    );
    const proxies: { http?: string; https?: string } = {};
    // Each scheme is http or https and each proxy a URL: the rule in HTTP_OPTIONS was checked with the whole config.
    for (const [scheme, proxy] of Object.entries(options.http_proxy_information ?? {}) as ['http' | 'https', string][]) {
      // Plain http goes to the proxy as absolute-URI requests (as Python's requests does); https tunnels.
      proxies[scheme] = proxy;
    }
    throwStoreProblems(ctx.id, problems);
    const client = ServiceClient.create({
      tls,
      // glance_store's http store: a server that cannot be trusted makes the URI bad.
      tlsError: BadStoreUriError,
      proxies,
      timeouts: { connectMs: CONNECT_TIMEOUT_MS, headersMs: HEADERS_TIMEOUT_MS, bodyMs: BODY_TIMEOUT_MS },
      // As glance_store: 404 is NotFound, any other failing status makes the URI bad.
      statuses: { 404: NotFoundError },
      otherwise: BadStoreUriError,
    });
    return new HttpStore(ctx.id, client, tls.verified, Object.keys(proxies));
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random']);
  }

  properties(): Record<string, unknown> {
    return { tls_verified: this.verified, proxies: this.proxied };
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const ranged = options.offset !== undefined || options.length !== undefined;
    const offset = options.offset ?? 0;
    const range = ranged ? `bytes=${offset}-${options.length !== undefined ? offset + options.length - 1 : ''}` : undefined;
    const { res, call } = await this.follow(location, 'GET', options.signal, range ? { range } : {});
    const declared = contentLength(res);
    if (!ranged) {
      return { stream: checkedBody(res.body, declared, call), size: declared };
    }
    if (res.statusCode === 416) {
      // Only a range asked of an image of unknown size gets here (MultiStore fits the others).
      discard(res);
      throw new InvalidRangeError(`The range starts at byte ${offset}, past the end of ${maskLocation(location)}`);
    }
    if (res.statusCode === 206) {
      return { stream: checkedBody(res.body, declared, call), size: declared };
    }
    // The server ignored Range and sent the whole image: cut the range out here.
    const size = declared === undefined ? options.length : Math.max(0, Math.min(options.length ?? Infinity, declared - offset));
    return { stream: checkedBody(res.body, declared, call).pipe(new Slice(offset, size ?? Infinity)), size };
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number | undefined> {
    let head: { res: Response } | undefined;
    try {
      head = await this.follow(location, 'HEAD', options.signal);
    } catch (err) {
      // Some servers refuse HEAD (405, 501...): ask with GET below. NotFound, an unreachable
      // server or an aborted call stand.
      if (!(err instanceof BadStoreUriError)) throw err;
      head = undefined;
    }
    const fromHead = head ? contentLength(head.res) : undefined;
    if (head) discard(head.res);
    if (fromHead !== undefined) return fromHead;
    const got = await this.follow(location, 'GET', options.signal);
    discard(got.res);
    return contentLength(got.res);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Requests the location, following up to MAX_REDIRECTS redirects to http(s) URLs. */
  private async follow(location: string, method: 'GET' | 'HEAD', signal: AbortSignal | undefined, headers: Record<string, string> = {}): Promise<{ res: Response; call: FailedCall }> {
    let target: HttpTarget = parseHttpLocation(location);
    for (let redirects = 0; ; redirects++) {
      const shown = maskLocation(target.url.href);
      const what = `${method} ${shown}`;
      const call: FailedCall = { ...this.client.meaning(what), signal };
      const authorization: Record<string, string> = target.authorization ? { authorization: target.authorization } : {};
      const res = await this.client.send({ method, url: target.url, headers: { ...headers, ...authorization }, signal, what });
      if (res.statusCode < 300) return { res, call: { ...call, what: `Reading ${shown}` } };
      discard(res);
      if (REDIRECTS.has(res.statusCode)) {
        if (redirects >= MAX_REDIRECTS) throw new BadStoreUriError(`${shown} exceeded ${MAX_REDIRECTS} redirects`);
        const next = headerValue(res, 'location');
        if (!next) throw new BadStoreUriError(`${shown} answered ${res.statusCode} without a Location header`);
        const nextUrl = new URL(next, target.url);
        if (nextUrl.protocol !== 'http:' && nextUrl.protocol !== 'https:') {
          throw new BadStoreUriError(`${shown} redirected to a ${nextUrl.protocol.replace(':', '')} URL; only http and https are followed`);
        }
        // Credentials go only to the origin they were given for.
        const sameOrigin = nextUrl.origin === target.url.origin;
        target = sameOrigin && target.authorization ? { url: nextUrl, authorization: target.authorization } : parseHttpLocation(nextUrl.href);
        continue;
      }
      if (method === 'GET' && res.statusCode === 416) return { res, call };
      throw statusError(res.statusCode, call);
    }
  }
}

/** Errors the stream if the body ends before its Content-Length: never a short image. */
function checkedBody(body: Readable, expected: number | undefined, call: FailedCall): Readable {
  return checkedLength(body, expected, (seen) => new BackendUnavailableError(`${call.what}: the server sent ${seen} of ${expected} bytes`), (err) => transportError(err, call));
}

/** Passes bytes [offset, offset + length) of a stream and stops the download after them. */
class Slice extends Transform {
  private position = 0;
  private done = false;
  private source: Readable | undefined;
  constructor(
    private readonly offset: number,
    private readonly length: number,
  ) {
    super();
    this.on('pipe', (src: Readable) => (this.source = src));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    if (this.done) return cb();
    const start = Math.max(0, this.offset - this.position);
    const end = Math.min(chunk.length, this.offset + this.length - this.position);
    this.position += chunk.length;
    if (end > start) this.push(chunk.subarray(start, end));
    if (this.position >= this.offset + this.length) {
      this.done = true;
      this.push(null);
      // The rest of the image is not needed: stop downloading it.
      this.source?.unpipe(this);
      this.source?.destroy();
    }
    cb();
  }
}
