/**
 * Helpers for undici responses shared by the drivers that speak HTTP
 * themselves (http, swift): reading headers, dropping unread bodies,
 * refusing a body that ends before its Content-Length, and telling TLS
 * verification failures apart.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { Dispatcher } from 'undici';

export type Response = Dispatcher.ResponseData;

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

/**
 * Errors the stream if the body ends before (or after) `expected` bytes: never
 * a short image. `toError` turns a transport error of the body into the
 * caller's error type.
 */
export function checkedLength(body: Readable, expected: number | undefined, shortError: (seen: number) => Error, toError: (err: unknown) => Error): Readable {
  let seen = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      seen += chunk.length;
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      if (expected !== undefined && seen !== expected) cb(shortError(seen));
      else cb();
    },
  });
  body.on('error', (err) => check.destroy(toError(err)));
  check.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(check);
}

/** The error code of a failed TLS verification (an unknown CA, a bad certificate), if that is what `err` is. */
export function tlsFailureCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code) ? code : undefined;
}
