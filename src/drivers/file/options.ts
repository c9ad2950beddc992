/** The file store's options, as glance_store declares them. */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

export const FILE_DATADIR_DEFAULT = '/var/lib/glance/images';

export const FILE_OPTIONS = [
  {
    name: 'filesystem_store_datadir',
    type: 'string',
    default: FILE_DATADIR_DEFAULT,
    help: 'Directory the file store writes images to. Only one of filesystem_store_datadir and filesystem_store_datadirs may be set.',
  },
  {
    name: 'filesystem_store_datadirs',
    type: 'multistring',
    help: 'Several directories, one `path[:priority]` per line (repeat the option). An add goes to the highest-priority directory with room for the image.',
    sample: '/mnt/ssd:200',
  },
  {
    name: 'filesystem_store_metadata_file',
    type: 'string',
    help: 'Path to a JSON file whose content (an object with `id` and `mountpoint`, or a list of them) is returned as location metadata.',
  },
  {
    name: 'filesystem_store_file_perm',
    type: 'int',
    default: 0,
    help: 'File mode for new images, written as octal digits (e.g. 640). 0 keeps the default mode set by the umask.',
  },
  {
    name: 'filesystem_store_chunk_size',
    type: 'int',
    default: 65536,
    min: 1,
    help: 'Size in bytes of the pieces thin provisioning examines, and the smallest read size (reads use at least 1 MiB).',
  },
  {
    name: 'filesystem_thin_provisioning',
    type: 'bool',
    default: false,
    help: 'Leave all-zero chunks of an image as holes in a sparse file instead of writing them.',
  },
] as const satisfies readonly OptionSpec[];

/** The options a file store's `create` receives. */
export type FileStoreOptions = OptionsOf<typeof FILE_OPTIONS>;
