/**
 * Attachments of one volume by several readers, against the real Cinder
 * (test/services/cinder.sh): Cinder refuses an attachment of a volume in a
 * transitional state with 400, which the store tries again
 * (cinder_attachment_retry_attempts, glance_store master), so processes of
 * one host reading one image at once all succeed, and leave no attachment.
 * Runs under the backend lock.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { MultiStore, parseConfig, type Logger } from '../src/index.js';
import { parseCinderLocation } from '../src/drivers/cinder/location.js';
import { readAll } from '../src/testing/index.js';
import { serviceEnv } from './services/env.js';
import { attachmentsOf, cinderCall, conf, contextOf } from './services/cinder-api.js';

const cinder = serviceEnv('cinder');
const run = promisify(execFile);
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const indexUrl = new URL('../dist/src/index.js', import.meta.url).href;

/** A Node process of this host that reads the image once, through its own MultiStore, and prints its md5. */
const readerScript = `
const { MultiStore, parseConfig } = await import(${JSON.stringify(indexUrl)});
const { createHash } = await import('node:crypto');
const [conf, location, context] = [process.env.GS_CONF, process.env.GS_LOCATION, JSON.parse(process.env.GS_CONTEXT)];
const ms = await MultiStore.create(parseConfig(conf));
try {
  const { stream } = await ms.get(location, { context });
  const h = createHash('md5');
  for await (const c of stream) h.update(c);
  console.log(JSON.stringify({ md5: h.digest('hex') }));
} finally {
  await ms.close();
}`;

/** Another host attaches the volume, as Nova would: the store's own attachment is then refused (400). */
async function attachElsewhere(env: Record<string, string>, volumeId: string): Promise<string> {
  const a = await cinderCall<{ attachment: { id: string } }>(env, 'POST', '/attachments', { attachment: { volume_uuid: volumeId, mode: 'ro' } });
  expect(a.status).toBe(200);
  const id = a.data.attachment.id;
  const upd = await request(`${env['CINDER_URL']}/${env['CINDER_PROJECT_ID']}/attachments/${id}`, {
    method: 'PUT',
    headers: { 'x-auth-token': env['CINDER_TOKEN']!, 'openstack-api-version': 'volume 3.54', 'content-type': 'application/json' },
    body: JSON.stringify({ attachment: { connector: { host: 'other-host', ip: '127.0.0.2', platform: 'x86_64', os_type: 'linux', multipath: false, mountpoint: '/dev/vdb' } } }),
  });
  await upd.body.text();
  expect(upd.statusCode).toBe(200);
  expect((await cinderCall(env, 'POST', `/attachments/${id}/action`, { 'os-complete': null })).status).toBe(204);
  return id;
}

describe.skipIf(!cinder)('cinder attachments of one volume by several readers', () => {
  const env = cinder!;
  const context = cinder ? contextOf(cinder) : {};
  let lockDir: string;
  let text: string;
  let ms: MultiStore;
  const debug: string[] = [];

  beforeAll(async () => {
    lockDir = await mkdtemp(path.join(tmpdir(), 'gs-cinder-locks-'));
    text = conf(env, `cinder_lock_path = ${lockDir}\n`);
    const none = () => undefined;
    const logger: Logger = { debug: (_o, m) => void debug.push(String(m)), info: none, warn: none, error: none };
    ms = await MultiStore.create(parseConfig(text), { logger });
  });
  afterAll(async () => {
    await ms?.close();
    if (lockDir) await rm(lockDir, { recursive: true, force: true });
  });

  it('three processes of this host read one image at once: both get its bytes, and no attachment is left', async () => {
    const bytes = randomBytes(6 * 1024 * 1024 + 5);
    const r = await ms.add(randomUUID(), bytes, { context, size: bytes.length });
    const volumeId = parseCinderLocation(r.location).volumeId;
    try {
      const envFor = { ...process.env, GS_CONF: text, GS_LOCATION: r.location, GS_CONTEXT: JSON.stringify(context) };
      const readers = await Promise.all([0, 1, 2].map(() => run(process.execPath, ['--input-type=module', '-e', readerScript], { env: envFor, timeout: 120_000 })));
      for (const out of readers) expect(JSON.parse(out.stdout.trim())).toEqual({ md5: md5(bytes) });
      expect(await attachmentsOf(env, volumeId)).toEqual([]);
      const volume = await cinderCall<{ volume: { status: string } }>(env, 'GET', `/volumes/${volumeId}`);
      expect(volume.data.volume.status).toBe('available');
      // Their detaches went through the volume's lock file in cinder_lock_path.
      expect(await readdir(lockDir)).toContain(`glance-store-volume-${volumeId}.lock`);
    } finally {
      await ms.delete(r.location, { context });
    }
  }, 180_000);

  it('retries an attachment refused in a transitional state until the other reader lets go', async () => {
    const bytes = randomBytes(5000);
    const r = await ms.add(randomUUID(), bytes, { context, size: bytes.length });
    const volumeId = parseCinderLocation(r.location).volumeId;
    const other = await attachElsewhere(env, volumeId);
    try {
      debug.length = 0;
      const started = Date.now();
      // The other host lets go after 3 s: the store's attempts at 0, 2 and 6 s; the third succeeds.
      const letGo = new Promise((resolve) => setTimeout(resolve, 3000)).then(() => cinderCall(env, 'DELETE', `/attachments/${other}`));
      const got = await ms.get(r.location, { context });
      expect(md5(await readAll(got.stream))).toBe(md5(bytes));
      await letGo;
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(debug.filter((m) => m.includes('refused in a transitional state')).length).toBeGreaterThanOrEqual(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await attachmentsOf(env, volumeId)).toEqual([]);
    } finally {
      await cinderCall(env, 'DELETE', `/attachments/${other}`);
      await ms.delete(r.location, { context });
    }
  }, 120_000);

  it('with cinder_attachment_retry_attempts = 1, a refused attachment is InUse at once', async () => {
    const once = await MultiStore.create(parseConfig(conf(env, `cinder_attachment_retry_attempts = 1\ncinder_lock_path = ${lockDir}\n`)));
    const bytes = randomBytes(1000);
    const r = await once.add(randomUUID(), bytes, { context, size: bytes.length });
    const volumeId = parseCinderLocation(r.location).volumeId;
    const other = await attachElsewhere(env, volumeId);
    try {
      const started = Date.now();
      await expect(once.get(r.location, { context })).rejects.toMatchObject({ code: 'InUse', message: expect.stringMatching(/status must be available or/i) });
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await cinderCall(env, 'DELETE', `/attachments/${other}`);
      await once.delete(r.location, { context });
      await once.close();
    }
  }, 120_000);

  it('refuses a cinder_attachment_retry_attempts below 1 at start', async () => {
    await expect(MultiStore.create(parseConfig(conf(env, 'cinder_attachment_retry_attempts = 0\n')))).rejects.toMatchObject({ code: 'BadStoreConfiguration', message: /cinder_attachment_retry_attempts/ });
  });
});
