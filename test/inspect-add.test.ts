/**
 * Inspected adds through a real file store: the inspection in the result,
 * `expect` and `safety: 'refuse'` failing the add with nothing left in the
 * datadir, `report` keeping the image, the store's `inspect` option, and an
 * unsafe image refused before the rest of it is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import { readAll } from '../src/testing/index.js';
import { buildImages } from './inspect/images.js';

let root: string;
let images: string;
let ms: MultiStore;
const datadir = () => path.join(root, 'store');
const guarded = () => path.join(root, 'guarded');
const image = (name: string) => path.join(images, name);
const stored = async (dir: string) => (await readdir(dir).catch(() => [])).sort();

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gs-inspect-add-'));
  images = path.join(root, 'images');
  buildImages(images);
  ms = await MultiStore.create(
    parseConfig(
      `[DEFAULT]\nenabled_backends = local:file, guarded:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${datadir()}\n[guarded]\nfilesystem_store_datadir = ${guarded()}\ninspect = refuse\n`,
    ),
  );
}, 120_000);
afterAll(async () => {
  await ms?.close();
  await rm(root, { recursive: true, force: true });
});

describe('inspected adds to a file store', () => {
  it('returns the inspection with the add, and stores the image as it came', async () => {
    const r = await ms.add('inspect-qcow2', createReadStream(image('converted-00.qcow2')), { inspect: true });
    expect(r.inspection).toMatchObject({ format: 'qcow2', virtualSize: 8 * 1024 * 1024, safe: true, problems: [] });
    const got = await readAll((await ms.get(r.location)).stream);
    expect(got.equals(readFileSync(image('converted-00.qcow2')))).toBe(true);
    const plain = await ms.add('not-inspected', readFileSync(image('converted-00.qcow2')));
    expect(plain).not.toHaveProperty('inspection');
  });

  it('refuses an unsafe image (a qcow2 naming /etc/passwd as its backing file) and leaves nothing in the store', async () => {
    const before = await stored(datadir());
    const err = await ms.add('refused-backing', createReadStream(image('backing-passwd.qcow2')), { inspect: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UnsafeImage', name: 'UnsafeImageError', inspection: { format: 'qcow2', safe: false, details: { backingFile: '/etc/passwd' } } });
    expect((err as Error).message).toMatch(/^Image refused-backing for store local was refused: unsafe qcow2 image: .*backing file \(\/etc\/passwd\)/);
    expect(await stored(datadir())).toEqual(before);
    expect(ms.pendingCleanups()).toEqual([]);
  });

  it('refuses a vmdk whose flat extent is /etc/passwd', async () => {
    await expect(ms.add('refused-vmdk', readFileSync(image('sparse-passwd.vmdk')), { inspect: {} })).rejects.toMatchObject({ code: 'UnsafeImage', inspection: { format: 'vmdk', problems: [{ code: 'unsafe-extent' }] } });
    expect(await stored(datadir())).not.toContain('refused-vmdk');
  });

  it("keeps an unsafe image with safety: 'report', listing its problems", async () => {
    const r = await ms.add('reported-data-file', createReadStream(image('data-file.qcow2')), { inspect: { safety: 'report' } });
    expect(r.inspection).toMatchObject({ format: 'qcow2', safe: false, problems: [{ code: 'data-file' }], details: { dataFile: 'data-file.bin' } });
    expect(await stored(datadir())).toContain('reported-data-file');
  });

  it('fails a raw file claimed as qcow2, and a qcow2 claimed as raw, naming both formats, with nothing left', async () => {
    await expect(ms.add('raw-as-qcow2', createReadStream(image('disk.raw')), { inspect: { expect: 'qcow2' } })).rejects.toMatchObject({
      code: 'DiskFormatMismatch',
      message: 'Image raw-as-qcow2 for store local was refused: it is a raw image, not qcow2',
    });
    await expect(ms.add('qcow2-as-raw', createReadStream(image('qcow2-named.raw')), { inspect: { expect: ['raw', 'iso'] } })).rejects.toMatchObject({
      code: 'DiskFormatMismatch',
      message: 'Image qcow2-as-raw for store local was refused: it is a qcow2 image, not raw or iso',
    });
    const left = await stored(datadir());
    expect(left).not.toContain('raw-as-qcow2');
    expect(left).not.toContain('qcow2-as-raw');
    const ok = await ms.add('raw-as-raw', createReadStream(image('disk.raw')), { inspect: { expect: 'raw' } });
    expect(ok.inspection).toMatchObject({ format: 'raw', virtualSize: 8 * 1024 * 1024, details: { partitionTable: 'gpt' } });
  });

  it('refuses an unsafe image after its first block, without reading the rest of it', async () => {
    const header = readFileSync(image('backing.qcow2'));
    let pulled = 0;
    const total = 256 * 1024 * 1024;
    async function* source() {
      yield header;
      pulled = header.length;
      const zeros = Buffer.alloc(1024 * 1024);
      while (pulled < total) {
        pulled += zeros.length;
        yield zeros;
      }
    }
    await expect(ms.add('refused-early', source(), { inspect: true })).rejects.toMatchObject({ code: 'UnsafeImage' });
    expect(pulled).toBeLessThan(8 * 1024 * 1024);
    expect(await stored(datadir())).not.toContain('refused-early');
  });

  it('refuses at the end an image whose format is only decided there (luks), and keeps working after many refusals', async () => {
    await expect(ms.add('luks-as-raw', createReadStream(image('converted-13.luks')), { inspect: { expect: 'raw' } })).rejects.toMatchObject({
      code: 'DiskFormatMismatch',
      message: expect.stringMatching(/it is a luks image, not raw$/),
    });
    expect(await stored(datadir())).not.toContain('luks-as-raw');
    // Every refusal gives its blocks back: the ring all adds share is not worn down.
    const header = readFileSync(image('backing.qcow2'));
    for (let i = 0; i < 40; i++) {
      const data = (async function* () {
        yield header;
        for (let n = 0; n < 8; n++) yield Buffer.alloc(1024 * 1024);
      })();
      await expect(ms.add(`refused-${i}`, data, { inspect: true })).rejects.toMatchObject({ code: 'UnsafeImage' });
    }
    const big = Buffer.alloc(24 * 1024 * 1024, 7);
    const r = await ms.add('after-refusals', big, { inspect: true });
    expect(r.inspection).toMatchObject({ format: 'raw', virtualSize: big.length });
    expect((await stored(datadir())).filter((n) => n.startsWith('refused-'))).toEqual([]);
  });

  it("applies the store's inspect option, which an add's own option overrides", async () => {
    await expect(ms.add('guarded-backing', readFileSync(image('backing.qcow2')), { store: 'guarded' })).rejects.toMatchObject({ code: 'UnsafeImage' });
    expect(await stored(guarded())).toEqual([]);
    const r = await ms.add('guarded-safe', readFileSync(image('converted-06.vpc')), { store: 'guarded' });
    expect(r.inspection).toMatchObject({ format: 'vhd', safe: true });
    const kept = await ms.add('guarded-unchecked', readFileSync(image('backing.qcow2')), { store: 'guarded', inspect: false });
    expect(kept).not.toHaveProperty('inspection');
    // A copy into the guarded store is inspected too.
    const local = await ms.add('copy-me', readFileSync(image('backing.qcow2')));
    await expect(ms.copy(local.location, 'guarded', { imageId: 'copied-backing' })).rejects.toMatchObject({ code: 'UnsafeImage' });
    expect(await stored(guarded())).not.toContain('copied-backing');
    const copied = await ms.copy(local.location, 'local', { imageId: 'copied-reported', inspect: { safety: 'report' } });
    expect(copied.inspection).toMatchObject({ format: 'qcow2', safe: false, problems: [{ code: 'backing-file' }] });
  });

  it('checks the inspect option before reading any data', async () => {
    let read = false;
    const data = (async function* () {
      read = true;
      yield Buffer.alloc(1);
    })();
    await expect(ms.add('bad-option', data, { inspect: { expect: 'qcow3' as 'qcow2' } })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE' });
    await expect(ms.add('bad-option', data, { inspect: 'yes' as unknown as boolean })).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    await expect(ms.add('bad-option', data, { inspect: { safety: 'warn' as 'report' } })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(read).toBe(false);
  });
});
