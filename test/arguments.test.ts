/**
 * Every public method checks its arguments before any I/O, and says which
 * argument was wrong, as Node's own APIs do.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-args-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const ms = await MultiStore.create(parseConfig(`[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${root}/a\n[b]\nfilesystem_store_datadir = ${root}/b\n`));
afterAll(() => ms.close());

const typeError = (message: RegExp) => ({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(message) });
const rangeError = (message: RegExp) => ({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(message) });

describe('argument checks', () => {
  it('add: data, size, options and callbacks', async () => {
    const id = randomUUID();
    await expect(ms.add(id, 'abc' as never)).rejects.toMatchObject(typeError(/"data" argument must be a Buffer.*got a string of 3 characters/));
    await expect(ms.add(id, 42 as never)).rejects.toMatchObject(typeError(/"data" argument.*got number 42/));
    await expect(ms.add(id, Buffer.from('x'), { size: -1 })).rejects.toMatchObject(rangeError(/"size" option must be a whole number of bytes.*got -1/));
    await expect(ms.add(id, Buffer.from('x'), { size: 1.5 })).rejects.toMatchObject(rangeError(/"size".*got 1\.5/));
    await expect(ms.add(id, Buffer.from('x'), { size: '1' as never })).rejects.toMatchObject(typeError(/"size" option must be a number of bytes; got a string/));
    await expect(ms.add(id, Buffer.from('x'), 'a' as never)).rejects.toMatchObject(typeError(/"options" argument must be an object/));
    await expect(ms.add(id, Buffer.from('x'), { store: 1 as never })).rejects.toMatchObject(typeError(/"store" option must be a string/));
    await expect(ms.add(id, Buffer.from('x'), { onProgress: 'yes' as never })).rejects.toMatchObject(typeError(/"onProgress" option must be a function/));
    await expect(ms.add(id, Buffer.from('x'), { signal: {} as never })).rejects.toMatchObject(typeError(/"signal" option must be an AbortSignal/));
    await expect(ms.add(id, Buffer.from('x'), { context: 'token' as never })).rejects.toMatchObject(typeError(/"context" argument must be an object/));
    expect(await readdir(path.join(root, 'a'))).toEqual([]);
  });

  it('get, getSize, delete and copy: locations, ranges and options', async () => {
    const r = await ms.add(randomUUID(), Buffer.from('0123456789'));
    await expect(ms.get(r.location, { offset: -1 })).rejects.toMatchObject(rangeError(/"offset" option.*got -1/));
    await expect(ms.get(r.location, { length: -1 })).rejects.toMatchObject(rangeError(/"length" option.*got -1/));
    await expect(ms.get(r.location, { offset: Number.NaN })).rejects.toMatchObject(rangeError(/"offset"/));
    await expect(ms.get(42 as never)).rejects.toMatchObject(typeError(/"location" argument must be a URI string or an object with a string url; got number 42/));
    await expect(ms.getSize({ metadata: {} } as never)).rejects.toMatchObject(typeError(/"location" argument/));
    await expect(ms.delete(r.location, { store: ['a'] as never })).rejects.toMatchObject(typeError(/"store" option must be a string; got an array/));
    await expect(ms.copy(r.location, 7 as never)).rejects.toMatchObject(typeError(/"toStoreId" argument must be a store id; got number 7/));
    await expect(ms.copy(r.location, 'b', { checksum: 5 as never })).rejects.toMatchObject(typeError(/"checksum" option must be a string/));
    // Nothing was copied, nothing was removed.
    expect(await readdir(path.join(root, 'b'))).toEqual([]);
    expect(await ms.getSize(r.location)).toBe(10);
  });
});
