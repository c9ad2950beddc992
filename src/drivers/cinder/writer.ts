/**
 * Writes an image into its volume: attached read-write, in fixed chunks with
 * a few writes in flight. An image of unknown size starts in 1 GiB and, when
 * the next chunk does not fit, the volume grows by 1 GiB as glance_store
 * grows it: detached, extended and attached again, or extended while
 * attached with cinder_do_extend_attached.
 */
import { BackendError } from '../../errors.js';
import { fixedChunks } from '../../pipeline/chunks.js';
import { WriteBehind } from '../../pipeline/write-behind.js';
import type { CinderApi, Volume } from './api.js';
import type { VolumeLifecycle } from './volume.js';

export const GiB = 2 ** 30;
/**
 * Bytes per write (a GiB is a whole number of them, so a full volume ends on
 * a write), and writes in flight: 8 MiB in flight keeps librbd busy while
 * memory stays flat.
 */
const CHUNK = 2 ** 20;
const IN_FLIGHT = 8;

export interface WriteJob {
  api: CinderApi;
  lifecycle: VolumeLifecycle;
  volume: Volume;
  data: AsyncIterable<Uint8Array>;
  /** The declared size; 0 when unknown (the volume then grows as needed). */
  declared: number;
  extendAttached: boolean;
  signal: AbortSignal;
}

/** Writes every byte of `data`; returns how many. The volume is detached when it returns or throws. */
export async function writeImage(job: WriteJob): Promise<number> {
  const { api, lifecycle, signal } = job;
  const chunks = fixedChunks(job.data, CHUNK)[Symbol.asyncIterator]();
  let volume = job.volume;
  let offset = 0;
  /** A chunk read but not yet written because the volume was full. */
  let held: Buffer | undefined;
  for (;;) {
    const attached = await lifecycle.attach(api, volume.id, 'rw', signal);
    let full: boolean;
    let failed = true;
    const writes = new WriteBehind((at, chunk) => attached.device.write(at, chunk), { inFlight: IN_FLIGHT, signal });
    try {
      for (;;) {
        full = false;
        for (;;) {
          const next = held ?? (await nextChunk(chunks));
          if (!next) break;
          if (offset + next.length > volume.size * GiB) {
            if (job.declared) throw new BackendError(`Volume ${volume.id} of ${volume.size} GiB cannot hold more than the declared ${job.declared} bytes`);
            held = next;
            full = true;
            break;
          }
          held = undefined;
          await writes.write(offset, next);
          offset += next.length;
        }
        await writes.drain();
        if (!full || !job.extendAttached) break;
        volume = await lifecycle.extendAttached(api, attached, volume.size + 1, signal);
      }
      failed = false;
    } finally {
      await writes.settle();
      // A failed add only closes the device: its attachment goes with its volume, in the
      // reclaimer, so a Cinder that does not answer (its volume service stopped) never holds
      // the add, and a detach error never hides the first one.
      if (failed) await attached.device.close().catch(() => undefined);
      else await lifecycle.detach(api, attached);
    }
    if (!full) return offset;
    volume = await lifecycle.extendDetached(api, volume.id, volume.size + 1, signal);
  }
}

async function nextChunk(chunks: AsyncIterator<Buffer>): Promise<Buffer | undefined> {
  const r = await chunks.next();
  return r.done ? undefined : r.value;
}
