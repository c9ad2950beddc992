/**
 * `glance-store audit STORE --known FILE`: what the store holds against what
 * Glance knows (docs/cli.md). Orphans (in the store, not known), missing
 * images (known, not in the store), leftovers of adds that died, and with
 * --verify images whose bytes no longer match their recorded hashes. Each
 * finding is printed as it is found (one JSON object a line with --json).
 * Nothing is deleted unless --delete-orphans, and then only orphans, each
 * printed once deleted: an interrupted audit has deleted exactly what it
 * printed.
 */
import type { MultiStore } from '../multistore.js';
import type { ListedImage, StoreDriver } from '../driver.js';
import { maskLocation } from '../location.js';
import { GlanceStoreError } from '../errors.js';
import { UsageError } from './args.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { formatAge, locationKey, readKnown, readVerify, type BadLine, type KnownLocation } from './records.js';
import { verifyImage } from './verify.js';

export interface AuditOptions {
  known: string;
  verify?: string;
  json: boolean;
  deleteOrphans: boolean;
  yes: boolean;
  olderThanMs?: number;
  skipBadLines: boolean;
}

export interface AuditIo {
  /** One line of the report, on standard output. */
  out(line: string): void;
  /** A count of entries listed so far (standard error, on a terminal). */
  progress(listed: number, done?: boolean): void;
  /** Asks on the terminal; undefined when there is none to ask on. */
  confirm(question: string): Promise<boolean> | undefined;
}

type Finding = { type: string; location?: string; [key: string]: unknown };

export async function audit(ms: MultiStore, storeId: string, o: AuditOptions, io: AuditIo, signal: AbortSignal): Promise<number> {
  const driver = ms.rawDriver(storeId);
  if (!driver.list) throw new UsageError(`store ${storeId} (${ms.store(storeId).type}) cannot list its images, so it cannot be audited`);
  if (o.deleteOrphans && !o.yes && !process.stdin.isTTY) throw new UsageError('--delete-orphans asks before deleting, on a terminal: add --yes to delete without asking');
  const now = Date.now();
  const counts: Record<string, number> = { listed: 0, orphan: 0, missing: 0, leftover: 0, corrupt: 0, unreadable: 0, recent: 0, 'other-store': 0, 'bad-line': 0, deleted: 0 };
  const report = (f: Finding, text: string) => {
    counts[f.type] = (counts[f.type] ?? 0) + 1;
    io.out(o.json ? JSON.stringify({ ...f, ...(f.location ? { location: maskLocation(f.location) } : {}) }) : text);
  };

  // The records, read whole before the store is asked anything: a bad line stops here.
  const bad: BadLine[] = [];
  const known = await readKnown(o.known, o.skipBadLines, bad);
  const verify = o.verify ? await readVerify(o.verify, o.skipBadLines, bad) : [];
  for (const b of bad) report({ type: 'bad-line', file: b.file, line: b.line, why: b.why }, `bad line ${b.file}:${b.line}: ${b.why} (skipped)`);
  const key = sameImageKey(driver);
  const ours = new Map<string, KnownLocation>();
  for (const k of known) {
    const owner = ownerOf(ms, storeId, k.url);
    if (owner === storeId) ours.set(key(k.url), k);
    else report({ type: 'other-store', line: k.line, location: k.url, store: owner ?? null }, `other store ${maskLocation(k.url)} (line ${k.line}): ${owner ? `store ${owner}` : 'no enabled store'}, not ${storeId}`);
  }
  // --verify lines of other stores are another audit's.
  const toVerify = verify.filter((v) => ownerOf(ms, storeId, v.url) === storeId);
  const verifying = new Set(toVerify.map((v) => key(v.url)));
  const present = new Set<string>();

  const orphans: ListedImage[] = [];
  const young = (since: Date | undefined) => o.olderThanMs !== undefined && since !== undefined && now - since.getTime() < o.olderThanMs;
  const failed = await listing(io, counts, async () => {
    for await (const image of ms.list(storeId, { signal })) {
      io.progress(++counts['listed']!);
      const listed = key(image.location);
      if (verifying.has(listed)) present.add(listed);
      if (ours.delete(listed)) continue;
      const age = image.since ? now - image.since.getTime() : undefined;
      if (young(image.since)) {
        report({ type: 'recent', id: image.id, location: image.location, size: image.size, ageSeconds: Math.round(age! / 1000) }, `recent      ${maskLocation(image.location)} (${formatAge(age)} old: not an orphan yet)`);
        continue;
      }
      orphans.push(image);
      report({ type: 'orphan', id: image.id, location: image.location, size: image.size ?? null, ageSeconds: age === undefined ? null : Math.round(age / 1000) }, `orphan      ${maskLocation(image.location)}  ${image.size ?? '?'} bytes  ${formatAge(age)}`);
    }
  });
  io.progress(counts['listed']!, true);
  if (failed !== undefined) return summary(io, o, counts, failed);

  for (const k of ours.values()) {
    report({ type: 'missing', line: k.line, location: k.url }, `missing     ${maskLocation(k.url)} (line ${k.line}): known to Glance, not in store ${storeId}`);
  }
  if (driver.leftovers) {
    const leftFailed = await listing(io, counts, async () => {
      for await (const l of ms.leftovers(storeId, { signal })) {
        const age = l.since ? now - l.since.getTime() : undefined;
        if (young(l.since)) {
          report({ type: 'recent', kind: l.kind, location: l.location, ageSeconds: Math.round(age! / 1000) }, `recent      ${l.kind} ${maskLocation(l.location)} (${formatAge(age)} old: may be an add still running)`);
          continue;
        }
        report({ type: 'leftover', kind: l.kind, location: l.location, imageId: l.imageId ?? null, ageSeconds: age === undefined ? null : Math.round(age / 1000) }, `leftover    ${l.kind} ${maskLocation(l.location)}  ${formatAge(age)}`);
      }
    });
    if (leftFailed !== undefined) return summary(io, o, counts, leftFailed);
  }
  for (const v of toVerify) {
    const recorded = key(v.url);
    if (!present.has(recorded)) {
      // Reported once: a known location already counted as missing is not counted again.
      if (!ours.has(recorded)) report({ type: 'missing', line: v.line, location: v.url }, `missing     ${maskLocation(v.url)} (${o.verify}, line ${v.line}): not in store ${storeId}`);
      continue;
    }
    signal.throwIfAborted();
    try {
      const r = await verifyImage(ms, v.url, storeId, v, signal);
      if (!r.ok) report({ type: 'corrupt', line: v.line, location: v.url, size: r.size, checksum: r.checksum, expectedChecksum: v.checksum, multihash: r.multihash, expectedMultihash: v.multihash }, `corrupt     ${maskLocation(v.url)}: md5 ${r.checksum}${r.checksum === v.checksum ? '' : ` (recorded ${v.checksum})`}, ${v.hashAlgo} ${r.multihash === v.multihash ? 'matches' : 'differs'}`);
    } catch (err) {
      if (signal.aborted) throw err;
      report({ type: 'unreadable', line: v.line, location: v.url, code: (err as GlanceStoreError).code ?? 'Error', message: maskLocation((err as Error).message) }, `unreadable  ${maskLocation(v.url)}: ${maskLocation((err as Error).message)}`);
    }
  }
  if (o.deleteOrphans) await deleteOrphans(ms, storeId, orphans, o, io, signal, report);
  const status = summary(io, o, counts, undefined);
  // Interrupted while deleting: what was deleted is printed, and the exit says it stopped.
  return signal.aborted ? EXIT.aborted : status;
}

/**
 * What two locations of one image share: the same location without its
 * credentials (Glance's records and a listing may hold different keys),
 * in the one form the store's driver gives it where an image has several
 * (cinder's and sheepdog's legacy forms). A location the driver cannot
 * read keeps its own form: it then matches nothing listed, and is missing.
 */
function sameImageKey(driver: StoreDriver): (url: string) => string {
  return (url) => {
    let canonical = url;
    try {
      canonical = driver.canonicalLocation?.(url) ?? url;
    } catch {
      // not a location of this store's form
    }
    return locationKey(canonical);
  };
}

/** Runs a listing; a failure half-way is reported with how far it got, and its exit code returned. */
async function listing(io: AuditIo, counts: Record<string, number>, run: () => Promise<void>): Promise<number | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    const e = err as GlanceStoreError;
    if (e.code === 'Aborted') throw err;
    io.progress(counts['listed']!, true);
    process.stderr.write(`glance-store: ${maskLocation(e.message ?? String(err))}\n`);
    return exitCodeFor(e.code);
  }
}

/** Which store a location belongs to: the one whose driver claims it (the audited one first). */
function ownerOf(ms: MultiStore, storeId: string, url: string): string | undefined {
  const claims = (id: string) => {
    try {
      const d = ms.rawDriver(id);
      return d.ownsLocation ? d.ownsLocation(url) : false;
    } catch {
      return false;
    }
  };
  const audited = ms.rawDriver(storeId);
  if (audited.ownsLocation ? audited.ownsLocation(url) : true) return storeId;
  return ms.states().find((s) => s.id !== storeId && claims(s.id))?.id;
}

async function deleteOrphans(
  ms: MultiStore,
  storeId: string,
  orphans: ListedImage[],
  o: AuditOptions,
  io: AuditIo,
  signal: AbortSignal,
  report: (f: Finding, text: string) => void,
): Promise<void> {
  // With --older-than an orphan of unknown age is never deleted: it may be an add that just finished.
  const doomed = orphans.filter((i) => o.olderThanMs === undefined || i.since !== undefined);
  const spared = orphans.length - doomed.length;
  if (spared) io.out(o.json ? JSON.stringify({ type: 'note', message: `${spared} orphans of unknown age are not deleted with --older-than` }) : `${spared} orphans of unknown age are not deleted with --older-than`);
  if (doomed.length === 0) return;
  if (!o.json) io.out(`orphans to delete from store ${storeId}:\n${doomed.map((i) => `  ${maskLocation(i.location)}`).join('\n')}`);
  if (!o.yes) {
    const asked = io.confirm(`delete ${doomed.length === 1 ? 'this orphan' : `these ${doomed.length} orphans`} from store ${storeId}? [y/N] `);
    if (!asked || !(await asked) || signal.aborted) {
      io.out(o.json ? JSON.stringify({ type: 'note', message: 'nothing deleted' }) : 'nothing deleted');
      return;
    }
  }
  for (const image of doomed) {
    // Between deletes only: a delete that has started is finished and printed, so what was printed is what was deleted.
    if (signal.aborted) break;
    try {
      await ms.delete(image.location, { store: storeId });
      report({ type: 'deleted', id: image.id, location: image.location }, `deleted     ${maskLocation(image.location)}`);
    } catch (err) {
      report({ type: 'not-deleted', id: image.id, location: image.location, message: maskLocation((err as Error).message) }, `not deleted ${maskLocation(image.location)}: ${maskLocation((err as Error).message)}`);
    }
  }
}

function summary(io: AuditIo, o: AuditOptions, counts: Record<string, number>, failedWith: number | undefined): number {
  const findings = counts['orphan']! + counts['missing']! + counts['leftover']! + counts['corrupt']! + counts['unreadable']!;
  const complete = failedWith === undefined;
  const clean = complete && findings === 0;
  if (o.json) io.out(JSON.stringify({ type: 'summary', complete, clean, ...counts }));
  else {
    const parts = ['orphan', 'missing', 'leftover', 'corrupt', 'unreadable', 'recent', 'other-store', 'bad-line', 'deleted'].filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`);
    io.out(`${complete ? '' : 'INCOMPLETE: the listing failed; '}${counts['listed']} images listed${parts.length ? `; ${parts.join(', ')}` : ''}; ${clean ? 'clean' : complete ? 'not clean' : 'missing images and leftovers not checked'}`);
  }
  if (!complete) return failedWith;
  return clean ? EXIT.ok : EXIT.findings;
}
