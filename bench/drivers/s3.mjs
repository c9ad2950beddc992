// The s3 store under benchmark, on the test Ceph's RADOS gateway (test/services/ceph.sh start).
// Baseline: curl reading the image the bench stored, by a presigned URL (boto3 signs it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { curl } from '../curl.mjs';

export const name = 's3';

export function setup() {
  const file = `${process.env.CEPH_STATE_DIR ?? '/tmp/glance-store-ceph'}/env`;
  if (!existsSync(file)) throw new Error(`Ceph RGW is not running: bash test/services/ceph.sh start (no ${file})`);
  let signed;
  const e = Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  return {
    store: 'objects',
    baseline: {
      name: 'curl',
      add: (_src, location) => {
        // s3://KEY:SECRET@HOST/BUCKET/OBJECT: the object the bench stored, signed without printing the key.
        const [bucket, key] = location.slice(location.lastIndexOf('@') + 1).split('/').slice(1);
        const sign = 'import boto3,os,sys; c=boto3.client("s3",endpoint_url=os.environ["E"],aws_access_key_id=os.environ["A"],aws_secret_access_key=os.environ["S"]); print(c.generate_presigned_url("get_object",Params={"Bucket":sys.argv[1],"Key":sys.argv[2]},ExpiresIn=3600))';
        signed = execFileSync('/usr/bin/python3', ['-c', sign, bucket, key], { encoding: 'utf8', env: { ...process.env, E: e.RGW_ENDPOINT, A: e.RGW_ACCESS_KEY, S: e.RGW_SECRET_KEY } }).trim();
      },
      get: async () => (await curl(signed)).seconds,
    },
    conf: `[DEFAULT]\nenabled_backends = objects:s3\n[glance_store]\ndefault_backend = objects\n[objects]\ns3_store_host = ${e.RGW_ENDPOINT}\ns3_store_access_key = ${e.RGW_ACCESS_KEY}\ns3_store_secret_key = ${e.RGW_SECRET_KEY}\ns3_store_bucket = bench\ns3_store_create_bucket_on_put = true\n`,
  };
}

export const goals = { addVsPython: 2, getVsPython: 2 };
