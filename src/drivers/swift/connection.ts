/**
 * One authenticated view of a Swift account: it keeps the token, asks for a
 * new one before it expires (swift_store_expire_soon_interval), and once more
 * when Swift answers 401 to a request that can be repeated. Requests go
 * through undici's `request`: fetch would decode gzip-encoded image bodies.
 */
import { request, type Dispatcher } from 'undici';
import { Readable } from 'node:stream';
import { AuthenticationFailedError, BackendUnavailableError, GlanceStoreError } from '../../errors.js';
import { maskLocation, maskText } from '../../location.js';
import { discard, tlsFailureCode, type Response } from '../../net/response.js';
import type { AuthResult, Authenticator } from './auth.js';
import { pyQuote } from './location.js';

export interface SwiftRequest {
  method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
  container?: string;
  obj?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /**
   * A body that can be sent again (a Buffer, or a function making a fresh
   * stream) is retried after a 401; a one-shot stream is not.
   */
  body?: Buffer | string | (() => Readable) | Readable | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
}

export class SwiftConnection {
  private session: AuthResult | undefined;
  private pending: Promise<AuthResult> | undefined;

  /**
   * @param authenticate gets a token and storage URL; `undefined` for a fixed
   *   token (multi-tenant: the user's), which cannot be renewed.
   */
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly expireSoonMs: number,
    private readonly authenticate: Authenticator | undefined,
    fixed?: AuthResult,
  ) {
    this.session = fixed;
  }

  /** The current token and storage URL, renewed when it expires within swift_store_expire_soon_interval. */
  async auth(force = false): Promise<AuthResult> {
    const s = this.session;
    const fresh = s && (s.expiresAt === undefined || s.expiresAt - Date.now() > this.expireSoonMs);
    if (s && fresh && !force) return s;
    if (!this.authenticate) {
      if (s && !force) return s; // a user's token: use it until Swift refuses it
      throw new AuthenticationFailedError('Swift refused the request token, and a request token cannot be renewed');
    }
    this.pending ??= this.authenticate().finally(() => (this.pending = undefined));
    this.session = await this.pending;
    return this.session;
  }

  url(auth: AuthResult, container?: string, obj?: string, query?: Record<string, string>): string {
    let url = auth.storageUrl.replace(/\/+$/, '');
    if (container !== undefined) url += `/${pyQuote(container)}`;
    if (obj !== undefined) url += `/${pyQuote(obj)}`;
    if (query && Object.keys(query).length) url += `?${new URLSearchParams(query).toString()}`;
    return url;
  }

  async request(req: SwiftRequest): Promise<Response> {
    const repeatable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body) || typeof req.body === 'function';
    for (let attempt = 0; ; attempt++) {
      const auth = await this.auth(attempt > 0);
      const url = this.url(auth, req.container, req.obj, req.query);
      const body = typeof req.body === 'function' ? req.body() : req.body;
      let res: Response;
      try {
        res = await request(url, {
          method: req.method,
          headers: { ...req.headers, 'x-auth-token': auth.token },
          body: body as Dispatcher.DispatchOptions['body'],
          dispatcher: this.dispatcher,
          signal: req.signal,
        });
      } catch (err) {
        if (body instanceof Readable) body.destroy();
        throw transportError(err, `Swift ${req.method} ${maskLocation(url)}`);
      }
      if (res.statusCode === 401) {
        discard(res);
        if (attempt === 0 && repeatable && this.authenticate) continue;
        throw new AuthenticationFailedError(`Swift refused the token for ${req.method} ${maskLocation(url)} (HTTP 401)${attempt > 0 ? ' after a new token' : ''}`);
      }
      return res;
    }
  }
}

/** A failure below HTTP: the source's own error when it caused it, else BackendUnavailable. */
export function transportError(err: unknown, what: string): GlanceStoreError {
  if (err instanceof GlanceStoreError) return err;
  let cause: unknown = err;
  // undici wraps a body stream's error; the add pipeline's own errors (size cap, abort...) must come out as they are.
  while (cause && !(cause instanceof GlanceStoreError) && (cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
  if (cause instanceof GlanceStoreError) return cause;
  const e = err as { name?: string; code?: string; message?: string };
  if (e?.name === 'AbortError') return new GlanceStoreError('Aborted', `${what}: aborted`, { cause: err });
  const tls = tlsFailureCode(err);
  if (tls) return new BackendUnavailableError(`${what}: TLS verification failed (${tls}); set swift_store_cacert to trust the server's CA`, { cause: err });
  return new BackendUnavailableError(`${what} failed: ${maskText(`${e?.code ? `${e.code} ` : ''}${e?.message ?? String(err)}`)}`, { cause: err });
}
