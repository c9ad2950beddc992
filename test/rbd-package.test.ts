/**
 * The librbd binding ships in its own package, glance-store-rbd: what each
 * package's tarball holds, and what a user who installed glance-store without
 * it (or without Ceph's headers) is told when an rbd store is created. Runs
 * the built library (dist/, from `npm run build`) in a separate install tree.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RBD_PACKAGE = path.join(ROOT, 'packages', 'glance-store-rbd');

interface PackageJson {
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  binary?: { napi_versions?: number[] };
}

const readJson = (file: string): PackageJson => JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/** The files `npm pack` would put in the package's tarball. */
function packedFiles(dir: string): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path).sort();
}

const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'];

describe('packages', () => {
  it('glance-store has no install script and no native code; glance-store-rbd is an optional peer', () => {
    const pkg = readJson(path.join(ROOT, 'package.json'));
    expect(Object.keys(pkg.scripts ?? {}).filter((s) => INSTALL_SCRIPTS.includes(s))).toEqual([]);
    expect(pkg.peerDependencies).toHaveProperty('glance-store-rbd');
    expect(pkg.peerDependenciesMeta?.['glance-store-rbd']).toEqual({ optional: true });
    expect(pkg.dependencies ?? {}).not.toHaveProperty('node-addon-api');
    const files = packedFiles(ROOT);
    expect(files).toContain('dist/src/drivers/rbd/native.js');
    // A binding.gyp anywhere in the tarball root would make npm run node-gyp on install.
    expect(files.filter((f) => /\.(cc|h|gyp|node)$/.test(f) || /^(native|packages)\//.test(f))).toEqual([]);
  });

  it('glance-store-rbd holds the binding source, builds it on install, and declares the N-API version it is built for', () => {
    const pkg = readJson(path.join(RBD_PACKAGE, 'package.json'));
    expect(pkg.scripts?.['install']).toBe('node build.mjs');
    expect(pkg.dependencies).toHaveProperty('node-addon-api');
    const gyp = readFileSync(path.join(RBD_PACKAGE, 'binding.gyp'), 'utf8');
    expect(pkg.binary?.napi_versions).toEqual([Number(/NAPI_VERSION=(\d+)/.exec(gyp)?.[1])]);
    expect(packedFiles(RBD_PACKAGE)).toEqual(['README.md', 'binding.gyp', 'build.mjs', 'index.d.ts', 'index.js', 'package.json', 'src/binding.cc', 'src/cluster.cc', 'src/images.cc', 'src/kit.h', 'src/listing.cc']);
  });
});

describe('an rbd store without a usable glance-store-rbd', () => {
  let dir: string;
  let lib: string;
  beforeAll(() => {
    // glance-store as a user's node_modules holds it: its files and its dependencies, no glance-store-rbd.
    dir = mkdtempSync(path.join(tmpdir(), 'gs-rbd-package-'));
    lib = path.join(dir, 'node_modules', 'glance-store');
    cpSync(path.join(ROOT, 'dist'), path.join(lib, 'dist'), { recursive: true });
    cpSync(path.join(ROOT, 'package.json'), path.join(lib, 'package.json'));
    for (const dep of Object.keys(readJson(path.join(ROOT, 'package.json')).dependencies ?? {})) {
      mkdirSync(path.dirname(path.join(dir, 'node_modules', dep)), { recursive: true });
      symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(dir, 'node_modules', dep));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Creates a MultiStore whose default store is rbd, in a fresh process; what it threw. */
  function createRbdStore(): { code?: string; message?: string } {
    const script = `
      const { MultiStore, parseConfig } = await import(${JSON.stringify(path.join(lib, 'dist', 'src', 'index.js'))});
      const conf = '[DEFAULT]\\nenabled_backends = fast:rbd\\n[glance_store]\\ndefault_backend = fast\\n[fast]\\nrbd_store_ceph_conf = /nonexistent/ceph.conf\\n';
      try { await (await MultiStore.create(parseConfig(conf))).close(); console.log('{}'); }
      catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as { code?: string; message?: string };
  }

  it('says which npm package to add and which Debian packages it needs', () => {
    const err = createRbdStore();
    expect(err.code).toBe('BackendUnavailable');
    expect(err.message).toContain('npm install glance-store-rbd');
    expect(err.message).toMatch(/librbd-dev.*librados-dev.*g\+\+/);
  });

  it('says how to build the binding when the package is installed but its binding is not built', () => {
    const pkg = path.join(dir, 'node_modules', 'glance-store-rbd');
    for (const f of ['package.json', 'index.js', 'index.d.ts']) cpSync(path.join(RBD_PACKAGE, f), path.join(pkg, f));
    try {
      const err = createRbdStore();
      expect(err.code).toBe('BackendUnavailable');
      expect(err.message).toContain('glance-store-rbd is installed but its librbd binding was not built');
      expect(err.message).toMatch(/librbd-dev.*librados-dev.*g\+\+.*npm rebuild glance-store-rbd/);
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });
});
