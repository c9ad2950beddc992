/**
 * One request with undici and reading its answer, below the service client
 * (./client.ts): failures mapped by ./failure.ts, headers read, unread bodies
 * dropped, and a body that ends before its Content-Length refused.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { statusError, transportError, type FailedCall, type StatusMeaning } from './failure.js';

export type Response = Dispatcher.ResponseData;

export interface SendOptions {
  method: Dispatcher.HttpMethod;
  headers?: Record<string, string>;
  body?: Dispatcher.DispatchOptions['body'];
  dispatcher: Dispatcher;
  signal?: AbortSignal;
  highWaterMark?: number;
}

/** One request; a failure below HTTP rejects with the library's error (transportError). */
export async function send(url: string | URL, options: SendOptions, call: FailedCall): Promise<Response> {
  try {
    return await request(url, options);
  } catch (err) {
    throw transportError(err, { ...call, signal: options.signal });
  }
}

/**
 * Resolves for a 2xx answer, whose body is drained unless the caller still
 * reads it (`keepBody`); rejects with the error the status means
 * (statusError), the start of the answer's body as its detail.
 */
export async function expectOk(res: Response, meaning: StatusMeaning, keepBody = false): Promise<void> {
  const status = res.statusCode;
  if (status >= 200 && status < 300) {
    if (!keepBody && !res.body.destroyed) await res.body.dump().catch(() => undefined);
    return;
  }
  let detail = '';
  try {
    detail = explanation(await res.body.text());
  } catch {
    // the body is informative only
  }
  throw statusError(status, { ...meaning, ...(detail ? { detail } : {}) });
}

/**
 * What a failing answer's body says: the message of an OpenStack JSON error
 * (`{"badRequest": {"message": ...}}`, Keystone's `{"error": {"message": ...}}`),
 * else the start of its text without markup.
 */
export function explanation(body: string): string {
  try {
    const first = Object.values(JSON.parse(body) as Record<string, { message?: unknown }>)[0];
    if (first && typeof first.message === 'string') return first.message.slice(0, 300);
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 200).replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim();
}

/** Drops a response body we do not read (an aborted body emits an error nobody needs). */
export function discard(res: Response): void {
  res.body.on('error', () => undefined);
  res.body.destroy();
}

export function headerValue(res: Response, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function contentLength(res: Response): number | undefined {
  const v = headerValue(res, 'content-length');
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}

/** How much a checked body reads ahead of its reader, and how big the chunks it hands on are. */
export interface ReadAhead {
  /** Bytes buffered on each side of the check (Node's default, 16 KiB, when not given). */
  highWaterMark?: number;
  /**
   * Hands on chunks of at least this many bytes (the last may be smaller),
   * gathered from the socket's (TLS records of 16 KiB): fewer, larger chunks
   * for the reader. 0 (the default) passes each chunk on as it comes.
   */
  gatherBytes?: number;
}

/**
 * Errors the stream if the body ends before (or after) `expected` bytes: never
 * a short image. `toError` turns a transport error of the body into the
 * caller's error type.
 */
export function checkedLength(
  body: Readable,
  expected: number | undefined,
  shortError: (seen: number) => Error,
  toError: (err: unknown) => Error,
  o: ReadAhead = {},
): Readable {
  let seen = 0;
  const gather = o.gatherBytes ?? 0;
  let held: Buffer[] = [];
  let heldBytes = 0;
  const release = (): Buffer => {
    const out = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
    return out;
  };
  const check = new Transform({
    ...(o.highWaterMark !== undefined ? { readableHighWaterMark: o.highWaterMark, writableHighWaterMark: o.highWaterMark } : {}),
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      if (gather === 0) return cb(null, chunk);
      held.push(chunk);
      heldBytes += chunk.length;
      cb(null, heldBytes >= gather ? release() : undefined);
    },
    flush(cb: TransformCallback) {
      if (expected !== undefined && seen !== expected) cb(shortError(seen));
      else cb(null, heldBytes > 0 ? release() : undefined);
    },
  });
  body.on('error', (err) => check.destroy(toError(err)));
  check.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(check);
}
