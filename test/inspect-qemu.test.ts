/**
 * The inspector against the real tools: qemu-img makes every image at test
 * time; `qemu-img info` is the reference for format and virtual size (and
 * every other field both give), Debian's python3-glance format inspector the
 * second reference for format, virtual size and the safety verdict. A
 * difference fails the test unless docs/inspection.md lists it with its
 * reason; a listed difference that no longer occurs fails it too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspectImage, type Inspection } from '../src/index.js';
import { buildImages, type TestImage } from './inspect/images.js';
import { glanceVerdicts, knownDifferences, qemuInfo, type KnownDifference } from './inspect/references.js';

let dir: string;
let images: TestImage[];
const ours = new Map<string, Inspection>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gs-inspect-'));
  images = buildImages(dir);
  // Small reads, so every region crosses chunk boundaries as it would from a request body.
  for (const img of images) ours.set(img.name, await inspectImage(createReadStream(img.file, { highWaterMark: 4096 })));
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

type Found = { image: string; field: string; theirs: string; ours: string };

/** Differences not in the docs' table, and rows of the table that no longer differ. */
function judge(reference: string, found: Found[]): { unexplained: string[]; stale: string[] } {
  const known = knownDifferences().filter((k) => k.reference === reference);
  const matches = (k: KnownDifference, f: Found) =>
    k.field === f.field && (k.image === f.image ? k.theirs === f.theirs && k.ours === f.ours : k.image === `any ${ours.get(f.image)!.format} image`);
  const unexplained = found.filter((f) => !known.some((k) => matches(k, f))).map((f) => `${f.image}: ${f.field}: ${reference} says ${f.theirs}, the inspector ${f.ours}`);
  const stale = known.filter((k) => !k.image.startsWith('any ') && !found.some((f) => matches(k, f))).map((k) => `${k.image}: ${k.field} (${k.why})`);
  return { unexplained, stale };
}

const str = (v: unknown) => (v === undefined || v === null ? '-' : String(v));
const QEMU_FORMAT: Record<string, string> = { vpc: 'vhd' };
const QCOW2_COMPAT: Record<string, number> = { '0.10': 2, '1.1': 3 };

describe('inspection against qemu-img info', () => {
  it('gives every field qemu-img gives too, on every image (differences only as docs/inspection.md lists them)', async () => {
    const found: Found[] = [];
    const failedThere: string[] = [];
    for (const img of images) {
      const info = await qemuInfo(img.file);
      const mine = ours.get(img.name)!;
      if ('error' in info) {
        // An image qemu cannot open must never pass as safe.
        if (mine.safe) failedThere.push(`${img.name} (${img.about}): qemu-img fails (${String(info.error).split('\n')[0]}) but the inspector calls it safe ${mine.format}`);
        continue;
      }
      const specific = (info['format-specific'] as { data?: Record<string, unknown> } | undefined)?.data ?? {};
      const pairs: Array<[string, unknown, unknown]> = [
        ['format', QEMU_FORMAT[info.format] ?? info.format, mine.format],
        ['virtualSize', info['virtual-size'], mine.virtualSize],
        ['backingFile', info['backing-filename'], mine.details.backingFile],
        ['dataFile', specific['data-file'], mine.details.dataFile],
        ['encrypted', info['encrypted'] === true ? true : undefined, mine.details.encrypted],
        ['createType', specific['create-type'], mine.details.createType],
      ];
      if (mine.details.clusterSize !== undefined) pairs.push(['clusterSize', info['cluster-size'], mine.details.clusterSize]);
      if (info.format === 'qcow2') pairs.push(['version', QCOW2_COMPAT[String(specific['compat'])], mine.details.version]);
      for (const [field, theirs, oursValue] of pairs) {
        if (str(theirs) !== str(oursValue)) found.push({ image: img.name, field, theirs: str(theirs), ours: str(oursValue) });
      }
    }
    const { unexplained, stale } = judge('qemu-img', found);
    expect(failedThere).toEqual([]);
    expect(unexplained).toEqual([]);
    expect(stale).toEqual([]);
  }, 60_000);

  it('finds every hostile image unsafe, saying why', () => {
    const problemsOf = (name: string) => ours.get(name)!.problems.map((p) => p.code);
    expect(problemsOf('backing.qcow2')).toContain('backing-file');
    expect(ours.get('backing-passwd.qcow2')!.details.backingFile).toBe('/etc/passwd');
    expect(problemsOf('data-file.qcow2')).toContain('data-file');
    expect(problemsOf('unknown-feature.qcow2')).toEqual(['unknown-features']);
    expect(problemsOf('passwd-flat.vmdk')).toContain('unsafe-extent');
    expect(problemsOf('sparse-passwd.vmdk')).toEqual(['unsafe-extent']);
    expect(problemsOf('flat-pair.vmdk')).toContain('unsafe-extent');
    expect(problemsOf('delta.vmdk')).toEqual(['backing-file']);
    expect(ours.get('iso-in.qcow2')).toMatchObject({ format: 'qcow2', problems: [{ code: 'multiple-formats' }] });
    expect(ours.get('delta.vmdk')!.details.backingFile).toBe('converted-04.vmdk');
    expect(problemsOf('backing.qed')).toEqual(['unsupported-format', 'backing-file']);
    for (const cut of images.filter((i) => i.name.startsWith('cut-'))) expect(ours.get(cut.name), cut.name).toMatchObject({ safe: false });
    expect(ours.get('qcow2-named.raw')).toMatchObject({ format: 'qcow2', safe: true });
  });

  it('finds the safe images safe, and the partition tables of raw disks', () => {
    for (const img of images.filter((i) => /^(created|converted)-/.test(i.name) && !/\.qed$/.test(i.name))) expect(ours.get(img.name), img.about).toMatchObject({ safe: true, problems: [] });
    expect(ours.get('disk.raw')).toMatchObject({ format: 'raw', virtualSize: 8 * 1024 * 1024, details: { partitionTable: 'gpt' } });
    expect(ours.get('mbr.raw')).toMatchObject({ format: 'raw', details: { partitionTable: 'mbr' } });
    expect(ours.get('xorriso.iso')).toMatchObject({ format: 'iso', safe: true });
    expect(ours.get('cryptsetup.luks2')).toMatchObject({ format: 'luks', virtualSize: 4 * 1024 * 1024, safe: true, details: { version: 2 } });
  });
});

describe("inspection against python3-glance's format inspector", () => {
  it('agrees on format, virtual size and the safety verdict (differences only as docs/inspection.md lists them)', async () => {
    const verdicts = await glanceVerdicts(images.map((i) => i.file));
    const found: Found[] = [];
    for (const img of images) {
      const g = verdicts[img.file]!;
      const mine = ours.get(img.name)!;
      if ('error' in g) {
        found.push({ image: img.name, field: 'format', theirs: `error: ${g.error}`, ours: mine.format });
        continue;
      }
      for (const [field, theirs, oursValue] of [
        ['format', g.format, mine.format],
        ['virtualSize', g.virtualSize, mine.virtualSize],
        ['safe', g.safe, mine.safe],
      ] as const) {
        if (str(theirs) !== str(oursValue)) found.push({ image: img.name, field, theirs: str(theirs), ours: str(oursValue) });
      }
    }
    const { unexplained, stale } = judge('python3-glance', found);
    expect(unexplained).toEqual([]);
    expect(stale).toEqual([]);
  }, 120_000);
});
