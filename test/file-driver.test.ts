import { describe, it, beforeAll, afterAll, expect } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile, chmod, stat, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { MultiStore, parseConfig } from '../src/index.js';
import { runStoreConformance, readAll } from '../src/testing/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-file-'));
afterAll(() => rm(root, { recursive: true, force: true }));

async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await listTree(path.join(dir, e.name))).map((n) => `${e.name}/${n}`));
    else out.push(e.name);
  }
  return out;
}

const conformanceDir = path.join(root, 'conformance');
const secondDir = path.join(root, 'conformance-second');
runStoreConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'file',
    storeId: 'shared',
    secondStoreId: 'second',
    create: (opts) =>
      MultiStore.create(
        parseConfig(
          `[DEFAULT]\nenabled_backends = shared:file, second:file\n[glance_store]\ndefault_backend = shared\n[shared]\nfilesystem_store_datadir = ${conformanceDir}\n[second]\nfilesystem_store_datadir = ${secondDir}\n`,
        ),
        opts,
      ),
    listStored: async () => [...(await listTree(conformanceDir)), ...(await listTree(secondDir)).map((n) => `second/${n}`)],
  },
);

const thinDir = path.join(root, 'thin');
runStoreConformance(
  { describe, it, beforeAll, afterAll },
  {
    name: 'file (thin provisioning, multiple datadirs)',
    storeId: 'thin',
    secondStoreId: 'thick',
    create: (opts) =>
      MultiStore.create(
        parseConfig(
          `[DEFAULT]\nenabled_backends = thin:file, thick:file\n[glance_store]\ndefault_backend = thin\n[thin]\nfilesystem_thin_provisioning = true\nfilesystem_store_chunk_size = 4096\nfilesystem_store_datadirs = ${thinDir}/a:10\nfilesystem_store_datadirs = ${thinDir}/b:20\n[thick]\nfilesystem_store_datadir = ${thinDir}/c\n`,
        ),
        opts,
      ),
    listStored: () => listTree(thinDir),
  },
);

function conf(body: string, backends = 'local:file', def = 'local'): string {
  return `[DEFAULT]\nenabled_backends = ${backends}\n[glance_store]\ndefault_backend = ${def}\n${body}`;
}

describe('file store', () => {
  it('writes locations exactly as glance_store: file://<datadir>/<image id>', async () => {
    const dir = path.join(root, 'loc');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}/\n`)));
    const id = randomUUID();
    const r = await ms.add(id, Buffer.from('hello'));
    expect(r.location).toBe(`file://${dir}/${id}`);
    await ms.close();
  });

  it('hands out a fresh buffer for every chunk of a default get, whole and in ranges', async () => {
    const dir = path.join(root, 'fresh');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`)));
    // Several times the reads in flight, so a reused buffer would be overwritten while held.
    const bytes = randomBytes(29 * 1024 * 1024 + 5);
    const r = await ms.add(randomUUID(), bytes);
    /** A consumer that keeps every chunk it was given, and looks at them only at the end. */
    const keepAll = async (stream: AsyncIterable<Buffer>) => {
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c);
      return { bytes: Buffer.concat(chunks), buffers: new Set(chunks.map((c) => c.buffer)).size, chunks: chunks.length };
    };
    const whole = await keepAll((await ms.get(r.location)).stream);
    expect(whole.bytes.equals(bytes)).toBe(true);
    expect(whole.chunks).toBeGreaterThan(4);
    expect(whole.buffers).toBe(whole.chunks);
    const part = await keepAll((await ms.get(r.location, { offset: 3 * 1024 * 1024 + 1, length: 21 * 1024 * 1024 })).stream);
    expect(part.bytes.equals(bytes.subarray(3 * 1024 * 1024 + 1, 24 * 1024 * 1024 + 1))).toBe(true);
    expect(part.buffers).toBe(part.chunks);
    await ms.close();
  });

  it('reads an image whole and in ranges into reused buffers when the caller promises reuseBuffers', async () => {
    const dir = path.join(root, 'reuse');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`)));
    // More than the few buffers the stream reuses, so each is read into several times.
    const bytes = randomBytes(41 * 1024 * 1024 + 17);
    const r = await ms.add(randomUUID(), bytes);
    /** A consumer that is done with each chunk (copies it) before it reads the next. */
    const copyEach = async (stream: AsyncIterable<Buffer>) => {
      const parts: Buffer[] = [];
      const memory = new Set<ArrayBufferLike>();
      for await (const c of stream) {
        memory.add(c.buffer);
        parts.push(Buffer.from(c));
      }
      return { bytes: Buffer.concat(parts), buffers: memory.size, chunks: parts.length };
    };
    const whole = await copyEach((await ms.get(r.location, { reuseBuffers: true })).stream);
    expect(whole.bytes.equals(bytes)).toBe(true);
    expect(whole.buffers).toBeLessThan(whole.chunks);
    const part = await copyEach((await ms.get(r.location, { reuseBuffers: true, offset: 5 * 1024 * 1024 - 3, length: 30 * 1024 * 1024 })).stream);
    expect(part.bytes.equals(bytes.subarray(5 * 1024 * 1024 - 3, 35 * 1024 * 1024 - 3))).toBe(true);
    await expect(ms.get(r.location, { reuseBuffers: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await ms.close();
  });

  it('puts images in the highest-priority datadir', async () => {
    const a = path.join(root, 'prio-a');
    const b = path.join(root, 'prio-b');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadirs = ${a}:100\nfilesystem_store_datadirs = ${b}:200\n`)));
    const r = await ms.add(randomUUID(), Buffer.from('x'));
    expect(path.dirname(new URL(r.location).pathname)).toBe(b);
    // Both datadirs are read.
    const inA = path.join(a, 'legacy-image');
    await writeFile(inA, 'legacy');
    expect((await readAll((await ms.get(`file://${inA}`)).stream)).toString()).toBe('legacy');
    await ms.close();
  });

  it('logs once at create, through the library\'s logger (not a Node warning), that filesystem_store_datadirs is deprecated, naming one file store per directory', async () => {
    const lines: Array<{ level: string; msg: string }> = [];
    const at = (level: string) => (_o: unknown, msg?: string) => void lines.push({ level, msg: String(msg) });
    const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    const nodeWarnings: Error[] = [];
    const onWarning = (w: Error) => void nodeWarnings.push(w);
    process.on('warning', onWarning);
    const a = path.join(root, 'deprecated-a');
    const b = path.join(root, 'deprecated-b');
    const ms = await MultiStore.create(
      parseConfig(conf(`[local]\nfilesystem_store_datadirs = ${a}:100\nfilesystem_store_datadirs = ${b}:200\n[single]\nfilesystem_store_datadir = ${path.join(root, 'not-deprecated')}\n`, 'local:file, single:file')),
      { logger },
    );
    try {
      const r = await ms.add(randomUUID(), Buffer.from('x'));
      await ms.getSize(r.location);
      await ms.add(randomUUID(), Buffer.from('y'), { store: 'single' });
      await new Promise((r) => setImmediate(r));
      const deprecation = lines.filter((l) => /filesystem_store_datadirs is deprecated/.test(l.msg));
      expect(deprecation).toHaveLength(1);
      expect(deprecation[0]!.level).toBe('warn');
      expect(deprecation[0]!.msg).toMatch(/^store local: .*one file store per directory/);
      expect(nodeWarnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await ms.close();
    }
  });

  it('leaves all-zero chunks as holes with thin provisioning', async () => {
    const dir = path.join(root, 'sparse');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\nfilesystem_thin_provisioning = true\n`)));
    const bytes = Buffer.concat([randomBytes(4096), Buffer.alloc(8 * 1024 * 1024), randomBytes(10), Buffer.alloc(4 * 1024 * 1024)]);
    const r = await ms.add(randomUUID(), bytes);
    const st = await stat(new URL(r.location).pathname);
    expect(st.size).toBe(bytes.length);
    expect(st.blocks * 512).toBeLessThan(2 * 1024 * 1024);
    expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
    expect(r.checksum).toBe(createHash('md5').update(bytes).digest('hex'));
    await ms.close();
  });

  it('applies filesystem_store_file_perm', async () => {
    const dir = path.join(root, 'perm');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\nfilesystem_store_file_perm = 640\n`)));
    const r = await ms.add(randomUUID(), Buffer.from('x'));
    expect((await stat(new URL(r.location).pathname)).mode & 0o777).toBe(0o640);
    await ms.close();
  });

  it('returns the metadata file entry for the image mountpoint', async () => {
    const dir = path.join(root, 'meta');
    await mkdir(dir, { recursive: true });
    const metaFile = path.join(root, 'meta.json');
    await writeFile(metaFile, JSON.stringify([{ id: 'nfs-1', mountpoint: dir }, { id: 'other', mountpoint: '/nowhere' }]));
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\nfilesystem_store_metadata_file = ${metaFile}\n`)));
    const r = await ms.add(randomUUID(), Buffer.from('x'));
    expect(r.metadata).toEqual({ id: 'nfs-1', mountpoint: dir, store: 'local' });
    await ms.close();
    // A single object is a list of one; a mountpoint that does not hold the image gives no metadata.
    await writeFile(metaFile, JSON.stringify({ id: 'elsewhere', mountpoint: '/xyz/images' }));
    const other = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\nfilesystem_store_metadata_file = ${metaFile}\n`)));
    expect((await other.add(randomUUID(), Buffer.from('x'))).metadata).toEqual({ store: 'local' });
    await other.close();
    await writeFile(metaFile, JSON.stringify({ mountpoint: dir }));
    await expect(MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\nfilesystem_store_metadata_file = ${metaFile}\n`)))).rejects.toMatchObject({
      code: 'BadStoreConfiguration',
    });
  });

  it('drops the write capability when the datadir is not writable', async () => {
    const dir = path.join(root, 'ro');
    await mkdir(dir, { recursive: true });
    const { execFileSync } = await import('node:child_process');
    // root writes through any mode bits, so root gets a read-only mount instead.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
    else await chmod(dir, 0o555);
    try {
      const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`, 'local:file, rw:file', 'rw') + `[rw]\nfilesystem_store_datadir = ${root}/rw\n`));
      expect(ms.store('local').capabilities().has('write')).toBe(false);
      expect(ms.store('local').capabilities().has('read')).toBe(true);
      expect(ms.info().find((s) => s.id === 'local')).toMatchObject({ 'read-only': true });
      await expect(ms.add(randomUUID(), Buffer.from('x'), { store: 'local' })).rejects.toMatchObject({ code: 'ReadOnlyStore' });
      await ms.close();
    } finally {
      if (asRoot) execFileSync('umount', [dir]);
    }
  });

  it('reports StorageFull when the disk fills, and leaves nothing behind', async () => {
    // A tiny tmpfs is the honest way to fill a disk; without mount rights the test cannot run.
    const dir = path.join(root, 'full');
    await mkdir(dir, { recursive: true });
    const { execFileSync } = await import('node:child_process');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      if (process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error('cannot mount a tmpfs to test a full disk');
      return;
    }
    try {
      const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`)));
      await expect(ms.add(randomUUID(), Readable.from([randomBytes(1024 * 1024), randomBytes(1024 * 1024), randomBytes(1024 * 1024)]))).rejects.toMatchObject({
        code: 'StorageFull',
      });
      expect(await readdir(dir)).toEqual([]);
      await ms.close();
    } finally {
      execFileSync('umount', [dir]);
    }
  });

  it('refuses locations outside its datadirs', async () => {
    const dir = path.join(root, 'jail');
    const ms = await MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = ${dir}\n`)));
    await expect(ms.get('file:///etc/passwd')).rejects.toMatchObject({ code: 'NotFound' });
    await expect(ms.get(`file://${dir}/../../etc/passwd`)).rejects.toMatchObject({ code: 'NotFound' });
    await expect(ms.delete('file:///etc/hostname')).rejects.toMatchObject({ code: 'NotFound' });
    await expect(ms.get('file://relative/path')).rejects.toMatchObject({ code: 'BadStoreUri' });
    await ms.close();
  });

  it('rejects a config with both datadir options, naming both', async () => {
    await expect(
      MultiStore.create(parseConfig(conf(`[local]\nfilesystem_store_datadir = /tmp/a\nfilesystem_store_datadirs = /tmp/b:1\n`))),
    ).rejects.toThrow(/filesystem_store_datadir.*filesystem_store_datadirs/);
  });
});
