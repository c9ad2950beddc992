// The swift store under benchmark, on the test Swift (test/services/swift.sh start): tempauth,
// one replica. The service caps objects at 16 MiB, so both libraries store large images as
// segments of 15 MB (glance_store's MB, 15,360,000 bytes) and a manifest.
// Baseline, the backend's own limit: `swift upload` (python-swiftclient's CLI) of the same
// file in segments of the same size, and curl reading the large object back.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const name = 'swift';

export function setup() {
  const file = `${process.env.SWIFT_STATE_DIR ?? '/tmp/glance-store-swift'}/env`;
  if (!existsSync(file)) throw new Error(`Swift is not running: bash test/services/swift.sh start (no ${file})`);
  const e = Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const swiftCli = (...args) => {
    const t = performance.now();
    execFileSync('swift', ['-A', e.SWIFT_AUTH_URL, '-U', e.SWIFT_USER, '-K', e.SWIFT_KEY, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    return (performance.now() - t) / 1000;
  };
  const login = () => {
    const out = execFileSync('swift', ['-A', e.SWIFT_AUTH_URL, '-U', e.SWIFT_USER, '-K', e.SWIFT_KEY, 'auth']).toString();
    const get = (k) => new RegExp(`export ${k}=(\\S+)`).exec(out)?.[1]?.replace(/^['"]|['"]$/g, '');
    return { url: get('OS_STORAGE_URL'), token: get('OS_AUTH_TOKEN') };
  };
  return {
    store: 'objects',
    conf: `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_auth_version = 1\nswift_store_auth_address = ${e.SWIFT_AUTH_URL}\nswift_store_user = ${e.SWIFT_USER}\nswift_store_key = ${e.SWIFT_KEY}\nswift_store_container = bench\nswift_store_create_container_on_put = true\nswift_store_large_object_size = 15\nswift_store_large_object_chunk_size = 15\n`,
    baseline: {
      name: 'swift upload / curl',
      add: (src) => swiftCli('upload', '--segment-size', '15360000', '--object-name', 'baseline', 'bench-baseline', src),
      get: () => {
        const { url, token } = login();
        const t = performance.now();
        execFileSync('curl', ['-sf', '-o', '/dev/null', '-H', `X-Auth-Token: ${token}`, `${url}/bench-baseline/baseline`]);
        return (performance.now() - t) / 1000;
      },
      cleanup: () => swiftCli('delete', 'bench-baseline'),
    },
  };
}

export const goals = { addVsPython: 2, getVsPython: 2, baselineWithin: 1.2 };
