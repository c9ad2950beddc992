// Measured operations in one process of their own, so its peak RSS is its own. The first
// operation is a fresh process's (a service's first image); the later ones a warm process's.
// Usage: node bench/worker.mjs DIST_INDEX CONF_FILE STORE op ...
//   add SRC CHUNK REPS [inspect|sliced]  REPS adds of SRC read in CHUNK-byte chunks, each image
//                             deleted after (inspect: with the add's inspect option on; sliced: SRC
//                             read in 4 MiB and handed on in CHUNK-byte subarrays)
//   keep SRC                  one add of SRC, kept: prints its location
//   get LOCATION REPS [reuse|plain] [verify:CHECKSUM:MULTIHASH] REPS whole reads of LOCATION (reuse: with
//                            GetOptions.reuseBuffers; verify: a verified get against those hashes)
//   serve LOCATION REPS       REPS downloads of LOCATION as an HTTP response, each by curl to /dev/null
//   put SRC REPS              REPS uploads of SRC by curl (HTTP PUT over loopback), each request body added
//                             as it arrives, then deleted
//   small COUNT BYTES CONCURRENCY
//   delete LOCATION
// DIST_INDEX is the built library to measure (this checkout's, or another revision's).
import { readFileSync, createReadStream, statSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { curl } from './curl.mjs';

const [index, confFile, store, op, ...args] = process.argv.slice(2);
const { MultiStore, parseConfig } = await import(pathToFileURL(index).href);
const ms = await MultiStore.create(parseConfig(readFileSync(confFile, 'utf8')));
// The request context bench/run.mjs passes for stores that need one (cinder), in reference_store.py's format.
const spec = process.env.GLANCE_STORE_REFERENCE_CONTEXT ? JSON.parse(process.env.GLANCE_STORE_REFERENCE_CONTEXT) : undefined;
const context = spec && { userId: spec.user_id, projectId: spec.project_id, authToken: spec.auth_token, serviceCatalog: spec.service_catalog };
// The store's login, before anything is timed (bench/run.mjs sets it for a store that logs in on
// first use where glance_store logs in at configure): the probed location need not exist.
if (process.env.GLANCE_STORE_BENCH_LOGIN_PROBE) await ms.getSize(process.env.GLANCE_STORE_BENCH_LOGIN_PROBE, { store, context }).catch(() => undefined);

/** SRC read in 4 MiB, handed on in `chunk`-byte views: a source whose own cost per chunk is next to nothing. */
async function* sliced(src, chunk) {
  for await (const big of createReadStream(src, { highWaterMark: 4 << 20 })) {
    for (let at = 0; at < big.length; at += chunk) yield big.subarray(at, at + chunk);
  }
}

async function addOnce(src, chunk, mode) {
  const size = statSync(src).size;
  const inspect = mode === 'inspect';
  const data = mode === 'sliced' ? sliced(src, chunk) : createReadStream(src, { highWaterMark: chunk });
  const t = performance.now();
  const r = await ms.add(randomUUID(), data, { store, size, context, ...(inspect ? { inspect: true } : {}) });
  if (inspect && r.inspection?.virtualSize !== size) throw new Error(`inspection gave ${JSON.stringify(r.inspection)}`);
  return { seconds: (performance.now() - t) / 1000, bytes: r.size, location: r.location, checksum: r.checksum, multihash: r.multihash };
}

let out;
if (op === 'add') {
  const [src, chunk, reps] = [args[0], Number(args[1]), Number(args[2])];
  const runs = [];
  let last;
  for (let i = 0; i < reps; i++) {
    last = await addOnce(src, chunk, args[3]);
    runs.push({ seconds: last.seconds, bytes: last.bytes });
    await ms.delete(last.location, { store, context });
  }
  out = { runs, checksum: last.checksum, multihash: last.multihash };
} else if (op === 'keep') {
  out = await addOnce(args[0], 4 << 20);
} else if (op === 'get') {
  const runs = [];
  for (let i = 0; i < Number(args[1]); i++) {
    const t = performance.now();
    const [, checksum, multihash] = args[3]?.startsWith('verify:') ? args[3].split(':') : [];
    const g = await ms.get(args[0], { store, context, ...(args[2] === 'reuse' ? { reuseBuffers: true } : {}), ...(checksum ? { verify: { checksum, multihash } } : {}) });
    let bytes = 0;
    for await (const c of g.stream) bytes += c.length;
    runs.push({ seconds: (performance.now() - t) / 1000, bytes });
  }
  out = { runs };
} else if (op === 'serve' || op === 'put') {
  // A small HTTP server in this process, as a service built on the library would be; the
  // client is curl in its own process, on the same loopback.
  let lastAdd;
  const server = createServer((req, res) => {
    const fail = (err) => {
      console.error(err);
      res.destroy();
    };
    if (op === 'serve') {
      ms.get(args[0], { store, context })
        .then((g) => {
          res.writeHead(200, { 'content-length': g.size });
          return pipeline(g.stream, res);
        })
        .catch(fail);
    } else {
      ms.add(randomUUID(), req, { store, size: Number(req.headers['content-length']), context })
        .then((r) => {
          lastAdd = r;
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ location: r.location }));
        })
        .catch(fail);
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/image`;
  const runs = [];
  for (let i = 0; i < Number(args[1]); i++) {
    const r = await curl(url, op === 'put' ? args[0] : undefined);
    runs.push(r);
    if (op === 'put') await ms.delete(lastAdd.location, { store, context });
  }
  server.close();
  out = { runs, ...(lastAdd ? { checksum: lastAdd.checksum, multihash: lastAdd.multihash } : {}) };
} else if (op === 'small') {
  const [count, size, concurrency] = args.map(Number);
  const data = randomBytes(size);
  const latencies = [];
  const locations = [];
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const s = performance.now();
        const r = await ms.add(randomUUID(), data, { store, context });
        latencies.push(performance.now() - s);
        locations.push(r.location);
      }
    }),
  );
  const seconds = (performance.now() - t) / 1000;
  for (const l of locations) await ms.delete(l, { store, context });
  latencies.sort((a, b) => a - b);
  out = { seconds, count, p50: latencies[Math.floor(count * 0.5)], p99: latencies[Math.floor(count * 0.99)] };
} else if (op === 'delete') {
  await ms.delete(args[0], { store, context });
  out = {};
} else {
  throw new Error(`unknown operation ${op}`);
}
await ms.close();
console.log(JSON.stringify({ ...out, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
