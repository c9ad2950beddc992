/**
 * Keystone, for every driver that reaches an OpenStack service (swift,
 * cinder): a token from a password (v3, or v2.0) or from a user's token (v3,
 * scoped to a project), the service catalog that comes with it, and the
 * endpoint of one service picked from a catalog by type, name, interface and
 * region. Keep a token fresh with TokenSession (./token-session.ts) and
 * serviceLogin.
 */
import { AuthenticationFailedError, BackendError } from '../errors.js';
import { maskLocation } from '../location.js';
import type { ServiceClient } from './client.js';
import { transportError, type ErrorClass } from './failure.js';
import { headerValue } from './response.js';
import type { ServiceToken } from './token-session.js';

export type { ServiceToken } from './token-session.js';

export type DomainRef = { id: string } | { name: string };
export type ProjectRef = { id: string } | { name: string; domain: DomainRef };

/** Keystone v3 password auth; without a project the token is unscoped and has no catalog. */
export interface PasswordAuthV3 {
  version: 3;
  method: 'password';
  user: string;
  password: string;
  userDomain: DomainRef;
  project?: ProjectRef;
}

/** Keystone v3 token auth: a user's token exchanged for one scoped to a project, with its catalog. */
export interface TokenAuthV3 {
  version: 3;
  method: 'token';
  token: string;
  project?: ProjectRef;
}

/**
 * Keystone v3 application credential auth (glance_store 5.4): the
 * credential is bound to its user and project, so no scope is sent; the
 * token comes scoped to that project, with its catalog.
 */
export interface ApplicationCredentialAuthV3 {
  version: 3;
  method: 'application_credential';
  id: string;
  secret: string;
}

/** Keystone v2.0 password auth (`tenantName` and `passwordCredentials`). */
export interface PasswordAuthV2 {
  version: 2;
  method: 'password';
  tenantName: string;
  user: string;
  password: string;
}

export type KeystoneAuth = PasswordAuthV3 | TokenAuthV3 | ApplicationCredentialAuthV3 | PasswordAuthV2;

/** What Keystone answered. */
export interface KeystoneToken {
  token: string;
  /** The service catalog, in the v3 or v2.0 form as Keystone sent it. */
  catalog: readonly unknown[];
  /** Epoch ms; absent when Keystone does not say. */
  expiresAt?: number;
  /** The project the token is scoped to, when Keystone says. */
  projectId?: string;
}

/** How a Keystone call is made. */
export interface KeystoneCall {
  /** The store's client (without a token): its agent, TLS settings and their hint. */
  client: ServiceClient;
  signal?: AbortSignal | undefined;
  /** Whose credentials these are, in messages: `the store user`, `the request token`. */
  who?: string;
}

/**
 * The statuses of an auth service: a refusal of the credentials is
 * AuthenticationFailed (Keystone answers 401, some auth services 403); any
 * other failing status keeps its default meaning. A 404 here is never
 * NotFound, which would read as a missing image.
 */
export const AUTH_STATUS_ERRORS: Readonly<Record<number, ErrorClass>> = { 401: AuthenticationFailedError, 403: AuthenticationFailedError };

/**
 * Asks Keystone for a token. `authUrl` is the identity endpoint as operators
 * write it: for v3 with or without its `/v3`, for v2.0 with its `/v2.0`.
 */
export async function issueToken(authUrl: string, auth: KeystoneAuth, call: KeystoneCall): Promise<KeystoneToken> {
  return auth.version === 2 ? tokenV2(authUrl, auth, call) : tokenV3(authUrl, auth, call);
}

/**
 * Splits `project:user`, the form Swift account references give Keystone
 * users in (glance_store's swift_store_user).
 */
export function splitProjectUser(user: string): { project: string; name: string } {
  const colon = user.indexOf(':');
  if (colon < 0) throw new AuthenticationFailedError(`Keystone auth needs the user as project:user, got a user without a project`);
  return { project: user.slice(0, colon), name: user.slice(colon + 1) };
}

function identityV3(auth: PasswordAuthV3 | TokenAuthV3 | ApplicationCredentialAuthV3): object {
  if (auth.method === 'password') return { methods: ['password'], password: { user: { name: auth.user, password: auth.password, domain: auth.userDomain } } };
  if (auth.method === 'token') return { methods: ['token'], token: { id: auth.token } };
  return { methods: ['application_credential'], application_credential: { id: auth.id, secret: auth.secret } };
}

async function tokenV3(authUrl: string, auth: PasswordAuthV3 | TokenAuthV3 | ApplicationCredentialAuthV3, call: KeystoneCall): Promise<KeystoneToken> {
  const base = authUrl.replace(/\/+$/, '');
  const url = `${/\/v3$/.test(base) ? base : `${base}/v3`}/auth/tokens`;
  const scope = auth.method !== 'application_credential' && auth.project ? { scope: { project: auth.project } } : {};
  const body = { auth: { identity: identityV3(auth), ...scope } };
  const who = call.who ?? (auth.method === 'password' ? `user ${auth.user}` : auth.method === 'token' ? 'the request token' : 'the application credential');
  // Keystone answers a token it does not know (expired, revoked, not one of its own) with 404.
  const statuses = auth.method === 'token' ? { ...AUTH_STATUS_ERRORS, 404: AuthenticationFailedError } : AUTH_STATUS_ERRORS;
  const data = await postJson<{ token?: { expires_at?: string; catalog?: unknown[]; project?: { id?: string } } }>(url, body, who, call, statuses);
  if (!data.subjectToken) throw new BackendError(`${maskLocation(url)} answered without X-Subject-Token`);
  const t = data.body.token;
  return answer(data.subjectToken, t?.catalog, t?.expires_at, t?.project?.id);
}

async function tokenV2(authUrl: string, auth: PasswordAuthV2, call: KeystoneCall): Promise<KeystoneToken> {
  const url = `${authUrl.replace(/\/+$/, '')}/tokens`;
  const body = { auth: { tenantName: auth.tenantName, passwordCredentials: { username: auth.user, password: auth.password } } };
  const data = await postJson<{ access?: { token?: { id?: string; expires?: string; tenant?: { id?: string } }; serviceCatalog?: unknown[] } }>(url, body, call.who ?? `user ${auth.user}`, call, AUTH_STATUS_ERRORS);
  const access = data.body.access;
  if (!access?.token?.id) throw new BackendError(`${maskLocation(url)} answered without a token`);
  return answer(access.token.id, access.serviceCatalog, access.token.expires, access.token.tenant?.id);
}

function answer(token: string, catalog: unknown[] | undefined, expires: string | undefined, projectId: string | undefined): KeystoneToken {
  const expiresAt = Date.parse(expires ?? '');
  return { token, catalog: catalog ?? [], ...(Number.isFinite(expiresAt) ? { expiresAt } : {}), ...(projectId ? { projectId } : {}) };
}

/** POSTs a JSON auth request and reads the JSON answer (v3 gives the token in a header). */
async function postJson<T>(url: string, body: unknown, who: string, call: KeystoneCall, statuses: Readonly<Record<number, ErrorClass>>): Promise<{ subjectToken: string | undefined; body: T }> {
  const what = `Authenticating ${who} at ${url}`;
  const headers = { 'content-type': 'application/json', accept: 'application/json' };
  const res = await call.client.call({ method: 'POST', url, headers, body: JSON.stringify(body), signal: call.signal, what }, { service: 'the auth service', statuses });
  try {
    return { subjectToken: headerValue(res, 'x-subject-token'), body: (await res.body.json()) as T };
  } catch (err) {
    if (err instanceof SyntaxError) throw new BackendError(`${maskLocation(url)} answered with a body that is not JSON`, { cause: err });
    throw transportError(err, { ...call.client.meaning(`Reading the answer of ${maskLocation(url)}`), signal: call.signal });
  }
}

/** Which endpoint of a catalog: the service and how it is reached. */
export interface EndpointChoice {
  /** The service type: `object-store`, `volumev3`. */
  serviceType: string;
  /** The service name, when the catalog holds several services of the type (cinder_catalog_info). */
  serviceName?: string;
  /** `public`, `internal` or `admin`; the v2.0 forms `publicURL`... are accepted. */
  interface: string;
  region?: string;
  /** Said when several endpoints match: which option picks one. */
  ambiguityHint?: string;
}

interface CatalogEntry {
  type?: string;
  name?: string;
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
 * A service's URL from a catalog, in Keystone v3 form (`interface`, `url`) or
 * v2.0 form (`publicURL`...), as Keystone and Glance's request context carry
 * it. No match, or several different ones, is a BackendError saying which.
 */
export function catalogEndpoint(catalog: readonly unknown[], choice: EndpointChoice): string {
  const iface = choice.interface.replace(/URL$/, '');
  const v2Key = `${iface}URL` as 'publicURL';
  const where = `${choice.serviceType}${choice.serviceName ? ` (${choice.serviceName})` : ''} ${choice.interface} endpoint${choice.region ? ` in region ${choice.region}` : ''}`;
  const matches: string[] = [];
  for (const entry of catalog as CatalogEntry[]) {
    if (entry?.type !== choice.serviceType) continue;
    if (choice.serviceName && entry.name !== choice.serviceName) continue;
    for (const ep of entry.endpoints ?? []) {
      if (choice.region && ep.region !== choice.region && ep.region_id !== choice.region) continue;
      const url = ep.url !== undefined ? (ep.interface === iface ? ep.url : undefined) : ep[v2Key];
      if (url) matches.push(url);
    }
  }
  if (matches.length === 0) throw new BackendError(`The service catalog has no ${where}`);
  if (new Set(matches).size > 1) throw new BackendError(`The service catalog has several ${where}s${choice.ambiguityHint ? `; ${choice.ambiguityHint}` : ''}`);
  return matches[0]!;
}

/**
 * A login for a TokenSession (./token-session.ts) of one service's client:
 * each call asks Keystone for a token and picks the service's endpoint from
 * its catalog (`endpointOverride`, an operator's fixed endpoint, wins).
 */
export function serviceLogin(authUrl: string, auth: KeystoneAuth, choice: EndpointChoice, call: KeystoneCall, endpointOverride?: string): () => Promise<ServiceToken> {
  return async () => {
    const answer = await issueToken(authUrl, auth, call);
    const endpoint = endpointOverride ?? catalogEndpoint(answer.catalog, choice);
    return { token: answer.token, endpoint, ...(answer.expiresAt !== undefined ? { expiresAt: answer.expiresAt } : {}) };
  };
}

/** A user's token and what Glance's request context says about it. */
export interface UserToken {
  token: string;
  projectId?: string;
  /** The request's service catalog, when it has one. */
  catalog?: readonly unknown[];
}

/**
 * A service's endpoint for a multi-tenant call, made with the user's own
 * token: from the request's catalog, else from the catalog Keystone (v3, at
 * `authUrl`) returns when it scopes the user's token to the user's project.
 */
export async function userEndpoint(user: UserToken, choice: EndpointChoice, authUrl: string | undefined, call: KeystoneCall): Promise<string> {
  if (user.catalog) return catalogEndpoint(user.catalog, choice);
  if (!authUrl) throw new BackendError(`The request carries no service catalog and no Keystone address is configured to find the ${choice.serviceType} endpoint`);
  const scoped = await issueToken(authUrl, { version: 3, method: 'token', token: user.token, ...(user.projectId ? { project: { id: user.projectId } } : {}) }, { who: 'the request token', ...call });
  return catalogEndpoint(scoped.catalog, choice);
}
