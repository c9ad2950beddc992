#!/usr/bin/env node
// Throughput of one driver, this library against Python glance_store (where
// python3-glance-store is installed) and, with --compare, against another revision of this
// library, all in one run.
//
//   npm run bench -- [--driver file] [--mib 1024] [--runs 5] [--chunks 16384,65536,4194304]
//                    [--paths add,put,get,reuse,serve] [--compare REV] [--small 2000]
//                    [--no-python] [--verified] [--inspect] [--sliced] [--file-add] [--docs] [--section NAME]
//
// --verified adds the verified get (GetOptions.verify, md5 and the multihash checked at the end)
// beside the plain one, for this library only (glance_store has no verified read).
// --inspect adds a path: the add with the smallest chunk size again, with `inspect: true`
// (docs/inspection.md), judged against the same add without it.
// --sliced adds each add again with a source that is not itself the bound: the file read in 4 MiB
// and handed on in subarrays of each --chunks size, so a small chunk size measures the library's
// own per-chunk cost (a file stream of 16 KiB reads is a thread-pool hop per chunk, slower here
// than the two hashes), this library only.
// --file-add (a driver other than file): the same 64 KiB add into a file store in the same runs,
// this library only, and the driver's add judged against it (rbd's target: >= 0.85x).
//
// Paths (--paths, all by default):
//   add    the add of a file stream (createReadStream) read in each --chunks size; glance_store
//          reads its source in at most that much per read
//   put    the add of an HTTP request body: curl uploads the image over loopback to a small
//          HTTP server in the measured process, which adds the body as it arrives
//   get    a whole read, each chunk counted in the measuring process
//   reuse  the same with GetOptions.reuseBuffers (glance_store's column: its plain get again)
//   serve  a whole read sent as an HTTP response, downloaded by curl to /dev/null
// Each figure is the median of --runs processes, the contenders interleaved (ours, theirs,
// ours, ...), with the spread (min-max) beside it. Each process does the operation more than
// once: the first is a fresh process's (a service's first image), the last a warm one's (a
// long-lived service). The two-hash limit (the slower of sha512sum and md5sum over the same
// bytes, one core each) is measured in the same runs, and beside it the same with OpenSSL's
// hashes (bench/hash-file.mjs). A driver's baseline (its backend's own tool: `cat`, `rbd
// export`, curl) reads the same image in the same runs. The table goes to stdout, the figures
// to bench/results/ as JSON, and with --docs the table into docs/performance.md, between the
// markers of --section (the driver's name by default).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: opts } = parseArgs({
  options: {
    driver: { type: 'string', default: 'file' },
    mib: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '5' },
    chunks: { type: 'string', default: '16384,65536,4194304' },
    paths: { type: 'string', default: 'add,put,get,reuse,serve' },
    section: { type: 'string' },
    help: { type: 'boolean', default: false },
    'add-reps': { type: 'string', default: '2' },
    'get-reps': { type: 'string', default: '4' },
    compare: { type: 'string' },
    small: { type: 'string', default: '2000' },
    'no-python': { type: 'boolean', default: false },
    verified: { type: 'boolean', default: false },
    'file-add': { type: 'boolean', default: false },
    inspect: { type: 'boolean', default: false },
    sliced: { type: 'boolean', default: false },
    docs: { type: 'boolean', default: false },
    work: { type: 'string', default: path.join(os.tmpdir(), 'glance-store-bench') },
  },
});
if (opts.help) {
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8');
  console.log(text.slice(text.indexOf('//'), text.indexOf('import ')).replace(/^\/\/ ?/gm, ''));
  process.exit(0);
}
const runs = Number(opts.runs);
const loadAtStart = os.loadavg().map((l) => Number(l.toFixed(2)));
const wanted = new Set(opts.paths.split(','));
const chunks = opts.chunks.split(',').map(Number);
const MiB = 1024 * 1024;
const PY = '/usr/bin/python3';

const driver = await import(`./drivers/${opts.driver}.mjs`);
rmSync(opts.work, { recursive: true, force: true });
mkdirSync(opts.work, { recursive: true });

// The contenders: this checkout, another revision built beside it, glance_store.
execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const libraries = [{ name: 'ours', index: path.join(root, 'dist/src/index.js') }];
let otherTree;
function removeOtherTree() {
  if (otherTree && existsSync(otherTree)) spawnSync('git', ['worktree', 'remove', '--force', otherTree], { cwd: root, stdio: 'ignore' });
  spawnSync('git', ['worktree', 'prune'], { cwd: root, stdio: 'ignore' });
}
if (opts.compare) {
  otherTree = path.join(opts.work, 'compare');
  // Removed however the run ends.
  process.on('exit', removeOtherTree);
  execFileSync('git', ['worktree', 'add', '--detach', otherTree, opts.compare], { cwd: root, stdio: 'ignore' });
  symlinkSync(path.join(root, 'node_modules'), path.join(otherTree, 'node_modules'));
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: otherTree, stdio: ['ignore', 'ignore', 'inherit'] });
  libraries.push({ name: opts.compare, index: path.join(otherTree, 'dist/src/index.js') });
}
const python = !opts['no-python'] && spawnSync(PY, ['-c', 'import glance_store'], { stdio: 'ignore' }).status === 0;
const PY_NAME = 'glance_store';

const target = driver.setup(opts.work);
const confFile = path.join(opts.work, 'glance-api.conf');
writeFileSync(confFile, target.conf);
// A store that needs a request context (cinder) names it once; both libraries get it.
const env = {
  ...process.env,
  ...(target.context ? { GLANCE_STORE_REFERENCE_CONTEXT: JSON.stringify(target.context) } : {}),
  // A store that logs in on its first call (vmware) is asked about this location before the timing
  // starts, as glance_store logs in while the store is configured: fresh figures are then like for like.
  ...(target.loginProbe ? { GLANCE_STORE_BENCH_LOGIN_PROBE: target.loginProbe } : {}),
};

// --file-add: a file store beside the driver's, for the add of the same image in the same runs.
const fileStore = opts['file-add'] && opts.driver !== 'file' ? (await import('./drivers/file.mjs')).setup(path.join(opts.work, 'file-store')) : undefined;
const fileConf = path.join(opts.work, 'file-store.conf');
if (fileStore) writeFileSync(fileConf, fileStore.conf);

function run(contender, ...args) {
  return runIn(confFile, target.store, contender, ...args);
}
function runIn(conf, store, contender, ...args) {
  const [cmd, argv] =
    contender === PY_NAME
      ? [PY, [path.join(root, 'bench/python/reference_bench.py'), conf, store, ...args]]
      : [process.execPath, [path.join(root, 'bench/worker.mjs'), libraries.find((l) => l.name === contender).index, conf, store, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (r.status !== 0) throw new Error(`${contender} ${args[0]} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function timed(cmd, args) {
  const t = performance.now();
  execFileSync(cmd, args, { stdio: 'ignore' });
  return (performance.now() - t) / 1000;
}

// The image: random bytes, in the page cache for every contender.
const src = path.join(opts.work, 'source.img');
{
  const fd = openSync(src, 'w');
  const block = Buffer.alloc(16 * MiB);
  const total = Number(opts.mib) * MiB;
  for (let done = 0; done < total; done += block.length) {
    randomFillSync(block);
    writeSync(fd, block, 0, Math.min(block.length, total - done));
  }
  closeSync(fd);
}
const bytes = statSync(src).size;
const warmCache = (file) => file && execFileSync('cat', [file], { stdio: 'ignore' });
warmCache(src);
// A read-only store (http) has its image put in place by its driver, not added.
const image = target.keep ? target.keep(src) : run('ours', 'keep', src);
const imageFile = image.location.startsWith('file://') ? image.location.slice('file://'.length) : undefined;

const contenders = [...libraries.map((l) => l.name), ...(python ? [PY_NAME] : [])];
// glance_store has no reused-buffer get: its column there is its plain get, measured again.
const inspected = opts.inspect && wanted.has('add') ? [{ name: 'add', chunk: Math.min(...chunks), inspect: true }] : [];
const paths = [
  ...(wanted.has('add') ? chunks.map((c) => ({ name: 'add', chunk: c })) : []),
  ...inspected,
  ...(opts.sliced && wanted.has('add') ? chunks.map((c) => ({ name: 'add', chunk: c, sliced: true })) : []),
  ...(fileStore ? [{ name: 'add', chunk: 65536, fileStore: true }] : []),
  ...(wanted.has('put') ? [{ name: 'put' }] : []),
  ...(wanted.has('get') ? [{ name: 'get' }] : []),
  ...(wanted.has('reuse') ? [{ name: 'get', reuse: true }] : []),
  ...(opts.verified ? [{ name: 'get', verify: true }, { name: 'get', reuse: true, verify: true }] : []),
  ...(wanted.has('serve') ? [{ name: 'serve' }] : []),
];
const anyAdd = paths.some((p) => p.name === 'add' || p.name === 'put');
const anyGet = paths.some((p) => p.name === 'get' || p.name === 'serve');
// The backend's own tool writes its own copy of the image once (its seconds, where it tells
// them, are the baseline's add), then reads it to /dev/null in every run.
const baseline = anyGet && target.baseline?.get ? target.baseline : undefined;
const baselineAddSeconds = baseline?.add?.(src, image.location);
/** figures[path key][contender] = { fresh: MB/s[], warm: MB/s[], rss: MB[] } */
const figures = {};
const hashes = { sha512sum: [], md5sum: [], sha512: [], md5: [] };
const nodeHash = (algo) => Number(execFileSync(process.execPath, [path.join(root, 'bench/hash-file.mjs'), algo, src], { encoding: 'utf8' }).trim());
const key = (p) =>
  p.chunk
    ? `add ${chunkName(p.chunk)}${p.inspect ? ' (inspect)' : ''}${p.sliced ? ' (sliced source)' : ''}${p.fileStore ? ' (file store)' : ''}`
    : p.name === 'put'
      ? 'add (HTTP PUT)'
      : p.name === 'serve'
        ? 'get (HTTP response)'
        : `get${p.verify ? ' verified' : ''}${p.reuse ? ' (reuseBuffers)' : ''}`;
const baselineGets = [];
function chunkName(c) {
  return c >= MiB ? `${c / MiB} MiB` : `${c / 1024} KiB`;
}
const mbps = (r) => r.bytes / 1e6 / r.seconds;
const checksums = new Set();

for (let i = 0; i < runs; i++) {
  if (anyAdd) {
    // The two-hash limit, measured beside the runs so that it sees the same machine.
    hashes.sha512sum.push(bytes / 1e6 / timed('sha512sum', [src]));
    hashes.md5sum.push(bytes / 1e6 / timed('md5sum', [src]));
    // The same with OpenSSL's hashes (what both libraries compute with), for reference.
    hashes.sha512.push(bytes / 1e6 / nodeHash('sha512'));
    hashes.md5.push(bytes / 1e6 / nodeHash('md5'));
  }
  if (baseline) baselineGets.push(bytes / 1e6 / (await baseline.get()));
  for (const p of paths) {
    for (const c of contenders) {
      // glance_store has neither a verified read nor an inspection of its own.
      // The file store's add beside another driver's, and the sliced source, are this library's only.
      if ((p.verify || p.inspect || p.sliced || p.fileStore) && c !== 'ours') continue;
      const verifyArg = p.verify ? [`verify:${image.checksum}:${image.multihash}`] : [];
      const out =
        p.fileStore
          ? runIn(fileConf, fileStore.store, c, 'add', src, String(p.chunk), opts['add-reps'])
          : p.name === 'add'
          ? run(c, 'add', src, String(p.chunk), opts['add-reps'], ...(p.inspect ? ['inspect'] : p.sliced ? ['sliced'] : []))
          : p.name === 'put'
            ? run(c, 'put', src, opts['add-reps'])
            : (warmCache(imageFile), run(c, p.name, image.location, opts['get-reps'], ...(p.reuse && c !== PY_NAME ? ['reuse'] : verifyArg.length ? ['plain'] : []), ...verifyArg));
      if (out.checksum) checksums.add(`${out.checksum} ${out.multihash}`);
      const f = ((figures[key(p)] ??= {})[c] ??= { fresh: [], warm: [], rss: [] });
      f.fresh.push(mbps(out.runs[0]));
      f.warm.push(mbps(out.runs.at(-1)));
      f.rss.push(out.peakRssMB);
    }
  }
  process.stderr.write(`run ${i + 1}/${runs} done\n`);
}
if (checksums.size > 1) throw new Error(`the contenders' hashes differ: ${[...checksums].join(', ')}`);

let small;
if (Number(opts.small) > 0) {
  small = {};
  for (let i = 0; i < Math.min(runs, 3); i++) {
    for (const c of contenders) {
      const r = run(c, 'small', opts.small, String(64 * 1024), '16');
      (small[c] ??= []).push({ perSecond: r.count / r.seconds, p50: r.p50, p99: r.p99 });
    }
  }
}
if (!target.keep) run('ours', 'delete', image.location);
baseline?.cleanup?.();

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), all: xs });
const results = {
  driver: driver.name,
  date: new Date().toISOString(),
  mib: Number(opts.mib),
  runs,
  contenders,
  measured: paths.map(key),
  hashLimit: anyAdd ? { sha512sum: spread(hashes.sha512sum), md5sum: spread(hashes.md5sum), opensslSha512: spread(hashes.sha512), opensslMd5: spread(hashes.md5) } : undefined,
  baseline: baseline ? { name: baseline.name, get: spread(baselineGets), ...(typeof baselineAddSeconds === 'number' ? { addMBps: bytes / 1e6 / baselineAddSeconds } : {}) } : undefined,
  paths: Object.fromEntries(
    Object.entries(figures).map(([k, byC]) => [k, Object.fromEntries(Object.entries(byC).map(([c, f]) => [c, { fresh: spread(f.fresh), warm: spread(f.warm), peakRssMB: spread(f.rss) }]))]),
  ),
  small,
};
const limit = anyAdd ? Math.min(results.hashLimit.sha512sum.median, results.hashLimit.md5sum.median) : undefined;
const opensslLimit = anyAdd ? Math.min(results.hashLimit.opensslSha512.median, results.hashLimit.opensslMd5.median) : undefined;
if (anyAdd) Object.assign(results.hashLimit, { limit, opensslLimit });

// Targets (issue 19), each judged on this run's own figures.
const fig = (k, c, proc) => results.paths[k]?.[c]?.[proc]?.median;
const targets = [];
const judge = (name, pass, detail) => targets.push({ name, pass, detail });
const ratio = (a, b) => (a && b ? a / b : undefined);
const x = (r) => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);
const add64 = 'add 64 KiB';
for (const proc of ['fresh', 'warm']) {
  if (python && fig(add64, 'ours', proc)) {
    const r = ratio(fig(add64, 'ours', proc), fig(add64, PY_NAME, proc));
    judge(`add (64 KiB chunks, ${proc} process) >= 1.4x glance_store`, r >= 1.4, x(r));
  }
}
for (const proc of ['fresh', 'warm']) {
  const ours = fig(add64, 'ours', proc);
  if (ours) {
    judge(`add (64 KiB chunks, ${proc} process) within 1.15x of the two-hash limit`, ours * 1.15 >= limit, `${ours.toFixed(0)} vs ${limit.toFixed(0)} MB/s (${x(limit / ours)})`);
    judge(`add (64 KiB chunks, ${proc} process) within 1.15x of the two-hash limit with OpenSSL's hashes`, ours * 1.15 >= opensslLimit, `${ours.toFixed(0)} vs ${opensslLimit.toFixed(0)} MB/s (${x(opensslLimit / ours)})`);
  }
}
for (const source of ['', ' (sliced source)']) {
  for (const proc of ['fresh', 'warm']) {
    const a = fig(`add 16 KiB${source}`, 'ours', proc);
    const b = fig(`add 4 MiB${source}`, 'ours', proc);
    if (a && b) judge(`add with 16 KiB chunks no more than 10% slower than with 4 MiB${source} (${proc} process)`, a >= 0.9 * b, `${a.toFixed(0)} vs ${b.toFixed(0)} MB/s (${x(a / b)})`);
  }
}
if (fileStore) {
  for (const proc of ['fresh', 'warm']) {
    const [a, b] = [fig(add64, 'ours', proc), fig(`${add64} (file store)`, 'ours', proc)];
    if (a && b) judge(`${driver.name} add (64 KiB chunks, ${proc} process) >= 0.85x the file store's add in the same runs`, a >= 0.85 * b, `${a.toFixed(0)} vs ${b.toFixed(0)} MB/s (${x(a / b)})`);
  }
}
if (opts.inspect) {
  const plain = `add ${chunkName(Math.min(...chunks))}`;
  for (const proc of ['fresh', 'warm']) {
    const a = fig(`${plain} (inspect)`, 'ours', proc);
    const b = fig(plain, 'ours', proc);
    if (a && b) judge(`${plain} with inspection within 3% of the same add without it (${proc} process)`, a >= 0.97 * b, `${a.toFixed(0)} vs ${b.toFixed(0)} MB/s (${x(a / b)})`);
  }
}
const putKey = 'add (HTTP PUT)';
for (const proc of ['fresh', 'warm']) {
  if (python && fig(putKey, 'ours', proc)) {
    const r = ratio(fig(putKey, 'ours', proc), fig(putKey, PY_NAME, proc));
    judge(`add of an HTTP request body (${proc} process) >= 1.4x glance_store`, r >= 1.4, `${x(r)} (${fig(putKey, 'ours', proc).toFixed(0)} vs ${fig(putKey, PY_NAME, proc).toFixed(0)} MB/s)`);
  }
  const ours = fig(putKey, 'ours', proc);
  if (ours) judge(`add of an HTTP request body (${proc} process) within 1.15x of the two-hash limit with OpenSSL's hashes`, ours * 1.15 >= opensslLimit, `${ours.toFixed(0)} vs ${opensslLimit.toFixed(0)} MB/s (${x(opensslLimit / ours)})`);
}
for (const k of ['get', 'get (reuseBuffers)', 'get (HTTP response)']) {
  for (const [proc, what] of [['fresh', 'first read of a process'], ['warm', `read ${opts['get-reps']} of one process`]]) {
    if (python && fig(k, 'ours', proc)) {
      const r = ratio(fig(k, 'ours', proc), fig(k, PY_NAME, proc));
      judge(`${k} (${what}) >= 1.0x glance_store`, r >= 1.0, `${x(r)} (${fig(k, 'ours', proc).toFixed(0)} vs ${fig(k, PY_NAME, proc).toFixed(0)} MB/s)`);
    }
  }
}
// A verified get costs what hashing costs: within 10% of the plain get where both hashes are faster
// than the backend, else bounded by the slower hash (the two run on a core each).
for (const [v, plain] of opts.verified ? [['get verified', 'get'], ['get verified (reuseBuffers)', 'get (reuseBuffers)']] : []) {
  for (const proc of ['fresh', 'warm']) {
    const [a, b] = [fig(v, 'ours', proc), fig(plain, 'ours', proc)];
    if (!a || !b) continue;
    const bound = Math.min(b, opensslLimit);
    const what = b <= opensslLimit ? `the ${plain}` : "the slower hash (OpenSSL's, slower than the backend here)";
    judge(`${v} (${proc} process) within 10% of ${what}`, a >= 0.9 * bound, `${a.toFixed(0)} vs ${bound.toFixed(0)} MB/s (${plain}: ${b.toFixed(0)} MB/s, ${x(a / b)})`);
  }
}
if (python) {
  const rss = (k, c) => results.paths[k]?.[c]?.peakRssMB.median;
  const getKeys = Object.keys(results.paths).filter((k) => k.startsWith('get'));
  if (getKeys.length) {
    // Rows glance_store has no figure for (verified gets, the file store's add) count for ours only.
    const getLimit = Math.max(150, ...getKeys.map((k) => rss(k, PY_NAME)).filter(Number.isFinite));
    const getRss = Math.max(...getKeys.map((k) => rss(k, 'ours')));
    judge('peak RSS of a get <= max(150 MB, glance_store\'s)', getRss <= getLimit, `${getRss.toFixed(0)} vs ${getLimit.toFixed(0)} MB`);
  }
  const addKeys = Object.keys(results.paths).filter((k) => k.startsWith('add'));
  if (addKeys.length) {
    const worst = Math.max(...addKeys.filter((k) => !k.endsWith('(file store)')).map((k) => rss(k, 'ours')));
    const addLimit = Math.max(200, 1.2 * Math.max(...addKeys.map((k) => rss(k, PY_NAME)).filter(Number.isFinite)));
    judge('peak RSS of an add <= max(200 MB, 1.2x glance_store\'s)', worst <= addLimit, `${worst.toFixed(0)} vs ${addLimit.toFixed(0)} MB`);
  }
}
// Small images: each add is a whole round trip to the backend (for cinder a volume created, attached
// and detached), so the seconds per image are the backend's fixed cost per image.
const smallPerSecond = (c) => median(small[c].map((r) => r.perSecond));
if (python && small) {
  const [a, b] = [smallPerSecond('ours'), smallPerSecond(PY_NAME)];
  judge('small images (64 KiB, concurrency 16) per second >= glance_store', a >= b, `${a.toFixed(1)} vs ${b.toFixed(1)} adds/s (${x(a / b)})`);
}
if (baseline) {
  const base = results.baseline.get.median;
  for (const k of ['get', 'get (HTTP response)']) {
    const ours = fig(k, 'ours', 'warm');
    if (ours) judge(`${k} (warm) within 1.2x of ${baseline.name} (to /dev/null)`, ours * 1.2 >= base, `${ours.toFixed(0)} vs ${base.toFixed(0)} MB/s (${x(ours / base)})`);
  }
}
if (results.baseline?.addMBps) {
  const b = results.baseline;
  const ours = fig(add64, 'ours', 'warm') ?? fig(Object.keys(results.paths).find((k) => k.startsWith('add')), 'ours', 'warm');
  if (ours) judge(`add (warm process) within 1.2x of ${b.name}'s upload`, ours * 1.2 >= b.addMBps, `${ours.toFixed(0)} vs ${b.addMBps.toFixed(0)} MB/s (${x(b.addMBps / ours)})`);
}
results.targets = targets;

const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) ?? [])[1] ?? 'unknown';
results.machine = {
  cpus: os.cpus().length,
  cpu,
  memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
  loadAtStart,
  loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  node: process.version,
  python: python ? execFileSync(PY, ['--version'], { encoding: 'utf8' }).trim() : null,
  glanceStore: python ? execFileSync(PY, ['-c', 'import importlib.metadata as m; print(m.version("glance_store"))'], { encoding: 'utf8' }).trim() : null,
};

// The table: one row per path and process, every contender side by side.
const f0 = (n) => (n === undefined ? 'n/a' : n.toFixed(0));
const cell = (s) => (s ? `${f0(s.median)} (${f0(s.min)}-${f0(s.max)})` : 'n/a');
const others = contenders.filter((c) => c !== 'ours');
const lines = [];
lines.push(`### ${driver.name} store`, '');
lines.push(
  `Machine: ${results.machine.cpus} x ${cpu}, ${results.machine.memoryGiB} GiB, Node ${process.version}${python ? `, ${results.machine.python}, glance_store ${results.machine.glanceStore}` : ''}; load average at the start ${results.machine.loadAtStart.join(' / ')}, at the end ${results.machine.loadAverage.join(' / ')}. ${Number(opts.mib)} MiB random image${imageFile ? ', page cache warm' : ''}, median (min-max) of ${runs} processes per figure, contenders interleaved. Run: ${results.date}.`,
  '',
);
// Without other contenders (sheepdog) the table has no comparison columns.
lines.push(`| ${['path', 'process', 'ours MB/s', ...others.flatMap((c) => [`${c} MB/s`, `ours / ${c}`]), `peak RSS MB (${contenders.join(' / ')})`].join(' | ')} |`);
lines.push(`| ${Array(3 + 2 * others.length + 1).fill('---').join(' | ')} |`);
for (const [k, byC] of Object.entries(results.paths)) {
  for (const proc of ['fresh', 'warm']) {
    const row = [k, proc, cell(byC.ours[proc])];
    for (const c of others) row.push(cell(byC[c]?.[proc]), x(ratio(byC.ours[proc].median, byC[c]?.[proc].median)));
    row.push(contenders.map((c) => f0(byC[c]?.peakRssMB.median)).join(' / '));
    lines.push(`| ${row.join(' | ')} |`);
  }
}
if (baseline) {
  const add = results.baseline.addMBps;
  lines.push('', `${baseline.name} of the same image to /dev/null, in the same runs: ${cell(results.baseline.get)} MB/s${add ? `; its one upload of the image beforehand: ${add.toFixed(0)} MB/s` : ''}.`);
}
if (anyAdd) lines.push(
  '',
  `Two-hash limit: sha512sum ${cell(results.hashLimit.sha512sum)} MB/s, md5sum ${cell(results.hashLimit.md5sum)} MB/s: ${f0(limit)} MB/s. With OpenSSL's hashes (node's crypto, one process each; what both libraries hash with): sha512 ${cell(results.hashLimit.opensslSha512)}, md5 ${cell(results.hashLimit.opensslMd5)} MB/s: ${f0(opensslLimit)} MB/s.`,
);
if (small) {
  const s = (c) => {
    const xs = small[c];
    return `${f0(smallPerSecond(c))} adds/s, ${(1000 / smallPerSecond(c)).toFixed(1)} ms per image (p50 ${median(xs.map((r) => r.p50)).toFixed(2)} ms, p99 ${median(xs.map((r) => r.p99)).toFixed(2)} ms)`;
  };
  lines.push('', `Small images (${opts.small} adds of 64 KiB, concurrency 16, fresh process, median of ${small.ours.length}): ${contenders.map((c) => `${c} ${s(c)}`).join('; ')}.`);
}
lines.push('', 'Targets:', '');
for (const t of targets) lines.push(`- ${t.pass ? 'PASS' : 'MISS'} ${t.name}: ${t.detail}`);
const section = lines.join('\n');
console.log(section);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
// A --verified run is kept apart from the day's plain run of the same driver.
const jsonFile = path.join(root, `bench/results/${opts.section ?? driver.name}${opts.verified ? '-verified-get' : ''}-${results.date.slice(0, 10)}.json`);
writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
console.error(`figures: ${path.relative(root, jsonFile)}`);
if (opts.docs) {
  const doc = path.join(root, 'docs/performance.md');
  const name = opts.section ?? driver.name;
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const command = `\`npm run bench -- ${process.argv.slice(2).join(' ')}\``.replace(' -- `', '`');
  const block = `${start}\n${command}\n\n${section}\n${end}`;
  let text = readFileSync(doc, 'utf8');
  text = text.includes(start) ? text.replace(new RegExp(`${start}[\\s\\S]*?${end}`), () => block) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(doc, text);
}
removeOtherTree();
// A backend the driver started for the run (the vmware bench's own vcsim) ends before its work directory goes.
target.teardown?.();
rmSync(opts.work, { recursive: true, force: true });
