/**
 * The one service client (src/net/client.ts) against real servers on
 * 127.0.0.1 started here: the token renewed once after a 401, retries with
 * a doubling pause for idempotent calls only, never for a one-shot body, the
 * TLS rule (a CA bundle wins over the insecure flag), and the failure mapping.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { ServiceClient } from '../src/net/client.js';
import { readTls } from '../src/net/tls.js';
import { TokenSession, type ServiceToken } from '../src/net/token-session.js';
import { failure, listen } from './net-calls.js';
import { selfSignedCertificate, type TestCertificate } from './tls.js';

/** What the server saw: each request's method, path, token and body, with its time. */
interface Seen {
  method: string;
  path: string;
  token: string | undefined;
  body: string;
  at: number;
}

/**
 * A server whose answers a test scripts: `answer` gets the request number
 * (0-based) and gives a status, or 'reset' to cut the connection.
 */
function scripted(answer: (n: number, req: http.IncomingMessage) => number | 'reset') {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const n = seen.length;
      seen.push({ method: req.method!, path: req.url!, token: req.headers['x-auth-token'] as string | undefined, body, at: Date.now() });
      const a = answer(n, req);
      if (a === 'reset') return req.socket.destroy();
      res.writeHead(a, { 'content-type': 'application/json' }).end(a >= 400 ? JSON.stringify({ itemNotFound: { message: `answer ${n}` } }) : '{"ok":true}');
    });
  });
  return { server, seen };
}

describe('the service client', () => {
  const clients: ServiceClient[] = [];
  const make = (config: Parameters<typeof ServiceClient.create>[0]) => {
    const c = ServiceClient.create(config);
    clients.push(c);
    return c;
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
  });

  it('adds the token, renews it once after a 401, and is AuthenticationFailed when the new one is refused too', async () => {
    const { server, seen } = scripted((_n, req) => (req.headers['x-auth-token'] === 'good' ? 200 : 401));
    const host = await listen(server);
    try {
      let logins = 0;
      const tokens = ['stale', 'good'];
      const session = new TokenSession<ServiceToken>(async () => ({ token: tokens[Math.min(logins++, 1)]!, endpoint: `http://${host}/v1/acct` }), 0);
      const client = make({ service: 'Swift' }).withToken(session);
      const res = await client.send({ method: 'PUT', path: '/c/o', body: 'bytes' });
      await res.body.dump();
      expect(res.statusCode).toBe(200);
      expect(seen.map((s) => [s.path, s.token, s.body])).toEqual([
        ['/v1/acct/c/o', 'stale', 'bytes'],
        ['/v1/acct/c/o', 'good', 'bytes'],
      ]);
      expect(logins).toBe(2);

      seen.length = 0;
      const never = make({ service: 'Swift' }).withToken(new TokenSession<ServiceToken>(async () => ({ token: 'bad', endpoint: `http://${host}` }), 0));
      const err = await failure(never.send({ method: 'GET', path: '/x', idempotent: true }));
      expect(err.code).toBe('AuthenticationFailed');
      expect(err.message).toMatch(/token was refused \(HTTP 401\) after a new token/);
      // One renewal, not a loop.
      expect(seen).toHaveLength(2);
    } finally {
      server.close();
    }
  });

  it('never renews for a one-shot body or a fixed token: the 401 is AuthenticationFailed at once', async () => {
    const { server, seen } = scripted(() => 401);
    const host = await listen(server);
    try {
      let logins = 0;
      const session = new TokenSession<ServiceToken>(async () => (logins++, { token: 't', endpoint: `http://${host}` }), 0);
      const client = make({ service: 'Swift' }).withToken(session);
      expect((await failure(client.send({ method: 'PUT', path: '/o', body: Readable.from([Buffer.from('once')]) }))).code).toBe('AuthenticationFailed');
      expect([seen.length, logins]).toEqual([1, 1]);
      const fixed = make({ service: 'Swift' }).withToken(TokenSession.fixed({ token: 'user', endpoint: `http://${host}` }));
      expect((await failure(fixed.send({ method: 'GET', path: '/o' }))).code).toBe('AuthenticationFailed');
      expect(seen).toHaveLength(2);
    } finally {
      server.close();
    }
  });

  it('retries an idempotent call after 5xx answers with a doubling pause, and gives up with the status error', async () => {
    const { server, seen } = scripted((n) => (n < 2 ? 503 : 200));
    const host = await listen(server);
    try {
      const client = make({ service: 'Cinder', retry: { attempts: 3, firstPauseMs: 100, maxPauseMs: 1000 } });
      const got = await client.json<{ ok: boolean }>({ method: 'GET', url: `http://${host}/v`, idempotent: true, what: 'Cinder GET v' });
      expect(got).toEqual({ ok: true });
      expect(seen).toHaveLength(3);
      const pauses = [seen[1]!.at - seen[0]!.at, seen[2]!.at - seen[1]!.at];
      expect(pauses[0]).toBeGreaterThanOrEqual(95);
      expect(pauses[1]).toBeGreaterThanOrEqual(195);

      seen.length = 0;
      const once = make({ service: 'Cinder', retry: { attempts: 1, firstPauseMs: 10 } });
      const { server: down, seen: downSeen } = scripted(() => 500);
      const downHost = await listen(down);
      try {
        const err = await failure(once.json({ method: 'DELETE', url: `http://${downHost}/v`, idempotent: true, what: 'Cinder DELETE v' }));
        expect(err.code).toBe('BackendUnavailable');
        expect(err.message).toBe('Cinder DELETE v: Cinder answered HTTP 500 Internal Server Error (answer 1)');
        expect(downSeen).toHaveLength(2);
      } finally {
        down.close();
      }
    } finally {
      server.close();
    }
  });

  it('does not retry a call that is not idempotent, nor a one-shot body, after a 5xx or a reset connection', async () => {
    const { server, seen } = scripted((n) => (n % 2 === 0 ? 503 : 'reset'));
    const host = await listen(server);
    try {
      const client = make({ service: 'Cinder', retry: { attempts: 3, firstPauseMs: 10 } });
      expect((await failure(client.json({ method: 'POST', url: `http://${host}/volumes`, body: '{}', what: 'Cinder POST volumes' }))).code).toBe('BackendUnavailable');
      expect(seen).toHaveLength(1);
      expect((await failure(client.json({ method: 'POST', url: `http://${host}/volumes`, body: '{}', what: 'Cinder POST volumes' }))).code).toBe('BackendUnavailable');
      expect(seen).toHaveLength(2);
      // Idempotent, but its body can be sent only once.
      expect((await failure(client.call({ method: 'PUT', url: `http://${host}/o`, body: Readable.from([Buffer.from('x')]), idempotent: true, what: 'PUT o' }))).code).toBe('BackendUnavailable');
      expect(seen).toHaveLength(3);
    } finally {
      server.close();
    }
    // An idempotent call with a repeatable body is retried after a reset.
    const once = scripted((n) => (n === 0 ? 'reset' : 200));
    const onceHost = await listen(once.server);
    try {
      const res = await make({ service: 'Cinder', retry: { attempts: 3, firstPauseMs: 10 } }).send({ method: 'PUT', url: `http://${onceHost}/o`, body: 'x', idempotent: true });
      await res.body.dump();
      expect([res.statusCode, once.seen.length]).toEqual([200, 2]);
    } finally {
      once.server.close();
    }
  });

  it('retries a create whose answer was lost, and takes "exists" on the retry as that attempt\'s success; "exists" at once stays a refusal', async () => {
    // A server that creates /o on the first request but loses the answer (reset), as a proxy cut mid-answer does.
    const stored = new Set<string>();
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (stored.has(req.url!)) return void res.writeHead(412).end();
        stored.add(req.url!);
        if (req.url!.startsWith('/lost')) return req.socket.destroy();
        res.writeHead(req.url === '/busy' ? 503 : 201).end();
      });
    });
    const host = await listen(server);
    try {
      const retries: string[] = [];
      const client = make({ service: 'Swift', retry: { attempts: 2, firstPauseMs: 10 }, onRetry: (what, why, n) => retries.push(`${n} ${what}: ${why}`) });
      let bodies = 0;
      const body = () => {
        bodies++;
        return Readable.from([Buffer.from('segment')]);
      };
      const res = await client.send({ method: 'PUT', url: `http://${host}/lost`, headers: { 'if-none-match': '*' }, body, create: true, what: 'PUT lost' });
      expect([res.statusCode, bodies]).toEqual([201, 2]);
      expect(retries).toEqual([expect.stringMatching(/^1 PUT lost: .*(ECONNRESET|other side closed)/)]);
      // An object that was there before the first attempt is someone else's: the refusal stands.
      const taken = await client.send({ method: 'PUT', url: `http://${host}/lost`, headers: { 'if-none-match': '*' }, body, create: true });
      await taken.body.dump();
      expect(taken.statusCode).toBe(412);
      // A 5xx is retried for a create too (the server kept it: the retry finds it).
      const busy = await client.send({ method: 'PUT', url: `http://${host}/busy`, body: 'x', create: true });
      expect(busy.statusCode).toBe(201);
      // A one-shot body is never sent again.
      const once = await failure(client.send({ method: 'PUT', url: `http://${host}/lost2`, body: Readable.from([Buffer.from('x')]), create: true }));
      expect(once.code).toBe('BackendUnavailable');
      expect(retries).toHaveLength(2);
    } finally {
      server.close();
    }
  });

  it('makes no call again after a timeout when told so (afterTimeout: false), keeping its bound at one request timeout', async () => {
    let connections = 0;
    const silent = net.createServer(() => connections++); // accepts, never answers
    const host = await listen(silent);
    try {
      const bounded = make({ service: 'Swift', timeouts: { headersMs: 300 }, retry: { attempts: 2, firstPauseMs: 10, afterTimeout: false } });
      expect((await failure(bounded.send({ method: 'GET', url: `http://${host}/o`, idempotent: true }))).code).toBe('BackendUnavailable');
      expect(connections).toBe(1);
      const patient = make({ service: 'Cinder', timeouts: { headersMs: 300 }, retry: { attempts: 1, firstPauseMs: 10 } });
      expect((await failure(patient.send({ method: 'GET', url: `http://${host}/o`, idempotent: true }))).code).toBe('BackendUnavailable');
      expect(connections).toBe(3);
    } finally {
      silent.close();
    }
  });

  it('ends the pause before a retry at once when the call is aborted, with AbortedError', async () => {
    const { server, seen } = scripted(() => 503);
    const host = await listen(server);
    try {
      const client = make({ service: 'Cinder', retry: { attempts: 3, firstPauseMs: 10_000 } });
      const controller = new AbortController();
      const started = Date.now();
      const p = client.send({ method: 'GET', url: `http://${host}/v`, idempotent: true, signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      const err = await failure(p);
      expect(err.code).toBe('Aborted');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(seen).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  it('maps a refused connection to BackendUnavailable naming the call, and retries it even when not idempotent (nothing was sent)', async () => {
    const s = net.createServer();
    const host = await listen(s);
    await new Promise((resolve) => s.close(resolve));
    const client = make({ service: 'Cinder', retry: { attempts: 2, firstPauseMs: 50 } });
    const started = Date.now();
    const err = await failure(client.send({ method: 'POST', url: `http://user:secret@${host}/volumes`, body: '{}' }));
    expect(err.code).toBe('BackendUnavailable');
    expect(err.message).toMatch(/^Cinder POST http:\/\/user:\*\*\*@127\.0\.0\.1:\d+\/volumes failed: ECONNREFUSED/);
    expect(err.message).not.toContain('secret');
    // Two pauses of 50 and 100 ms: it was tried three times.
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  describe('TLS', () => {
    let cert: TestCertificate;
    let other: TestCertificate;
    let server: https.Server;
    let host: string;
    beforeAll(async () => {
      cert = selfSignedCertificate();
      other = selfSignedCertificate();
      server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('ok'));
      host = await listen(server);
    });
    afterAll(() => {
      server.close();
      rmSync(cert.dir, { recursive: true, force: true });
      rmSync(other.dir, { recursive: true, force: true });
    });
    const names = { caFile: 'cinder_ca_certificates_file', insecure: 'cinder_api_insecure' };
    const get = (client: ServiceClient) => client.call({ method: 'GET', url: `https://${host}/`, what: 'Cinder GET /' }).then((r) => r.body.text());

    it('trusts the server with its CA bundle, and skips verification only without a bundle', async () => {
      expect(await get(make({ service: 'Cinder', tls: readTls({ caFile: cert.certFile }, names).tls }))).toBe('ok');
      expect(await get(make({ service: 'Cinder', tls: readTls({ insecure: true }, names).tls }))).toBe('ok');
      const err = await failure(get(make({ service: 'Cinder', tls: readTls({}, names).tls })));
      expect(err.code).toBe('BackendUnavailable');
      expect(err.message).toMatch(/TLS verification failed .*set cinder_ca_certificates_file to trust the server's CA/);
    });

    it('verifies with a CA bundle even when the insecure flag is set: the bundle wins', async () => {
      const err = await failure(get(make({ service: 'Cinder', tls: readTls({ caFile: other.certFile, insecure: true }, names).tls, retry: { attempts: 2, firstPauseMs: 10 } })));
      expect(err.code).toBe('BackendUnavailable');
      expect(err.message).toMatch(/TLS verification failed/);
    });
  });
});
