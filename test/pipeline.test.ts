import { describe, it, expect } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { openAddPipeline, type AddPipelineOptions } from '../src/pipeline/add.js';
import { fixedChunks, isAllZero } from '../src/pipeline/chunks.js';
import type { ImageData } from '../src/pipeline/source.js';
import { readAhead } from '../src/pipeline/read-ahead.js';

async function collect(data: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of data) parts.push(c);
  return Buffer.concat(parts);
}

/** Runs `write` as MultiStore runs a driver's add: the digest, or why the add failed. */
async function runAddPipeline<T>(data: ImageData, options: AddPipelineOptions, write: (data: AsyncIterable<Buffer>) => Promise<T>) {
  const add = openAddPipeline(data, options);
  try {
    let result: T;
    try {
      result = await write(add.data);
    } catch (err) {
      throw add.failed(err);
    }
    return { result, digest: await add.finish() };
  } finally {
    await add.close();
  }
}

/** Reads `limit` bytes and stops, as an HTTP client stops at Content-Length. */
async function readUpTo(data: AsyncIterable<Buffer>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of data) {
    parts.push(c);
    n += c.length;
    if (n >= limit) break;
  }
  return Buffer.concat(parts);
}

/** Yields `bytes` in 64 KiB chunks, then waits a moment before it ends or fails. */
function slowToEnd(bytes: Buffer, end?: Error): AsyncIterable<Uint8Array> {
  return (async function* () {
    for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
    await new Promise((r) => setTimeout(r, 50));
    if (end) throw end;
  })();
}

describe('add pipeline', () => {
  it('hashes md5 and the multihash of large data (worker thread) and small data (inline)', async () => {
    for (const size of [0, 1, 1024 * 1024 - 1, 1024 * 1024, 5 * 1024 * 1024 + 3]) {
      const bytes = randomBytes(size);
      const run = await runAddPipeline(Readable.from([bytes], { objectMode: false }), {}, (data) => collect(data));
      expect(run.result.equals(bytes)).toBe(true);
      expect(run.digest).toEqual({
        size,
        checksum: createHash('md5').update(bytes).digest('hex'),
        multihash: createHash('sha512').update(bytes).digest('hex'),
        hashAlgo: 'sha512',
      });
    }
  });

  it('accepts hashlib spellings of algorithms and reports them as given', async () => {
    const bytes = randomBytes(3 * 1024 * 1024);
    for (const [algo, node] of [
      ['sha256', 'sha256'],
      ['sha384', 'sha384'],
      ['sha3_256', 'sha3-256'],
      ['blake2b', 'blake2b512'],
    ] as const) {
      const run = await runAddPipeline(bytes, { hashAlgo: algo }, collect);
      expect(run.digest.hashAlgo).toBe(algo);
      expect(run.digest.multihash).toBe(createHash(node).update(bytes).digest('hex'));
    }
    await expect(runAddPipeline(bytes, { hashAlgo: 'crc32x' }, collect)).rejects.toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/"hashAlgo" option must be a hash algorithm.*got "crc32x"/) });
  });

  it('gathers small chunks into blocks of at least 1 MiB before handing them on', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 100);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 65536) }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
    const sizes: number[] = [];
    await runAddPipeline(chunks, {}, async (data) => {
      for await (const c of data) sizes.push(c.length);
    });
    expect(sizes.slice(0, -1).every((s) => s >= 1024 * 1024)).toBe(true);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(bytes.length);
  });

  it('stores exactly the bytes it hashed when the source reuses its buffer', async () => {
    // The intended image, and two sources that hand out one Buffer refilled after each chunk.
    const piece = 48 * 1024 + 5;
    const image = randomBytes(piece * 97 + 11);
    function* slices() {
      for (let at = 0; at < image.length; at += piece) yield image.subarray(at, Math.min(at + piece, image.length));
    }
    async function* refilling() {
      const buf = Buffer.alloc(piece);
      for (const s of slices()) {
        s.copy(buf);
        yield buf.subarray(0, s.length);
        buf.fill(0xee); // the source moves on: what it handed over is no longer the image
      }
    }
    function pushingOneBuffer(): Readable {
      const buf = Buffer.alloc(piece);
      const it = slices();
      return new Readable({
        read() {
          buf.fill(0xdd);
          const s = it.next();
          if (s.done) return void this.push(null);
          s.value.copy(buf);
          this.push(buf.subarray(0, s.value.length));
        },
      });
    }
    const md5 = createHash('md5').update(image).digest('hex');
    const sha512 = createHash('sha512').update(image).digest('hex');
    for (const [source, size] of [
      [refilling(), image.length],
      [refilling(), undefined],
      [pushingOneBuffer(), image.length],
      [pushingOneBuffer(), undefined],
    ] as const) {
      // A driver that holds every block until the end, as a write-behind does.
      const { result, digest } = await runAddPipeline(source, size === undefined ? {} : { size }, collect);
      expect(result.equals(image)).toBe(true);
      expect(digest.checksum).toBe(md5);
      expect(digest.multihash).toBe(sha512);
      expect(createHash('md5').update(result).digest('hex')).toBe(digest.checksum);
    }
  });

  it('reuses the blocks a driver gives back, and stores exactly the bytes it hashed', async () => {
    // 48 MiB in 64 KiB chunks from one refilled buffer: more blocks than the ring has, so a
    // block given back is filled again while the driver still writes the ones after it.
    const image = randomBytes(48 * 1024 * 1024 + 7);
    const piece = 64 * 1024;
    async function* refilling() {
      const buf = Buffer.alloc(piece);
      for (let at = 0; at < image.length; at += piece) {
        const n = image.copy(buf, 0, at, Math.min(at + piece, image.length));
        yield buf.subarray(0, n);
        buf.fill(0xee);
      }
    }
    const add = openAddPipeline(refilling(), { size: image.length, lend: true });
    const written: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    try {
      for await (const block of add.data) {
        memory.add(block.buffer);
        written.push(Buffer.from(block)); // "written": the bytes as the driver stored them
        add.release(block);
      }
      const digest = await add.finish();
      const stored = Buffer.concat(written);
      expect(stored.equals(image)).toBe(true);
      expect(digest.checksum).toBe(createHash('md5').update(image).digest('hex'));
      expect(digest.multihash).toBe(createHash('sha512').update(image).digest('hex'));
      // The blocks were the ring's own memory, reused, not 49 fresh allocations.
      expect(memory.size).toBe(1);
    } finally {
      await add.close();
    }
  });

  it('hands copies to a driver that keeps what it was lent, so it cannot exhaust the shared blocks', async () => {
    // A driver that holds every block to the end (never gives one back), over more blocks
    // than the ring has: the add completes, with the right bytes.
    const image = randomBytes(40 * 1024 * 1024 + 3);
    const { result, digest } = await runAddPipeline(image, { size: image.length, lend: true }, collect);
    expect(result.equals(image)).toBe(true);
    expect(digest.multihash).toBe(createHash('sha512').update(image).digest('hex'));
  });

  it('fails inside the iteration, before the end, when the data is short', async () => {
    let sawEnd = false;
    const err = await runAddPipeline([randomBytes(100)], { size: 101 }, async (data) => {
      for await (const _ of data) void _;
      sawEnd = true;
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SizeMismatch' });
    expect(sawEnd).toBe(false);
  });

  it('reports the pipeline error even when the writer wraps it', async () => {
    const err = await runAddPipeline([randomBytes(20)], { sizeCap: 10 }, async (data) => {
      try {
        for await (const _ of data) void _;
      } catch (e) {
        throw new Error(`backend wrapper: ${(e as Error).message}`, { cause: e });
      }
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ImageSizeLimitExceeded' });
  });

  it('rejects a writer that stops reading early', async () => {
    const err = await runAddPipeline([randomBytes(2 * 1024 * 1024), randomBytes(2 * 1024 * 1024)], {}, async (data) => {
      for await (const _ of data) break;
      return 'partial';
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BackendError', message: expect.stringMatching(/before reading all of the image data/) });
  });

  it('has checked and hashed an image of declared size by the time its last byte is handed out', async () => {
    // A writer that stops at the declared size, as an HTTP client stops at Content-Length.
    for (const size of [1, 1024 * 1024, 3 * 1024 * 1024 + 5]) {
      const bytes = randomBytes(size);
      const run = await runAddPipeline(slowToEnd(bytes), { size }, (data) => readUpTo(data, size));
      expect(run.result.equals(bytes)).toBe(true);
      expect(run.digest).toMatchObject({ size, checksum: createHash('md5').update(bytes).digest('hex') });
    }
  });

  it('fails within the iteration, before the last byte, on data longer than declared or a source that fails after its last byte', async () => {
    const size = 2 * 1024 * 1024 + 3;
    const got: number[] = [];
    const write = async (data: AsyncIterable<Buffer>) => got.push((await readUpTo(data, size)).length);
    await expect(runAddPipeline(slowToEnd(randomBytes(size + 1)), { size }, write)).rejects.toMatchObject({ code: 'SizeMismatch' });
    await expect(runAddPipeline([randomBytes(size), Buffer.from('x')], { size }, write)).rejects.toMatchObject({ code: 'SizeMismatch' });
    await expect(runAddPipeline(slowToEnd(randomBytes(size), new Error('reset after the last byte')), { size }, write)).rejects.toMatchObject({ code: 'SourceError' });
    // The writer never received the whole image, so it could not have committed it.
    expect(got).toEqual([]);
  });

  it('takes a declared size of 0 as an empty image, and no size as unknown', async () => {
    const empty = await runAddPipeline([], { size: 0 }, collect);
    expect(empty.digest).toMatchObject({ size: 0, checksum: createHash('md5').digest('hex') });
    await expect(runAddPipeline([Buffer.from('x')], { size: 0 }, collect)).rejects.toMatchObject({ code: 'SizeMismatch' });
    // A writer of 0 declared bytes need not ask for any: the end is checked once it is done.
    expect((await runAddPipeline([], { size: 0 }, async () => 'nothing read')).digest.size).toBe(0);
    await expect(runAddPipeline([Buffer.from('x')], { size: 0 }, async () => 'nothing read')).rejects.toMatchObject({ code: 'SizeMismatch' });
    expect((await runAddPipeline([Buffer.from('xyz')], {}, collect)).digest.size).toBe(3);
    const totals: Array<number | undefined> = [];
    await runAddPipeline([], { size: 0, onProgress: (p) => totals.push(p.total) }, collect);
    expect(totals).toEqual([0]);
  });

  it("reports an onProgress callback's own error as it threw it", async () => {
    const mine = new Error('progress display broke');
    const err = await runAddPipeline([randomBytes(100)], { onProgress: () => { throw mine; } }, async (data) => {
      try {
        for await (const _ of data) void _;
      } catch (e) {
        throw new Error(`backend wrapper: ${(e as Error).message}`, { cause: e });
      }
    }).catch((e: unknown) => e);
    expect(err).toBe(mine);
  });

  it('rejects bad sizes before reading', async () => {
    await expect(runAddPipeline([Buffer.from('x')], { size: -1 }, collect)).rejects.toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE', message: expect.stringMatching(/"size" option must be a whole number of bytes/) });
    await expect(runAddPipeline([Buffer.from('x')], { size: 1.5 }, collect)).rejects.toMatchObject({ name: 'RangeError', message: expect.stringMatching(/"size" option/) });
  });
});

describe('chunk helpers', () => {
  it('re-slices a stream into fixed-size chunks', async () => {
    const bytes = randomBytes(10_000);
    const src = async function* () {
      for (let i = 0; i < bytes.length; i += 333) yield bytes.subarray(i, i + 333);
    };
    const out: Buffer[] = [];
    for await (const c of fixedChunks(src(), 1024)) out.push(c);
    expect(out.slice(0, -1).every((c) => c.length === 1024)).toBe(true);
    expect(Buffer.concat(out).equals(bytes)).toBe(true);
  });

  it('tells all-zero buffers apart', () => {
    expect(isAllZero(Buffer.alloc(200_000))).toBe(true);
    const b = Buffer.alloc(200_000);
    b[199_999] = 1;
    expect(isAllZero(b)).toBe(false);
    expect(isAllZero(Buffer.alloc(0))).toBe(true);
  });
});

describe('read-ahead', () => {
  it('releases the backend object only after every read in flight has settled, and starts none after', async () => {
    const events: string[] = [];
    let reading = 0;
    const stream = readAhead({
      start: 0,
      length: 100,
      chunk: 10,
      inFlight: 3,
      readAt: async (at, length) => {
        events.push(`start ${at}`);
        reading++;
        await new Promise((r) => setTimeout(r, 20));
        reading--;
        events.push(`end ${at}`);
        return Buffer.alloc(length, at);
      },
      close: async () => {
        events.push(`close with ${reading} reading`);
      },
    });
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBe(10);
    // The stream has asked for its next chunk by now: a read is in flight when it is destroyed.
    await new Promise((r) => setTimeout(r, 5));
    stream.destroy();
    await new Promise((r) => stream.once('close', r));
    await new Promise((r) => setTimeout(r, 100));
    const closeAt = events.findIndex((e) => e.startsWith('close'));
    expect(events[closeAt]).toBe('close with 0 reading');
    expect(events.slice(closeAt + 1).filter((e) => e.startsWith('start'))).toEqual([]);
  });

  it('reads into a few reused buffers when the consumer is done with each chunk before it reads the next', async () => {
    const data = randomBytes(1000);
    const stream = readAhead({ start: 0, length: data.length, chunk: 10, inFlight: 3, reuse: true, readAt: async (at, length, into) => (data.copy(into!, 0, at, at + length), into!), close: async () => undefined });
    const parts: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    let previous: { chunk: Buffer; copy: Buffer } | undefined;
    for await (const c of stream) {
      // The chunk before this one is still intact: it is reused only later.
      if (previous) expect(previous.chunk.equals(previous.copy)).toBe(true);
      memory.add((c as Buffer).buffer);
      previous = { chunk: c as Buffer, copy: Buffer.from(c as Buffer) };
      parts.push(previous.copy);
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    // 100 chunks through a ring of inFlight + 4 buffers.
    expect(memory.size).toBeLessThanOrEqual(7);
  });

  it("gives an ended stream's reused buffers to the next one, which overwrites the chunks handed out last, last", async () => {
    const options = (data: Buffer) => ({ start: 0, length: data.length, chunk: 10, inFlight: 3, reuse: true, readAt: async (at: number, length: number, into?: Buffer) => (data.copy(into!, 0, at, at + length), into!), close: async () => undefined });
    const firstData = randomBytes(1000);
    const memory = new Set<ArrayBufferLike>();
    let last: Buffer | undefined;
    for await (const c of readAhead(options(firstData))) {
      memory.add((c as Buffer).buffer);
      last = c as Buffer;
    }
    const lastCopy = Buffer.from(last!);
    expect(lastCopy.equals(firstData.subarray(990))).toBe(true);
    const secondData = randomBytes(1000);
    const parts: Buffer[] = [];
    for await (const c of readAhead(options(secondData))) {
      // The first stream's last chunk is still intact while the second reads its first chunks.
      if (parts.length < 2) expect(last!.equals(lastCopy)).toBe(true);
      memory.add((c as Buffer).buffer);
      parts.push(Buffer.from(c as Buffer));
    }
    expect(Buffer.concat(parts).equals(secondData)).toBe(true);
    // Both streams read into one ring of inFlight + 4 buffers: the second allocated none.
    expect(memory.size).toBeLessThanOrEqual(7);
  });

  it('yields the range in order', async () => {
    const stream = readAhead({ start: 5, length: 95, chunk: 10, inFlight: 4, readAt: async (at, length) => Buffer.from(Array.from({ length }, (_, i) => (at + i) % 256)), close: async () => undefined });
    const parts: Buffer[] = [];
    for await (const c of stream) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(Buffer.from(Array.from({ length: 95 }, (_, i) => (5 + i) % 256)))).toBe(true);
  });
});
