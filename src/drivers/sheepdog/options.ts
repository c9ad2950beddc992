/** The sheepdog store's options: glance_store's three, and the bound of one request. */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

export const SHEEPDOG_OPTIONS = [
  { name: 'sheepdog_store_address', type: 'string', default: '127.0.0.1', help: 'Address of the sheep daemon the store talks to (any node of the cluster).' },
  { name: 'sheepdog_store_port', type: 'port', default: 7000, help: 'Port of the sheep daemon.' },
  {
    name: 'sheepdog_store_chunk_size',
    type: 'int',
    default: 64,
    min: 1,
    help:
      'MiB of image data in flight at once per add or get (glance_store\'s read and write size). Data moves in whole VDI objects (4 MiB on a default cluster), so this many MiB divided by the object size, at least one, are written or read at a time on one connection.',
  },
  {
    name: 'sheepdog_store_request_timeout',
    type: 'int',
    default: 30,
    min: 1,
    help: 'Seconds a request to the sheep daemon (connecting included) may wait for its answer; a cluster that does not answer in time fails the call with BackendUnavailable. Not a glance_store option.',
  },
] as const satisfies readonly OptionSpec[];

export type SheepdogStoreOptions = OptionsOf<typeof SHEEPDOG_OPTIONS>;
