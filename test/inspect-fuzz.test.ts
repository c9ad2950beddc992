/**
 * Hostile input, bounded by time: thousands of mutated headers of every
 * format (seeds made by qemu-img and xorriso at test time), cut anywhere and
 * fed in chunks of any size. Each inspection must end quickly with a well-
 * formed result: no probe may throw (that would show as a "could not be
 * read" problem), no size may be absurd, memory must stay flat.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DISK_FORMATS, inspectImage, type Inspection } from '../src/index.js';
import { buildImages } from './inspect/images.js';

const SEED_BYTES = 3 * 1024 * 1024;
/** The mutations run until RUNS are done or this much time has passed; at least MIN_RUNS must fit. */
const BUDGET_MS = 30_000;
const RUNS = 3000;
const MIN_RUNS = 2000;
/** A hang or a blow-up is far past these; a machine shared with other runs is not. */
const PER_IMAGE_MS = 2000;
const MEDIAN_MS = 100;

let dir: string;
let seeds: Array<{ name: string; bytes: Buffer }>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gs-inspect-fuzz-'));
  seeds = buildImages(dir)
    .filter((i) => !i.name.startsWith('cut-'))
    .map((i) => {
      const fd = openSync(i.file, 'r');
      const buf = Buffer.alloc(SEED_BYTES);
      const n = readSync(fd, buf, 0, SEED_BYTES, 0);
      closeSync(fd);
      return { name: i.name, bytes: buf.subarray(0, n) };
    });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A small deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

/** Where formats keep what they read: mutations land there most of the time. */
const HOT = [
  [0, 1024],
  [0x8000, 0x8000 + 8192],
  [192 * 1024, 192 * 1024 + 4096],
  [1024 * 1024, 1024 * 1024 + 4096],
  [2 * 1024 * 1024, 2 * 1024 * 1024 + 4096],
] as const;

function mutate(seed: Buffer, rand: (n: number) => number): Buffer {
  const b = Buffer.from(seed);
  const edits = 1 + rand(8);
  for (let e = 0; e < edits; e++) {
    const [lo, hi] = HOT[rand(HOT.length)]!;
    if (lo >= b.length) continue;
    const at = lo + rand(Math.min(hi, b.length) - lo);
    switch (rand(4)) {
      case 0:
        b[at] = rand(256);
        break;
      case 1:
        // An absurd size or offset.
        b.fill(0xff, at, Math.min(b.length, at + 8));
        break;
      case 2:
        b[at] ^= 1 << rand(8);
        break;
      default:
        b.fill(0, at, Math.min(b.length, at + 1 + rand(64)));
    }
  }
  // Cut anywhere, sometimes.
  return rand(4) === 0 ? b.subarray(0, rand(b.length + 1)) : b;
}

/** Chunks of any size through the first headers, of at least 4 KiB to 256 KiB, then of 1 MiB as the pipeline's blocks. */
async function* chunks(b: Buffer, rand: (n: number) => number): AsyncGenerator<Uint8Array> {
  const size = [1, 7, 512, 4096, 65536, 1 << 20][rand(6)]!;
  for (let at = 0; at < b.length; ) {
    const n = at < 8192 ? size : at < 256 * 1024 ? Math.max(size, 4096) : 1 << 20;
    yield b.subarray(at, at + n);
    at += n;
  }
}

function wellFormed(r: Inspection, what: string): void {
  expect(DISK_FORMATS, what).toContain(r.format);
  expect(r.safe, what).toBe(r.problems.length === 0);
  if (r.virtualSize !== null) expect(Number.isSafeInteger(r.virtualSize) && r.virtualSize >= 0, `${what}: virtual size ${r.virtualSize}`).toBe(true);
  for (const p of r.problems) expect(p.message, what).not.toMatch(/could not be read:/);
}

describe('inspection of hostile input', () => {
  it('inspects thousands of mutated headers of every format, each in bounded time, memory flat', async () => {
    const started = Date.now();
    const rssBefore = process.memoryUsage().rss;
    let runs = 0;
    const times: number[] = [];
    // Each seed once, untimed: the first runs measure the compiler, not the inspector.
    for (const s of seeds) await inspectImage(chunks(s.bytes, rng(7)));
    for (let seed = 1; Date.now() - started < BUDGET_MS && runs < RUNS; seed++) {
      const rand = rng(seed);
      const source = seeds[seed % seeds.length]!;
      const image = mutate(source.bytes, rand);
      const t0 = performance.now();
      const r = await inspectImage(chunks(image, rand));
      const took = performance.now() - t0;
      times.push(took);
      wellFormed(r, `${source.name} mutation ${seed}`);
      expect(took, `${source.name} mutation ${seed}`).toBeLessThan(PER_IMAGE_MS);
      runs++;
    }
    expect(runs).toBeGreaterThanOrEqual(MIN_RUNS);
    expect(times.sort((a, b) => a - b)[Math.floor(times.length / 2)]).toBeLessThan(MEDIAN_MS);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 * 1024);
  }, BUDGET_MS + 30_000);

  it('holds memory flat over a 4 GiB stream, whatever its format', async () => {
    for (const name of ['converted-00.qcow2', 'converted-08.vhdx', 'converted-13.luks', 'disk.raw']) {
      const head = seeds.find((s) => s.name === name)!.bytes;
      const block = Buffer.alloc(1024 * 1024);
      const rssBefore = process.memoryUsage().rss;
      const blocks = 4096;
      const r = await inspectImage(
        (async function* () {
          yield head;
          for (let i = 0; i < blocks; i++) yield block;
        })(),
      );
      expect(r.virtualSize === null || r.virtualSize >= 0, name).toBe(true);
      expect(process.memoryUsage().rss - rssBefore, name).toBeLessThan(32 * 1024 * 1024);
    }
  }, 60_000);

  it('keeps a descriptor of megabytes, and a hundred thousand extents, bounded', async () => {
    const header = '# Disk DescriptorFile\nversion=1\ncreateType="monolithicSparse"\n';
    const extents = Array.from({ length: 100_000 }, (_, i) => `RW 8 SPARSE "x${i}.vmdk"`).join('\n');
    const image = Buffer.from(`${header}${extents}\n${'#'.repeat(8 * 1024 * 1024)}`);
    const t0 = performance.now();
    const r = await inspectImage(chunks(image, () => 5));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(r).toMatchObject({ format: 'vmdk', safe: false });
    // Only what the capture holds (1 MiB - 1) was parsed, and only 64 extents are shown.
    expect(r.details.extents).toHaveLength(64);
    expect(r.problems.filter((p) => p.code === 'unsafe-extent')).toHaveLength(64);
  });

  it('says what a qcow2 claiming 2^64 bytes is, and a vhdx whose tables claim 65,535 entries', async () => {
    const q = seeds.find((s) => s.name === 'created-00.qcow2')!.bytes.subarray(0, 65536);
    const qcow = Buffer.from(q);
    qcow.fill(0xff, 24, 32);
    expect(await inspectImage(chunks(qcow, () => 3))).toMatchObject({ format: 'qcow2', virtualSize: null, safe: false, problems: [{ code: 'invalid-header' }] });
    const v = Buffer.from(seeds.find((s) => s.name === 'created-16.vhdx')?.bytes ?? seeds.find((s) => s.name.endsWith('.vhdx'))!.bytes);
    v.writeUInt32LE(0xffff, 192 * 1024 + 8);
    expect(await inspectImage(chunks(v, () => 4))).toMatchObject({ format: 'vhdx', virtualSize: null, safe: false, problems: [{ code: 'invalid-header' }] });
  });
});
