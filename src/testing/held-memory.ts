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

/** Bytes referenced now: the JavaScript heap plus the buffers outside it, after a full collection. */
export function heldBytes(): number {
  fullGc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
