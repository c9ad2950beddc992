// The http store under benchmark: a small static HTTP server over loopback, in a process of its
// own, serving the bench's image from its work directory (the http store is read-only, so the
// image is put there by the bench, not added through the store). Run with --paths get (or serve).
// Baseline: curl reading the same URL to /dev/null.
import { execFileSync, spawn } from 'node:child_process';
import { linkSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { curl } from '../curl.mjs';

export const name = 'http';

const PORT = Number(process.env.HTTP_BENCH_PORT ?? 7019);
// Whole-file responses read in 1 MiB chunks; HEAD answers the size (the store asks it first).
const SERVER = `
const http = require('node:http'), fs = require('node:fs'), path = require('node:path');
const [dir, port] = process.argv.slice(1);
http.createServer((req, res) => {
  const file = path.join(dir, path.basename(new URL(req.url, 'http://x').pathname));
  fs.stat(file, (err, st) => {
    if (err) return res.writeHead(404).end();
    res.writeHead(200, { 'content-length': st.size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(res);
  });
}).listen(Number(port), '127.0.0.1');
`;

export function setup(work) {
  const dir = path.join(work, 'served');
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, ['-e', SERVER, dir, String(PORT)], { stdio: 'ignore' });
  // Unreferenced: the harness exits when its work is done, and ends the server then.
  child.unref();
  process.on('exit', () => child.kill());
  const url = `http://127.0.0.1:${PORT}/image`;
  return {
    store: 'web',
    conf: `[DEFAULT]\nenabled_backends = web:http\n[glance_store]\ndefault_backend = web\n`,
    // The image is the source file itself (a hard link), already in the page cache.
    keep: (src) => {
      linkSync(src, path.join(dir, 'image'));
      execFileSync('curl', ['-sS', '--retry', '20', '--retry-connrefused', '--retry-delay', '1', '-I', '-o', '/dev/null', url]);
      return { location: url };
    },
    baseline: { name: 'curl', get: async () => (await curl(url)).seconds },
  };
}
