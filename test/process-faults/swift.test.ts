/**
 * The swift store when Swift's own daemons fail mid-add (Issue 18): the
 * proxy stopped (SIGSTOP) under an abort, the proxy killed, the object
 * server killed, each while a 64 MiB image is being written as 2 MB
 * segments. The caller gets the error that says what happened in bounded
 * time; once the daemon is back and the store's reclaimer has nothing
 * pending, the container holds nothing of the failed add (no segment, no
 * manifest); and the same MultiStore adds and reads an image again.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { MultiStore, parseConfig } from '../../src/index.js';
import { readAll } from '../../src/testing/index.js';
import { kill, pause, restart, withFault, type Daemon } from '../services/daemons.js';
import { serviceEnv } from '../services/env.js';
import { swiftContainerListing, swiftRequest, swiftStoreConf, type SwiftAccount } from '../services/swift-api.js';

const swift = serviceEnv('swift');
const account: SwiftAccount | undefined = swift && { authUrl: swift['SWIFT_AUTH_URL']!, user: swift['SWIFT_USER']!, key: swift['SWIFT_KEY']! };
const PROXY: Daemon = { service: 'swift', name: 'proxy' };
const OBJECT: Daemon = { service: 'swift', name: 'object' };
const IMAGE_BYTES = 64 * 1024 * 1024;
const CHUNK = 1024 * 1024;

/** The image in 1 MiB chunks; once 40% has been handed over, `fault` runs (awaited) and the rest follows. */
async function* faultedImage(bytes: Buffer, fault: () => Promise<void>): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += CHUNK) {
    if (at === Math.floor((bytes.length * 0.4) / CHUNK) * CHUNK) await fault();
    yield bytes.subarray(at, at + CHUNK);
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!swift)('swift under process faults (64 MiB images, 2 MB segments)', () => {
  const container = `glance-pf-${randomUUID().slice(0, 8)}`;
  let ms: MultiStore;
  const listing = () => swiftContainerListing(account!, container);

  beforeAll(async () => {
    const auth = ['swift_store_auth_version = 1', `swift_store_auth_address = ${swift!['SWIFT_AUTH_URL']}`, `swift_store_user = ${swift!['SWIFT_USER']}`, `swift_store_key = ${swift!['SWIFT_KEY']}`];
    ms = await MultiStore.create(parseConfig(swiftStoreConf(auth, container)), { reclaim: { firstPauseMs: 200, maxPauseMs: 1000 } });
  });
  afterAll(async () => {
    await ms?.close();
    // Empty when every case passed; what a failing case left is shown by its assertion, then removed.
    if (swift) {
      for (const name of await listing()) await (await swiftRequest(account!, 'DELETE', `${container}/${encodeURIComponent(name)}`)).arrayBuffer();
      await (await swiftRequest(account!, 'DELETE', container)).arrayBuffer();
    }
  });

  /** Waits until the reclaimer has nothing pending (or fails after `ms`). */
  async function reclaimed(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ms.pendingCleanups().length > 0) {
      if (Date.now() > deadline) throw new Error(`still pending after ${timeoutMs} ms: ${JSON.stringify(ms.pendingCleanups())}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The same MultiStore adds a segmented image, reads it back whole, and deletes it. */
  async function stillWorks(): Promise<void> {
    const bytes = randomBytes(6 * 1024 * 1024 + 3);
    const { location } = await ms.add(randomUUID(), bytes);
    const back = await readAll((await ms.get(location)).stream);
    expect(sha(back)).toBe(sha(bytes));
    await ms.delete(location);
  }

  /** Adds through `fault` and gives the error and when the fault ended its part (ms since epoch). */
  async function failedAdd(fault: () => Promise<void>, signal?: AbortSignal): Promise<{ err: { code?: string; message?: string } }> {
    const bytes = randomBytes(IMAGE_BYTES);
    const outcome = await ms.add(randomUUID(), faultedImage(bytes, fault), { size: IMAGE_BYTES, ...(signal ? { signal } : {}) }).then(
      (r) => ({ added: r.location }),
      (err: unknown) => ({ err: err as { code?: string; message?: string } }),
    );
    if ('added' in outcome) throw new Error(`the add succeeded through the fault: ${outcome.added}`);
    return outcome;
  }

  it('an abort while the proxy is stopped settles within 3 s as Aborted; after SIGCONT nothing is left', async () => {
    expect(await listing()).toEqual([]);
    let abortedAt = 0;
    let settledAt = 0;
    const { err } = await withFault(PROXY, async () => {
      const controller = new AbortController();
      const failed = await failedAdd(async () => {
        await pause(PROXY);
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 500);
      }, controller.signal);
      settledAt = Date.now();
      return failed;
    });
    expect(err.code, err.message).toBe('Aborted');
    expect(settledAt - abortedAt).toBeLessThan(3000);
    await reclaimed();
    expect(await listing()).toEqual([]);
    await stillWorks();
  });

  it('a proxy killed mid-add gives BackendUnavailable; after a restart the reclaimer removes every segment', async () => {
    let pendingWhileDown = 0;
    const { err } = await withFault(PROXY, async () => {
      const failed = await failedAdd(() => kill(PROXY));
      // Swift cannot be asked while its proxy is down: what the add wrote waits for it.
      pendingWhileDown = ms.pendingCleanups().length;
      await restart(PROXY);
      return failed;
    });
    expect(err.code, err.message).toBe('BackendUnavailable');
    expect(pendingWhileDown).toBeGreaterThan(0);
    await reclaimed();
    expect(await listing()).toEqual([]);
    await stillWorks();
  });

  it('an object server killed mid-add gives a library error; after a restart nothing is left', async () => {
    const { err } = await withFault(OBJECT, async () => {
      const failed = await failedAdd(() => kill(OBJECT));
      await restart(OBJECT);
      return failed;
    });
    expect(err.code, err.message).toMatch(/^(BackendUnavailable|BackendError)$/);
    await reclaimed();
    expect(await listing()).toEqual([]);
    await stillWorks();
  });
});
