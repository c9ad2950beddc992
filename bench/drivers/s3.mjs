// The s3 store under benchmark, on the test Ceph's RADOS gateway (test/services/ceph.sh start).
import { existsSync, readFileSync } from 'node:fs';

export const name = 's3';

export function setup() {
  const file = `${process.env.CEPH_STATE_DIR ?? '/tmp/glance-store-ceph'}/env`;
  if (!existsSync(file)) throw new Error(`Ceph RGW is not running: bash test/services/ceph.sh start (no ${file})`);
  const e = Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return {
    store: 'objects',
    conf: `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n[objects]\ns3_store_host = ${e.RGW_ENDPOINT}\ns3_store_access_key = ${e.RGW_ACCESS_KEY}\ns3_store_secret_key = ${e.RGW_SECRET_KEY}\ns3_store_bucket = bench\ns3_store_create_bucket_on_put = true\n`,
  };
}

export const goals = { addVsPython: 2, getVsPython: 2 };
