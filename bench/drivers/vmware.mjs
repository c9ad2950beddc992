// The vmware store under benchmark, on a vcsim of the bench's own on 127.0.0.2:443
// (`test/services/vcsim.sh second-start`, as the interop test runs it: Python glance_store
// speaks to port 443 only, so binding it needs root). Both libraries use that one instance.
// Baseline, the endpoint's own limit: curl PUT of the same file to /folder, and curl GET of
// it back.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const name = 'vmware';

const VCSIM = fileURLToPath(new URL('../../test/services/vcsim.sh', import.meta.url));

export function setup(work) {
  const dir = path.join(work, 'vcsim');
  execFileSync('bash', [VCSIM, 'second-start', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  let stopped = false;
  const teardown = () => {
    if (!stopped) execFileSync('bash', [VCSIM, 'second-stop', dir], { stdio: 'ignore' });
    stopped = true;
  };
  // Ended however the run ends.
  process.on('exit', teardown);
  const e = Object.fromEntries(readFileSync(path.join(dir, 'env'), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const url = `https://${e.VCSIM_HOST}/folder/bench-baseline/baseline.img?dcPath=${e.VCSIM_DATACENTER}&dsName=${e.VCSIM_DATASTORE}`;
  const curl = (...args) => {
    const t = performance.now();
    execFileSync('curl', ['-sf', '--cacert', e.VCSIM_CA_FILE, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    return (performance.now() - t) / 1000;
  };
  return {
    store: 'vc',
    teardown,
    // glance_store logs in while the store is configured, this store on its first call: a HEAD of a
    // file that is not there logs in before the timing starts (and opens the /folder connection).
    loginProbe: `vsphere://${e.VCSIM_HOST}/folder/openstack_glance/bench-login-probe?dcPath=${e.VCSIM_DATACENTER}&dsName=${e.VCSIM_DATASTORE}`,
    conf: `[DEFAULT]\nenabled_backends = vc:vmware\n[glance_store]\ndefault_backend = vc\n[vc]\nvmware_server_host = ${e.VCSIM_HOST}\nvmware_server_username = ${e.VCSIM_USER}\nvmware_server_password = ${e.VCSIM_PASSWORD}\nvmware_ca_file = ${e.VCSIM_CA_FILE}\nvmware_datastores = ${e.VCSIM_DATACENTER}:${e.VCSIM_DATASTORE}\nvmware_store_image_dir = /openstack_glance\n`,
    baseline: {
      name: 'curl PUT / GET',
      add: (src) => curl('-T', src, url),
      get: () => curl('-o', '/dev/null', url),
    },
  };
}
