/**
 * What the rbd process-fault tests share: a store's config for one cluster
 * (test/services/ceph.sh or ceph-bluestore.sh), the pool's listing through
 * the `rbd` command, an image source that can stop a daemon part-way, and a
 * bounded wait.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MultiStore } from '../../src/index.js';

export const MiB = 1024 * 1024;

/** A MultiStore config with one rbd store `fast` on the cluster `env` describes, plus `extra` option lines. */
export function rbdConf(env: Record<string, string>, extra: string[] = []): string {
  return [
    '[DEFAULT]',
    'enabled_backends = fast:rbd',
    '[glance_store]',
    'default_backend = fast',
    '[fast]',
    `rbd_store_pool = ${env['CEPH_POOL']}`,
    `rbd_store_user = ${env['CEPH_USER']}`,
    `rbd_store_ceph_conf = ${env['CEPH_CONF']}`,
    'rbd_store_chunk_size = 4',
    ...extra,
    '',
  ].join('\n');
}

/** The pool's images and snapshots whose name contains `id`. */
export function stored(env: Record<string, string>, id: string): string[] {
  const out = execFileSync('rbd', ['-c', env['CEPH_CONF']!, '--id', env['CEPH_USER']!, 'ls', '-l', '--format', 'json', env['CEPH_POOL']!], { encoding: 'utf8', timeout: 30_000 });
  return (JSON.parse(out) as Array<{ image: string; snapshot?: string }>).map((i) => (i.snapshot ? `${i.image}@${i.snapshot}` : i.image)).filter((n) => n.includes(id));
}

/** `bytes` in 1 MiB chunks; `at(offset)` runs before each chunk (and may wait). */
export async function* source(bytes: Buffer, at: (offset: number) => Promise<void>): AsyncGenerator<Buffer> {
  for (let off = 0; off < bytes.length; off += MiB) {
    await at(off);
    yield bytes.subarray(off, off + MiB);
  }
}

export async function eventually(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(250);
  }
}

/** What readWithFault saw: bytes read, the stream's error, when the fault was done and when the stream erred. */
export interface FaultedRead {
  read: number;
  error: unknown;
  faultAt: number;
  erredAt: number;
}

/**
 * Reads `stream` and, once `at` of `total` bytes came, runs `fault` (stop or
 * kill a daemon) and reads on until the stream errs or ends.
 */
export async function readWithFault(stream: AsyncIterable<unknown>, total: number, at: number, fault: () => Promise<void>): Promise<FaultedRead> {
  const seen: FaultedRead = { read: 0, error: undefined, faultAt: 0, erredAt: 0 };
  try {
    for await (const chunk of stream) {
      seen.read += (chunk as Uint8Array).length;
      if (!seen.faultAt && seen.read >= at * total) {
        await fault();
        seen.faultAt = Date.now();
      }
    }
  } catch (err) {
    seen.error = err;
    seen.erredAt = Date.now();
  }
  return seen;
}

/** What addAbortedInFault saw: the add's error, when it was aborted and when it settled. */
export interface AbortedAdd {
  error: unknown;
  abortedAt: number;
  settledAt: number;
}

/**
 * Adds `bytes` as `id`; once 40 % of the source is read, runs `fault` (after
 * `ready`, e.g. until the image has data) and aborts the add 0.5 s later,
 * while the writes in flight wait for the daemon.
 */
export async function addAbortedInFault(ms: MultiStore, id: string, bytes: Buffer, fault: () => Promise<void>, ready: () => Promise<void> = async () => {}): Promise<AbortedAdd> {
  const controller = new AbortController();
  const seen: AbortedAdd = { error: undefined, abortedAt: 0, settledAt: 0 };
  let faulted = false;
  await ms
    .add(
      id,
      source(bytes, async (off) => {
        if (faulted || off < 0.4 * bytes.length) return;
        faulted = true;
        await ready();
        await fault();
        setTimeout(() => {
          seen.abortedAt = Date.now();
          controller.abort();
        }, 500);
      }),
      { signal: controller.signal },
    )
    .catch((err: unknown) => {
      seen.settledAt = Date.now();
      seen.error = err;
    });
  return seen;
}
