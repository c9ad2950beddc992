/**
 * Listing a file store: every datadir read entry by entry (opendir, so a
 * datadir of a million images is never held in memory at once). An image is
 * a regular file named by an image id; an add's hidden temporary file
 * (`.<id>.<random>.partial`, see driver.ts) is a leftover, never an image;
 * anything else (a `lost+found` directory, other dot files) is neither.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import { fromSystemError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import { formatFileLocation } from './location.js';
import type { Datadir } from './datadirs.js';

/** driver.ts's temporary name: the id cut to 200 characters, then 12 hex digits. */
const PARTIAL_NAME = /^\.([A-Za-z0-9][A-Za-z0-9._-]{0,199})\.[0-9a-f]{12}\.partial$/;

interface Entry {
  name: string;
  filePath: string;
  size: number;
  mtime: Date;
}

/** The regular files of each datadir (links followed), one at a time; a datadir that is missing holds nothing. */
async function* files(datadirs: readonly Datadir[], storeId: string, signal: AbortSignal | undefined): AsyncGenerator<Entry> {
  for (const dir of datadirs) {
    let handle;
    try {
      handle = await fs.opendir(dir.path, { bufferSize: 256 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw fromSystemError(err, `Listing datadir ${dir.path} of store ${storeId}`);
    }
    // for await closes the directory however the loop ends.
    for await (const d of handle) {
      signal?.throwIfAborted();
      if (!d.isFile() && !d.isSymbolicLink()) continue;
      const filePath = path.join(dir.path, d.name);
      const st = await fs.stat(filePath).catch(() => undefined);
      // Gone since it was read (an add's partial file renamed, an image deleted), or a link to no file.
      if (!st?.isFile()) continue;
      yield { name: d.name, filePath, size: st.size, mtime: st.mtime };
    }
  }
}

export async function* listFileImages(datadirs: readonly Datadir[], storeId: string, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const f of files(datadirs, storeId, options.signal)) {
    if (f.name.startsWith('.') || !isImageId(f.name)) continue;
    yield { id: f.name, size: f.size, location: formatFileLocation(f.filePath), since: f.mtime };
  }
}

export async function* fileLeftovers(datadirs: readonly Datadir[], storeId: string, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const f of files(datadirs, storeId, options.signal)) {
    const m = PARTIAL_NAME.exec(f.name);
    if (!m) continue;
    yield { kind: 'partial file', location: formatFileLocation(f.filePath), imageId: m[1]!, since: f.mtime, size: f.size };
  }
}
