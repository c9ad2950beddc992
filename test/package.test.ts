import { describe, it, expect } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';

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
