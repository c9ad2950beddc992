// The cinder store under benchmark, on the test Cinder (test/services/cinder.sh start:
// Cinder's RBD backend on the test Ceph, noauth). Both libraries get the same request
// context, as Glance passes one. Each image is a volume: run with a small --small count
// (e.g. `npm run bench -- --driver cinder --mib 1024 --small 32`), as every small add
// creates, attaches, detaches and deletes a volume.
import { existsSync, readFileSync } from 'node:fs';

export const name = 'cinder';

function env() {
  const file = `${process.env.CINDER_STATE_DIR ?? '/tmp/glance-store-cinder'}/env`;
  if (!existsSync(file)) throw new Error(`Cinder is not running: bash test/services/cinder.sh start (no ${file})`);
  return Object.fromEntries(readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

export function setup() {
  const e = env();
  return {
    store: 'volumes',
    conf:
      `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\ncinder_endpoint_template = ${e.CINDER_ENDPOINT_TEMPLATE}\n` +
      // glance_store's os-brick starts its privileged helper with this (the default goes through sudo and rootwrap).
      '[privsep_osbrick]\nhelper_command = privsep-helper\n',
    // The request context both libraries are given (test/interop/reference_store.py's format).
    context: { user_id: e.CINDER_USER_ID, project_id: e.CINDER_PROJECT_ID, auth_token: e.CINDER_TOKEN, service_catalog: [] },
  };
}

export const goals = { addVsPython: 1.5, getVsPython: 2 };
