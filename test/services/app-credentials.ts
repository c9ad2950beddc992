/**
 * Keystone application credentials for the tests (test/services/keystone.sh's
 * Keystone): created through Keystone's v3 API with a user's own
 * project-scoped token, and deleted again when a test is done with them.
 */
import { randomUUID } from 'node:crypto';

export interface ApplicationCredential {
  id: string;
  secret: string;
  /** Deletes the credential in Keystone. */
  remove(): Promise<void>;
}

export interface KeystoneUser {
  authUrl: string;
  userId: string;
  name: string;
  password: string;
  project: string;
}

async function projectToken(u: KeystoneUser): Promise<string> {
  const r = await fetch(`${u.authUrl}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: u.name, password: u.password, domain: { id: 'default' } } } },
        scope: { project: { name: u.project, domain: { id: 'default' } } },
      },
    }),
  });
  if (r.status !== 201) throw new Error(`keystone token for ${u.name}: HTTP ${r.status}`);
  await r.arrayBuffer();
  return r.headers.get('x-subject-token')!;
}

/** A new application credential of the user, scoped to the project (with the user's roles there). */
export async function createApplicationCredential(u: KeystoneUser): Promise<ApplicationCredential> {
  const token = await projectToken(u);
  const base = `${u.authUrl}/users/${u.userId}/application_credentials`;
  const r = await fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-auth-token': token },
    body: JSON.stringify({ application_credential: { name: `glance-store-test-${randomUUID().slice(0, 8)}`, description: 'glance-store test' } }),
  });
  if (r.status !== 201) throw new Error(`creating an application credential of ${u.name}: HTTP ${r.status}`);
  const body = (await r.json()) as { application_credential: { id: string; secret: string } };
  const { id, secret } = body.application_credential;
  return {
    id,
    secret,
    remove: async () => {
      const d = await fetch(`${base}/${id}`, { method: 'DELETE', headers: { 'x-auth-token': await projectToken(u) } });
      await d.arrayBuffer();
      if (d.status !== 204 && d.status !== 404) throw new Error(`deleting application credential ${id}: HTTP ${d.status}`);
    },
  };
}
