/**
 * Authentication against Swift's own auth (v1: tempauth, swauth), Keystone
 * v2.0 and Keystone v3 (password or token), and picking Swift's storage URL
 * from the service catalog. Each authenticator returns a token, the storage
 * URL and, where the service says, when the token expires.
 */
import { request, type Dispatcher } from 'undici';
import { AuthenticationFailedError, BackendError, BackendUnavailableError, BadStoreConfigurationError } from '../../errors.js';
import { maskLocation } from '../../location.js';
import { discard, headerValue } from '../../net/response.js';
import type { SwiftReference } from './references.js';
import { transportError } from './connection.js';

export interface AuthResult {
  token: string;
  storageUrl: string;
  /** Epoch ms; absent when the service does not say. */
  expiresAt?: number;
}

/** Which catalog endpoint is Swift's (glance_store's swift_store_* options). */
export interface EndpointChoice {
  serviceType: string;
  /** publicURL, internalURL or adminURL. */
  endpointType: string;
  region?: string;
  /** swift_store_endpoint: used instead of the catalog. */
  override?: string;
}

export type Authenticator = () => Promise<AuthResult>;

/** An account reference's credentials: `user` is `project:user` for Keystone (v2, v3). */
export type PasswordCredentials = SwiftReference;

export function passwordAuthenticator(creds: PasswordCredentials, endpoint: EndpointChoice, dispatcher: Dispatcher): Authenticator {
  switch (creds.authVersion) {
    case '1':
      return () => authV1(creds, endpoint, dispatcher);
    case '2':
      return () => authV2(creds, endpoint, dispatcher);
    case '3':
      return () => authV3(creds, endpoint, dispatcher);
    default:
      throw new BadStoreConfigurationError(`auth_version ${JSON.stringify(creds.authVersion)} must be 1, 2 or 3`);
  }
}

/** Keystone v3 token auth: exchanges a user's token for one scoped to a project, with its catalog. */
export function tokenAuthenticator(authUrl: string, token: string, projectId: string | undefined, endpoint: EndpointChoice, dispatcher: Dispatcher): Authenticator {
  const scope = projectId ? { scope: { project: { id: projectId } } } : {};
  return async () => keystoneV3(authUrl, { auth: { identity: { methods: ['token'], token: { id: token } }, ...scope } }, endpoint, dispatcher, 'the request token');
}

function splitProjectUser(user: string): { project: string; name: string } {
  const colon = user.indexOf(':');
  if (colon < 0) throw new AuthenticationFailedError(`Keystone auth needs the user as project:user, got a user without a project`);
  return { project: user.slice(0, colon), name: user.slice(colon + 1) };
}

async function call(url: string, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string }, dispatcher: Dispatcher): Promise<Dispatcher.ResponseData> {
  try {
    return await request(url, { ...init, dispatcher });
  } catch (err) {
    throw transportError(err, `The auth service ${maskLocation(url)}`);
  }
}

async function refused(res: Dispatcher.ResponseData, url: string, who: string): Promise<never> {
  discard(res);
  if (res.statusCode === 401 || res.statusCode === 403) throw new AuthenticationFailedError(`${maskLocation(url)} refused the credentials of ${who} (HTTP ${res.statusCode})`);
  if (res.statusCode >= 500) throw new BackendUnavailableError(`The auth service ${maskLocation(url)} answered HTTP ${res.statusCode}`);
  throw new BackendError(`The auth service ${maskLocation(url)} answered HTTP ${res.statusCode}`);
}

async function authV1(creds: PasswordCredentials, endpoint: EndpointChoice, dispatcher: Dispatcher): Promise<AuthResult> {
  const res = await call(creds.authAddress, { method: 'GET', headers: { 'x-auth-user': creds.user, 'x-auth-key': creds.key } }, dispatcher);
  if (res.statusCode < 200 || res.statusCode >= 300) return refused(res, creds.authAddress, 'the store user');
  discard(res);
  const token = headerValue(res, 'x-auth-token') ?? headerValue(res, 'x-storage-token');
  const storageUrl = endpoint.override ?? headerValue(res, 'x-storage-url');
  if (!token || !storageUrl) throw new BackendError(`${maskLocation(creds.authAddress)} answered without X-Auth-Token or X-Storage-Url`);
  const expires = Number(headerValue(res, 'x-auth-token-expires'));
  return { token, storageUrl, ...(Number.isFinite(expires) && expires > 0 ? { expiresAt: Date.now() + expires * 1000 } : {}) };
}

async function authV2(creds: PasswordCredentials, endpoint: EndpointChoice, dispatcher: Dispatcher): Promise<AuthResult> {
  const { project, name } = splitProjectUser(creds.user);
  const url = `${creds.authAddress.replace(/\/+$/, '')}/tokens`;
  const body = JSON.stringify({ auth: { tenantName: project, passwordCredentials: { username: name, password: creds.key } } });
  const res = await call(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body }, dispatcher);
  if (res.statusCode < 200 || res.statusCode >= 300) return refused(res, url, 'the store user');
  const data = (await res.body.json()) as { access?: { token?: { id?: string; expires?: string }; serviceCatalog?: unknown[] } };
  const token = data.access?.token?.id;
  if (!token) throw new BackendError(`${maskLocation(url)} answered without a token`);
  const storageUrl = endpoint.override ?? selectEndpoint(data.access?.serviceCatalog ?? [], endpoint);
  const expiresAt = Date.parse(data.access?.token?.expires ?? '');
  return { token, storageUrl, ...(Number.isFinite(expiresAt) ? { expiresAt } : {}) };
}

function v3Url(authUrl: string): string {
  const base = authUrl.replace(/\/+$/, '');
  return `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
}

async function authV3(creds: PasswordCredentials, endpoint: EndpointChoice, dispatcher: Dispatcher): Promise<AuthResult> {
  const { project, name } = splitProjectUser(creds.user);
  const domain = (id?: string, domainName?: string) => (id ? { id } : { name: domainName ?? 'Default' });
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name, password: creds.key, domain: domain(creds.userDomainId, creds.userDomainName) } } },
      scope: { project: { name: project, domain: domain(creds.projectDomainId, creds.projectDomainName) } },
    },
  };
  return keystoneV3(creds.authAddress, body, endpoint, dispatcher, 'the store user');
}

async function keystoneV3(authUrl: string, body: unknown, endpoint: EndpointChoice, dispatcher: Dispatcher, who: string): Promise<AuthResult> {
  const url = v3Url(authUrl);
  const res = await call(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }, dispatcher);
  if (res.statusCode < 200 || res.statusCode >= 300) return refused(res, url, who);
  const token = headerValue(res, 'x-subject-token');
  const data = (await res.body.json()) as { token?: { expires_at?: string; catalog?: unknown[] } };
  if (!token) throw new BackendError(`${maskLocation(url)} answered without X-Subject-Token`);
  const storageUrl = endpoint.override ?? selectEndpoint(data.token?.catalog ?? [], endpoint);
  const expiresAt = Date.parse(data.token?.expires_at ?? '');
  return { token, storageUrl, ...(Number.isFinite(expiresAt) ? { expiresAt } : {}) };
}

interface CatalogEntry {
  type?: string;
  endpoints?: {
    interface?: string;
    region?: string;
    region_id?: string;
    url?: string;
    publicURL?: string;
    internalURL?: string;
    adminURL?: string;
  }[];
}

/**
 * Swift's URL from a service catalog, in Keystone v3 form (`interface`,
 * `url`) or v2 form (`publicURL`...), as Glance's request context carries it.
 */
export function selectEndpoint(catalog: readonly unknown[], choice: EndpointChoice): string {
  const iface = choice.endpointType.replace(/URL$/, '');
  const where = `${choice.serviceType} ${choice.endpointType} endpoint${choice.region ? ` in region ${choice.region}` : ''}`;
  const matches: string[] = [];
  for (const entry of catalog as CatalogEntry[]) {
    if (entry?.type !== choice.serviceType) continue;
    for (const ep of entry.endpoints ?? []) {
      if (choice.region && ep.region !== choice.region && ep.region_id !== choice.region) continue;
      const url = ep.url !== undefined ? (ep.interface === iface ? ep.url : undefined) : ep[choice.endpointType as 'publicURL'];
      if (url) matches.push(url);
    }
  }
  if (matches.length === 0) throw new BackendError(`The service catalog has no ${where}`);
  if (new Set(matches).size > 1) throw new BackendError(`The service catalog has several ${where}s; set swift_store_region or swift_store_endpoint`);
  return matches[0]!;
}
