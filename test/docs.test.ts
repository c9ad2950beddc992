import { describe, it, expect } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { configurationReference } from '../src/config/reference.js';
import { BUILTIN_DRIVERS } from '../src/drivers/index.js';
import '../src/index.js';

const FILE = new URL('../docs/configuration.md', import.meta.url);

describe('docs/configuration.md', () => {
  it('matches the option schemas (regenerate with UPDATE_DOCS=1)', async () => {
    const generated = configurationReference(BUILTIN_DRIVERS);
    if (process.env['UPDATE_DOCS']) await writeFile(FILE, generated);
    const onDisk = await readFile(FILE, 'utf8').catch(() => '');
    expect(onDisk).toBe(generated);
    for (const name of ['filesystem_store_datadirs', 'https_insecure', 'default_backend', 'enabled_backends']) expect(generated).toContain(`\`${name}\``);
  });
});
