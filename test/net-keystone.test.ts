/**
 * Keystone as every OpenStack driver uses it (src/net/keystone.ts), against
 * the real Keystone of test/services/keystone.sh: tokens from a password and
 * from a user's token, endpoints from the catalog, tokens kept fresh.
 */
import { describe, it, expect, afterAll } from 'vitest';
import net from 'node:net';
import { ServiceClient } from '../src/net/client.js';
import { catalogEndpoint, issueToken, serviceLogin, userEndpoint, type KeystoneAuth } from '../src/net/keystone.js';
import { TokenSession } from '../src/net/token-session.js';
import { serviceEnv } from './services/env.js';

const ks = serviceEnv('keystone');

describe('token sessions', () => {
  it('share one login between calls, renew a token that expires soon, and never renew a fixed one', async () => {
    let logins = 0;
    const login = async () => ({ token: `t${++logins}`, expiresAt: Date.now() + 30_000 });
    const lasting = new TokenSession(login, 10_000);
    expect((await Promise.all([lasting.token(), lasting.token(), lasting.token()])).map((t) => t.token)).toEqual(['t1', 't1', 't1']);
    expect(logins).toBe(1);
    // Expiring within the margin: each use renews first.
    const short = new TokenSession(login, 60_000);
    expect((await short.token()).token).toBe('t2');
    expect((await short.token()).token).toBe('t3');
    expect((await short.renew()).token).toBe('t4');
    const fixed = TokenSession.fixed({ token: 'user-token', expiresAt: Date.now() - 1 });
    expect(fixed.renewable).toBe(false);
    expect((await fixed.token()).token).toBe('user-token');
    await expect(fixed.renew()).rejects.toMatchObject({ code: 'AuthenticationFailed' });
  });
});

describe.skipIf(!ks)('Keystone', () => {
  const client = ServiceClient.create();
  afterAll(() => client.close());
  const password = (pw: string): KeystoneAuth => ({
    version: 3,
    method: 'password',
    user: ks!['KEYSTONE_USER']!,
    password: pw,
    userDomain: { id: 'default' },
    project: { name: ks!['KEYSTONE_PROJECT']!, domain: { id: 'default' } },
  });

  it('gives a project-scoped token with its catalog and expiry for a password', async () => {
    const t = await issueToken(ks!['KEYSTONE_AUTH_URL']!, password(ks!['KEYSTONE_PASSWORD']!), { client });
    expect(t.token.length).toBeGreaterThan(20);
    expect(t.projectId).toBe(ks!['KEYSTONE_PROJECT_ID']);
    expect(t.expiresAt).toBeGreaterThan(Date.now());
    expect(catalogEndpoint(t.catalog, { serviceType: 'object-store', interface: 'public', region: 'RegionOne' })).toBe(ks!['SWIFT_KS_ENDPOINT']);
    // The v2.0 spelling of the interface, and the identity service itself.
    expect(catalogEndpoint(t.catalog, { serviceType: 'identity', interface: 'publicURL' })).toBe(ks!['KEYSTONE_AUTH_URL']);
    expect(() => catalogEndpoint(t.catalog, { serviceType: 'object-store', interface: 'public', ambiguityHint: 'set the region' })).toThrow(
      /several object-store public endpoints; set the region/,
    );
    expect(catalogEndpoint(t.catalog, { serviceType: 'identity', serviceName: 'keystone', interface: 'admin' })).toBe(ks!['KEYSTONE_AUTH_URL']);
    expect(() => catalogEndpoint(t.catalog, { serviceType: 'identity', serviceName: 'other', interface: 'public' })).toThrow(/no identity \(other\) public endpoint/);
    expect(() => catalogEndpoint(t.catalog, { serviceType: 'no-such-service', interface: 'public', region: 'RegionOne' })).toThrow(/no no-such-service public endpoint in region RegionOne/);
  });

  it("scopes a user's token to a project, and finds the user's endpoint with it when the request has no catalog", async () => {
    const user = await issueToken(ks!['KEYSTONE_AUTH_URL']!, password(ks!['KEYSTONE_PASSWORD']!), { client });
    const scoped = await issueToken(ks!['KEYSTONE_AUTH_URL']!, { version: 3, method: 'token', token: user.token, project: { id: user.projectId! } }, { client });
    expect(scoped.projectId).toBe(user.projectId);
    const choice = { serviceType: 'object-store', interface: 'internal', region: 'RegionOne' };
    expect(await userEndpoint({ token: user.token, projectId: user.projectId! }, choice, ks!['KEYSTONE_AUTH_URL'], { client })).toBe(ks!['SWIFT_KS_ENDPOINT']);
    // The request's own catalog is used as it is, without asking Keystone.
    expect(await userEndpoint({ token: 'unused', catalog: user.catalog }, choice, undefined, { client })).toBe(ks!['SWIFT_KS_ENDPOINT']);
    await expect(userEndpoint({ token: 'gAAAA-not-a-token' }, choice, ks!['KEYSTONE_AUTH_URL'], { client })).rejects.toMatchObject({ code: 'AuthenticationFailed' });
  });

  it('refuses a wrong password with AuthenticationFailed, without showing it', async () => {
    const err = (await issueToken(ks!['KEYSTONE_AUTH_URL']!, password('not-the-password'), { client }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'AuthenticationFailed', message: expect.stringMatching(/Authenticating user glance at .*: the auth service answered HTTP 401/) });
    expect(err.message).not.toContain('not-the-password');
  });

  it('says the auth service is unavailable when nothing answers, and that a call was aborted', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await expect(issueToken(`http://127.0.0.1:${port}/v3`, password('x'), { client })).rejects.toMatchObject({ code: 'BackendUnavailable' });
    await expect(issueToken(ks!['KEYSTONE_AUTH_URL']!, password('x'), { client, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
  });

  it("keeps a service client's token and endpoint fresh (serviceLogin in a TokenSession)", async () => {
    let logins = 0;
    const login = serviceLogin(ks!['KEYSTONE_AUTH_URL']!, password(ks!['KEYSTONE_PASSWORD']!), { serviceType: 'object-store', interface: 'public', region: 'RegionOne' }, { client });
    const session = new TokenSession(() => (logins++, login()), 60_000);
    const first = await session.token();
    expect(first.endpoint).toBe(ks!['SWIFT_KS_ENDPOINT']);
    expect((await session.token()).token).toBe(first.token);
    const renewed = await session.renew();
    expect(logins).toBe(2);
    expect(renewed.token).not.toBe(first.token);
    // An operator's fixed endpoint wins over the catalog.
    const fixed = serviceLogin(ks!['KEYSTONE_AUTH_URL']!, password(ks!['KEYSTONE_PASSWORD']!), { serviceType: 'volumev3', interface: 'public' }, { client }, 'http://cinder.example/v3');
    expect((await fixed()).endpoint).toBe('http://cinder.example/v3');
  });
});
