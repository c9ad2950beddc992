#!/usr/bin/env node
// File-store add throughput of this checkout against another revision, in one run:
// each figure is the median of several fresh processes, the two revisions interleaved
// (ours, theirs, ours, ...), for each source chunk size.
//
//   node bench/add-compare.mjs --rev HEAD~1 [--runs 5] [--mib 512] [--chunks 16384,65536,4194304]
//
// The other revision is built into a temporary worktree that shares node_modules.
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, openSync, rmSync, statSync, symlinkSync, writeSync, closeSync, existsSync } from 'node:fs';
import { randomFillSync, randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const self = fileURLToPath(import.meta.url);
const root = path.dirname(path.dirname(self));

if (process.argv[2] === '--worker') {
  // One add in this process: node add-compare.mjs --worker DIST_INDEX DATADIR SOURCE CHUNK
  const [, , , index, datadir, source, chunk] = process.argv;
  const { MultiStore, parseConfig } = await import(pathToFileURL(index).href);
  const conf = `[DEFAULT]\nenabled_backends = bench:file\n[glance_store]\ndefault_backend = bench\n[bench]\nfilesystem_store_datadir = ${datadir}\n`;
  const ms = await MultiStore.create(parseConfig(conf));
  const size = statSync(source).size;
  const t = performance.now();
  const r = await ms.add(randomUUID(), createReadStream(source, { highWaterMark: Number(chunk) }), { store: 'bench', size });
  const seconds = (performance.now() - t) / 1000;
  await ms.delete(r.location);
  await ms.close();
  console.log(JSON.stringify({ seconds, bytes: r.size, checksum: r.checksum }));
  process.exit(0);
}

const { values: opts } = parseArgs({
  options: {
    rev: { type: 'string', default: 'HEAD' },
    runs: { type: 'string', default: '5' },
    mib: { type: 'string', default: '512' },
    chunks: { type: 'string', default: '16384,65536,4194304' },
    work: { type: 'string', default: path.join(os.tmpdir(), 'glance-store-add-compare') },
  },
});

rmSync(opts.work, { recursive: true, force: true });
mkdirSync(opts.work, { recursive: true });
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const other = path.join(opts.work, 'other');
execFileSync('git', ['worktree', 'add', '--detach', other, opts.rev], { cwd: root, stdio: 'ignore' });
try {
  symlinkSync(path.join(root, 'node_modules'), path.join(other, 'node_modules'));
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: other, stdio: ['ignore', 'ignore', 'inherit'] });

  const source = path.join(opts.work, 'source.img');
  const fd = openSync(source, 'w');
  const block = Buffer.alloc(16 << 20);
  for (let done = 0; done < Number(opts.mib) << 20; done += block.length) {
    randomFillSync(block);
    writeSync(fd, block, 0, Math.min(block.length, (Number(opts.mib) << 20) - done));
  }
  closeSync(fd);
  execFileSync('cat', [source], { stdio: 'ignore' }); // page cache warm for both

  const contenders = { ours: path.join(root, 'dist/src/index.js'), [opts.rev]: path.join(other, 'dist/src/index.js') };
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`| chunk | ours MB/s (min-max) | ${opts.rev} MB/s (min-max) | ratio |`);
  console.log('| --- | --- | --- | --- |');
  for (const chunk of opts.chunks.split(',').map(Number)) {
    const figures = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
    for (let i = 0; i < Number(opts.runs); i++) {
      for (const [name, index] of Object.entries(contenders)) {
        const datadir = path.join(opts.work, `data-${name.replace(/\W/g, '_')}`);
        mkdirSync(datadir, { recursive: true });
        const r = spawnSync(process.execPath, [self, '--worker', index, datadir, source, String(chunk)], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${name} add failed: ${r.stderr}`);
        const out = JSON.parse(r.stdout.trim().split('\n').pop());
        figures[name].push(out.bytes / 1e6 / out.seconds);
      }
    }
    const [a, b] = Object.values(figures);
    const span = (xs) => `${Math.round(median(xs))} (${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))})`;
    console.log(`| ${chunk >= 1 << 20 ? `${chunk >> 20} MiB` : `${chunk >> 10} KiB`} | ${span(a)} | ${span(b)} | ${(median(a) / median(b)).toFixed(2)}x |`);
  }
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', other], { cwd: root, stdio: 'ignore' });
  if (existsSync(opts.work)) rmSync(opts.work, { recursive: true, force: true });
}
