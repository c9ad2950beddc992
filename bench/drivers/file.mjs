// The file store under benchmark: one datadir on the same disk as the source image.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const name = 'file';

export function setup(work) {
  const datadir = path.join(work, 'images');
  mkdirSync(datadir, { recursive: true });
  return {
    store: 'local',
    conf: `[DEFAULT]\nenabled_backends = local:file\n[glance_store]\ndefault_backend = local\n[local]\nfilesystem_store_datadir = ${datadir}\n`,
    // The machine's own limit for moving the bytes: a plain copy into the datadir.
    copyTarget: path.join(datadir, 'plain-copy'),
  };
}
