/**
 * The file store against hostile or broken filesystems: links out of the
 * datadir, directories where images should be, the longest ids, full and
 * vanished datadirs, failing reads, and credentials in locations.
 */
import { describe, it, afterAll, expect } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
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

describe('file store hardening', () => {
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
