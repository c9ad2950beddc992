/**
 * The swift store's options, as glance_store declares them. Sizes are in
 * glance_store's "MB" of 1,024,000 bytes (it multiplies by 1000 * 1024), kept
 * so that segments come out the same size as glance_store's.
 */
import { applicationCredentialSecret } from '../app-credential-option.js';
import type { OptionCheck, OptionSpec, OptionValues, OptionsOf } from '../../config/schema.js';
import { REFERENCES_FILE_RULE, referencesFileProblem } from './references.js';

/** Single-tenant without a references file: the store's account is given by swift_store_auth_address and a user or an application credential. */
const OWN_ADDRESS = {
  when: 'unless swift_store_config_file or swift_store_multi_tenant is set',
  test: (values: OptionValues) => !values['swift_store_config_file'] && values['swift_store_multi_tenant'] !== true,
};
const OWN_ACCOUNT = {
  when: 'unless swift_store_config_file, swift_store_multi_tenant or swift_store_application_credential_id is set',
  test: (values: OptionValues) => OWN_ADDRESS.test(values) && !values['swift_store_application_credential_id'],
};

const HTTP_URL: OptionCheck = { rule: 'an http:// or https:// URL', problem: (value) => (/^https?:\/\//.test(value as string) ? undefined : 'must be an http:// or https:// URL') };

export const SWIFT_OPTIONS = [
  {
    name: 'default_swift_reference',
    type: 'string',
    default: 'ref1',
    help: 'The account reference (a section of swift_store_config_file, or the swift_store_user/key/auth_address options) that new images are stored with.',
  },
  {
    name: 'swift_store_config_file',
    type: 'string',
    help: 'File of account references (`[ref]` sections with auth_address, user, key, auth_version, user/project domain). With it, locations are written as `swift+config://ref/container/image` and hold no credentials. Not allowed with swift_store_multi_tenant.',
    sample: '/etc/glance/glance-swift.conf',
    path: { kind: 'readable-file', content: { rule: REFERENCES_FILE_RULE, problem: referencesFileProblem } },
    check: {
      rule: 'unset when swift_store_multi_tenant is set',
      problem: (_value, values) =>
        values['swift_store_multi_tenant'] === true
          ? 'swift_store_multi_tenant and swift_store_config_file cannot be used together (a multi-tenant store uses the request token, not account references)'
          : undefined,
    },
  },
  { name: 'swift_store_auth_version', type: 'string', default: '2', choices: ['1', '2', '3'], help: 'Authentication API: 1 (tempauth/swauth), 2 or 3 (Keystone). A reference\'s own auth_version wins.' },
  {
    name: 'swift_store_auth_address',
    type: 'string',
    required: OWN_ADDRESS,
    check: HTTP_URL,
    help: 'Authentication URL, used when there is no swift_store_config_file (deprecated in glance_store in favour of it).',
    sample: 'http://127.0.0.1:5000/v3',
  },
  {
    name: 'swift_store_user',
    type: 'string',
    secret: true,
    required: OWN_ACCOUNT,
    check: {
      rule: '`project:user` when swift_store_auth_version is 2 or 3 (and no swift_store_config_file is set)',
      problem: (value, values) =>
        OWN_ACCOUNT.test(values) && values['swift_store_auth_version'] !== '1' && !(value as string).includes(':')
          ? `must be project:user for Keystone (swift_store_auth_version ${String(values['swift_store_auth_version'])})`
          : undefined,
    },
    help: 'User to authenticate as (`project:user` for Keystone), used without swift_store_config_file.',
  },
  { name: 'swift_store_key', type: 'string', secret: true, required: OWN_ACCOUNT, help: 'Password or key of swift_store_user.' },
  {
    name: 'swift_store_application_credential_id',
    type: 'string',
    secret: true,
    check: {
      rule: 'used with swift_store_auth_version 3',
      problem: (_value, values) => (values['swift_store_auth_version'] === '3' ? undefined : `application credentials need Keystone v3: set swift_store_auth_version = 3`),
    },
    help: 'Id of a Keystone application credential the store authenticates with instead of swift_store_user/key (glance_store 5.4; Keystone v3 only). Its locations hold no credentials: the store reads them with this credential.',
  },
  applicationCredentialSecret('swift_store_application_credential_secret', 'swift_store_application_credential_id'),
  { name: 'swift_store_auth_insecure', type: 'bool', default: false, help: 'Do not verify the TLS certificates of the auth service and Swift.' },
  { name: 'swift_store_cacert', type: 'string', help: 'CA bundle that verifies https endpoints.', sample: '/etc/ssl/certs/ca-certificates.crt', path: { kind: 'readable-file' } },
  { name: 'swift_store_region', type: 'string', help: 'Region whose object-store endpoint is taken from the service catalog.', sample: 'RegionTwo' },
  { name: 'swift_store_endpoint', type: 'string', check: HTTP_URL, help: 'Swift storage URL to use instead of the one in the service catalog (up to the account, without the container).', sample: 'https://swift.example.org/v1/AUTH_project' },
  { name: 'swift_store_endpoint_type', type: 'string', default: 'publicURL', choices: ['publicURL', 'adminURL', 'internalURL'], help: 'Which catalog endpoint to use.' },
  { name: 'swift_store_service_type', type: 'string', default: 'object-store', help: 'Service type of Swift in the service catalog.' },
  { name: 'swift_store_container', type: 'string', default: 'glance', help: 'Container images are stored in (the prefix of per-image or seeded container names).' },
  { name: 'swift_store_large_object_size', type: 'int', default: 5120, min: 1, help: 'Images of at least this many MB (1,024,000 bytes) are stored as segments and a manifest.' },
  { name: 'swift_store_large_object_chunk_size', type: 'int', default: 200, min: 1, help: 'Size in MB (1,024,000 bytes) of each segment of a large image.' },
  { name: 'swift_store_create_container_on_put', type: 'bool', default: false, help: 'Create a missing container on the first add.' },
  { name: 'swift_store_multi_tenant', type: 'bool', default: false, help: "Store each image in the account of the user adding it (a container per image), using the request's token and service catalog." },
  {
    name: 'swift_store_multiple_containers_seed',
    type: 'int',
    default: 0,
    min: 0,
    max: 32,
    help: 'Spread images over containers named `<container>_<first N characters of the image id>`; 0 keeps one container.',
  },
  { name: 'swift_store_admin_tenants', type: 'list', default: [], help: 'Projects given write access to every multi-tenant image container.' },
  { name: 'swift_store_ssl_compression', type: 'bool', default: true, help: 'Accepted for compatibility; Node never compresses TLS, so it has no effect.' },
  { name: 'swift_store_retry_get_count', type: 'int', default: 0, min: 0, help: 'Times a download cut off mid-image is resumed from the byte reached before failing.' },
  { name: 'swift_store_expire_soon_interval', type: 'int', default: 60, min: 0, help: 'Seconds before a token expires at which a new one is requested, so a long upload never meets an expired token.' },
  {
    name: 'swift_store_use_trusts',
    type: 'bool',
    default: true,
    help: "Accepted for compatibility. Keystone trusts are not created: multi-tenant calls use the request's token for their whole length.",
  },
  { name: 'swift_buffer_on_upload', type: 'bool', default: false, help: 'Buffer each segment in swift_upload_buffer_dir before sending it, so a segment whose upload fails is sent again.' },
  {
    name: 'swift_upload_buffer_dir',
    type: 'string',
    required: { when: 'when swift_buffer_on_upload is set', test: (values) => values['swift_buffer_on_upload'] === true },
    help: 'Directory segments are buffered in when swift_buffer_on_upload is set.',
    path: { kind: 'writable-directory', only: { when: 'when swift_buffer_on_upload is set', test: (values) => values['swift_buffer_on_upload'] === true } },
    sample: '/var/lib/glance/swift-buffer',
  },
  { name: 'swift_store_request_timeout', type: 'int', default: 60, min: 1, help: 'Seconds to wait for Swift or the auth service to answer before the call fails with BackendUnavailable (not in glance_store, which can wait forever).' },
] as const satisfies readonly OptionSpec[];

/** The options a swift store's `create` receives. */
export type SwiftStoreOptions = OptionsOf<typeof SWIFT_OPTIONS>;

/** glance_store's "MB": it multiplies by 1000 * 1024. */
export const ONE_MB = 1000 * 1024;
