/**
 * The one mapping of failed network calls (src/net/failure.ts): statuses, and
 * real failures of real calls on 127.0.0.1 (a closed port, a server that
 * never answers, an untrusted certificate, aborted and timed-out calls), made
 * with undici and with the AWS SDK as the drivers make them.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { Agent } from 'undici';
import { S3Client, HeadObjectCommand } from '@aws-sdk/client-s3';
import { BadStoreUriError, SizeMismatchError } from '../src/errors.js';
import { isAbort, serviceError, statusError, STATUS_ERRORS, transportError } from '../src/net/failure.js';
import { expectOk, send } from '../src/net/response.js';
import { failure, listen } from './net-calls.js';
import { selfSignedCertificate, type TestCertificate } from './tls.js';

/** A port nothing listens on: bound once, then closed. */
async function closedPort(): Promise<string> {
  const s = net.createServer();
  const host = await listen(s);
  await new Promise((resolve) => s.close(resolve));
  return host;
}

describe('HTTP statuses', () => {
  it('map to the error each means, 5xx and overload to BackendUnavailable, the rest to BackendError', () => {
    const codes = Object.fromEntries([400, 401, 403, 404, 408, 409, 412, 413, 416, 429, 500, 503, 507].map((s) => [s, statusError(s, { what: 'GET x' }).code]));
    expect(codes).toEqual({
      400: 'BackendError',
      401: 'AuthenticationFailed',
      403: 'Forbidden',
      404: 'NotFound',
      408: 'BackendUnavailable',
      409: 'BackendError',
      412: 'Duplicate',
      413: 'StorageFull',
      416: 'BackendError',
      429: 'BackendUnavailable',
      500: 'BackendUnavailable',
      503: 'BackendUnavailable',
      507: 'StorageFull',
    });
  });

  it("take a driver's own meanings: extra statuses, another fallback, service error names first", () => {
    expect(statusError(409, { what: 'PUT x', statuses: { ...STATUS_ERRORS, 409: STATUS_ERRORS[412]! } }).code).toBe('Duplicate');
    // glance_store's http store: 404 is NotFound, every other failing status a bad URI.
    const httpStore = { what: 'GET x', statuses: { 404: STATUS_ERRORS[404]! }, otherwise: BadStoreUriError };
    expect([404, 401, 500].map((s) => statusError(s, httpStore).code)).toEqual(['NotFound', 'BadStoreUri', 'BadStoreUri']);
    // A quota answered with 403 is a full store, not refused credentials.
    const s3 = { what: 's3 object b/k', names: { QuotaExceeded: STATUS_ERRORS[507]! } };
    expect(serviceError(Object.assign(new Error('quota'), { name: 'QuotaExceeded', $metadata: { httpStatusCode: 403 } }), s3).code).toBe('StorageFull');
    expect(serviceError(Object.assign(new Error('no key'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }), s3).code).toBe('NotFound');
  });

  it('say what failed, who answered and what it said, with credentials masked', () => {
    const err = statusError(500, { what: 'GET http://glance:s3cr3t@127.0.0.1/x', service: 'Swift', detail: 'boom', cause: 'c' });
    expect(err.message).toBe('GET http://glance:***@127.0.0.1/x: Swift answered HTTP 500 Internal Server Error (boom)');
    expect(err.cause).toBe('c');
  });
});

describe('failures below HTTP, from real calls', () => {
  let silent: net.Server;
  const silentSockets = new Set<net.Socket>();
  let silentHost: string;
  let slow: http.Server;
  let slowHost: string;
  let tlsServer: https.Server;
  let tlsHost: string;
  let cert: TestCertificate;
  const dispatcher = new Agent({ connect: { timeout: 5_000 } });

  beforeAll(async () => {
    // Accepts connections and never answers.
    silent = net.createServer((socket) => {
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
    });
    silentHost = await listen(silent);
    // Answers with headers at once, then sends its body slowly.
    slow = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
    });
    slowHost = await listen(slow);
    cert = selfSignedCertificate();
    tlsServer = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('ok'));
    tlsHost = await listen(tlsServer);
  });

  afterAll(async () => {
    await dispatcher.destroy();
    for (const socket of silentSockets) socket.destroy();
    slow.closeAllConnections();
    tlsServer.closeAllConnections();
    for (const s of [silent, slow, tlsServer]) await new Promise((resolve) => s.close(resolve));
    rmSync(cert.dir, { recursive: true, force: true });
  });

  it('a refused connection is BackendUnavailable and names the address', async () => {
    const host = await closedPort();
    const err = await failure(send(`http://${host}/x`, { method: 'GET', dispatcher }, { what: `GET http://${host}/x` }));
    expect(err.code).toBe('BackendUnavailable');
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).toContain(host);
  });

  it('an aborted call is Aborted, whatever reason the signal carries', async () => {
    for (const abort of [(c: AbortController) => c.abort(), (c: AbortController) => c.abort(new Error('the user left'))]) {
      const controller = new AbortController();
      setTimeout(() => abort(controller), 100);
      const err = await failure(send(`http://${silentHost}/x`, { method: 'GET', dispatcher, signal: controller.signal }, { what: 'GET silent' }));
      expect(err.code).toBe('Aborted');
      expect(err.message).toBe('GET silent: aborted');
    }
  });

  it('a call past its AbortSignal.timeout is Aborted, never BackendUnavailable', async () => {
    const err = await failure(send(`http://${silentHost}/x`, { method: 'GET', dispatcher, signal: AbortSignal.timeout(200) }, { what: 'GET silent' }));
    expect(err.code).toBe('Aborted');
    expect(err.message).toMatch(/time limit/);
  });

  it('a body aborted while it is read is Aborted too', async () => {
    const controller = new AbortController();
    const res = await send(`http://${slowHost}/x`, { method: 'GET', dispatcher, signal: controller.signal }, { what: 'GET slow' });
    setTimeout(() => controller.abort(), 100);
    const err = await failure(
      (async () => {
        try {
          for await (const chunk of res.body) void chunk;
        } catch (e) {
          throw transportError(e, { what: 'Reading slow', signal: controller.signal });
        }
      })(),
    );
    expect(err.code).toBe('Aborted');
  });

  it("a library error given as the abort reason comes out as it is (the add pipeline's size check)", async () => {
    const controller = new AbortController();
    const reason = new SizeMismatchError('too long');
    setTimeout(() => controller.abort(reason), 50);
    expect(await failure(send(`http://${silentHost}/x`, { method: 'GET', dispatcher, signal: controller.signal }, { what: 'PUT x' }))).toBe(reason);
  });

  it("the transport's own timeout is a backend that does not answer: BackendUnavailable", async () => {
    const impatient = new Agent({ headersTimeout: 200 });
    try {
      const err = await failure(send(`http://${silentHost}/x`, { method: 'GET', dispatcher: impatient }, { what: 'GET silent' }));
      expect(err.code).toBe('BackendUnavailable');
      expect(err.message).toMatch(/UND_ERR_HEADERS_TIMEOUT/);
    } finally {
      await impatient.close();
    }
  });

  it("a failed TLS verification names the option that trusts the server's CA, as the driver's kind of error", async () => {
    const call = { what: `GET https://${tlsHost}/`, tlsHint: "set swift_store_cacert to trust the server's CA" };
    const err = await failure(send(`https://${tlsHost}/`, { method: 'GET', dispatcher }, call));
    expect(err.code).toBe('BackendUnavailable');
    expect(err.message).toMatch(/TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT\); set swift_store_cacert to trust the server's CA/);
    expect((await failure(send(`https://${tlsHost}/`, { method: 'GET', dispatcher }, { ...call, tlsError: BadStoreUriError }))).code).toBe('BadStoreUri');
  });

  it('a failing status read from a real answer carries the start of its body', async () => {
    const server = http.createServer((_req, res) => res.writeHead(507).end('<html><b>Insufficient</b> storage</html>'));
    const host = await listen(server);
    try {
      const res = await send(`http://${host}/x`, { method: 'PUT', dispatcher }, { what: 'PUT x' });
      const err = await failure(expectOk(res, { what: 'PUT x', service: 'Swift' }));
      expect(err.code).toBe('StorageFull');
      expect(err.message).toBe('PUT x: Swift answered HTTP 507 Insufficient Storage (Insufficient storage)');
    } finally {
      server.close();
    }
  });

  describe('through the AWS SDK', () => {
    const client = (socketTimeout?: number) =>
      new S3Client({
        endpoint: `http://${silentHost}`,
        region: 'us-east-1',
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
        requestHandler: { connectionTimeout: 5_000, ...(socketTimeout ? { socketTimeout } : {}) },
      });
    const call = { what: 's3 object b/k', service: 'the S3 server' };

    it('an aborted or timed-out signal is Aborted', async () => {
      const s3 = client();
      try {
        for (const signal of [AbortSignal.timeout(200), AbortSignal.abort()]) {
          const err = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }), { abortSignal: signal }).catch((e: unknown) => e);
          expect(isAbort(err, signal)).toBe(true);
          expect(serviceError(err, { ...call, signal }).code).toBe('Aborted');
          // Without the signal at hand, the error alone still says so.
          expect(serviceError(err, call).code).toBe('Aborted');
        }
      } finally {
        s3.destroy();
      }
    });

    it("the SDK's own socket timeout (an error also named TimeoutError) is BackendUnavailable", async () => {
      const s3 = client(200);
      try {
        const err = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e: unknown) => e);
        expect((err as Error).name).toBe('TimeoutError');
        expect(isAbort(err)).toBe(false);
        expect(serviceError(err, call).code).toBe('BackendUnavailable');
      } finally {
        s3.destroy();
      }
    });

    it('a refused connection is BackendUnavailable', async () => {
      const host = await closedPort();
      const s3 = new S3Client({ endpoint: `http://${host}`, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' } });
      try {
        const err = await s3.send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e: unknown) => e);
        expect(serviceError(err, call)).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/ECONNREFUSED/) });
      } finally {
        s3.destroy();
      }
    });
  });
});
