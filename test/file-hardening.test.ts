/**
 * The file store against hostile or broken filesystems: links out of the
 * datadir, directories where images should be, the longest ids, full and
 * vanished datadirs, failing reads, and credentials in locations.
 */
import { describe, it, afterAll, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { readAll } from '../src/testing/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-file-hard-'));
afterAll(() => rm(root, { recursive: true, force: true }));

function conf(body: string, backends = 'local:file'): string {
  return `[DEFAULT]\nenabled_backends = ${backends}\n[glance_store]\ndefault_backend = local\n${body}`;
}

async function store(name: string): Promise<{ ms: MultiStore; dir: string }> {
  const dir = path.join(root, name);
  return { ms: await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`))), dir };
}

/** Mounts a tmpfs of `size` on `dir` (root only); false when this user cannot. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error(`cannot mount a tmpfs on ${dir}`);
    return false;
  }
}

/**
 * A small ext4 file system on a loop device (root only), mounted with
 * errors=remount-ro: `turnReadOnly` raises an ext4 error (the kernel's
 * trigger_fs_error), and the kernel turns the mounted file system read-only
 * under open files, as it does on a failing disk; every write then answers
 * EROFS. A mount that is busy cannot be remounted read-only (`mount -o
 * remount,ro` answers EBUSY while a file is open for writing), so this is the
 * way a disk turns read-only mid-add. `writableAgain` is what an operator
 * does: unmount, e2fsck, mount again at the same place.
 */
class Ext4Disk {
  private loop = '';
  private mounted = false;

  private constructor(
    private readonly image: string,
    readonly mountpoint: string,
  ) {}

  static async make(dir: string, size: string): Promise<Ext4Disk> {
    await mkdir(path.join(dir, 'mnt'), { recursive: true });
    const disk = new Ext4Disk(path.join(dir, 'ext4.img'), path.join(dir, 'mnt'));
    disks.push(disk);
    disk.run('truncate', ['-s', size, disk.image]);
    disk.run('mkfs.ext4', ['-q', '-F', disk.image]);
    disk.loop = disk.run('losetup', ['-f', '--show', disk.image]).trim();
    disk.mount();
    return disk;
  }

  /** Runs a command; a missing tool or a refusal fails the test with what it said. */
  private run(cmd: string, args: string[], okStatus = 0): string {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.error || (r.status ?? 99) > okStatus) {
      throw new Error(`${cmd} ${args.join(' ')} failed (this test needs root, a loop device and e2fsprogs): ${r.error?.message ?? r.stderr.trim()}`);
    }
    return r.stdout;
  }

  private mount(): void {
    // commit=1: what the add wrote a second before the error is on disk after it.
    this.run('mount', ['-t', 'ext4', '-o', 'errors=remount-ro,commit=1', this.loop, this.mountpoint]);
    this.mounted = true;
  }

  /** Whether the kernel has it mounted read-only now. */
  readOnly(): boolean {
    const line = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === this.mountpoint);
    // After an error, Linux 6.x shows the file system `rw,...,emergency_ro`; older kernels `ro`.
    return line !== undefined && line.split(' ')[3]!.split(',').some((o) => o === 'ro' || o === 'emergency_ro');
  }

  async turnReadOnly(): Promise<void> {
    const trigger = `/sys/fs/ext4/${path.basename(this.loop)}/trigger_fs_error`;
    if (!existsSync(trigger)) throw new Error(`${trigger} is missing: this kernel cannot raise an ext4 error on demand`);
    writeFileSync(trigger, '1');
    // The kernel remounts from a work queue, a moment after the error.
    await until(`${this.mountpoint} read-only after an ext4 error with errors=remount-ro`, () => this.readOnly(), 5000);
  }

  writableAgain(): void {
    this.run('umount', [this.mountpoint]);
    this.mounted = false;
    // 1: errors were corrected, as after any ext4 error.
    this.run('e2fsck', ['-f', '-y', this.loop], 1);
    this.mount();
  }

  remove(): void {
    if (this.mounted) spawnSync('umount', ['-l', this.mountpoint]);
    if (this.loop) spawnSync('losetup', ['-d', this.loop]);
    this.mounted = false;
    this.loop = '';
  }
}

const disks: Ext4Disk[] = [];
afterAll(() => disks.forEach((d) => d.remove()));

async function until(what: string, test: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('file store hardening', () => {
  it('on a disk that turns read-only mid-add: StorageWriteDenied "read-only file system", no write in states(), the partial file removed once writable', async () => {
    const disk = await Ext4Disk.make(path.join(root, 'erofs'), '160M');
    const dir = path.join(disk.mountpoint, 'images');
    const logged: Array<{ level: string; msg: string }> = [];
    const keep = (level: string) => (_o: unknown, msg?: string) => void logged.push({ level, msg: String(msg) });
    const logger: Logger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`)), { logger, reclaim: { firstPauseMs: 200, maxPauseMs: 1000 } });
    try {
      expect(ms.states()[0]!.capabilities).toContain('write');
      const MiB = 1024 * 1024;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const source = (async function* () {
        for (let i = 0; i < 51; i++) yield randomBytes(MiB);
        await gate;
        for (let i = 0; i < 20; i++) yield randomBytes(MiB);
      })();
      const adding = ms.add(randomUUID(), source).catch((e: unknown) => e);
      const partials = async () => (await readdir(dir)).filter((n) => n.endsWith('.partial'));
      await until('51 MiB written', async () => {
        const [p] = await partials();
        return p !== undefined && (await stat(path.join(dir, p))).size >= 51 * MiB;
      });
      execFileSync('sync', ['-f', dir]);
      await disk.turnReadOnly();
      release();
      const err = (await adding) as Error;
      expect(err).toMatchObject({ name: 'StorageWriteDeniedError', code: 'StorageWriteDenied' });
      expect(err.message).toMatch(/^Writing image .* to store local: read-only file system$/);
      // The partial file cannot be removed yet: it is pending, and logged with its location.
      const [partial] = await partials();
      expect(partial).toBeDefined();
      const location = `file://${dir}/${partial}`;
      expect(ms.pendingCleanups()).toEqual([expect.objectContaining({ store: 'local', kind: 'partial file', location })]);
      expect(logged).toContainEqual({ level: 'warn', msg: expect.stringContaining(`could not remove partial file ${location}`) });
      expect(logged).toContainEqual({ level: 'warn', msg: expect.stringContaining(`datadir ${dir} of store local is on a read-only file system`) });
      // The store no longer offers to write.
      expect(ms.states()[0]).toMatchObject({ ok: false, error: expect.stringMatching(/^Store local cannot write: .*read-only file system/) });
      expect(ms.states()[0]!.capabilities).not.toContain('write');
      await expect(ms.add(randomUUID(), Buffer.from('x'))).rejects.toMatchObject({ code: 'ReadOnlyStore' });

      disk.writableAgain();
      expect(disk.readOnly()).toBe(false);
      await until('the partial file removed', () => ms.pendingCleanups().length === 0);
      expect(await readdir(dir)).toEqual([]);
      expect(logged).toContainEqual({ level: 'info', msg: expect.stringContaining(`removed partial file ${location}`) });
      await until('write in states() again', () => ms.states()[0]!.capabilities.includes('write'));
      expect(ms.states()[0]!.ok).toBe(true);
      const r = await ms.add(randomUUID(), Buffer.from('written again'));
      expect((await readAll((await ms.get(r.location)).stream)).toString()).toBe('written again');
      await ms.delete(r.location);
    } finally {
      await ms.close();
      disk.remove();
    }
  }, 120_000);

  it('never follows a link out of its datadir, for get, getSize or delete', async () => {
    const { ms, dir } = await store('links');
    const outside = path.join(root, 'secret.txt');
    await writeFile(outside, 'not an image');
    const id = randomUUID();
    await symlink(outside, path.join(dir, id));
    const location = `file://${dir}/${id}`;
    await expect(ms.get(location)).rejects.toMatchObject({ code: 'Forbidden', message: expect.stringMatching(/leads outside the datadirs of store local/) });
    await expect(ms.getSize(location)).rejects.toMatchObject({ code: 'Forbidden' });
    await expect(ms.delete(location)).rejects.toMatchObject({ code: 'Forbidden' });
    expect(await readFile(outside, 'utf8')).toBe('not an image');
    // A link to /etc/passwd reads nothing of it either.
    const passwd = randomUUID();
    await symlink('/etc/passwd', path.join(dir, passwd));
    await expect(ms.get(`file://${dir}/${passwd}`)).rejects.toMatchObject({ code: 'Forbidden' });
    // A link to another image of the same datadir is an image; deleting it removes the link only.
    const real = await ms.add(randomUUID(), Buffer.from('inside'));
    const alias = randomUUID();
    await symlink(new URL(real.location).pathname, path.join(dir, alias));
    expect((await readAll((await ms.get(`file://${dir}/${alias}`)).stream)).toString()).toBe('inside');
    await ms.delete(`file://${dir}/${alias}`);
    expect((await readAll((await ms.get(real.location)).stream)).toString()).toBe('inside');
    await ms.close();
  });

  it('reports a directory where an image should be as NotFound, not a raw Node error', async () => {
    const { ms, dir } = await store('dirs');
    const id = randomUUID();
    await mkdir(path.join(dir, id));
    const location = `file://${dir}/${id}`;
    for (const call of [() => ms.get(location), () => ms.getSize(location), () => ms.delete(location)]) {
      await expect(call()).rejects.toMatchObject({ name: 'NotFoundError', code: 'NotFound', message: expect.stringMatching(/is not an image: it names a directory/) });
    }
    await ms.close();
  });

  it('turns a read that fails mid-image into a library error on the stream', async () => {
    const { ms } = await store('eio');
    const r = await ms.add(randomUUID(), randomBytes(4 * 1024 * 1024));
    const got = await ms.get(r.location);
    // The file shrinks under the reader: its reads come up short.
    await truncate(new URL(r.location).pathname, 1000);
    const err = await readAll(got.stream).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'BackendError', code: 'BackendError', message: expect.stringMatching(/^Reading file:\/\/.*: file ended/) });
    await ms.close();
  });

  it('stores and reads the longest ids glance_store stores (255 characters)', async () => {
    const { ms, dir } = await store('long-ids');
    for (const length of [234, 240, 255]) {
      const id = 'a'.repeat(length);
      const bytes = randomBytes(1000);
      const r = await ms.add(id, bytes);
      expect(r.location).toBe(`file://${dir}/${id}`);
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      await ms.delete(r.location);
    }
    await expect(ms.add('a'.repeat(256), Buffer.from('x'))).rejects.toMatchObject({ code: 'InvalidImageId' });
    expect(await readdir(dir)).toEqual([]);
    await ms.close();
  });

  it('skips a full datadir for an image of unknown size', async () => {
    const full = path.join(root, 'full-first');
    const roomy = path.join(root, 'roomy');
    await mkdir(full, { recursive: true });
    if (!mountTmpfs(full, '1m')) return;
    try {
      // Fill it to the last block.
      await writeFile(path.join(full, 'filler'), Buffer.alloc(1024 * 1024)).catch(() => undefined);
      const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadirs = ${full}:200\nfilesystem_store_datadirs = ${roomy}:100\n`)));
      const r = await ms.add(randomUUID(), (async function* () {
        yield randomBytes(4096);
      })());
      expect(path.dirname(new URL(r.location).pathname)).toBe(roomy);
      await ms.close();
    } finally {
      execFileSync('umount', [full]);
    }
  });

  it('says the datadir is missing when it was removed after start', async () => {
    const { ms, dir } = await store('vanishing');
    await rm(dir, { recursive: true });
    const err = await ms.add(randomUUID(), Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(new RegExp(`The datadir ${dir} of store local is missing`)) });
    await ms.close();
  });

  it('never prints the credentials of a location it is handed', async () => {
    const dir = path.join(root, 'masking');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n[web]\n`, 'local:file, web:http')));
    for (const location of ['http://alice:s3cr3tPW@127.0.0.1:1/x', 'file://user:s3cr3tPW@/etc/passwd', `file://user:s3cr3tPW@${dir}/x`]) {
      const err = (await ms.get(location, { store: 'local' }).catch((e: unknown) => e)) as Error;
      expect(err).toMatchObject({ code: expect.stringMatching(/BadStoreUri|NotFound/) });
      expect(err.message).not.toContain('s3cr3tPW');
      expect(err.message).toContain('***');
    }
    await ms.close();
  });
});
