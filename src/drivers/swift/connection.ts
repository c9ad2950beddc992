/**
 * One authenticated view of a Swift account: requests go out with a token the
 * session keeps fresh (renewed swift_store_expire_soon_interval before it
 * expires, and once more when Swift answers 401 to a request that can be
 * repeated).
 */
import type { Dispatcher } from 'undici';
import { Readable } from 'node:stream';
import { AuthenticationFailedError } from '../../errors.js';
import { maskLocation } from '../../location.js';
import { discard, send, type Response } from '../../net/response.js';
import { TokenSession } from '../../net/token-session.js';
import type { AuthResult, AuthTransport, Authenticator } from './auth.js';
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
  private readonly session: TokenSession<AuthResult>;

  /**
   * @param authenticate gets a token and storage URL; `undefined` for a fixed
   *   token (multi-tenant: the user's), which cannot be renewed.
   */
  constructor(
    private readonly transport: AuthTransport,
    expireSoonMs: number,
    authenticate: Authenticator | undefined,
    fixed?: AuthResult,
  ) {
    this.session = new TokenSession(authenticate, expireSoonMs, fixed);
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
      const auth = attempt === 0 ? await this.session.token() : await this.session.renew();
      const url = this.url(auth, req.container, req.obj, req.query);
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const shown = `${req.method} ${maskLocation(url)}`;
      const what = `Swift ${shown}`;
      let res: Response;
      try {
        res = await send(
          url,
          { method: req.method, headers: { ...req.headers, 'x-auth-token': auth.token }, body: body as Dispatcher.DispatchOptions['body'], dispatcher: this.transport.dispatcher, signal: req.signal },
          { what, signal: req.signal, ...(this.transport.tlsHint ? { tlsHint: this.transport.tlsHint } : {}) },
        );
      } catch (err) {
        if (body instanceof Readable) body.destroy();
        throw err;
      }
      if (res.statusCode === 401) {
        discard(res);
        if (attempt === 0 && repeatable && this.session.renewable) continue;
        throw new AuthenticationFailedError(`Swift refused the token for ${shown} (HTTP 401)${attempt > 0 ? ' after a new token' : ''}`);
      }
      return res;
    }
  }
}
