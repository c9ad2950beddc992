/**
 * The cinder store's per-volume lock of one host (glance_store 5.3's
 * external lock around a detach): held across processes, let go by the
 * kernel when its holder dies, bounded in how long it waits. Needs no
 * Cinder: the processes are Node processes of this test, as the workers of
 * one glance-api would be.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { VolumeLocks } from '../src/drivers/cinder/volume-lock.js';

const dir = await mkdtemp(path.join(tmpdir(), 'gs-vlock-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
// The holders load the built module (npm run build), as a service's workers load the package.
const moduleUrl = new URL('../dist/src/drivers/cinder/volume-lock.js', import.meta.url).href;
const run = promisify(execFile);
const node = (script: string) => [process.execPath, ['--input-type=module', '-e', script]] as const;

/** A Node process that holds the volume's lock for `holdMs` and prints when it had it. */
function holderScript(volume: string, holdMs: number): string {
  return `
const { VolumeLocks } = await import(${JSON.stringify(moduleUrl)});
const locks = new VolumeLocks(${JSON.stringify(dir)}, 30);
await locks.withLock(${JSON.stringify(volume)}, async () => {
  const from = Date.now();
  await new Promise((r) => setTimeout(r, ${holdMs}));
  console.log(JSON.stringify({ from, to: Date.now() }));
});`;
}

describe('cinder per-volume lock across the processes of one host', () => {
  it('two processes holding one volume\'s lock take turns; another volume\'s lock is not held up', async () => {
    const started = Date.now();
    const [a, b, other] = await Promise.all([run(...node(holderScript('vol-1', 700))), run(...node(holderScript('vol-1', 700))), run(...node(holderScript('vol-2', 700)))]);
    const [ia, ib, io] = [a, b, other].map((r) => JSON.parse(r.stdout.trim()) as { from: number; to: number });
    // One after the other: the second began once the first had let go.
    const [first, second] = ia!.from < ib!.from ? [ia!, ib!] : [ib!, ia!];
    expect(second.from).toBeGreaterThanOrEqual(first.to);
    // vol-2's holder overlapped one of vol-1's.
    expect(io!.from < first.to || io!.from < second.to).toBe(true);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect((await readdir(dir)).sort()).toEqual(['glance-store-volume-vol-1.lock', 'glance-store-volume-vol-2.lock']);
  });

  it('a holder that dies lets the lock go; a waiter past its bound fails with BackendUnavailable', async () => {
    const holder = spawn(...node(holderScript('vol-3', 60_000)), { stdio: 'ignore' });
    try {
      // Wait until the holder has it: a lock of 1 s bound then fails.
      const impatient = new VolumeLocks(dir, 1);
      let refused: unknown;
      for (let i = 0; i < 50 && !refused; i++) {
        refused = await impatient.withLock('vol-3', async () => undefined).then(
          () => new Promise((r) => setTimeout(r, 200)).then(() => undefined),
          (err: unknown) => err,
        );
      }
      expect(refused).toMatchObject({ code: 'BackendUnavailable', message: /lock of volume vol-3 .* held by another process for more than 1 s/ });
      holder.kill('SIGKILL');
      const t = Date.now();
      await new VolumeLocks(dir, 10).withLock('vol-3', async () => undefined);
      expect(Date.now() - t).toBeLessThan(5_000);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('in one process, holders of one volume queue and a failing holder lets the next one in', async () => {
    const locks = new VolumeLocks(dir, 30);
    const order: string[] = [];
    const hold = (name: string, fail = false) =>
      locks.withLock('vol-4', async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name} out`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([hold('a'), hold('b', true), hold('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });
});
