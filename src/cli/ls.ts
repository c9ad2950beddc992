/**
 * `glance-store ls STORE`: the images a store holds (or, with --leftovers,
 * what adds that died left), printed as they are listed: a store of a
 * million images streams. A listing that fails half-way has printed what it
 * listed, says how far it got and exits non-zero.
 */
import type { MultiStore } from '../multistore.js';
import type { ListedImage, StoreLeftover } from '../driver.js';
import { maskLocation } from '../location.js';
import { formatAge } from './records.js';

export interface LsIo {
  out(line: string): void;
  progress(listed: number, done?: boolean): void;
}

export async function ls(ms: MultiStore, storeId: string, o: { json: boolean; leftovers: boolean }, io: LsIo, signal: AbortSignal): Promise<number> {
  let n = 0;
  const now = Date.now();
  try {
    if (o.leftovers) {
      for await (const l of ms.leftovers(storeId, { signal })) {
        io.progress(++n);
        io.out(o.json ? JSON.stringify(leftoverJson(l, now)) : `${l.kind}\t${maskLocation(l.location)}\t${formatAge(l.since ? now - l.since.getTime() : undefined)}`);
      }
    } else {
      for await (const i of ms.list(storeId, { signal })) {
        io.progress(++n);
        io.out(o.json ? JSON.stringify(imageJson(i)) : `${i.id}\t${i.size ?? '?'}\t${maskLocation(i.location)}`);
      }
    }
  } finally {
    io.progress(n, true);
  }
  return n;
}

const imageJson = (i: ListedImage) => ({ id: i.id, size: i.size ?? null, location: maskLocation(i.location), ...(i.since ? { since: i.since.toISOString() } : {}) });

const leftoverJson = (l: StoreLeftover, now: number) => ({
  kind: l.kind,
  location: maskLocation(l.location),
  imageId: l.imageId ?? null,
  since: l.since?.toISOString() ?? null,
  ageSeconds: l.since ? Math.round((now - l.since.getTime()) / 1000) : null,
  ...(l.size !== undefined ? { size: l.size } : {}),
});

/** A count of listed entries on standard error, on a terminal only, redrawn at most 10 times a second. */
export interface CountProgress {
  (listed: number, done?: boolean): void;
  /** Clears the count before a line of output, so the two never share a line of the terminal. */
  clear(): void;
}

export function countProgress(stream: NodeJS.WriteStream, enabled: boolean): CountProgress {
  let last = 0;
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[K');
    shown = false;
  };
  return Object.assign(
    (listed: number, done?: boolean) => {
      if (!enabled) return;
      if (done) return clear();
      const t = Date.now();
      if (t - last < 100) return;
      last = t;
      stream.write(`\rlisted ${listed}`);
      shown = true;
    },
    { clear },
  );
}
