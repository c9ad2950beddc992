/**
 * `glance-store add --inspect [--expect]` and `glance-store inspect`, run as
 * the built command over a file store, on images qemu-img makes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImages } from './inspect/images.js';

const BIN = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
let work: string;
const datadir = () => path.join(work, 'store');
const img = (name: string) => path.join(work, 'images', name);

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, '--config', path.join(work, 'glance-api.conf'), ...args], { cwd: work, maxBuffer: 16 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'gs-inspect-cli-'));
  buildImages(path.join(work, 'images'));
  writeFileSync(path.join(work, 'glance-api.conf'), `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${datadir()}\n`);
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('glance-store inspect and add --inspect', () => {
  it('inspects a file, printing the facts an inspected add gives (JSON and text), exiting 9 when unsafe', () => {
    const ok = run(['inspect', img('converted-00.qcow2'), '--json']);
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ format: 'qcow2', virtualSize: 8 * 1024 * 1024, safe: true, problems: [] });
    const bad = run(['inspect', img('passwd-flat.vmdk')]);
    expect(bad.status).toBe(9);
    expect(bad.stdout).toMatch(/^format: +vmdk$/m);
    expect(bad.stdout).toMatch(/^safe: +no$/m);
    expect(bad.stdout).toMatch(/^problem: +unsafe-extent: .*\/etc\/passwd/m);
    // Inspecting a file creates no datadir.
    expect(readdirSync(work)).not.toContain('store');
  });

  it('adds with --inspect and --expect, refusing with exit 9 and leaving nothing; inspects the stored image by its location', () => {
    const refused = run(['add', img('backing.qcow2'), '--inspect', '--json']);
    expect(refused.status).toBe(9);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'UnsafeImage' } });
    const mismatch = run(['add', img('disk.raw'), '--expect', 'qcow2,vmdk']);
    expect(mismatch.status).toBe(9);
    expect(mismatch.stderr).toMatch(/it is a raw image, not qcow2 or vmdk/);
    expect(readdirSync(datadir())).toEqual([]);
    const added = run(['add', img('converted-08.vhdx'), '--expect', 'vhdx', '--json']);
    expect(added.status).toBe(0);
    const r = JSON.parse(added.stdout) as { location: string; inspection: unknown };
    expect(r.inspection).toMatchObject({ format: 'vhdx', virtualSize: 8 * 1024 * 1024, safe: true });
    const again = run(['inspect', r.location, '--json']);
    expect(JSON.parse(again.stdout)).toEqual(r.inspection);
    const reported = run(['add', img('backing.qcow2'), '--report-unsafe']);
    expect(reported.status).toBe(0);
    expect(reported.stdout).toMatch(/^problem: +backing-file: /m);
    expect(run(['add', img('disk.raw'), '--expect', 'qcow3']).status).toBe(2);
  });
});
