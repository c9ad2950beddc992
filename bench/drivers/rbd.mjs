// The rbd store under benchmark, on the test Ceph (test/services/ceph.sh start).
// Baseline: `rbd import` / `rbd export` of the same image by Ceph's own tool.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export const name = 'rbd';

function env() {
  const file = `${process.env.CEPH_STATE_DIR ?? '/tmp/glance-store-ceph'}/env`;
  if (!existsSync(file)) throw new Error(`Ceph is not running: bash test/services/ceph.sh install && bash test/services/ceph.sh start (no ${file})`);
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

export function setup() {
  const e = env();
  const rbd = (...args) => {
    const t = performance.now();
    execFileSync('rbd', ['-c', e.CEPH_CONF, '--id', e.CEPH_USER, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    return (performance.now() - t) / 1000;
  };
  const image = `${e.CEPH_POOL}/bench-baseline`;
  return {
    store: 'fast',
    conf: `[DEFAULT]\nenabled_backends = fast:rbd\n[glance_store]\ndefault_backend = fast\n[fast]\nrbd_store_pool = ${e.CEPH_POOL}\nrbd_store_user = ${e.CEPH_USER}\nrbd_store_ceph_conf = ${e.CEPH_CONF}\n`,
    baseline: {
      name: 'rbd import / export',
      add: (src) => rbd('import', '--no-progress', '--image-format', '2', '--image-feature', 'layering', src, image),
      get: () => rbd('export', '--no-progress', image, '-'),
      cleanup: () => rbd('rm', '--no-progress', image),
    },
  };
}

export const goals = { addVsPython: 2, getVsPython: 2, baselineWithin: 1.2 };
