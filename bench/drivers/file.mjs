// The file store under benchmark: one datadir on the same disk as the source image.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';

export const name = 'file';

const timed = (cmd, args, opts = {}) => {
  const t = performance.now();
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...opts });
  return (performance.now() - t) / 1000;
};

export function setup(work) {
  const datadir = path.join(work, 'images');
  mkdirSync(datadir, { recursive: true });
  const copy = path.join(datadir, 'plain-copy');
  return {
    store: 'local',
    conf: `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${datadir}\n`,
    baseline: {
      name: 'cp / cat',
      add: (src) => timed('cp', [src, copy]),
      get: () => timed('cat', [copy]),
      cleanup: () => rmSync(copy, { force: true }),
    },
  };
}
