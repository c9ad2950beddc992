/**
 * Keystone application credentials (glance_store 5.4), against the test
 * Keystone (test/services/keystone.sh): a swift store reaching Swift through
 * Keystone, and a cinder store reaching the Cinder API behind Keystone
 * (test/services/cinder-keystone.sh), each authenticated with a credential
 * created for the test and deleted after it. The credentials are set in
 * [backend_defaults] or in the store's section, and their secret is never
 * in a location, an error, a log line, store info or this test's output
 * (assertions about it never print the values they compare).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { readAll } from '../src/testing/index.js';
import { configurationReference } from '../src/config/reference.js';
import { BUILTIN_DRIVERS } from '../src/drivers/index.js';
import { parseCinderLocation } from '../src/drivers/cinder/location.js';
import { serviceEnv } from './services/env.js';
import { createApplicationCredential, type ApplicationCredential } from './services/app-credentials.js';
import { cinderCall, type TestVolume } from './services/cinder-api.js';

const ks = serviceEnv('keystone');
const cinder = serviceEnv('cinder');
const cinderKs = cinder ? serviceEnv('cinder-keystone') : undefined;

/** A logger that keeps every line, to look for secrets in. */
function recordingLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const keep = (o: unknown, msg?: string) => void lines.push(`${JSON.stringify(o, (_k, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v))} ${msg ?? ''}`);
  return { logger: { debug: keep, info: keep, warn: keep, error: keep }, text: () => lines.join('\n') };
}

/** Whether `secret` appears in `text`, asserted without printing either. */
function expectHidden(text: string, secret: string, where: string): void {
  expect(text.includes(secret), `the secret appears in ${where}`).toBe(false);
}

it('the configuration reference marks both secrets as secret', () => {
  const md = configurationReference(BUILTIN_DRIVERS);
  for (const name of ['swift_store_application_credential_secret', 'cinder_store_application_credential_secret', 'swift_store_application_credential_id']) {
    expect(md).toMatch(new RegExp(`\\| \`${name}\` \\|[^\\n]*\\*\\*secret\\*\\*`));
  }
});

describe.skipIf(!ks)('swift with a Keystone application credential', () => {
  let cred: ApplicationCredential;
  const container = `glance-ac-${randomUUID().slice(0, 8)}`;
  const authUrl = () => ks!['KEYSTONE_AUTH_URL']!;

  beforeAll(async () => {
    cred = await createApplicationCredential({ authUrl: authUrl(), userId: ks!['KEYSTONE_USER_ID']!, name: ks!['KEYSTONE_USER']!, password: ks!['KEYSTONE_PASSWORD']!, project: ks!['KEYSTONE_PROJECT']! });
  });
  afterAll(async () => {
    await cred?.remove();
  });

  /** Two swift stores taking the credential from [backend_defaults]; `own` overrides it in [objects]. */
  const conf = (own = '') =>
    [
      '[DEFAULT]',
      'enabled_backends = objects:swift, copies:swift',
      '[glance_store]',
      'default_backend = objects',
      '[backend_defaults]',
      'swift_store_auth_version = 3',
      `swift_store_auth_address = ${authUrl()}`,
      `swift_store_application_credential_id = ${cred.id}`,
      `swift_store_application_credential_secret = ${cred.secret}`,
      `swift_store_region = ${ks!['KEYSTONE_REGION']}`,
      'swift_store_create_container_on_put = true',
      '[objects]',
      `swift_store_container = ${container}`,
      own,
      '[copies]',
      `swift_store_container = ${container}-copies`,
    ].join('\n');

  it('adds, reads and deletes with the credential from [backend_defaults]; its locations hold no credential', async () => {
    const log = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf()), { logger: log.logger });
    try {
      const bytes = randomBytes(300_000);
      const id = randomUUID();
      const r = await ms.add(id, bytes);
      expect(r.location).toBe(`swift+http://${authUrl().replace('http://', '')}/${container}/${id}`);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      const copy = await ms.copy(r.location, 'copies');
      expect(copy.location).toBe(`swift+http://${authUrl().replace('http://', '')}/${container}-copies/${id}`);
      expect(await ms.getSize(copy.location)).toBe(bytes.length);
      // The object is in the credential's project's account, as Swift lists it.
      const head = await fetch(`${ks!['SWIFT_KS_ENDPOINT']}/${container}/${id}`, { method: 'HEAD', headers: { 'x-auth-token': await tokenOf(cred) } });
      expect(head.status).toBe(200);
      await ms.delete(r.location);
      await ms.delete(copy.location);
      await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
      const info = JSON.stringify(ms.infoDetail());
      expectHidden(info, cred.secret, 'store info');
      expectHidden(info, cred.id, 'store info');
    } finally {
      await ms.close();
    }
    expectHidden(log.text(), cred.secret, 'the log');
  }, 120_000);

  it("a store's own wrong secret wins over [backend_defaults], and fails as AuthenticationFailed without the secret", async () => {
    const wrong = `not-the-secret-${randomUUID()}`;
    const log = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf(`swift_store_application_credential_secret = ${wrong}`)), { logger: log.logger });
    try {
      const err = (await ms.add(randomUUID(), randomBytes(100)).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('AuthenticationFailed');
      expectHidden(`${err.message} ${String(err.cause)}`, wrong, 'the error');
      // The other store still inherits the right one.
      const r = await ms.add(randomUUID(), randomBytes(100), { store: 'copies' });
      await ms.delete(r.location);
    } finally {
      await ms.close();
    }
    expectHidden(log.text(), wrong, 'the log');
  }, 60_000);

  it('reads an account reference with an application credential from swift_store_config_file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gs-ac-'));
    try {
      const refs = path.join(dir, 'glance-swift.conf');
      await writeFile(refs, `[ref1]\nauth_version = 3\nauth_address = ${authUrl()}\napplication_credential_id = ${cred.id}\napplication_credential_secret = ${cred.secret}\n`);
      const text = `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_config_file = ${refs}\nswift_store_region = ${ks!['KEYSTONE_REGION']}\nswift_store_container = ${container}\nswift_store_create_container_on_put = true\n`;
      const ms = await MultiStore.create(parseConfig(text));
      try {
        const id = randomUUID();
        const bytes = randomBytes(1000);
        const r = await ms.add(id, bytes);
        expect(r.location).toBe(`swift+config://ref1/${container}/${id}`);
        expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
        await ms.delete(r.location);
      } finally {
        await ms.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('refuses an application credential with Keystone v2.0, without showing it', async () => {
    const err = (await MultiStore.create(parseConfig(conf('swift_store_auth_version = 2'))).catch((e: unknown) => e)) as Error & { problems: string[] };
    // The id was written in [backend_defaults]: the problem names that group, and the store that reads it.
    expect(err.problems).toEqual(['[backend_defaults] swift_store_application_credential_id (value hidden): application credentials need Keystone v3: set swift_store_auth_version = 3 (read by store "objects")']);
    expectHidden(err.message, cred.secret, 'the error');
    expectHidden(err.message, cred.id, 'the error');
  });
});

/** A token of the application credential itself, to look at Swift as it does. */
async function tokenOf(cred: ApplicationCredential): Promise<string> {
  const r = await fetch(`${ks!['KEYSTONE_AUTH_URL']}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['application_credential'], application_credential: { id: cred.id, secret: cred.secret } } } }),
  });
  await r.arrayBuffer();
  if (r.status !== 201) throw new Error(`application credential token: HTTP ${r.status}`);
  return r.headers.get('x-subject-token')!;
}

describe.skipIf(!cinderKs)('cinder with a Keystone application credential (the Cinder API behind Keystone)', () => {
  let cred: ApplicationCredential;
  const env = () => cinderKs!;

  beforeAll(async () => {
    cred = await createApplicationCredential({
      authUrl: env()['CINDER_KS_AUTH_URL']!,
      userId: env()['CINDER_KS_USER_ID']!,
      name: env()['CINDER_KS_USER']!,
      password: env()['CINDER_KS_PASSWORD']!,
      project: env()['CINDER_KS_PROJECT']!,
    });
  });
  afterAll(async () => {
    await cred?.remove();
  });

  const conf = (secret = cred.secret) =>
    `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n` +
    `[backend_defaults]\ncinder_store_application_credential_id = ${cred.id}\ncinder_store_application_credential_secret = ${secret}\n` +
    `[volumes]\ncinder_store_auth_address = ${env()['CINDER_KS_AUTH_URL']}\ncinder_os_region_name = ${env()['CINDER_KS_REGION']}\ncinder_catalog_info = ${env()['CINDER_KS_CATALOG_INFO']}\ncinder_state_transition_timeout = 60\n`;

  it("adds, reads and deletes without a request context, in the credential's project", async () => {
    const log = recordingLogger();
    const ms = await MultiStore.create(parseConfig(conf()), { logger: log.logger });
    try {
      expect(ms.infoDetail()[0]!.properties).toMatchObject({ auth: 'application credential' });
      const bytes = randomBytes(1024 * 1024 + 5);
      const r = await ms.add(randomUUID(), bytes);
      const { data } = await cinderCall<{ volume: TestVolume & { 'os-vol-tenant-attr:tenant_id': string } }>(cinder!, 'GET', `/volumes/${parseCinderLocation(r.location).volumeId}`);
      expect(data.volume['os-vol-tenant-attr:tenant_id']).toBe(env()['CINDER_KS_PROJECT_ID']);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      await ms.delete(r.location);
      await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
      expectHidden(JSON.stringify(ms.infoDetail()), cred.secret, 'store info');
    } finally {
      await ms.close();
    }
    expectHidden(log.text(), cred.secret, 'the log');
  }, 120_000);

  it('fails with a wrong secret as AuthenticationFailed, without the secret', async () => {
    const wrong = `not-the-secret-${randomUUID()}`;
    const ms = await MultiStore.create(parseConfig(conf(wrong)));
    try {
      const err = (await ms.add(randomUUID(), Buffer.from('x')).catch((e: unknown) => e)) as Error & { code: string };
      expect(err.code).toBe('AuthenticationFailed');
      expectHidden(`${err.message} ${String(err.cause)}`, wrong, 'the error');
    } finally {
      await ms.close();
    }
  }, 60_000);
});
