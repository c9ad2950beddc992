/**
 * TLS settings (src/net/tls.ts) against a real https server on 127.0.0.1 with
 * a throw-away certificate: verified by default, trusted through a CA file or
 * the insecure flag, a client certificate presented where the server asks,
 * the same settings through undici and through Node's https (the AWS SDK).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import https from 'node:https';
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { rmSync } from 'node:fs';
import { Agent } from 'undici';
import { readTls, type TlsSettings } from '../src/net/tls.js';
import { send } from '../src/net/response.js';
import { selfSignedCertificate, type TestCertificate } from './tls.js';

const NAMES = { caFile: 'cinder_ca_certificates_file', insecure: 'cinder_api_insecure', certFile: 'client_cert_file', keyFile: 'client_key_file' };

let cert: TestCertificate;
let server: https.Server;
let base: string;
/** Asks for a client certificate and takes only one its CA (the same certificate) signed. */
let mutual: https.Server;
let mutualBase: string;

async function listen(s: https.Server): Promise<string> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(s.address() as net.AddressInfo).port}`;
}

beforeAll(async () => {
  cert = selfSignedCertificate();
  server = https.createServer({ key: cert.key, cert: cert.cert }, (_req, res) => res.end('hello'));
  base = await listen(server);
  mutual = https.createServer({ key: cert.key, cert: cert.cert, ca: cert.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
    res.end(`client ${(req.socket as TLSSocket).getPeerCertificate().subject?.CN}`);
  });
  mutualBase = await listen(mutual);
});

afterAll(async () => {
  for (const s of [server, mutual]) await new Promise((resolve) => s.close(resolve));
  rmSync(cert.dir, { recursive: true, force: true });
});

/** A GET through undici with the settings; the body, or the library error. */
async function viaUndici(tls: TlsSettings, url: string): Promise<string> {
  const dispatcher = new Agent({ connect: tls.connect });
  try {
    const res = await send(url, { method: 'GET', dispatcher }, { what: `GET ${url}`, tlsHint: tls.hint });
    return await res.body.text();
  } finally {
    await dispatcher.close();
  }
}

/** A GET through Node's https with the settings' agent, as the AWS SDK sends. */
function viaHttps(tls: TlsSettings, url: string): Promise<string> {
  const agent = tls.httpsAgent({ keepAlive: false });
  return new Promise<string>((resolve, reject) => {
    https
      .get(url, { agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  }).finally(() => agent.destroy());
}

describe('TLS settings', () => {
  it('verify servers by default, and name the CA option when one cannot be verified', async () => {
    const { tls, problems } = readTls({}, NAMES);
    expect(problems).toEqual([]);
    expect(tls.verified).toBe(true);
    await expect(viaUndici(tls, base)).rejects.toMatchObject({
      code: 'BackendUnavailable',
      message: expect.stringMatching(/TLS verification failed \(DEPTH_ZERO_SELF_SIGNED_CERT\); set cinder_ca_certificates_file to trust the server's CA/),
    });
    await expect(viaHttps(tls, base)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('trust a server whose CA is in the CA file, through undici and through https', async () => {
    const { tls, problems } = readTls({ caFile: cert.certFile }, NAMES);
    expect(problems).toEqual([]);
    expect(await viaUndici(tls, base)).toBe('hello');
    expect(await viaHttps(tls, base)).toBe('hello');
  });

  it('skip verification when insecure, except that a CA file still means verification', async () => {
    const insecure = readTls({ insecure: true }, NAMES).tls;
    expect(insecure.verified).toBe(false);
    expect(await viaUndici(insecure, base)).toBe('hello');
    const both = readTls({ insecure: true, caFile: cert.certFile }, NAMES).tls;
    expect(both.verified).toBe(true);
    expect(both.connect.rejectUnauthorized).toBe(true);
  });

  it('present the client certificate to a server that asks for one', async () => {
    const withCert = readTls({ caFile: cert.certFile, certFile: cert.certFile, keyFile: cert.keyFile }, NAMES);
    expect(withCert.problems).toEqual([]);
    expect(await viaUndici(withCert.tls, mutualBase)).toBe('client 127.0.0.1');
    expect(await viaHttps(withCert.tls, mutualBase)).toBe('client 127.0.0.1');
    // Without it the server ends the handshake.
    await expect(viaUndici(readTls({ caFile: cert.certFile }, NAMES).tls, mutualBase)).rejects.toMatchObject({ code: 'BackendUnavailable' });
  });

  it('report every file that cannot be read, and a certificate without its key, by option name', () => {
    const { problems } = readTls({ caFile: '/nonexistent/ca.pem', certFile: '/nonexistent/cert.pem' }, NAMES);
    expect(problems).toEqual([
      'cinder_ca_certificates_file /nonexistent/ca.pem cannot be read (ENOENT)',
      'client_cert_file /nonexistent/cert.pem cannot be read (ENOENT)',
      'client_cert_file and client_key_file must be set together',
    ]);
  });
});
