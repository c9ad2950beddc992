// One HTTP transfer by curl over loopback, timed from its start to its exit: a download to
// /dev/null (GET), or an upload of a file (PUT, no `Expect: 100-continue` wait). Shared by
// bench/worker.mjs and the baselines; bench/python/reference_bench.py runs curl the same way.
import { execFile } from 'node:child_process';

export function curl(url, upload, headers = []) {
  const args = ['-sS', '--fail', '-o', '/dev/null', '-w', '%{size_download} %{size_upload}', ...headers.flatMap((h) => ['-H', h])];
  if (upload) args.push('-H', 'Expect:', '-T', upload);
  const t = performance.now();
  return new Promise((resolve, reject) =>
    execFile('curl', [...args, url], (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl ${upload ? 'upload' : 'download'} failed: ${stderr || err.message}`));
      const seconds = (performance.now() - t) / 1000;
      const [down, up] = stdout.trim().split(' ').map(Number);
      resolve({ seconds, bytes: upload ? up : down });
    }),
  );
}
