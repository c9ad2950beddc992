import { describe, it, expect } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, { types: string; import: string }>;
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const build = JSON.parse(await readFile(new URL('../tsconfig.build.json', import.meta.url), 'utf8')) as { include: string[] };

describe('package', () => {
  it('publishes the conformance suite as glance-store/testing from the built src/testing, not from a test folder', () => {
    expect(pkg.exports['./testing']).toEqual({ types: './dist/src/testing/index.d.ts', import: './dist/src/testing/index.js' });
    expect(build.include).toEqual(['src']);
  });

  it('needs no test runner: vitest is an optional peer, and the suite imports none', async () => {
    expect(pkg.dependencies).not.toHaveProperty('vitest');
    expect(pkg.peerDependenciesMeta?.['vitest']?.optional).toBe(true);
    const dir = new URL('../src/testing/', import.meta.url);
    for (const file of await readdir(dir)) {
      const code = await readFile(new URL(file, dir), 'utf8');
      expect(code, file).not.toMatch(/^import .* from '(vitest|mocha|jest|@jest\/.*)';/m);
    }
  });
});

const root = new URL('..', import.meta.url);

/** What `import(specifier)` gives a user of the built package (Node resolving the package's own exports). */
function exportsOf(specifier: string): string[] {
  const code = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: fileURLToPath(root), encoding: 'utf8' })) as string[];
}

describe('entry points', () => {
  const internals = ['readOptions', 'openAddPipeline', 'checkAddOptions', 'fixedChunks', 'isAllZero', 'ByteReader', 'readAhead', 'FileStore', 'FILE_OPTIONS', 'SWIFT_OPTIONS', 'formatSwiftLocation', 'parseSwiftLocation', 'readStoresConfig', 'readConfig', 'defineDriver', 'BUILTIN_DRIVERS', 'isWritable', 'maskSecrets', 'suggest'];

  it('keeps the root for services: MultiStore, config parsing, errors, masking, and no internals', () => {
    const root = exportsOf('glance-store');
    for (const name of ['MultiStore', 'parseConfig', 'mergeConfigs', 'ConfigParseError', 'checkImageId', 'maskLocation', 'GlanceStoreError', 'NotFoundError', 'ReadOnlyStoreError']) expect(root).toContain(name);
    for (const name of internals) expect(root, name).not.toContain(name);
  });

  it('gives driver authors glance-store/driver: defineDriver, option reading, the stream helpers, errors', () => {
    expect(pkg.exports['./driver']).toEqual({ types: './dist/src/driver-kit.d.ts', import: './dist/src/driver-kit.js' });
    const driver = exportsOf('glance-store/driver');
    for (const name of ['defineDriver', 'isDriverDefinition', 'isWritable', 'BUILTIN_DRIVERS', 'readOptions', 'maskSecrets', 'fixedChunks', 'isAllZero', 'ByteReader', 'readAhead', 'WriteBehind', 'waitUntil', 'createReclaimer', 'fromSystemError', 'NotFoundError', 'maskLocation', 'checkImageId']) {
      expect(driver, name).toContain(name);
    }
    // MultiStore's own machinery is not a driver's to call: drivers never hash.
    for (const name of ['MultiStore', 'openAddPipeline', 'checkAddOptions', 'FileStore', 'SWIFT_OPTIONS']) expect(driver, name).not.toContain(name);
  });

  it('publishes the Apache-2.0 LICENSE, and every source map points at files that are published', async () => {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: fileURLToPath(root), encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
    const files = new Set(packed[0]!.files.map((f) => f.path));
    expect(files).toContain('LICENSE');
    expect(await readFile(new URL('LICENSE', root), 'utf8')).toMatch(/^\s*Apache License\s+Version 2\.0, January 2004/);
    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(20);
    for (const map of maps) {
      const { sources } = JSON.parse(await readFile(new URL(map, root), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(files, `${map} -> ${source}`).toContain(path.posix.join(path.posix.dirname(map), source));
    }
    // And every built module that is published has its map.
    for (const f of files) if (f.endsWith('.js')) expect(files, f).toContain(`${f}.map`);
  });
});

describe('README', () => {
  it("shows a tsconfig that compiles a service and a driver against the built package (ESM, nodenext)", async () => {
    const readme = await readFile(new URL('README.md', root), 'utf8');
    expect(readme).toMatch(/\*\*ESM only\*\*/);
    const tsconfig = /```json\n(\{\n {2}"compilerOptions"[\s\S]*?)```/.exec(readme)?.[1];
    expect(tsconfig).toBeDefined();
    const dir = await mkdtemp(path.join(tmpdir(), 'gs-consumer-'));
    try {
      await mkdir(path.join(dir, 'node_modules/@types'), { recursive: true });
      await symlink(fileURLToPath(root), path.join(dir, 'node_modules/glance-store'));
      await symlink(fileURLToPath(new URL('node_modules/@types/node', root)), path.join(dir, 'node_modules/@types/node'));
      await writeFile(path.join(dir, 'package.json'), '{ "type": "module" }\n');
      await writeFile(path.join(dir, 'tsconfig.json'), tsconfig!.replace('"strict": true', '"strict": true, "noEmit": true, "types": ["node"]'));
      await writeFile(
        path.join(dir, 'main.ts'),
        [
          "import { MultiStore, parseConfig, type WritableStoreHandle } from 'glance-store';",
          "import { defineDriver, fixedChunks } from 'glance-store/driver';",
          "import { runStoreConformance } from 'glance-store/testing';",
          "const ms = await MultiStore.create(parseConfig('[DEFAULT]\\n'));",
          "const store: WritableStoreHandle = ms.writableStore('local');",
          "void [store, defineDriver, fixedChunks, runStoreConformance];",
          '',
        ].join('\n'),
      );
      const tsc = fileURLToPath(new URL('node_modules/typescript/bin/tsc', root));
      const r = spawnSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
