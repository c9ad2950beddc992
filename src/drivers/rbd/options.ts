/** The rbd store's options, as glance_store declares them. */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

/** The connection bound when rados_connect_timeout is 0. */
export const DEFAULT_CONNECT_TIMEOUT = 30;

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
    default: 0,
    min: 0,
    help: `Seconds to wait for the cluster when connecting; 0 (glance_store's default) waits ${DEFAULT_CONNECT_TIMEOUT} s, where Ceph's own default would be 300 s.`,
  },
  {
    name: 'rados_mon_op_timeout',
    type: 'int',
    default: 30,
    min: 1,
    help: 'Seconds a call to the Ceph monitors (creating or removing an image, a snapshot) may take before it fails as BackendUnavailable. An option of this library; glance_store leaves it to Ceph, which waits forever.',
  },
  {
    name: 'rados_osd_op_timeout',
    type: 'int',
    default: 30,
    min: 1,
    help: 'Seconds each read or write of an image on an OSD may take before it fails as BackendUnavailable, so an OSD that stops answering fails an add or a get instead of holding it. An option of this library; glance_store leaves it to Ceph, which waits forever.',
  },
  { name: 'rbd_thin_provisioning', type: 'bool', default: false, help: 'Skip writing all-zero chunks, leaving them unallocated.' },
] as const satisfies readonly OptionSpec[];

/** The options a rbd store's `create` receives. */
export type RbdStoreOptions = OptionsOf<typeof RBD_OPTIONS>;
