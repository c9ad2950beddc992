/**
 * Calls the reference Python glance_store (test/interop/reference_store.py)
 * from tests. It imports only under /usr/bin/python3; when it is missing the
 * interop tests fail under `npm test` (which installs it) and skip otherwise.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('./reference_store.py', import.meta.url));
export const PYTHON = '/usr/bin/python3';

export async function referenceAvailable(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  return run(PYTHON, ['-c', 'import glance_store, oslo_config']).then(
    () => true,
    () => false,
  );
}

export interface ReferenceAdd {
  location: string;
  size: number;
  checksum: string;
  multihash: string;
  metadata: Record<string, unknown>;
}

export async function reference<T = Record<string, unknown>>(confFile: string, command: 'add' | 'get' | 'size' | 'delete' | 'parse', ...args: string[]): Promise<T> {
  const { stdout } = await run(PYTHON, [SCRIPT, confFile, command, ...args], { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
}
