/** The file store's options, as glance_store declares them. */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';
import { readDatadirs } from './datadirs.js';
import { METADATA_FILE_RULE, parseMetadata } from './metadata.js';

export const FILE_DATADIR_DEFAULT = '/var/lib/glance/images';

export const FILE_OPTIONS = [
  {
    name: 'filesystem_store_datadir',
    type: 'string',
    default: FILE_DATADIR_DEFAULT,
    help: 'Directory the file store writes images to. Only one of filesystem_store_datadir and filesystem_store_datadirs may be set.',
    required: { when: 'unless filesystem_store_datadirs is set', test: (values) => !(values['filesystem_store_datadirs'] as string[] | undefined)?.length },
  },
  {
    name: 'filesystem_store_datadirs',
    type: 'multistring',
    help: 'Several directories, one `path[:priority]` per line (repeat the option). An add goes to the highest-priority directory with room for the image. Deprecated since glance_store 5.0: configure one file store per directory instead.',
    sample: '/mnt/ssd:200',
    check: {
      rule: '`path[:priority]` lines naming each directory at one priority, without filesystem_store_datadir',
      problem: (value, values) => {
        // filesystem_store_datadir has a default; only an explicitly different value conflicts.
        const single = values['filesystem_store_datadir'];
        if (single !== FILE_DATADIR_DEFAULT && single !== '' && single !== undefined) return 'filesystem_store_datadir and filesystem_store_datadirs cannot both be set: set only one of them';
        const problems: string[] = [];
        readDatadirs(undefined, value as string[], problems);
        return problems.length ? problems.join('; ') : undefined;
      },
    },
  },
  {
    name: 'filesystem_store_metadata_file',
    type: 'string',
    help: 'Path to a JSON file whose content (an object with `id` and `mountpoint`, or a list of them) is returned as location metadata.',
    path: {
      kind: 'readable-file',
      content: {
        rule: METADATA_FILE_RULE,
        problem: (text) => {
          const read = parseMetadata(text);
          return 'problem' in read ? read.problem : undefined;
        },
      },
    },
  },
  {
    name: 'filesystem_store_file_perm',
    type: 'int',
    default: 0,
    help: 'File mode for new images, written as octal digits (e.g. 640). 0 keeps the default mode set by the umask.',
    check: {
      rule: 'at most four octal digits that let the owner read the file, or 0',
      problem: (value) => {
        const perm = String(value);
        if (perm === '0') return undefined;
        if (!/^[0-7]{1,4}$/.test(perm)) return 'is not an octal file mode';
        // As glance_store: a mode the service itself could not read would lose images.
        return parseInt(perm, 8) & 0o400 ? undefined : 'would make images unreadable by their owner';
      },
    },
  },
  {
    name: 'filesystem_store_chunk_size',
    type: 'int',
    default: 65536,
    min: 1,
    help: 'Size in bytes of the pieces thin provisioning examines, and the smallest read size (reads use at least 4 MiB).',
  },
  {
    name: 'filesystem_thin_provisioning',
    type: 'bool',
    default: false,
    help: 'Leave all-zero chunks of an image as holes in a sparse file instead of writing them.',
  },
  {
    name: 'filesystem_store_timeout',
    type: 'int',
    default: 0,
    min: 0,
    help: 'Seconds a file system call (open, read, write, stat, statfs, link, unlink) of the store may take before it fails with a Timeout error naming the store, for datadirs on network storage that may stop answering. 0 turns it off (calls wait as long as the file system does). While a call that timed out is still hung, the store refuses new calls at once (docs/failures.md).',
  },
  {
    name: 'filesystem_store_thread_pool_size',
    type: 'int',
    default: 10,
    min: 1,
    help: 'With filesystem_store_timeout set, the most file system calls of the store in flight at once; more wait, and the wait counts towards their timeout. Keep it below UV_THREADPOOL_SIZE (libuv\'s pool, 4 by default), which the whole process shares.',
  },
  {
    name: 'filesystem_store_threadpool_threshold',
    type: 'int',
    default: 75,
    min: 0,
    max: 100,
    help: 'With filesystem_store_timeout set, the percentage of filesystem_store_thread_pool_size in use at which a warning is logged.',
  },
] as const satisfies readonly OptionSpec[];

/** The options a file store's `create` receives. */
export type FileStoreOptions = OptionsOf<typeof FILE_OPTIONS>;
