/**
 * One check of an add's options, whichever door the add comes in by: the
 * same mistake gives the same error through MultiStore's add and copy and
 * through openAddPipeline (what a driver author's code calls), as Node's own
 * APIs report bad arguments.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig } from '../src/index.js';
import { openAddPipeline, type AddPipelineOptions } from '../src/pipeline/add.js';

const root = await mkdtemp(path.join(tmpdir(), 'gs-add-options-'));
afterAll(() => rm(root, { recursive: true, force: true }));
const ms = await MultiStore.create(parseConfig(`[DEFAULT]\nenabled_backends = a:file, b:file\nimage_size_cap = 10\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${root}/a\n[b]\nfilesystem_store_datadir = ${root}/b\n`));
afterAll(() => ms.close());

/** The error as a caller sees it: class name, code, message. */
async function errorOf(run: () => unknown): Promise<{ name: string; code: unknown; message: string }> {
  try {
    await run();
  } catch (err) {
    const e = err as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message };
  }
  throw new Error('did not throw');
}

const MISTAKES: Array<[string, AddPipelineOptions, { name: string; code: string; message: RegExp }]> = [
  ['a negative size', { size: -1 }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /"size" option must be a whole number of bytes.*got -1/ }],
  ['a fractional size', { size: 1.5 }, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: /"size" option.*got 1\.5/ }],
  ['a size given as text', { size: '3' as never }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"size" option must be a number of bytes/ }],
  ['an unknown hash algorithm', { hashAlgo: 'crc32x' }, { name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: /"hashAlgo" option must be a hash algorithm.*got "crc32x"/ }],
  ['a hash algorithm that is not a string', { hashAlgo: 5 as never }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"hashAlgo" option must be a string/ }],
  ['a progress callback that is not a function', { onProgress: 'yes' as never }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"onProgress" option must be a function/ }],
  ['a signal that is not an AbortSignal', { signal: {} as never }, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: /"signal" option must be an AbortSignal/ }],
];

describe('add options', () => {
  for (const [what, options, expected] of MISTAKES) {
    it(`reports ${what} the same way through add, copy and openAddPipeline, before reading`, async () => {
      let read = 0;
      const data = (async function* () {
        read++;
        yield Buffer.from('x');
      })();
      const viaAdd = await errorOf(() => ms.add(randomUUID(), data, options));
      const viaPipeline = await errorOf(() => openAddPipeline(data, options));
      expect(viaAdd).toMatchObject({ ...expected, message: expect.stringMatching(expected.message) });
      expect(viaPipeline).toEqual(viaAdd);
      if (options.size === undefined) {
        const r = await ms.add(randomUUID(), Buffer.from('abc'));
        const viaCopy = await errorOf(() => ms.copy(r.location, 'b', options as never));
        expect(viaCopy).toEqual(viaAdd);
        await ms.delete(r.location);
      }
      expect(read).toBe(0);
      expect(await readdir(path.join(root, 'b'))).toEqual([]);
    });
  }

  it('refuses a declared size over the cap as ImageSizeLimitExceeded, through add and openAddPipeline alike', async () => {
    const viaAdd = await errorOf(() => ms.add(randomUUID(), Buffer.alloc(11), { size: 11 }));
    const viaPipeline = await errorOf(() => openAddPipeline([Buffer.alloc(11)], { size: 11, sizeCap: 10 }));
    expect(viaAdd).toMatchObject({ name: 'ImageSizeLimitExceededError', code: 'ImageSizeLimitExceeded' });
    expect(viaPipeline).toEqual(viaAdd);
  });
});
