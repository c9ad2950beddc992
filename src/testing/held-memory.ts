/**
 * How many bytes the process holds, measured after a full garbage
 * collection, so a figure does not depend on what ran before: a resident-set
 * peak (the old measure) starts from whatever heap earlier cases left, and a
 * driver that keeps a whole image passes under a heap already grown in a
 * full run while it fails alone. Live JavaScript objects and buffers after a
 * collection are what some code still references.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/** A full collection, whether or not node runs with --expose-gc. */
function fullGc(): void {
  if (!collect) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) collect = exposed;
    else {
      // Exposes `gc` to contexts created from now on; the flag changes nothing else.
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
}

/** Most collections one figure waits for; two or three suffice in practice. */
const MAX_COLLECTIONS = 6;

/**
 * Bytes referenced now: the JavaScript heap plus the buffers outside it.
 *
 * One collection is not enough: V8 releases the memory of unreachable
 * ArrayBuffers (every Buffer's bytes) on a concurrent sweeper, and
 * `arrayBuffers` falls only when it has run, often after `gc()` returned. A
 * single collection could so count an image deleted just before (a baseline
 * too high, which hid a driver that keeps the whole image) or chunks already
 * dropped (a sample too high). The next collection first finishes the
 * previous one's sweeping, so collections are repeated until the buffers'
 * figure stops falling: then what is left is what is reachable.
 */
export function heldBytes(): number {
  fullGc();
  let last = process.memoryUsage();
  for (let i = 1; i < MAX_COLLECTIONS; i++) {
    fullGc();
    const now = process.memoryUsage();
    const settled = now.arrayBuffers >= last.arrayBuffers;
    last = now;
    if (settled) break;
  }
  return last.heapUsed + last.arrayBuffers;
}
