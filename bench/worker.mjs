// One measured operation in its own process, so its peak RSS is its own.
// Usage: node bench/worker.mjs CONF_FILE STORE add SRC | get LOCATION | small COUNT BYTES CONCURRENCY
import { readFileSync, createReadStream, statSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { MultiStore, parseConfig } from '../dist/src/index.js';

const [confFile, store, op, ...args] = process.argv.slice(2);
const ms = await MultiStore.create(parseConfig(readFileSync(confFile, 'utf8')));
// The request context bench/run.mjs passes for stores that need one (cinder), in reference_store.py's format.
const spec = process.env.GLANCE_STORE_REFERENCE_CONTEXT ? JSON.parse(process.env.GLANCE_STORE_REFERENCE_CONTEXT) : undefined;
const context = spec && { userId: spec.user_id, projectId: spec.project_id, authToken: spec.auth_token, serviceCatalog: spec.service_catalog };
const peakRssMB = () => process.resourceUsage().maxRSS / 1024;
let out;
if (op === 'add') {
  const size = statSync(args[0]).size;
  const t = performance.now();
  const r = await ms.add(randomUUID(), createReadStream(args[0], { highWaterMark: 4 << 20 }), { store, size, context });
  const seconds = (performance.now() - t) / 1000;
  out = { seconds, bytes: r.size, location: r.location, checksum: r.checksum, multihash: r.multihash };
} else if (op === 'get') {
  const t = performance.now();
  const g = await ms.get(args[0], { store, context });
  let bytes = 0;
  for await (const c of g.stream) bytes += c.length;
  out = { seconds: (performance.now() - t) / 1000, bytes };
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
}
await ms.close();
console.log(JSON.stringify({ ...out, peakRssMB: peakRssMB() }));
