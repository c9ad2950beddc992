/**
 * Reading an image, or a range of it: small reads as one ranged GET, large
 * ones as 8 MiB ranges with several in flight (one stream leaves the proxy
 * idle between writes), segmented images (DLO manifests) included. A read cut
 * off mid-image resumes from the byte reached; the retries of one get share
 * swift_store_retry_get_count, as in glance_store, and a read never ends short.
 */
import { Readable } from 'node:stream';
import { BackendError, BackendUnavailableError, GlanceStoreError } from '../../errors.js';
import type { DriverGetOptions, DriverGetResult } from '../../driver.js';
import { maskLocation } from '../../location.js';
import type { Logger } from '../../logger.js';
import { transportError } from '../../net/failure.js';
import { contentLength, discard, headerValue, type Response } from '../../net/response.js';
import { readAhead } from '../../pipeline/read-ahead.js';
import type { SwiftConnection } from './connection.js';
import type { SwiftLocation } from './location.js';
import { checkSwiftStatus, segmentBytes } from './objects.js';

/** Large reads go as ranges of this size, several in flight: one stream leaves the proxy idle between writes. */
const READ_BYTES = 8 * 1024 * 1024;
const READS_IN_FLIGHT = 4;

/** One get's reads: where from, how to show it, and the retries they share. */
interface Read {
  conn: SwiftConnection;
  loc: SwiftLocation;
  shown: string;
  retries: { used: number };
  signal: AbortSignal | undefined;
}

export class SwiftDownloader {
  constructor(
    private readonly storeId: string,
    /** swift_store_retry_get_count */
    private readonly retryGetCount: number,
    private readonly logger: Logger,
  ) {}

  /** The bytes of `loc` from `options.offset`, `options.length` of them (to the end when absent, and at most to the end). */
  async get(conn: SwiftConnection, loc: SwiftLocation, shown: string, options: DriverGetOptions): Promise<DriverGetResult> {
    const read: Read = { conn, loc, shown, retries: { used: 0 }, signal: options.signal };
    const start = options.offset ?? 0;
    const wantedEnd = options.length !== undefined ? start + options.length - 1 : Infinity;
    // The first request asks for the first read's worth; its Content-Range tells the object's size.
    const firstEnd = Math.min(wantedEnd, start + READ_BYTES - 1);
    const first = await this.getObject(read, start, firstEnd);
    if (first.statusCode === 416) {
      discard(first);
      // Nothing at or past `start` (an empty image, or a range past the end), as Swift says it.
      const size = /^bytes \*\/(\d+)$/.exec(headerValue(first, 'content-range') ?? '')?.[1];
      if (size !== undefined && Number(size) > start) throw new BackendError(`${shown}: Swift refused bytes ${start}-${firstEnd} of a ${size}-byte image`);
      return { stream: Readable.from([]), size: 0 };
    }
    const total = totalSize(first);
    if (first.statusCode !== 206 || total === undefined) {
      discard(first);
      throw new BackendError(`${shown}: Swift answered a range request with HTTP ${first.statusCode} and no Content-Range`);
    }
    const manifest = headerValue(first, 'x-object-manifest');
    if (manifest) {
      // Swift sizes a DLO from the first page of its listing (10,000 segments): past that,
      // ranges and Content-Range fall short. Such an image is read whole, never short.
      const listed = await segmentBytes(conn, manifest, options.signal);
      if (listed.pages > 1) {
        discard(first);
        if (options.offset !== undefined || options.length !== undefined) {
          throw new BackendError(`${shown} has ${listed.count} segments: Swift cannot serve a range of a segmented image past its first 10,000 segments`);
        }
        const whole = await conn.request({ method: 'GET', container: loc.container, obj: loc.obj, signal: options.signal });
        await checkSwiftStatus(whole, shown, true);
        return { stream: Readable.from(this.resumingBody(read, whole, 0, listed.bytes, listed.bytes - 1)), size: listed.bytes };
      }
    }
    const end = Math.min(wantedEnd, total - 1);
    const size = Math.max(0, end - start + 1);
    if (end <= firstEnd) {
      return { stream: Readable.from(this.resumingBody(read, first, start, contentLength(first) ?? 0, firstEnd)), size };
    }
    // Larger images: several ranges in flight (proxies serve them side by side), in order.
    let firstRead: Response | undefined = first;
    const stream = readAhead({
      start,
      length: size,
      chunk: READ_BYTES,
      inFlight: READS_IN_FLIGHT,
      readAt: (at, length) => {
        const res = at === start ? firstRead : undefined;
        firstRead = undefined;
        return this.readRange(read, at, length, res);
      },
      close: async () => {
        if (firstRead) discard(firstRead);
      },
    });
    return { stream, size };
  }

  /** Bytes [at, at + length) into one Buffer, asking again from the byte reached when the connection breaks. */
  private async readRange(read: Read, at: number, length: number, opened: Response | undefined): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    let res = opened;
    for (;;) {
      let broken: unknown;
      try {
        res ??= await this.getObject(read, at + got, at + length - 1);
        if (res.statusCode !== 206) throw new BackendError(`${read.shown}: Swift answered HTTP ${res.statusCode} to a range request`);
        for await (const chunk of res.body) {
          const c = chunk as Buffer;
          if (got + c.length > length) throw new BackendError(`${read.shown}: Swift sent more than the ${length} bytes asked for at ${at}`);
          c.copy(buf, got);
          got += c.length;
        }
      } catch (err) {
        if (read.signal?.aborted) throw transportError(err, { what: `Reading ${read.shown}`, signal: read.signal });
        if (err instanceof GlanceStoreError && !(err instanceof BackendUnavailableError)) throw err;
        broken = err;
      } finally {
        if (res && !res.body.destroyed) res.body.destroy();
        res = undefined;
      }
      if (got === length) return buf;
      this.spendRetry(read, at + got, broken);
    }
  }

  /**
   * The object's bytes; when the connection breaks, asks again from the byte
   * reached. It never ends short: after the last retry the stream errors.
   */
  private async *resumingBody(read: Read, first: Response, start: number, size: number, end: number): AsyncGenerator<Buffer> {
    let res = first;
    let delivered = 0;
    for (;;) {
      let broken: unknown;
      try {
        for await (const chunk of res.body) {
          delivered += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      } catch (err) {
        if (read.signal?.aborted) throw transportError(err, { what: `Reading ${read.shown}`, signal: read.signal });
        broken = err;
      } finally {
        if (!res.body.destroyed) res.body.destroy();
      }
      if (delivered === size) return;
      this.spendRetry(read, start + delivered, broken);
      res = await this.getObject(read, start + delivered, end);
      if (res.statusCode !== 206) {
        discard(res);
        throw new BackendError(`Resuming ${read.shown} at byte ${delivered}: Swift answered HTTP ${res.statusCode} instead of a range`);
      }
    }
  }

  /**
   * Takes one retry of a read cut off at byte `at` from the budget its get
   * shares (swift_store_retry_get_count), or fails loudly when none is left.
   */
  private spendRetry(read: Read, at: number, broken: unknown): void {
    const { retries, shown } = read;
    const why = broken ? maskLocation((broken as Error).message ?? String(broken)) : 'the connection closed early';
    if (retries.used >= this.retryGetCount) {
      throw new BackendUnavailableError(`Reading ${shown} stopped at byte ${at} (${why}) after ${retries.used} retr${retries.used === 1 ? 'y' : 'ies'}`, { cause: broken });
    }
    retries.used++;
    this.logger.info(`[${this.storeId}] resuming ${shown} at byte ${at} (retry ${retries.used}/${this.retryGetCount}): ${why}`);
  }

  private async getObject(read: Read, start: number, end: number): Promise<Response> {
    const headers = { range: `bytes=${start}-${end}` };
    const res = await read.conn.request({ method: 'GET', container: read.loc.container, obj: read.loc.obj, headers, signal: read.signal });
    if (res.statusCode === 416 || (res.statusCode >= 200 && res.statusCode < 300)) return res;
    await checkSwiftStatus(res, `image ${read.loc.obj}`);
    return res;
  }
}

/** The whole object's size from a 206 answer's `Content-Range: bytes a-b/total`. */
function totalSize(res: Response): number | undefined {
  const m = /\/(\d+)\s*$/.exec(headerValue(res, 'content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}
