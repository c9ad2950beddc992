/**
 * `glance-store ls`, `get IMAGE_ID --store` and `audit` against the real
 * backends: an orphan, a missing image, a corruption and a crash leftover
 * are planted behind the library's back, with each backend's own tools
 * (the filesystem, Ceph's rbd command, python3-swiftclient, python3-boto3),
 * and the audit must find each of them, and delete only the orphan.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiStore, parseConfig, type AddResult } from '../src/index.js';
import { serviceEnv } from './services/env.js';
import { removeDir, startStandin } from './services/sheepdog.js';
import { SheepConnection } from '../src/drivers/sheepdog/connection.js';
import { newVdi } from '../src/drivers/sheepdog/vdi.js';
import { claimVdi } from '../src/drivers/sheepdog/owner.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'dist/src/cli/main.js');
const PLANT = path.join(root, 'test/fixtures/audit-plant.py');
const ceph = serviceEnv('ceph');
const swift = serviceEnv('swift');
// Cinder behind Keystone: the store's own user, as a command run without Glance's request context needs.
const cinderKs = serviceEnv('cinder') ? serviceEnv('cinder-keystone') : undefined;

let work: string;
beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  work = mkdtempSync(path.join(tmpdir(), 'gs-audit-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], conf: string) {
  const file = path.join(work, 'glance-api.conf');
  writeFileSync(file, conf);
  const r = spawnSync(process.execPath, [BIN, '--config', file, ...args], { cwd: work, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

type Line = { type: string; id?: string; location?: string; imageId?: string | null; kind?: string; [k: string]: unknown };
const jsonLines = (out: string): Line[] => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);

/** A backend and how to change it behind the library's back. */
interface Backend {
  name: string;
  store: string;
  conf: string;
  imageBytes: number;
  /** An image the library never added. */
  orphan(id: string, bytes: Buffer): void;
  /** An added image removed behind the library's back. */
  vanish(id: string): void;
  /** An added image's bytes changed (same length). */
  corrupt(id: string, bytes: Buffer): void;
  /** What an add leaves when its process dies. */
  leftover(id: string): void;
  cleanup(ids: string[]): void;
}

/** Debian's python, where python3-swiftclient and python3-boto3 are installed (test/run.sh), whatever python3 is first on PATH. */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function plant(env: Record<string, string>, ...args: string[]): void {
  execFileSync(PYTHON, [PLANT, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
}

function tmpFile(bytes: Buffer): string {
  const f = path.join(work, `bytes-${randomUUID()}`);
  writeFileSync(f, bytes);
  return f;
}

const flipped = (b: Buffer) => Buffer.from(b.map((x, i) => (i === 7 ? x ^ 0xff : x)));

function fileBackend(): Backend {
  const dir = mkdtempSync(path.join(tmpdir(), 'gs-audit-file-'));
  return {
    name: 'file',
    store: 'local',
    conf: `[DEFAULT]\nenabled_backends = local:file, elsewhere:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${dir}/images\n[elsewhere]\nfilesystem_store_datadir = ${dir}/elsewhere\n`,
    imageBytes: 300_000,
    orphan: (id, bytes) => writeFileSync(path.join(dir, 'images', id), bytes),
    vanish: (id) => unlinkSync(path.join(dir, 'images', id)),
    corrupt: (id, bytes) => writeFileSync(path.join(dir, 'images', id), flipped(bytes)),
    leftover: (id) => {
      const partial = path.join(dir, 'images', `.${id}.0123456789ab.partial`);
      writeFileSync(partial, randomBytes(1000));
      // Written two hours ago: an add that died, not one still running.
      const then = new Date(Date.now() - 2 * 3600_000);
      utimesSync(partial, then, then);
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function rbdBackend(env: Record<string, string>): Backend {
  const pool = env['CEPH_POOL']!;
  const rbd = (...args: string[]) => execFileSync('rbd', ['-c', env['CEPH_CONF']!, '--id', env['CEPH_USER']!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const importImage = (id: string, bytes: Buffer) => {
    rbd('import', '--image-format', '2', tmpFile(bytes), `${pool}/${id}`);
    rbd('snap', 'create', `${pool}/${id}@snap`);
    rbd('snap', 'protect', `${pool}/${id}@snap`);
  };
  const remove = (id: string) => {
    for (const step of [['snap', 'unprotect', `${pool}/${id}@snap`], ['snap', 'purge', `${pool}/${id}`], ['rm', `${pool}/${id}`]]) {
      try {
        rbd(...step);
      } catch {
        // not there (no snapshot, already removed)
      }
    }
  };
  return {
    name: 'rbd',
    store: 'ceph',
    conf: `[DEFAULT]\nenabled_backends = ceph:rbd\n[glance_store]\ndefault_backend = ceph\n[ceph]\nrbd_store_pool = ${pool}\nrbd_store_user = ${env['CEPH_USER']}\nrbd_store_ceph_conf = ${env['CEPH_CONF']}\nrbd_store_chunk_size = 1\nrados_connect_timeout = 10\n`,
    imageBytes: 300_000,
    orphan: importImage,
    vanish: remove,
    corrupt: (id, bytes) => {
      // The location reads the snapshot, which cannot be written: the image is made again, its bytes changed.
      remove(id);
      importImage(id, flipped(bytes));
    },
    leftover: (id) => void rbd('create', '--size', '1M', `${pool}/${id}`),
    cleanup: (ids) => ids.forEach(remove),
  };
}

function swiftBackend(env: Record<string, string>): Backend {
  const container = `audit_${randomUUID().slice(0, 8)}`;
  const creds = { SWIFT_AUTH_URL: env['SWIFT_AUTH_URL']!, SWIFT_USER: env['SWIFT_USER']!, SWIFT_KEY: env['SWIFT_KEY']! };
  return {
    name: 'swift',
    store: 'objects',
    conf:
      `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_auth_address = ${env['SWIFT_AUTH_URL']}\n` +
      `swift_store_user = ${env['SWIFT_USER']}\nswift_store_key = ${env['SWIFT_KEY']}\nswift_store_auth_version = 1\nswift_store_container = ${container}\n` +
      `swift_store_create_container_on_put = true\nswift_store_large_object_size = 1\nswift_store_large_object_chunk_size = 1\n`,
    // Past the large-object size: a manifest and its segments, listed as one image.
    imageBytes: 2 * 1024 * 1024 + 5,
    orphan: (id, bytes) => plant(creds, 'swift-put', container, id, tmpFile(bytes)),
    vanish: (id) => {
      plant(creds, 'swift-delete', container, id);
    },
    corrupt: (id, bytes) => plant(creds, 'swift-put', container, id, tmpFile(flipped(bytes))),
    leftover: (id) => plant(creds, 'swift-put', container, `${id}-00001`, tmpFile(randomBytes(1000))),
    cleanup: () => plant(creds, 'swift-purge', container),
  };
}

function s3Backend(env: Record<string, string>): Backend {
  const bucket = `audit-${randomUUID().slice(0, 8)}`;
  const creds = { S3_ENDPOINT: env['RGW_ENDPOINT']!, S3_ACCESS_KEY: env['RGW_ACCESS_KEY']!, S3_SECRET_KEY: env['RGW_SECRET_KEY']! };
  return {
    name: 's3 (Ceph RGW)',
    store: 'bucket',
    conf:
      `[DEFAULT]\nenabled_backends = bucket:s3\n[glance_store]\ndefault_backend = bucket\n[bucket]\ns3_store_host = ${env['RGW_ENDPOINT']}\ns3_store_access_key = ${env['RGW_ACCESS_KEY']}\n` +
      `s3_store_secret_key = ${env['RGW_SECRET_KEY']}\ns3_store_bucket = ${bucket}\ns3_store_create_bucket_on_put = true\ns3_store_large_object_size = 5\ns3_store_large_object_chunk_size = 5\n`,
    imageBytes: 300_000,
    orphan: (id, bytes) => plant(creds, 's3-put', bucket, id, tmpFile(bytes)),
    vanish: (id) => plant(creds, 's3-delete', bucket, id),
    corrupt: (id, bytes) => plant(creds, 's3-put', bucket, id, tmpFile(flipped(bytes))),
    leftover: (id) => plant(creds, 's3-multipart', bucket, id, tmpFile(randomBytes(1000))),
    cleanup: () => plant(creds, 's3-purge', bucket),
  };
}

const backends: Array<[string, () => Backend]> = [['file', fileBackend]];
if (ceph) backends.push(['rbd', () => rbdBackend(ceph)], ['s3', () => s3Backend(ceph)]);
if (swift) backends.push(['swift', () => swiftBackend(swift)]);

describe.each(backends)('glance-store audit on %s', (_name, make) => {
  it('finds a planted orphan, missing image, corruption and crash leftover, and deletes only the orphan', async () => {
    const b = make();
    const ms = await MultiStore.create(parseConfig(b.conf));
    const [kept, corrupted, vanished, orphan, crashed] = Array.from({ length: 5 }, () => randomUUID());
    const added: Record<string, { r: AddResult; bytes: Buffer }> = {};
    try {
      // What the store held before (a shared rbd pool): Glance knows it, so it is no orphan here.
      const before: string[] = [];
      for await (const i of ms.list(b.store)) before.push(i.location);
      for (const id of [kept!, corrupted!, vanished!]) {
        const bytes = randomBytes(b.imageBytes);
        added[id] = { r: await ms.add(id, bytes, { store: b.store }), bytes };
      }
      b.orphan(orphan!, randomBytes(5000));
      b.vanish(vanished!);
      b.corrupt(corrupted!, added[corrupted!]!.bytes);
      b.leftover(crashed!);
      const known = path.join(work, 'known.txt');
      writeFileSync(known, [...before, ...Object.values(added).map((a) => a.r.location)].join('\n') + '\n');
      const verify = path.join(work, 'verify.txt');
      writeFileSync(verify, [kept!, corrupted!].map((id) => `${added[id]!.r.location} ${added[id]!.r.checksum} ${added[id]!.r.multihash}`).join('\n') + '\n');

      const ls = cli(['ls', b.store, '--json'], b.conf);
      expect(ls.status, ls.stderr).toBe(0);
      const listed = jsonLines(ls.stdout).map((l) => l.id);
      expect(listed).toEqual(expect.arrayContaining([kept, corrupted, orphan]));
      expect(listed).not.toContain(vanished);
      expect(listed).not.toContain(crashed);
      const lsLeft = jsonLines(cli(['ls', b.store, '--json', '--leftovers'], b.conf).stdout);
      expect(lsLeft.map((l) => l.imageId)).toContain(crashed);

      const out = path.join(work, `got-${kept}`);
      const got = cli(['get', kept!, '--store', b.store, '-o', out], b.conf);
      expect(got.status, got.stderr).toBe(0);

      const a = cli(['audit', b.store, '--known', known, '--verify', verify, '--json'], b.conf);
      expect(a.status, a.stderr).toBe(10);
      const found = jsonLines(a.stdout);
      const of = (type: string) => found.filter((f) => f.type === type);
      expect(of('orphan').map((f) => f.id)).toEqual([orphan]);
      expect(of('missing').map((f) => f.location)).toEqual([expect.stringContaining(vanished!)]);
      expect(of('corrupt').map((f) => f.location)).toEqual([expect.stringContaining(corrupted!)]);
      const left = of('leftover').filter((f) => f.imageId === crashed);
      expect(left).toHaveLength(1);
      expect(left[0]!.ageSeconds === null || typeof left[0]!.ageSeconds === 'number').toBe(true);
      expect(found.at(-1)).toMatchObject({ type: 'summary', complete: true, clean: false, orphan: 1, missing: 1, corrupt: 1 });
      // No secret of the store in what the audit prints.
      for (const secret of [ceph?.['RGW_SECRET_KEY'], swift?.['SWIFT_KEY']].filter(Boolean)) expect(a.stdout + a.stderr).not.toContain(secret);

      const d = cli(['audit', b.store, '--known', known, '--json', '--delete-orphans', '--yes'], b.conf);
      expect(d.status, d.stderr).toBe(10);
      expect(jsonLines(d.stdout).filter((f) => f.type === 'deleted').map((f) => f.id)).toEqual([orphan]);
      const after: string[] = [];
      for await (const i of ms.list(b.store)) after.push(i.id);
      expect(after).not.toContain(orphan);
      expect(after).toEqual(expect.arrayContaining([kept, corrupted]));
      // The leftover is reported, never deleted by audit.
      const still: string[] = [];
      for await (const l of ms.leftovers(b.store)) if (l.imageId) still.push(l.imageId);
      expect(still).toContain(crashed);
    } finally {
      for (const { r } of Object.values(added)) await ms.delete(r.location, { store: b.store }).catch(() => undefined);
      await ms.close();
      b.cleanup([orphan!, crashed!, corrupted!, kept!, vanished!]);
    }
  }, 120_000);
});

describe.skipIf(!cinderKs)('glance-store audit: one image under both forms of its location (cinder)', () => {
  it('matches a legacy cinder://<volume> record with the store\'s cinder://<store>/<volume>, and verifies it', async () => {
    const ks = cinderKs!;
    const conf =
      `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\n` +
      `cinder_store_auth_address = ${ks['CINDER_KS_AUTH_URL']}\ncinder_store_user_name = ${ks['CINDER_KS_USER']}\ncinder_store_password = ${ks['CINDER_KS_PASSWORD']}\n` +
      `cinder_store_project_name = ${ks['CINDER_KS_PROJECT']}\ncinder_os_region_name = ${ks['CINDER_KS_REGION']}\ncinder_catalog_info = ${ks['CINDER_KS_CATALOG_INFO']}\n` +
      `cinder_state_transition_timeout = 60\n`;
    const ms = await MultiStore.create(parseConfig(conf));
    const added: AddResult[] = [];
    try {
      const before: string[] = [];
      for await (const i of ms.list('volumes')) before.push(i.location);
      for (let n = 0; n < 2; n++) added.push(await ms.add(randomUUID(), randomBytes(300_000), { store: 'volumes' }));
      const [legacy, multi] = added.map((r) => r.location) as [string, string];
      expect(legacy).toMatch(/^cinder:\/\/volumes\/[0-9a-f-]{36}$/);
      // Glance's record of the first image in the legacy form, as a single-store glance_store wrote it; a legacy record of a volume that is gone.
      const legacyForm = legacy.replace('cinder://volumes/', 'cinder://');
      const gone = `cinder://${randomUUID()}`;
      const known = path.join(work, 'cinder-known.txt');
      writeFileSync(known, [...before, legacyForm, multi, gone].join('\n') + '\n');
      const verify = path.join(work, 'cinder-verify.txt');
      writeFileSync(verify, `${legacyForm} ${added[0]!.checksum} ${added[0]!.multihash}\n`);

      const a = cli(['audit', 'volumes', '--known', known, '--verify', verify, '--json'], conf);
      const found = jsonLines(a.stdout);
      const of = (type: string) => found.filter((f) => f.type === type);
      const ours = [legacy, multi, legacyForm, gone];
      // Neither form of either image is an orphan, and the legacy record is no other store's.
      expect(of('orphan').filter((f) => ours.includes(f.location!))).toEqual([]);
      expect(of('other-store')).toEqual([]);
      expect(of('missing').map((f) => f.location)).toEqual([gone]);
      expect(of('corrupt').concat(of('unreadable'))).toEqual([]);
      expect(a.status, a.stderr).toBe(10);

      // The legacy record of an image that is gone is missing under its own form.
      await ms.delete(legacy, { store: 'volumes' });
      const b = cli(['audit', 'volumes', '--known', known, '--json'], conf);
      expect(jsonLines(b.stdout).filter((f) => f.type === 'missing').map((f) => f.location).sort()).toEqual([gone, legacyForm].sort());
    } finally {
      for (const r of added) await ms.delete(r.location, { store: 'volumes' }).catch(() => undefined);
      await ms.close();
    }
  }, 240_000);
});

describe('glance-store audit: one image under both forms of its location (sheepdog, the stand-in)', () => {
  it('matches an old sheepdog://<image> record with sheepdog://<addr>:<port>:<image>; an unclaimed VDI no record names is an orphan, an open claim a leftover', async () => {
    const sheep = await startStandin();
    const conf = `[DEFAULT]\nenabled_backends = sheep:sheepdog\n[glance_store]\ndefault_backend = sheep\n[sheep]\nsheepdog_store_address = ${sheep.host}\nsheepdog_store_port = ${sheep.port}\n`;
    const ms = await MultiStore.create(parseConfig(conf));
    const conn = new SheepConnection({ host: sheep.host, port: sheep.port }, 'test', 10_000);
    try {
      const [old, current, stray, crashed] = Array.from({ length: 4 }, () => randomUUID()) as [string, string, string, string];
      const a = await ms.add(old, randomBytes(100_000));
      const b = await ms.add(current, randomBytes(100_000));
      await newVdi(conn, stray, 1000);
      const c = await newVdi(conn, crashed, 1000);
      expect(await claimVdi(conn, crashed, c.vid, randomUUID())).toBe('ours');
      const gone = `sheepdog://${randomUUID()}`;
      const known = path.join(work, 'sheep-known.txt');
      writeFileSync(known, [`sheepdog://${old}`, b.location, gone].join('\n') + '\n');
      const verify = path.join(work, 'sheep-verify.txt');
      writeFileSync(verify, `sheepdog://${old} ${a.checksum} ${a.multihash}\n`);
      const r = cli(['audit', 'sheep', '--known', known, '--verify', verify, '--json'], conf);
      expect(r.status, r.stderr).toBe(10);
      const found = jsonLines(r.stdout);
      const of = (type: string) => found.filter((f) => f.type === type);
      expect(of('orphan').map((f) => f.id)).toEqual([stray]);
      expect(of('missing').map((f) => f.location)).toEqual([gone]);
      expect(of('leftover').map((f) => f.imageId)).toEqual([crashed]);
      expect(of('corrupt').concat(of('unreadable'), of('other-store'))).toEqual([]);
      // The way out for a VDI an add left before claims were marked finished: it is an orphan, and goes like one.
      const d = cli(['audit', 'sheep', '--known', known, '--json', '--delete-orphans', '--yes'], conf);
      expect(jsonLines(d.stdout).filter((f) => f.type === 'deleted').map((f) => f.id)).toEqual([stray]);
    } finally {
      conn.close();
      await ms.close();
      await sheep.stop();
      removeDir(sheep.dir);
    }
  }, 120_000);
});

describe('glance-store audit: bad input and interruptions (file store)', () => {
  it('names a malformed --known line and stops, or reports it with --skip-bad-lines; another store\'s location is not missing', async () => {
    const b = fileBackend();
    const ms = await MultiStore.create(parseConfig(b.conf));
    try {
      const r = await ms.add(randomUUID(), randomBytes(100), { store: 'local' });
      const known = path.join(work, 'bad-known.txt');
      writeFileSync(known, `# exported from image_locations\n${r.location}\nfile:///nowhere/else/${randomUUID()}\nthis is not a uri\n${r.location.replace('/images/', '/elsewhere/')}\n`);
      const stop = cli(['audit', 'local', '--known', known], b.conf);
      expect(stop.status).toBe(2);
      expect(stop.stderr).toMatch(/bad-known\.txt, line 4: not a location URI/);
      expect(stop.stdout).toBe('');
      const go = cli(['audit', 'local', '--known', known, '--skip-bad-lines', '--json'], b.conf);
      const found = jsonLines(go.stdout);
      expect(found.filter((f) => f.type === 'bad-line')).toEqual([expect.objectContaining({ line: 4 })]);
      expect(found.filter((f) => f.type === 'other-store').map((f) => [f.line, f.store])).toEqual([
        [3, null],
        [5, 'elsewhere'],
      ]);
      expect(found.filter((f) => f.type === 'missing')).toEqual([]);
      expect(go.status).toBe(0);
      expect(found.at(-1)).toMatchObject({ clean: true, 'other-store': 2, 'bad-line': 1 });
    } finally {
      await ms.close();
      b.cleanup([]);
    }
  });

  it('spares orphans younger than --older-than, and refuses to delete without a terminal or --yes', async () => {
    const b = fileBackend();
    const ms = await MultiStore.create(parseConfig(b.conf));
    try {
      await ms.add(randomUUID(), randomBytes(10), { store: 'local' });
      const orphan = randomUUID();
      b.orphan(orphan, randomBytes(10));
      b.leftover(randomUUID());
      const known = path.join(work, 'empty-known.txt');
      writeFileSync(known, '');
      const refused = cli(['audit', 'local', '--known', known, '--delete-orphans'], b.conf);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/--yes/);
      const spared = jsonLines(cli(['audit', 'local', '--known', known, '--older-than', '1h', '--delete-orphans', '--yes', '--json'], b.conf).stdout);
      // The images are seconds old: recent, not orphans; the partial file is two hours old: a leftover.
      expect(spared.filter((f) => f.type === 'recent')).toHaveLength(2);
      expect(spared.filter((f) => f.type === 'leftover')).toHaveLength(1);
      expect(spared.filter((f) => f.type === 'deleted')).toEqual([]);
      const ids: string[] = [];
      for await (const i of ms.list('local')) ids.push(i.id);
      expect(ids).toContain(orphan);
    } finally {
      await ms.close();
      b.cleanup([]);
    }
  });

  it('deletes nothing it has not printed as deleted when interrupted (Ctrl-C), and exits 130', async () => {
    const b = fileBackend();
    const ms = await MultiStore.create(parseConfig(b.conf));
    await ms.close();
    try {
      const dir = /filesystem_store_datadir = (.*)\/images/.exec(b.conf)![1]! + '/images';
      const orphans = Array.from({ length: 400 }, () => randomUUID());
      for (const id of orphans) b.orphan(id, randomBytes(10));
      const known = path.join(work, 'none-known.txt');
      writeFileSync(known, '');
      const file = path.join(work, 'interrupt.conf');
      writeFileSync(file, b.conf);
      const child = spawn(process.execPath, [BIN, '--config', file, 'audit', 'local', '--known', known, '--delete-orphans', '--yes', '--json'], { cwd: work });
      let stdout = '';
      let interrupted = false;
      child.stdout.setEncoding('utf8').on('data', (s: string) => {
        stdout += s;
        if (!interrupted && stdout.includes('"type":"deleted"')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
      expect(status).toBe(130);
      const printed = jsonLines(stdout).filter((f) => f.type === 'deleted').map((f) => f.id);
      const left = new Set(readdirSync(dir));
      const gone = orphans.filter((id) => !left.has(id));
      expect(printed.length).toBeGreaterThan(0);
      expect(gone.length).toBeLessThan(orphans.length);
      expect(gone.sort()).toEqual([...printed].sort());
    } finally {
      b.cleanup([]);
    }
  });

  it('reports how far a listing got when it fails half-way, and exits non-zero', () => {
    const driver = path.join(root, 'test/fixtures/failing-list-driver.mjs');
    const conf = `[DEFAULT]\nenabled_backends = flaky:flaky\n[glance_store]\ndefault_backend = flaky\n[flaky]\n`;
    const file = path.join(work, 'flaky.conf');
    writeFileSync(file, conf);
    const r = spawnSync(process.execPath, [BIN, '--config', file, '--driver', driver, 'ls', 'flaky', '--json'], { cwd: work });
    expect(r.status).toBe(8);
    expect(r.stdout.toString().trim().split('\n')).toHaveLength(3);
    expect(r.stderr.toString()).toMatch(/failed after 3 entries: the backend went away/);
    const known = path.join(work, 'flaky-known.txt');
    writeFileSync(known, 'flaky://nowhere/x\n');
    const a = spawnSync(process.execPath, [BIN, '--config', file, '--driver', driver, 'audit', 'flaky', '--known', known], { cwd: work });
    expect(a.status).toBe(8);
    expect(a.stdout.toString()).toMatch(/INCOMPLETE: the listing failed; 3 images listed/);
    expect(a.stdout.toString()).not.toMatch(/^missing /m);
  });

  it('gets an image by id only where the id tells its location: a cinder store says it cannot', () => {
    const conf = `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\ncinder_endpoint_template = http://127.0.0.1:1/v3/%(project_id)s\n`;
    const r = cli(['get', randomUUID(), '--store', 'volumes', '-o', path.join(work, 'never')], conf);
    expect(r.status).toBe(7);
    expect(r.stderr).toMatch(/cannot tell an image's location from its id alone/);
  });
});
