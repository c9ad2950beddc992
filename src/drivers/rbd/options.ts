/** The rbd store's options, as glance_store declares them. */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

/** The bound of each monitor and OSD call when neither its own option nor a positive rados_connect_timeout sets one. */
export const DEFAULT_OP_TIMEOUT = 30;

export const RBD_OPTIONS = [
  { name: 'rbd_store_pool', type: 'string', default: 'images', help: 'The RADOS pool images are stored in.' },
  { name: 'rbd_store_user', type: 'string', help: 'The RADOS user to authenticate as (without `client.`); the Ceph default when unset.' },
  { name: 'rbd_store_ceph_conf', type: 'string', default: '/etc/ceph/ceph.conf', help: 'Path to the Ceph configuration file (monitors, keyring).' },
  {
    name: 'rbd_store_chunk_size',
    type: 'int',
    default: 8,
    min: 1,
    help: 'Size in MiB of the RADOS objects images are striped over (a power of two); also the write size.',
    check: { rule: 'a power of two', problem: (value) => ((value as number) & ((value as number) - 1) ? 'must be a power of two (MiB)' : undefined) },
  },
  {
    name: 'rados_connect_timeout',
    type: 'int',
    default: -1,
    help:
      'Seconds to wait for the monitors when connecting (Ceph\'s client_mount_timeout), as glance_store 4.7 and later read it: ' +
      'below 0, the Ceph configuration\'s value (Ceph\'s default is 300 s); 0, no timeout (a connect waits for the monitors as long as it takes); ' +
      `above 0, that many seconds, which also bound each monitor and OSD call unless rados_mon_op_timeout / rados_osd_op_timeout say otherwise.`,
  },
  {
    name: 'rados_mon_op_timeout',
    type: 'int',
    min: 1,
    help:
      'Seconds a call to the Ceph monitors (creating or removing an image, a snapshot) may take before it fails as BackendUnavailable. ' +
      `Unset: rados_connect_timeout when that is above 0, else ${DEFAULT_OP_TIMEOUT} s. An option of this library; glance_store sets this bound only from rados_connect_timeout, and with the default leaves it to Ceph, which waits forever.`,
  },
  {
    name: 'rados_osd_op_timeout',
    type: 'int',
    min: 1,
    help:
      'Seconds each read or write of an image on an OSD may take before it fails as BackendUnavailable, so an OSD that stops answering fails an add or a get instead of holding it. ' +
      `Unset: rados_connect_timeout when that is above 0, else ${DEFAULT_OP_TIMEOUT} s. An option of this library; glance_store sets this bound only from rados_connect_timeout, and with the default leaves it to Ceph, which waits forever.`,
  },
  {
    name: 'rbd_store_trash_cloned_images',
    type: 'bool',
    default: false,
    help:
      'A delete of an image whose snapshot has clones (or that has snapshots besides its own) moves it to the pool\'s RBD trash, as glance_store 4.6 and later always do, ' +
      'instead of failing with InUse and changing nothing (glance_store 4.1, and the default here). The trash is never emptied by this library: purge it with `rbd trash purge` once the clones are gone. ' +
      'An option of this library. An image a client has open is InUse either way.',
  },
  { name: 'rbd_thin_provisioning', type: 'bool', default: false, help: 'Skip writing all-zero chunks, leaving them unallocated.' },
] as const satisfies readonly OptionSpec[];

/** The options a rbd store's `create` receives. */
export type RbdStoreOptions = OptionsOf<typeof RBD_OPTIONS>;

/** What the store connects with: each timeout in seconds, left out to keep the Ceph configuration's value. */
export interface CephTimeouts {
  connectTimeout?: number;
  monOpTimeout: number;
  osdOpTimeout: number;
}

/**
 * rados_connect_timeout as glance_store 4.7+ means it (below 0: ceph.conf's
 * client_mount_timeout; 0: none; above 0: that, for the connect and, as
 * glance_store sets them, the monitor and OSD calls). The calls after the
 * connect stay bounded whatever it says: by their own options, or 30 s.
 */
export function cephTimeouts(o: Pick<RbdStoreOptions, 'rados_connect_timeout' | 'rados_mon_op_timeout' | 'rados_osd_op_timeout'>): CephTimeouts {
  const connect = o.rados_connect_timeout;
  const op = connect > 0 ? connect : DEFAULT_OP_TIMEOUT;
  return {
    ...(connect >= 0 ? { connectTimeout: connect } : {}),
    monOpTimeout: o.rados_mon_op_timeout ?? op,
    osdOpTimeout: o.rados_osd_op_timeout ?? op,
  };
}
