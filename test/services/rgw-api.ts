/**
 * A direct S3 client of the test Ceph's radosgw (its env from test/services/ceph.sh), for
 * tests that plant or inspect objects without the store. The SDK's own advice (about stream
 * bodies) is for its users, not the tests' output: its logger is quiet.
 */
import { S3Client } from '@aws-sdk/client-s3';

export function rgwClient(ceph: Record<string, string>): S3Client {
  return new S3Client({
    endpoint: ceph['RGW_ENDPOINT'],
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: ceph['RGW_ACCESS_KEY']!, secretAccessKey: ceph['RGW_SECRET_KEY']! },
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}
