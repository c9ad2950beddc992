/**
 * What the conformance cases share: the test-runner interface, image
 * sources that misbehave on purpose, and assertions that say what was wrong.
 * Assertions use node:assert, so the suite runs under any runner.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Registers one case: its name, its body, and optionally its timeout in ms. */
export type CaseRegistrar = (name: string, fn: () => Promise<void>, timeout?: number) => void;

/** The part of a test runner the suite needs (vitest, node:test, mocha, jest...). */
export interface TestApi {
  describe: (name: string, fn: () => void) => void;
  /**
   * Registers a case. Where it carries `skip` (vitest's, jest's, mocha's and
   * node:test's `it.skip`), cases a driver does not support are registered
   * with it, so the runner reports them skipped.
   */
  it: CaseRegistrar & { skip?: CaseRegistrar };
  beforeAll: (fn: () => Promise<void>, timeout?: number) => void;
  afterAll: (fn: () => Promise<void>, timeout?: number) => void;
}

/**
 * Registers a case the fixture may not support: run when `skipReason` is
 * undefined, else reported skipped with the reason in its name, never passed.
 * A runner without `it.skip` gets a case that is named so and does nothing.
 */
export function optionalCase(t: TestApi, name: string, skipReason: string | undefined, fn: () => Promise<void>, timeout?: number): void {
  if (skipReason === undefined) return t.it(name, fn, timeout);
  const shown = `${name} (skipped: ${skipReason})`;
  if (t.it.skip) t.it.skip(shown, fn, timeout);
  else t.it(`SKIPPED, not run: ${shown}`, async () => undefined, timeout);
}

export const md5 = (b: Uint8Array): string => createHash('md5').update(b).digest('hex');
export const sha = (algo: string, b: Uint8Array): string => createHash(algo).update(b).digest('hex');

/** Every byte of a stream, in one Buffer (for tests that compare images). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(parts);
}

export interface PiecesOptions {
  /** Thrown by the source after its last byte. */
  fail?: Error;
  /** Called before each piece, with its index. */
  onChunk?: (i: number) => void;
  /** Awaited after the first piece: holds the source until other adds have started. */
  hold?: Promise<void>;
  /** Milliseconds between the last byte and the end (or `fail`), as a slow network gives. */
  endDelay?: number;
}

/** A source of unknown size that yields `bytes` in pieces, then optionally fails. */
export function pieces(bytes: Buffer, piece: number, after: PiecesOptions = {}): AsyncIterable<Uint8Array> {
  return {
    async *[Symbol.asyncIterator]() {
      let i = 0;
      for (let off = 0; off < bytes.length; off += piece) {
        after.onChunk?.(i++);
        yield bytes.subarray(off, Math.min(off + piece, bytes.length));
        if (i === 1 && after.hold) await after.hold;
        await new Promise((r) => setImmediate(r));
      }
      if (after.endDelay) await new Promise((r) => setTimeout(r, after.endDelay));
      if (after.fail) throw after.fail;
    },
  };
}

/**
 * A point that `count` parties reach before any goes on. Each party calls
 * its own `arrive` (more calls count once), also when it ends without
 * reaching the point (an add refused before it read any data), so that the
 * others are not held forever.
 */
export function barrier(count: number): { reached: Promise<void>; party(): () => void } {
  let waiting = count;
  let open!: () => void;
  const reached = new Promise<void>((r) => (open = r));
  return {
    reached,
    party() {
      let arrived = false;
      return () => {
        if (arrived) return;
        arrived = true;
        if (--waiting === 0) open();
      };
    },
  };
}

export async function rejectsWithCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    const e = err as { code?: string; message?: string };
    assert.equal(e.code, code, `expected code ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message ?? '', message);
    return true;
  });
}

const sorted = (xs: string[]) => [...xs].sort();

/** What the backend gained and lost between two listings. */
export function changes(before: string[], after: string[]): { added: string[]; removed: string[] } {
  return { added: sorted(after.filter((x) => !before.includes(x))), removed: sorted(before.filter((x) => !after.includes(x))) };
}

/** Runs a failing call and checks that the backend holds exactly what it held before. */
export async function failsCleanly(listStored: () => Promise<string[]>, run: () => Promise<unknown>, code: string): Promise<void> {
  const before = await listStored();
  await rejectsWithCode(run(), code);
  assert.deepEqual(changes(before, await listStored()), { added: [], removed: [] }, 'a failed add changed what the backend holds');
}
