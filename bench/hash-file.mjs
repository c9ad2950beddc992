// One hash (node's crypto, i.e. OpenSSL, as the add pipeline and glance_store's hashlib use)
// over a file on one core, for the bench's two-hash limit beside coreutils' sha512sum/md5sum.
// Usage: node bench/hash-file.mjs ALGO FILE; prints seconds.
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';

const [algo, file] = process.argv.slice(2);
const fd = openSync(file, 'r');
const buf = Buffer.allocUnsafe(1 << 20);
const hash = createHash(algo);
const t = performance.now();
for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
hash.digest('hex');
closeSync(fd);
console.log((performance.now() - t) / 1000);
