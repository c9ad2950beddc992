/**
 * A token kept fresh for one client of a service: asked for once and shared by
 * every call in flight, asked for again some time before it expires (so a
 * long upload never meets an expired token), and again when the service
 * refuses it. A user's own token (multi-tenant calls) cannot be renewed: it
 * is used until the service refuses it.
 */
import { AuthenticationFailedError } from '../errors.js';

/** A token, and when it expires (epoch ms; absent when the service does not say). */
export interface ExpiringToken {
  token: string;
  expiresAt?: number;
}

/** A token for one service, and the endpoint its calls go to (a Swift storage URL, a project's Cinder URL). */
export interface ServiceToken extends ExpiringToken {
  endpoint: string;
}

export class TokenSession<T extends ExpiringToken> {
  private current: T | undefined;
  private pending: Promise<T> | undefined;

  /**
   * @param login asks for a new token; undefined for a fixed token
   * @param renewBeforeMs a token expiring within this many ms is renewed before use
   * @param fixed the token to start with (a user's token)
   */
  constructor(
    private readonly login: (() => Promise<T>) | undefined,
    private readonly renewBeforeMs: number,
    fixed?: T,
  ) {
    this.current = fixed;
  }

  /** A session on a user's token, which is never renewed. */
  static fixed<T extends ExpiringToken>(token: T): TokenSession<T> {
    return new TokenSession<T>(undefined, 0, token);
  }

  /** Whether a refused token can be replaced by a new one. */
  get renewable(): boolean {
    return this.login !== undefined;
  }

  /** The token to use now, renewed first when it expires within renewBeforeMs. */
  async token(): Promise<T> {
    const s = this.current;
    if (s && (s.expiresAt === undefined || s.expiresAt - Date.now() > this.renewBeforeMs || !this.login)) return s;
    return this.renew();
  }

  /** A new token, after the service refused the current one; calls renewing at once share one login. */
  async renew(): Promise<T> {
    if (!this.login) throw new AuthenticationFailedError('The request token was refused, and a request token cannot be renewed');
    this.pending ??= this.login().finally(() => (this.pending = undefined));
    this.current = await this.pending;
    return this.current;
  }
}
