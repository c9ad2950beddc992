/**
 * One authenticated view of a Swift account, as operations on the store's
 * service client (src/net/client.ts): requests go out with a token the
 * session keeps fresh (renewed swift_store_expire_soon_interval before it
 * expires, and once more when Swift answers 401 to a request that can be
 * repeated), to `<storage URL>/<container>/<object>` quoted as
 * python-swiftclient quotes them.
 */
import { DuplicateError } from '../../errors.js';
import type { RequestBody, ServiceClient, ServiceClientConfig } from '../../net/client.js';
import { STATUS_ERRORS } from '../../net/failure.js';
import type { Response } from '../../net/response.js';
import { TokenSession } from '../../net/token-session.js';
import type { AuthResult, Authenticator } from './auth.js';
import { pyQuote } from './location.js';

/** How the store's client speaks to Swift. */
export const SWIFT_CLIENT: ServiceClientConfig = {
  service: 'Swift',
  // Swift answers 409 to a write that conflicts with an existing object: an object is in the way, as with 412.
  statuses: { ...STATUS_ERRORS, 409: DuplicateError },
  // Reads, deletes and creates from a buffer are made again after a lost answer (a pooled
  // connection the proxy dropped, a restarting proxy), never after swift_store_request_timeout:
  // that stays the bound of a call.
  retry: { attempts: 2, firstPauseMs: 250, maxPauseMs: 1000, afterTimeout: false },
};

/** Methods whose second request does no harm. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'DELETE']);

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
  body?: RequestBody;
  /**
   * A PUT with If-None-Match: * whose body can be sent again: retried after a
   * lost answer, a 412 on the retry being the lost attempt's object (ServiceRequest.create).
   */
  create?: boolean;
  signal?: AbortSignal | undefined;
}

export class SwiftConnection {
  private readonly client: ServiceClient;

  /**
   * @param client the store's client (without a token)
   * @param authenticate gets a token and storage URL; `undefined` for a fixed
   *   token (multi-tenant: the user's), which cannot be renewed.
   */
  constructor(client: ServiceClient, expireSoonMs: number, authenticate: Authenticator | undefined, fixed?: AuthResult) {
    this.client = client.withToken(new TokenSession(authenticate, expireSoonMs, fixed));
  }

  request(req: SwiftRequest): Promise<Response> {
    let path = '';
    if (req.container !== undefined) path += `/${pyQuote(req.container)}`;
    if (req.obj !== undefined) path += `/${pyQuote(req.obj)}`;
    return this.client.send({
      method: req.method,
      path,
      ...(req.query ? { query: req.query } : {}),
      ...(req.headers ? { headers: req.headers } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
      ...(req.create ? { create: true as const } : {}),
      idempotent: IDEMPOTENT.has(req.method),
      signal: req.signal,
    });
  }
}
