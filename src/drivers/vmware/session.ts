/**
 * One logged-in vSphere API session per store: logged in on first use (calls
 * made meanwhile share the one login), its `vmware_soap_session` cookie sent
 * with every SOAP call and every `/folder` request, logged in again when the
 * server answers NotAuthenticated (an expired or ended session), logged out
 * on close. The password goes into the Login envelope and nowhere else.
 */
import { AuthenticationFailedError, BackendError, BackendUnavailableError, DuplicateError, ForbiddenError, NotFoundError, type GlanceStoreError } from '../../errors.js';
import type { ServiceClient } from '../../net/client.js';
import { transportError } from '../../net/failure.js';
import { discard, headerValue, type Response } from '../../net/response.js';
import { envelope, moRef, parseAnswer, type MoRef, type Node, type SoapFault, type SoapValue } from './soap.js';

export const SESSION_COOKIE = 'vmware_soap_session';

/** The managed objects of the service content the store calls. */
export interface ServiceContent {
  sessionManager: MoRef;
  propertyCollector: MoRef;
  searchIndex: MoRef;
  fileManager: MoRef;
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/** A call the server answered with a fault: the fault's vim25 type is kept for callers to tell them apart. */
export class VimFault extends Error {
  constructor(readonly fault: SoapFault) {
    super(`${fault.type}: ${fault.message}`);
  }
}

/**
 * Whether a call failed because a managed object the store had looked up is
 * gone (ManagedObjectNotFound): the server was rebuilt or restarted with new
 * references, and the store looks its inventory up again.
 */
export function isStaleReference(err: unknown): boolean {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  return cause instanceof VimFault && cause.fault.type === 'ManagedObjectNotFound';
}

/** The library error a vim25 fault means. */
export function vimFaultError(what: string, fault: SoapFault, cause?: unknown): GlanceStoreError {
  const message = `${what}: vCenter answered ${fault.type} (${fault.message.slice(0, 200)})`;
  const options = cause === undefined ? {} : { cause };
  switch (fault.type) {
    case 'NotAuthenticated':
    case 'InvalidLogin':
      return new AuthenticationFailedError(message, options);
    case 'NoPermission':
      return new ForbiddenError(message, options);
    case 'FileNotFound':
    case 'ManagedObjectNotFound':
      return new NotFoundError(message, options);
    case 'FileAlreadyExists':
      return new DuplicateError(message, options);
    default:
      return new BackendError(message, options);
  }
}

export interface SessionConfig {
  /** `https://host:port`: the server, without a path. */
  origin: string;
  username: string;
  password: string;
}

export class VsphereSession {
  private content: ServiceContent | undefined;
  private cookie: string | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly client: ServiceClient,
    private readonly config: SessionConfig,
  ) {}

  /** Where the server is, for messages: never the user's password. */
  get server(): string {
    return this.config.origin;
  }

  /** The managed objects of the service content, asked for once. */
  async serviceContent(signal?: AbortSignal): Promise<ServiceContent> {
    if (this.content) return this.content;
    const [root] = await this.post('RetrieveServiceContent', SERVICE_INSTANCE, {}, undefined, signal);
    const ref = (name: string): MoRef => {
      const r = moRef((root as Record<string, Node> | undefined)?.[name]);
      if (!r) throw new BackendError(`${this.server} answered RetrieveServiceContent without a ${name}: is it a vCenter or ESXi server?`);
      return r;
    };
    this.content = { sessionManager: ref('sessionManager'), propertyCollector: ref('propertyCollector'), searchIndex: ref('searchIndex'), fileManager: ref('fileManager') };
    return this.content;
  }

  /** The session cookie (`vmware_soap_session=...`), logging in first when there is none. */
  async sessionCookie(signal?: AbortSignal): Promise<string> {
    return this.cookie ?? this.login(undefined, signal);
  }

  /**
   * A new login, after the server refused `stale` (calls that were refused
   * the same cookie share one login; a cookie already replaced is returned).
   */
  async login(stale?: string, signal?: AbortSignal): Promise<string> {
    if (this.cookie && this.cookie !== stale) return this.cookie;
    this.pending ??= this.doLogin(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  /**
   * One API call on the session: logged in first, and once more when the
   * server says the session is not (or no longer) authenticated, as a fault
   * or, for RetrieveProperties, as the fault of a missing property (what
   * `refusal` finds in the results). A fault rejects with the library error
   * it means (vimFaultError).
   */
  async invoke(method: string, self: MoRef, args: Record<string, SoapValue | undefined>, signal?: AbortSignal, refusal?: (results: Node[]) => SoapFault | undefined): Promise<Node[]> {
    let cookie = await this.sessionCookie(signal);
    for (let relogged = false; ; relogged = true) {
      let fault: SoapFault | undefined;
      try {
        const results = await this.post(method, self, args, cookie, signal);
        fault = refusal?.(results);
        if (!fault) return results;
      } catch (err) {
        if (!(err instanceof VimFault)) throw err;
        fault = err.fault;
      }
      if (relogged || fault.type !== 'NotAuthenticated') throw vimFaultError(`${method} on ${this.server}`, fault, new VimFault(fault));
      cookie = await this.login(cookie, signal);
    }
  }

  /** Ends the session on the server (best effort: the server ends idle sessions itself). */
  async logout(): Promise<void> {
    const cookie = this.cookie;
    this.cookie = undefined;
    if (!cookie || !this.content) return;
    await this.post('Logout', this.content.sessionManager, {}, cookie, AbortSignal.timeout(5000)).catch(() => undefined);
  }

  private async doLogin(signal?: AbortSignal): Promise<string> {
    const content = await this.serviceContent(signal);
    const what = `Logging in to ${this.server} as ${this.config.username}`;
    let res: Response;
    try {
      res = await this.client.send({
        method: 'POST',
        url: `${this.config.origin}/sdk`,
        headers: soapHeaders(),
        body: envelope('Login', content.sessionManager, { userName: this.config.username, password: this.config.password }),
        signal,
        what,
      });
    } catch (err) {
      throw transportError(err, { what, service: 'vCenter', signal });
    }
    const set = res.headers['set-cookie'];
    const cookies = Array.isArray(set) ? set : set ? [set] : [];
    const { fault } = await this.answer(res, 'Login', what, signal);
    if (fault) {
      if (fault.type === 'InvalidLogin') throw new AuthenticationFailedError(`${what}: the user name or password was refused (InvalidLogin)`);
      throw vimFaultError(what, fault);
    }
    const cookie = cookies.map((c) => c.split(';')[0]!.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    if (!cookie) throw new BackendError(`${what}: the server answered without a ${SESSION_COOKIE} cookie`);
    this.cookie = cookie;
    return cookie;
  }

  /** One SOAP POST to /sdk, its answer's returnval elements; a fault rejects with VimFault. */
  private async post(method: string, self: MoRef, args: Record<string, SoapValue | undefined>, cookie: string | undefined, signal?: AbortSignal): Promise<Node[]> {
    const what = `${method} on ${this.server}`;
    const res = await this.client.send({
      method: 'POST',
      url: `${this.config.origin}/sdk`,
      headers: { ...soapHeaders(), ...(cookie ? { cookie } : {}) },
      body: envelope(method, self, args),
      signal,
      what,
    });
    const { results, fault } = await this.answer(res, method, what, signal);
    if (fault) throw new VimFault(fault);
    return results;
  }

  /** Reads an answer: a SOAP body (2xx, or 500 with a fault), else the status's error. */
  private async answer(res: Response, method: string, what: string, signal?: AbortSignal): Promise<{ results: Node[]; fault?: SoapFault }> {
    if (res.statusCode === 401) {
      discard(res);
      return { results: [], fault: { type: 'NotAuthenticated', message: 'HTTP 401' } };
    }
    const type = headerValue(res, 'content-type') ?? '';
    if ((res.statusCode >= 300 && res.statusCode !== 500) || !/xml/i.test(type)) {
      discard(res);
      const Kind = res.statusCode >= 500 || res.statusCode === 408 || res.statusCode === 429 ? BackendUnavailableError : BackendError;
      throw new Kind(`${what}: vCenter answered HTTP ${res.statusCode}${type ? ` (${type.split(';')[0]})` : ''}, not a SOAP answer`);
    }
    let xml: string;
    try {
      xml = await res.body.text();
    } catch (err) {
      throw transportError(err, { what: `Reading the answer to ${what}`, service: 'vCenter', ...(signal ? { signal } : {}) });
    }
    try {
      return parseAnswer(xml, method);
    } catch (err) {
      throw new BackendError(`${what}: vCenter answered with a body that is not a SOAP answer (${(err as Error).message})`, { cause: err });
    }
  }
}

function soapHeaders(): Record<string, string> {
  return { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:vim25/6.0' };
}
