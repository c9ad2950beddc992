/**
 * A vcsim of the test's own on 127.0.0.2:443, for the interop test with
 * Python's glance_store: its vmware store speaks to port 443 only (it takes
 * no host:port), and oslo.vmware fetches a vim WSDL from /sdk/vimService.wsdl,
 * which this instance serves (made by vim-wsdl.ts from oslo.vmware's types).
 * The shared vcsim on 127.0.0.1:8989 is left alone. Binding 443 needs root
 * (or CAP_NET_BIND_SERVICE): `portAvailable()` says whether it can be bound.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PYTHON } from './reference.js';
import { vimWsdl } from './vim-wsdl.js';

const run = promisify(execFile);
const HOST = '127.0.0.2';
const SCRIPT = fileURLToPath(new URL('../services/vcsim.sh', import.meta.url));

export interface Vcsim443 {
  host: string;
  user: string;
  password: string;
  caFile: string;
  datacenter: string;
  datastore: string;
  /** The datastore's directory (its files are the images). */
  datastoreDir: string;
  stop(): Promise<void>;
}

/** Whether 127.0.0.2:443 can be bound here (root, and nothing on it). */
export async function portAvailable(): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, reason: `${HOST}:443 cannot be bound (${err.code ?? err.message})` }));
    server.listen(443, HOST, () => server.close(() => resolve({ ok: true })));
  });
}

/** Where oslo.vmware's vSphere 6.5 types are (Debian's python3-oslo.vmware). */
async function vimTypesFile(): Promise<string> {
  const { stdout } = await run(PYTHON, ['-c', 'import os, oslo_vmware; print(os.path.join(os.path.dirname(oslo_vmware.__file__), "wsdl", "6.5", "vim-types.xsd"))']);
  return stdout.trim();
}

export async function startVcsim443(): Promise<Vcsim443> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gs-vcsim443-'));
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { stdout: bin } = await run('bash', [SCRIPT, 'build'], { timeout: 300_000 });
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=IP:${HOST}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')]);
    const wsdl = path.join(dir, 'vimService.wsdl');
    writeFileSync(wsdl, vimWsdl(await vimTypesFile(), `https://${HOST}/sdk`));
    const password = randomBytes(12).toString('hex');
    const log = path.join(dir, 'vcsim.log');
    child = spawn(bin.trim(), ['-listen', `${HOST}:443`, '-username', 'glance', '-password', password, '-cert', path.join(dir, 'cert.pem'), '-key', path.join(dir, 'key.pem'), '-datastores', '1', '-datastore-root', path.join(dir, 'datastores'), '-wsdl', wsdl], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 10_000;
    while (!output.includes('listening on')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        writeFileSync(log, output);
        throw new Error(`vcsim on ${HOST}:443 did not start: ${readFileSync(log, 'utf8').slice(-500)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      host: HOST,
      user: 'glance',
      password,
      caFile: path.join(dir, 'cert.pem'),
      datacenter: 'DC0',
      datastore: 'LocalDS_0',
      datastoreDir: path.join(dir, 'datastores', 'LocalDS_0'),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
