/**
 * Calls the reference Python glance_store (test/interop/reference_store.py)
 * from tests. It imports only under /usr/bin/python3; when it is missing the
 * interop tests fail under `npm test` (which installs it) and skip otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore } from '../../src/multistore.js';
import type { RequestContext } from '../../src/driver.js';
import { parseConfig } from '../../src/config/parse.js';
import { readAll } from '../../src/testing/index.js';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./reference_store.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

export async function referenceAvailable(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  return run(PYTHON, ['-c', 'import glance_store, oslo_config']).then(
    () => true,
    () => false,
  );
}

export interface ReferenceAdd {
  location: string;
  size: number;
  checksum: string;
  multihash: string;
  metadata: Record<string, unknown>;
}

type ReferenceCommand = 'add' | 'get' | 'size' | 'delete' | 'parse';

export async function reference<T = Record<string, unknown>>(confFile: string, command: ReferenceCommand, ...args: string[]): Promise<T> {
  return referenceWith<T>(undefined, confFile, command, ...args);
}

/**
 * As reference, with the request context glance_store is given (as Glance
 * passes one); the cinder store needs one, `serviceCatalog: []` at least.
 */
export async function referenceWith<T = Record<string, unknown>>(context: RequestContext | undefined, confFile: string, command: ReferenceCommand, ...args: string[]): Promise<T> {
  const env = context
    ? { ...process.env, GLANCE_STORE_REFERENCE_CONTEXT: JSON.stringify({ user_id: context.userId, project_id: context.projectId, auth_token: context.authToken, service_catalog: context.serviceCatalog }) }
    : process.env;
  const { stdout } = await run(PYTHON, [SCRIPT, confFile, command, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 300_000, env });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}

/**
 * The round trip every interoperability test makes, for each size: Python
 * glance_store adds an image that this library reads and deletes; this
 * library adds one that glance_store reads and deletes. Locations must have
 * the same form (all but the image id).
 */
export async function roundTripWithReference(options: {
  /** The glance-api.conf both libraries use. */
  conf: string;
  storeId: string;
  sizes: readonly number[];
  /** The request context both libraries are given on every call. */
  context?: RequestContext;
}): Promise<void> {
  const { storeId } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'gs-interop-'));
  const confFile = path.join(dir, 'glance-api.conf');
  writeFileSync(confFile, options.conf);
  const ms = await MultiStore.create(parseConfig(options.conf));
  try {
    await roundTrips(ms, confFile, storeId, dir, options.sizes, options.context);
  } finally {
    await ms.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function roundTrips(ms: MultiStore, confFile: string, storeId: string, dir: string, sizes: readonly number[], context?: RequestContext): Promise<void> {
  const opts = { store: storeId, context };
  for (const size of sizes) {
    const bytes = randomBytes(size);
    const src = path.join(dir, 'src.bin');
    writeFileSync(src, bytes);
    const py = await referenceWith<ReferenceAdd>(context, confFile, 'add', storeId, randomUUID(), src);
    assert.ok((await readAll((await ms.get(py.location, opts)).stream)).equals(bytes), `glance_store's ${size}-byte image reads back different bytes`);
    assert.equal(await ms.getSize(py.location, opts), size);

    const ours = await ms.add(randomUUID(), bytes, { ...opts, size });
    assert.equal(ours.location.replace(/[^/]+$/, ''), py.location.replace(/[^/]+$/, ''), 'locations differ in form from glance_store\'s');
    assert.equal(ours.checksum, py.checksum);
    assert.equal(ours.multihash, py.multihash);
    await ms.delete(py.location, opts);

    const out = path.join(dir, 'out.bin');
    const read = await referenceWith<{ written: number }>(context, confFile, 'get', storeId, ours.location, out);
    assert.equal(read.written, size);
    assert.ok(readFileSync(out).equals(bytes), `glance_store reads our ${size}-byte image back different`);
    await referenceWith(context, confFile, 'delete', storeId, ours.location);
    await assert.rejects(ms.getSize(ours.location, opts), (err: { code?: string }) => err.code === 'NotFound');
  }
}

