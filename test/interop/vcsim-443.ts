/**
 * A vcsim of the test's own on 127.0.0.2:443 (`test/services/vcsim.sh
 * second-start`), for the interop test with Python's glance_store: its
 * vmware store speaks to port 443 only (it takes no host:port), and
 * oslo.vmware fetches a vim WSDL from /sdk/vimService.wsdl, which this
 * instance serves. The shared vcsim on 127.0.0.1:8989 is left alone. Binding
 * 443 needs root (or CAP_NET_BIND_SERVICE): `portAvailable()` says whether
 * it can be bound here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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

export async function startVcsim443(): Promise<Vcsim443> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gs-vcsim443-'));
  const stop = async (): Promise<void> => {
    await run('bash', [SCRIPT, 'second-stop', dir]);
  };
  try {
    await run('bash', [SCRIPT, 'second-start', dir], { timeout: 300_000 });
    const env = Object.fromEntries(
      readFileSync(path.join(dir, 'env'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    return {
      host: env['VCSIM_HOST']!,
      user: env['VCSIM_USER']!,
      password: env['VCSIM_PASSWORD']!,
      caFile: env['VCSIM_CA_FILE']!,
      datacenter: env['VCSIM_DATACENTER']!,
      datastore: env['VCSIM_DATASTORE']!,
      datastoreDir: env['VCSIM_DATASTORE_DIR']!,
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}
