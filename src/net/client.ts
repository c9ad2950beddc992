/**
 * The one client of a service over HTTP, for every driver that speaks HTTP
 * itself (swift, cinder, http, and Keystone for them): in the spirit of the
 * AWS SDK v3 client, one object holds what every call of a store shares (the
 * undici agent built from the store's TLS settings and timeouts, proxies,
 * what the service means by a status), and each call goes through the same
 * steps: the token header added, the token renewed once when the service
 * answers 401, idempotent calls (and creates that a lost answer leaves in
 * doubt) retried with a doubling pause, failures mapped by ./failure.ts. A
 * driver's API is then a few operations on it.
 *
 * Requests go through undici's `request`, not `fetch`: fetch decodes
 * gzip-encoded bodies, which would change image bytes.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { AuthenticationFailedError, BackendUnavailableError } from '../errors.js';
import { maskLocation } from '../location.js';
import { STATUS_ERRORS, tlsFailureCode, transportError, type ErrorClass, type FailedCall, type StatusMeaning } from './failure.js';
import { discard, expectOk, send, type Response } from './response.js';
import type { TlsSettings } from './tls.js';
import type { ServiceToken, TokenSession } from './token-session.js';

export interface ServiceClientConfig {
  /** Who answers, in messages: `Swift`, `Cinder`. Default `the server`. */
  service?: string;
  /** The store's TLS settings (readTls); servers are verified by default. */
  tls?: TlsSettings;
  /** What a TLS verification failure is (default BackendUnavailable). */
  tlsError?: ErrorClass;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Proxies by the scheme of the URL asked for; plain http goes as absolute-URI requests, https tunnels. */
  proxies?: { http?: string; https?: string };
  /** What the service means by a failing status (default STATUS_ERRORS). */
  statuses?: Readonly<Record<number, ErrorClass>>;
  /** Any other failing status (default: BackendUnavailable for 5xx, 408, 429; else BackendError). */
  otherwise?: ErrorClass;
  /**
   * Retries of an idempotent call (or a create, below) after a failure below
   * HTTP or a 5xx answer. `afterTimeout: false` makes no call again once it
   * timed out, so that a call's bound stays one request timeout.
   */
  retry?: { attempts: number; firstPauseMs?: number; maxPauseMs?: number; afterTimeout?: boolean };
  /** Told of each retry before its pause: what the call is and why it is made again (for the store's log). */
  onRetry?: (what: string, why: string, attempt: number) => void;
  /** Headers every call carries (Cinder's microversion). */
  headers?: Record<string, string>;
}

/**
 * A request body. A string, bytes, or a function making a fresh stream can be
 * sent again (after a 401, on a retry); a stream given as such is one-shot.
 */
export type RequestBody = string | Uint8Array | (() => Readable | AsyncIterable<Uint8Array>) | Readable | AsyncIterable<Uint8Array>;

export interface ServiceRequest {
  method: Dispatcher.HttpMethod;
  /** An absolute URL; else `path` below the token's endpoint. */
  url?: string | URL;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** A second request does no harm: retried after a failure below HTTP or a 5xx answer. */
  idempotent?: boolean;
  /**
   * A create the service refuses when its target exists (a PUT with
   * If-None-Match: *): retried as an idempotent call is, although a second
   * request is not harmless. When a retry is refused with `existsStatus`
   * (412 unless given), the attempt whose answer was lost created the
   * target: the call resolves with that attempt's success, a 201 whose
   * body is empty, instead of the refusal.
   */
  create?: true | { existsStatus: number };
  signal?: AbortSignal | undefined;
  /** Bytes of the answer's body undici buffers before it stops reading the socket (its default, 64 KiB, when not given). */
  highWaterMark?: number;
  /** What the call is, in messages; default `<service> <METHOD> <url>` (masked). */
  what?: string;
}

/** The agents one store's calls share (closed once, by the client that made them). */
interface Transport {
  direct: Dispatcher;
  proxies: { http?: Dispatcher; https?: Dispatcher };
}

export class ServiceClient {
  private constructor(
    private readonly config: ServiceClientConfig,
    private readonly transport: Transport,
    private readonly session: TokenSession<ServiceToken> | undefined,
    private readonly tokenHeader: string,
    private readonly owner: boolean,
  ) {}

  static create(config: ServiceClientConfig = {}): ServiceClient {
    const t = config.timeouts ?? {};
    const connect = { ...(config.tls?.connect ?? { rejectUnauthorized: true }) };
    const timeouts = { ...(t.headersMs !== undefined ? { headersTimeout: t.headersMs } : {}), ...(t.bodyMs !== undefined ? { bodyTimeout: t.bodyMs } : {}) };
    const direct = new Agent({ connect: { ...connect, ...(t.connectMs !== undefined ? { timeout: t.connectMs } : {}) }, ...timeouts });
    const proxies: Transport['proxies'] = {};
    for (const scheme of ['http', 'https'] as const) {
      const uri = config.proxies?.[scheme];
      if (uri) proxies[scheme] = new ProxyAgent({ uri, proxyTunnel: false, requestTls: connect, ...(t.connectMs !== undefined ? { connectTimeout: t.connectMs } : {}), ...timeouts });
    }
    return new ServiceClient(config, { direct, proxies }, undefined, 'x-auth-token', true);
  }

  /** The same client, its calls made with the session's token, to the token's endpoint. */
  withToken(session: TokenSession<ServiceToken>, tokenHeader = 'x-auth-token'): ServiceClient {
    return new ServiceClient(this.config, this.transport, session, tokenHeader, false);
  }

  /** What a TLS verification failure tells the operator. */
  get tlsHint(): string | undefined {
    return this.config.tls?.hint;
  }

  /** How this service's failures read, for a call described as `what`. */
  meaning(what: string, extra: Partial<StatusMeaning> = {}): StatusMeaning {
    const c = this.config;
    return {
      what,
      ...(c.service ? { service: c.service } : {}),
      ...(c.tls ? { tlsHint: c.tls.hint } : {}),
      ...(c.tlsError ? { tlsError: c.tlsError } : {}),
      statuses: c.statuses ?? STATUS_ERRORS,
      ...(c.otherwise ? { otherwise: c.otherwise } : {}),
      ...extra,
    };
  }

  /**
   * One call, whatever its status: the token added (renewed once after a
   * 401, which then, or for a token that cannot be renewed, is
   * AuthenticationFailed), idempotent calls and creates retried. A failure
   * below HTTP rejects with the library's error.
   */
  async send(req: ServiceRequest): Promise<Response> {
    const repeatable = isRepeatable(req.body);
    const retries = this.config.retry?.attempts ?? 0;
    const idempotent = req.idempotent === true || req.create !== undefined;
    const existsStatus = typeof req.create === 'object' ? req.create.existsStatus : 412;
    let token = this.session ? await this.session.token() : undefined;
    let renewed = false;
    for (let attempt = 0; ; ) {
      const url = this.urlOf(req, token);
      const what = req.what ?? `${this.config.service ?? 'HTTP'} ${req.method} ${maskLocation(url)}`;
      const call: FailedCall = { ...this.meaning(what), signal: req.signal };
      const body = typeof req.body === 'function' ? req.body() : req.body;
      const headers = { ...this.config.headers, ...req.headers, ...(token ? { [this.tokenHeader]: token.token } : {}) };
      let res: Response;
      try {
        res = await send(url, { method: req.method, headers, body: body as Dispatcher.DispatchOptions['body'], dispatcher: this.dispatcherFor(url), signal: req.signal, ...(req.highWaterMark !== undefined ? { highWaterMark: req.highWaterMark } : {}) }, call);
      } catch (err) {
        if (body instanceof Readable) body.destroy();
        if (repeatable && attempt < retries && retriable(err, idempotent, this.config.retry?.afterTimeout ?? true)) {
          await this.pause(attempt++, call, (err as Error).message);
          continue;
        }
        throw err;
      }
      if (attempt > 0 && req.create !== undefined && res.statusCode === existsStatus) {
        // Refused as existing only after an attempt whose answer was lost: that attempt made it.
        discard(res);
        return { ...res, statusCode: 201 };
      }
      if (res.statusCode === 401 && this.session) {
        discard(res);
        if (!renewed && repeatable && this.session.renewable) {
          renewed = true;
          token = await this.session.renew();
          continue;
        }
        throw new AuthenticationFailedError(`${what}: the token was refused (HTTP 401)${renewed ? ' after a new token' : ''}`);
      }
      if (res.statusCode >= 500 && idempotent && repeatable && attempt < retries) {
        discard(res);
        await this.pause(attempt++, call, `HTTP ${res.statusCode}`);
        continue;
      }
      return res;
    }
  }

  /** A call that must succeed: its 2xx answer, its body still to read; any other status rejects (expectOk). */
  async call(req: ServiceRequest & { what: string }, extra: Partial<StatusMeaning> = {}): Promise<Response> {
    const res = await this.send(req);
    await expectOk(res, { ...this.meaning(req.what, extra), signal: req.signal }, true);
    return res;
  }

  /** A call answered with JSON (or nothing): the parsed body. */
  async json<T>(req: ServiceRequest & { what: string }, extra: Partial<StatusMeaning> = {}): Promise<T> {
    const res = await this.call(req, extra);
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      throw transportError(err, { ...this.meaning(`Reading the answer to ${req.what}`), signal: req.signal });
    }
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new BackendUnavailableError(`${req.what}: ${this.config.service ?? 'the server'} answered with a body that is not JSON`, { cause: err });
    }
  }

  /** Closes the agents (a client from withToken shares them, and leaves them open). */
  async close(): Promise<void> {
    if (!this.owner) return;
    const all = [this.transport.direct, ...Object.values(this.transport.proxies)];
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }

  private urlOf(req: ServiceRequest, token: ServiceToken | undefined): string {
    let url: string;
    if (req.url !== undefined) url = req.url.toString();
    else if (token) url = `${token.endpoint.replace(/\/+$/, '')}${req.path ?? ''}`;
    else throw new TypeError('A request needs a URL, or a token whose endpoint its path is below');
    if (req.query && Object.keys(req.query).length) url += `${url.includes('?') ? '&' : '?'}${new URLSearchParams(req.query).toString()}`;
    return url;
  }

  private dispatcherFor(url: string): Dispatcher {
    const p = this.transport.proxies;
    return (url.startsWith('https:') ? p.https : url.startsWith('http:') ? p.http : undefined) ?? this.transport.direct;
  }

  /** The pause before retry `n` (0-based): doubled each time, at most maxPauseMs; an abort ends it at once. */
  private async pause(n: number, call: FailedCall, why: string): Promise<void> {
    const r = this.config.retry;
    this.config.onRetry?.(call.what, maskLocation(why), n + 1);
    const ms = Math.min((r?.firstPauseMs ?? 250) * 2 ** n, r?.maxPauseMs ?? 4000);
    try {
      await sleep(ms, undefined, call.signal ? { signal: call.signal } : undefined);
    } catch (err) {
      throw transportError(err, call);
    }
  }
}

function isRepeatable(body: RequestBody | undefined): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array || typeof body === 'function';
}

/**
 * Whether a call that failed below HTTP may be made again: never after a
 * TLS failure, an abort or a library error of the call's own (nor after a
 * timeout, when the client says so); an idempotent call after any other
 * failure; any call when the connection was refused (nothing reached the
 * server).
 */
function retriable(err: unknown, idempotent: boolean, afterTimeout: boolean): boolean {
  if (!(err instanceof BackendUnavailableError) || tlsFailureCode(err)) return false;
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  if (!afterTimeout && typeof code === 'string' && TIMEOUT_CODES.has(code)) return false;
  if (idempotent) return true;
  return code === 'ECONNREFUSED';
}

/** undici's transport timeouts (connect, headers, body). */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
