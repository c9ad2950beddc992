// The package's install script: builds the librbd binding with node-gyp when
// Ceph's development headers are installed. Without them it says what to
// install and succeeds, so an install (or this repository's own `npm ci`,
// which runs before the test services install the headers) never fails on
// them; loading the package then throws an error that says the same.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const HEADERS = ['/usr/include/rbd/librbd.h', '/usr/include/rados/librados.h'];
const HOW = 'apt-get install librbd-dev librados-dev g++ make python3, then npm rebuild glance-store-rbd';

if (!HEADERS.every((h) => existsSync(h))) {
  console.log(`glance-store-rbd: Ceph's headers (${HEADERS.join(', ')}) are not installed, so the librbd binding was not built (${HOW}).`);
  process.exit(0);
}
// npm hands its own node-gyp to install scripts; pnpm and yarn put one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
const r = spawnSync(cmd, args, { cwd: here, stdio: 'inherit' });
if (r.status !== 0) {
  console.log(`glance-store-rbd: building the librbd binding failed (see above); the rbd driver of glance-store is unavailable until it builds (${HOW}).`);
}
process.exit(0);
