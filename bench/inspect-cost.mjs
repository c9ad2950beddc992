#!/usr/bin/env node
// What the add's inspection costs by itself, free of the noise of a whole add: the inspector
// fed 1 GiB in the pipeline's 1 MiB blocks, behind the header of each format qemu-img writes,
// beside md5 over the same bytes (one of the two hashes every add computes anyway).
//
//   node bench/inspect-cost.mjs [--mib 1024] [--reps 5]
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opts } = parseArgs({ options: { mib: { type: 'string', default: '1024' }, reps: { type: 'string', default: '5' } } });
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const { inspectImage } = await import(path.join(root, 'dist/src/index.js'));

const dir = mkdtempSync(path.join(os.tmpdir(), 'gs-inspect-cost-'));
const MiB = 1 << 20;
const block = Buffer.alloc(MiB, 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const rows = [];
  for (const fmt of ['raw', 'qcow2', 'vmdk', 'vpc', 'vhdx', 'vdi', 'luks']) {
    const file = path.join(dir, `image.${fmt}`);
    const luks = fmt === 'luks' ? ['--object', 'secret,id=s0,data=x', '-o', 'key-secret=s0,iter-time=100'] : [];
    execFileSync('qemu-img', ['create', '-q', ...luks, '-f', fmt, file, '1G']);
    const head = readFileSync(file).subarray(0, MiB);
    const inspect = [];
    const md5 = [];
    let result;
    for (let r = 0; r < Number(opts.reps); r++) {
      let t = performance.now();
      result = await inspectImage(
        (function* () {
          yield head;
          for (let i = 1; i < Number(opts.mib); i++) yield block;
        })(),
      );
      inspect.push(performance.now() - t);
      t = performance.now();
      const h = createHash('md5');
      for (let i = 0; i < Number(opts.mib); i++) h.update(block);
      h.digest();
      md5.push(performance.now() - t);
    }
    rows.push(`| ${fmt} | ${result.format} | ${median(inspect).toFixed(1)} | ${median(md5).toFixed(0)} | ${((100 * median(inspect)) / median(md5)).toFixed(2)}% |`);
  }
  console.log(`${opts.mib} MiB in 1 MiB blocks, median of ${opts.reps}; ${os.cpus().length} x ${os.cpus()[0]?.model}, Node ${process.version}, load ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('| qemu-img format | inspected as | inspection ms | md5 ms | inspection / md5 |\n| --- | --- | --- | --- | --- |');
  console.log(rows.join('\n'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
