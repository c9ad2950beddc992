/**
 * How the swift store gets a token and Swift's storage URL: Swift's own auth
 * (v1: tempauth, swauth) here, Keystone v2.0 and v3 (a password, or an
 * application credential) through src/net/keystone,
 * with Swift's endpoint picked from the catalog as the swift_store_* options
 * say (or swift_store_endpoint instead of it).
 */
import { BackendError, BadStoreConfigurationError } from '../../errors.js';
import { maskLocation } from '../../location.js';
import { AUTH_STATUS_ERRORS, catalogEndpoint, serviceLogin, splitProjectUser, type DomainRef, type EndpointChoice, type KeystoneAuth } from '../../net/keystone.js';
import type { ServiceClient } from '../../net/client.js';
import { discard, headerValue } from '../../net/response.js';
import type { ServiceToken } from '../../net/token-session.js';
import type { SwiftReference } from './references.js';

/** A token, and the storage URL of the account it opens as its endpoint. */
export type AuthResult = ServiceToken;

/** Where Swift is, as glance_store's swift_store_* options say: a catalog entry, or a fixed endpoint. */
export interface SwiftEndpoint {
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

export function passwordAuthenticator(creds: PasswordCredentials, endpoint: SwiftEndpoint, client: ServiceClient): Authenticator {
  switch (creds.authVersion) {
    case '1':
      return () => tempauth(creds, endpoint, client);
    case '2':
    case '3':
      return serviceLogin(creds.authAddress, keystoneAuth(creds), catalogChoice(endpoint), { client, who: 'the store user' }, endpoint.override);
    default:
      throw new BadStoreConfigurationError(`auth_version ${JSON.stringify(creds.authVersion)} must be 1, 2 or 3`);
  }
}

/** Swift's URL from a service catalog (v3 or v2.0 form). */
export function selectEndpoint(catalog: readonly unknown[], choice: SwiftEndpoint): string {
  return catalogEndpoint(catalog, catalogChoice(choice));
}

/** The swift_store_* endpoint options as a catalog lookup; several matches name the options that pick one. */
export function catalogChoice(choice: SwiftEndpoint): EndpointChoice {
  return {
    serviceType: choice.serviceType,
    interface: choice.endpointType,
    ...(choice.region ? { region: choice.region } : {}),
    ambiguityHint: 'set swift_store_region or swift_store_endpoint',
  };
}

function keystoneAuth(creds: PasswordCredentials): KeystoneAuth {
  if (creds.applicationCredential) {
    if (creds.authVersion !== '3') throw new BadStoreConfigurationError(`an application credential needs Keystone v3 (auth_version 3, not ${creds.authVersion})`);
    return { version: 3, method: 'application_credential', ...creds.applicationCredential };
  }
  const { project, name } = splitProjectUser(creds.user);
  if (creds.authVersion === '2') return { version: 2, method: 'password', tenantName: project, user: name, password: creds.key };
  const domain = (id?: string, domainName?: string): DomainRef => (id ? { id } : { name: domainName ?? 'Default' });
  return {
    version: 3,
    method: 'password',
    user: name,
    password: creds.key,
    userDomain: domain(creds.userDomainId, creds.userDomainName),
    project: { name: project, domain: domain(creds.projectDomainId, creds.projectDomainName) },
  };
}

/** Swift's v1 auth: the credentials in headers, the token and storage URL in the answer's headers. */
async function tempauth(creds: PasswordCredentials, endpoint: SwiftEndpoint, client: ServiceClient): Promise<AuthResult> {
  const headers = { 'x-auth-user': creds.user, 'x-auth-key': creds.key };
  const what = `Authenticating the store user at ${creds.authAddress}`;
  const res = await client.call({ method: 'GET', url: creds.authAddress, headers, what }, { service: 'the auth service', statuses: AUTH_STATUS_ERRORS });
  discard(res);
  const token = headerValue(res, 'x-auth-token') ?? headerValue(res, 'x-storage-token');
  const storageUrl = endpoint.override ?? headerValue(res, 'x-storage-url');
  if (!token || !storageUrl) throw new BackendError(`${maskLocation(creds.authAddress)} answered without X-Auth-Token or X-Storage-Url`);
  const expires = Number(headerValue(res, 'x-auth-token-expires'));
  return { token, endpoint: storageUrl, ...(Number.isFinite(expires) && expires > 0 ? { expiresAt: Date.now() + expires * 1000 } : {}) };
}
