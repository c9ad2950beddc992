/**
 * Reads the env file a service script (test/services/<name>.sh) writes once
 * its service is up. Under `npm test` (GLANCE_STORE_REQUIRE_SERVICES set) a
 * missing service fails the tests that need it; run alone, they are skipped.
 */
import { existsSync, readFileSync } from 'node:fs';

const STATE_DIRS: Record<string, string> = {
  ceph: process.env['CEPH_STATE_DIR'] ?? '/tmp/glance-store-ceph',
  swift: process.env['SWIFT_STATE_DIR'] ?? '/tmp/glance-store-swift',
  keystone: process.env['KEYSTONE_STATE_DIR'] ?? '/tmp/glance-store-keystone',
  cinder: process.env['CINDER_STATE_DIR'] ?? '/tmp/glance-store-cinder',
  'cinder-keystone': process.env['CINDER_KEYSTONE_STATE_DIR'] ?? '/tmp/glance-store-cinder-keystone',
  vcsim: process.env['VCSIM_STATE_DIR'] ?? '/tmp/glance-store-vcsim',
};

export function serviceEnv(name: keyof typeof STATE_DIRS | string): Record<string, string> | undefined {
  const file = `${STATE_DIRS[name] ?? `/tmp/glance-store-${name}`}/env`;
  if (!existsSync(file)) {
    if (process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error(`the ${name} service is not running (no ${file}); see test/services/${name}.sh`);
    return undefined;
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}
