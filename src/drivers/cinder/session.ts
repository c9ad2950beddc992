/**
 * Where Cinder is and which token to show it, as glance_store decides:
 * with cinder_store_auth_address and an application credential (5.4: both
 * _application_credential_id and _secret), or with all of
 * cinder_store_auth_address, _user_name, _password and _project_name set,
 * the store logs in to Keystone v3 as its own user and takes Cinder's URL
 * from that login's catalog; otherwise each call uses the
 * caller's RequestContext (its token, or `user:project` for Cinder's noauth)
 * and Cinder's URL from cinder_endpoint_template or the context's catalog.
 */
import type { RequestContext } from '../../driver.js';
import { BadStoreConfigurationError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ServiceClient } from '../../net/client.js';
import { catalogEndpoint, serviceLogin, type EndpointChoice } from '../../net/keystone.js';
import { TokenSession, type ServiceToken } from '../../net/token-session.js';
import type { CinderStoreOptions } from './options.js';

/** A store token is renewed this long before Keystone says it expires. */
const EXPIRE_SOON_MS = 60_000;

const STORE_CREDENTIALS = ['cinder_store_auth_address', 'cinder_store_user_name', 'cinder_store_password', 'cinder_store_project_name'] as const;
const APPLICATION_CREDENTIAL = ['cinder_store_auth_address', 'cinder_store_application_credential_id', 'cinder_store_application_credential_secret'] as const;

export class CinderSessions {
  private readonly endpoint: EndpointChoice;
  private readonly login: TokenSession<ServiceToken> | undefined;
  /** How the store authenticates, for its info. */
  readonly auth: 'store user' | 'application credential' | 'request context' = 'request context';

  constructor(
    private readonly storeId: string,
    private readonly o: CinderStoreOptions,
    /** The store's client, without a token: what Keystone is asked with. */
    client: ServiceClient,
    logger: Logger,
  ) {
    this.endpoint = catalogChoice(o);
    const set = STORE_CREDENTIALS.filter((name) => o[name]);
    // Id and secret together choose the application credential, as in glance_store 5.4 (a missing auth address then falls back to the context).
    if (o.cinder_store_application_credential_id && o.cinder_store_application_credential_secret) {
      if (o.cinder_store_auth_address) {
        const auth = { version: 3 as const, method: 'application_credential' as const, id: o.cinder_store_application_credential_id, secret: o.cinder_store_application_credential_secret };
        this.login = new TokenSession(serviceLogin(o.cinder_store_auth_address, auth, this.endpoint, { client, who: 'the cinder store application credential' }), EXPIRE_SOON_MS);
        this.auth = 'application credential';
      } else {
        logger.warn({ store: storeId, missing: ['cinder_store_auth_address'] }, `[${storeId}] ${APPLICATION_CREDENTIAL.slice(1).join(', ')} set without cinder_store_auth_address: the store uses the request context's credentials`);
      }
    } else if (set.length === STORE_CREDENTIALS.length) {
      const auth = {
        version: 3 as const,
        method: 'password' as const,
        user: o.cinder_store_user_name!,
        password: o.cinder_store_password!,
        userDomain: { name: o.cinder_store_user_domain_name ?? 'Default' },
        project: { name: o.cinder_store_project_name!, domain: { name: o.cinder_store_project_domain_name ?? 'Default' } },
      };
      const login = serviceLogin(o.cinder_store_auth_address!, auth, this.endpoint, { client, who: 'the cinder store user' });
      this.login = new TokenSession(login, EXPIRE_SOON_MS);
      this.auth = 'store user';
    } else if (set.length > 0) {
      // glance_store silently falls back to the request context too; say so.
      const missing = STORE_CREDENTIALS.filter((name) => !o[name]);
      logger.warn({ store: storeId, missing }, `[${storeId}] ${set.join(', ')} set without ${missing.join(', ')}: the store uses the request context's credentials`);
    }
  }

  /** Whether the store authenticates as its own user (the request context is then optional). */
  get ownUser(): boolean {
    return this.login !== undefined;
  }

  /** The token (and Cinder's URL) of one call: the store user's, kept fresh, or the request context's, fixed. */
  session(context: RequestContext | undefined): TokenSession<ServiceToken> {
    return this.login ?? TokenSession.fixed(this.contextSession(context));
  }

  private contextSession(context: RequestContext | undefined): ServiceToken {
    const where = `Store ${this.storeId}`;
    if (!context) {
      throw new BadStoreConfigurationError(`${where}: Cinder storage requires a request context (a token and project id), or the cinder_store_* credentials in the store's section`);
    }
    const token = context.authToken ?? `${context.userId ?? ''}:${context.projectId ?? ''}`;
    const template = this.o.cinder_endpoint_template;
    if (template) return { endpoint: fillTemplate(template, context, this.storeId), token };
    if (!Array.isArray(context.serviceCatalog)) {
      throw new BadStoreConfigurationError(`${where}: Cinder storage requires a service catalog in the request context, or cinder_endpoint_template`);
    }
    try {
      return { endpoint: catalogEndpoint(context.serviceCatalog, this.endpoint), token };
    } catch (err) {
      throw new BadStoreConfigurationError(`${where}: failed to find Cinder in the request context's service catalog (${(err as Error).message})`, { cause: err });
    }
  }
}

/**
 * cinder_catalog_info (`type:name:interface`, its form checked with the whole config: CINDER_OPTIONS) as a
 * catalog choice; the name is not used to match, as in keystoneauth when empty.
 */
function catalogChoice(o: CinderStoreOptions): EndpointChoice {
  const parts = o.cinder_catalog_info.split(':');
  const iface = parts[2]!;
  return {
    serviceType: parts[0],
    ...(parts[1] ? { serviceName: parts[1] } : {}),
    interface: iface,
    ...(o.cinder_os_region_name ? { region: o.cinder_os_region_name } : {}),
    ambiguityHint: 'set cinder_os_region_name or cinder_endpoint_template',
  };
}

/** The context's fields a template may name, as oslo.context's to_dict gives them (never the token). */
function templateFields(context: RequestContext): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (typeof value === 'string' && !/token/i.test(key)) fields[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  }
  if (context.projectId) fields['tenant'] = fields['project'] = fields['project_id'] = context.projectId;
  if (context.userId) fields['user'] = fields['user_id'] = context.userId;
  return fields;
}

/** Python's `template % context.to_dict()`: `%(name)s` replaced, `%%` a literal `%`. */
export function fillTemplate(template: string, context: RequestContext, storeId: string): string {
  const fields = templateFields(context);
  return template.replace(/%\(([^)]*)\)s|%%/g, (match, name: string | undefined) => {
    if (match === '%%') return '%';
    const value = fields[name!];
    if (value === undefined) {
      throw new BadStoreConfigurationError(`[${storeId}] cinder_endpoint_template names %(${name})s, which the request context does not have`);
    }
    return value;
  });
}
