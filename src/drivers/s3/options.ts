/** The s3 store's options, as glance_store declares them (sizes in MiB). */
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

/** A bucket name that can be the first label of a host name. */
const VIRTUAL_HOST_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export const S3_OPTIONS = [
  { name: 's3_store_host', type: 'string', required: true, help: 'The S3 endpoint: a host name (http is used), or a URL with http:// or https://.', sample: 'https://s3.example.com' },
  { name: 's3_store_access_key', type: 'string', required: true, help: 'The S3 access key.' },
  { name: 's3_store_secret_key', type: 'string', required: true, secret: true, help: 'The S3 secret key.' },
  {
    name: 's3_store_bucket',
    type: 'string',
    required: true,
    help: 'The bucket images are stored in.',
    check: {
      rule: 'a name usable as a host name (3 to 63 lower-case letters, digits and `-`) when s3_store_bucket_url_format is `virtual`',
      problem: (value, values) =>
        values['s3_store_bucket_url_format'] === 'virtual' && !VIRTUAL_HOST_BUCKET.test(value as string) ? 'cannot be addressed as a virtual host (s3_store_bucket_url_format = virtual)' : undefined,
    },
  },
  { name: 's3_store_create_bucket_on_put', type: 'bool', default: false, help: 'Create the bucket on the first add if it does not exist.' },
  {
    name: 's3_store_bucket_url_format',
    type: 'string',
    default: 'auto',
    choices: ['auto', 'path', 'virtual'],
    help: 'Addressing of the bucket: `path` (host/bucket), `virtual` (bucket.host), or `auto` (virtual where the bucket name allows it, as the AWS SDK chooses).',
  },
  { name: 's3_store_region_name', type: 'string', default: '', help: 'Region to sign requests for; empty uses us-east-1, which non-AWS servers accept.' },
  {
    name: 's3_store_large_object_size',
    type: 'int',
    default: 100,
    min: 0,
    help: 'Images of at least this many MiB are uploaded in parts (multipart upload); 0 sends every image, a 0-byte one too, through the multipart path (glance_store 5.2), where one that fits in a part goes up as a single PUT.',
  },
  { name: 's3_store_large_object_chunk_size', type: 'int', default: 10, min: 5, help: 'Size in MiB of each part of a multipart upload (S3 requires at least 5).' },
  { name: 's3_store_thread_pools', type: 'int', default: 10, min: 1, help: 'Parts uploaded at once; memory held is at most this many parts.' },
  { name: 's3_store_cacert', type: 'string', help: 'CA bundle that verifies an https endpoint.', path: { kind: 'readable-file' } },
  {
    name: 's3_store_enable_data_integrity_protection',
    type: 'bool',
    default: false,
    help: 'Use s3_store_request_checksum_calculation and s3_store_response_checksum_validation (glance_store 5.4). Off: checksums only where an operation requires them, which every S3 server understands.',
  },
  {
    name: 's3_store_request_checksum_calculation',
    type: 'string',
    default: 'when_required',
    choices: ['when_required', 'when_supported'],
    help: 'With s3_store_enable_data_integrity_protection: `when_supported` sends a CRC32 checksum with every upload (the AWS SDK\'s requestChecksumCalculation), which the server checks; `when_required` only where the operation requires one.',
  },
  {
    name: 's3_store_response_checksum_validation',
    type: 'string',
    default: 'when_required',
    choices: ['when_required', 'when_supported'],
    help: 'With s3_store_enable_data_integrity_protection: `when_supported` checks the checksum a server sends with a whole-object download (the AWS SDK\'s responseChecksumValidation); `when_required` only where the request asks for one.',
  },
] as const satisfies readonly OptionSpec[];

/** The options a s3 store's `create` receives. */
export type S3StoreOptions = OptionsOf<typeof S3_OPTIONS>;
