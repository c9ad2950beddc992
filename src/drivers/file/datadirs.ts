/**
 * The file store's directories: parsing `filesystem_store_datadirs`
 * (`path[:priority]`), creating them, checking which are writable, and
 * choosing where an image goes, as glance_store chooses: the highest priority
 * first, and within a priority the directory with the most free space, if it
 * has room for the image.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { StorageFullError } from '../../errors.js';

export interface Datadir {
  path: string;
  /** The directory with every symlink resolved: image paths are checked against it. */
  realPath: string;
  priority: number;
  writable: boolean;
  /** The directory does not exist (it could not be created, or the store was only looked at). */
  missing: boolean;
}

/** Reads the datadir options into a list; problems are returned, not thrown. */
export function readDatadirs(single: string | undefined, multi: string[] | undefined, problems: string[]): Array<{ path: string; priority: number }> {
  const singleSet = single !== undefined && single !== '';
  if (singleSet && multi && multi.length > 0) {
    problems.push('Specify either filesystem_store_datadir or filesystem_store_datadirs, not both');
    return [];
  }
  if (!multi || multi.length === 0) {
    if (!singleSet) {
      problems.push('filesystem_store_datadir is empty');
      return [];
    }
    return [{ path: path.resolve(single), priority: 0 }];
  }
  const seen = new Map<string, number>();
  for (const entry of multi) {
    // A continuation line joins two lines into one value; glance_store would take `/a:100\n/b` for one path.
    if (/[\r\n]/.test(entry)) {
      problems.push(`filesystem_store_datadirs entry ${JSON.stringify(entry)} spans several lines: write one \`filesystem_store_datadirs = path:priority\` line per directory`);
      continue;
    }
    const m = /^(.*?)(?::(-?\d+))?$/.exec(entry.trim())!;
    const dir = m[1]!.trim();
    if (dir === '') {
      problems.push(`filesystem_store_datadirs entry ${JSON.stringify(entry)} has no path`);
      continue;
    }
    if (/:[^/]*$/.test(dir) && m[2] === undefined) {
      problems.push(`filesystem_store_datadirs entry ${JSON.stringify(entry)}: the priority must be an integer`);
      continue;
    }
    const abs = path.resolve(dir);
    const priority = m[2] === undefined ? 0 : Number(m[2]);
    if (seen.has(abs)) {
      // An exact repeat is harmless; the same directory at two priorities is ambiguous.
      if (seen.get(abs) !== priority) problems.push(`filesystem_store_datadirs lists ${abs} with two different priorities`);
      continue;
    }
    seen.set(abs, priority);
  }
  return [...seen].map(([p, priority]) => ({ path: p, priority }));
}

/**
 * Creates each directory if missing and records whether it can be written.
 * When image files are to be readable by group or others
 * (filesystem_store_file_perm), the directory gets the matching execute bit,
 * as glance_store does, or those readers could not reach the files. With
 * `createNothing` (the store is only looked at) nothing is made or changed:
 * a missing directory counts as writable when it could be created.
 */
export async function prepareDatadirs(dirs: Array<{ path: string; priority: number }>, filePerm: number, createNothing = false): Promise<Datadir[]> {
  return Promise.all(
    dirs.map(async (d) => {
      if (!createNothing) {
        try {
          await fs.mkdir(d.path, { recursive: true });
          if (filePerm & 0o077) {
            const mode = (await fs.stat(d.path)).mode & 0o7777;
            const want = mode | (filePerm & 0o007 ? 0o001 : 0) | (filePerm & 0o070 ? 0o010 : 0);
            if (want !== mode) await fs.chmod(d.path, want);
          }
        } catch {
          // A directory that cannot be created cannot be written; reading may still work later.
        }
      }
      const missing = !(await isDirectory(d.path));
      // Missing after mkdir: it cannot be created. Only looked at: it can if its nearest ancestor is writable.
      const writable = missing ? createNothing && (await canWrite(await nearestExisting(d.path))) : await canWrite(d.path);
      const realPath = await fs.realpath(d.path).catch(() => d.path);
      return { ...d, realPath, writable, missing };
    }),
  );
}

/** Whether this process may create files in `dir` (false on a read-only file system: access(2) answers EROFS). */
export const canWrite = (dir: string | undefined): Promise<boolean> =>
  dir === undefined
    ? Promise.resolve(false)
    : fs.access(dir, constants.W_OK | constants.X_OK).then(
        () => true,
        () => false,
      );

const isDirectory = (p: string): Promise<boolean> => fs.stat(p).then((st) => st.isDirectory(), () => false);

/** The closest ancestor of a missing directory that exists: where mkdir -p would start. */
async function nearestExisting(dir: string): Promise<string | undefined> {
  for (let p = path.dirname(dir); ; p = path.dirname(p)) {
    try {
      return (await fs.stat(p)).isDirectory() ? p : undefined;
    } catch {
      if (p === path.dirname(p)) return undefined;
    }
  }
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * The directory an image of `size` bytes (undefined: unknown) is written to.
 * A directory needs room for the whole image, or for at least one byte when
 * the size is unknown: a full one is skipped, as glance_store skips it.
 */
export async function chooseDatadir(dirs: readonly Datadir[], size: number | undefined, free: (dir: string) => Promise<number> = freeBytes): Promise<Datadir> {
  const writable = dirs.filter((d) => d.writable);
  // One place to go: as glance_store, no free-space check (the write itself reports a full disk).
  if (writable.length === 1) return writable[0]!;
  const priorities = [...new Set(writable.map((d) => d.priority))].sort((a, b) => b - a);
  for (const priority of priorities) {
    const candidates = await Promise.all(
      writable.filter((d) => d.priority === priority).map(async (d) => ({ d, free: await free(d.path).catch(() => 0) })),
    );
    candidates.sort((a, b) => b.free - a.free);
    const best = candidates[0];
    if (best && best.free >= Math.max(size ?? 1, 1)) return best.d;
  }
  throw new StorageFullError(size === undefined ? 'Every datadir of the file store is full' : `No datadir of the file store has ${size} bytes free`);
}
