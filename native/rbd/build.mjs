// Builds the librbd binding when Ceph's development headers are installed, and
// otherwise says so and succeeds: the binding is optional, and every other
// driver works without it. Run by `npm install` and again by `npm test` once
// the test services have installed librbd-dev.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const headers = ['/usr/include/rbd/librbd.h', '/usr/include/rados/librados.h'];
if (!headers.every((h) => existsSync(h))) {
  console.log('glance-store: librbd/librados headers not found; the rbd driver is not built (apt-get install librbd-dev librados-dev, then npm rebuild glance-store).');
  process.exit(0);
}
if (!existsSync(new URL('./src/binding.cc', import.meta.url))) process.exit(0);
const r = spawnSync('node-gyp', ['rebuild'], { cwd: here, stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.log('glance-store: building the rbd binding failed; the rbd driver will be unavailable. Every other driver works.');
}
process.exit(0);
