/**
 * The cinder store's options: glance_store 4.x's, with the same names,
 * types and defaults. Options for attaching through the host's kernel
 * (multipath, NFS mounts, rootwrap) cannot apply to a store that reads RBD
 * volumes with librbd itself; they are accepted and documented as ignored,
 * so a glance-api.conf written for Glance loads unchanged.
 */
import { applicationCredentialSecret } from '../app-credential-option.js';
import type { OptionSpec, OptionsOf } from '../../config/schema.js';

const IGNORED = 'Accepted for glance-api.conf compatibility and ignored:';

export const CINDER_OPTIONS = [
  {
    name: 'cinder_catalog_info',
    type: 'string',
    default: 'volumev3::publicURL',
    help: 'Which service catalog entry is Cinder, as `<service_type>:<service_name>:<interface>`: used when no cinder_endpoint_template is set, with the request context\'s catalog or the one the cinder_store_* user receives.',
    check: {
      rule: '`<service_type>:<service_name>:<interface>` with a type and an interface (the name may be empty)',
      problem: (value) => {
        const parts = (value as string).split(':');
        return parts.length === 3 && parts[0] && parts[2] ? undefined : 'must be <service_type>:<service_name>:<interface>, e.g. volumev3::publicURL';
      },
    },
  },
  {
    name: 'cinder_endpoint_template',
    type: 'string',
    help: 'Cinder\'s URL instead of a catalog lookup, with `%(project_id)s` (or `%(tenant)s`, `%(user_id)s`) replaced from the request context, e.g. `http://cinder.example.org:8776/v3/%(project_id)s`. Ignored when the cinder_store_* credentials are set.',
  },
  { name: 'cinder_os_region_name', type: 'string', deprecatedNames: ['os_region_name'], help: 'Region of the Cinder endpoint in the service catalog; every region when unset.' },
  { name: 'cinder_ca_certificates_file', type: 'string', help: 'CA certificates (PEM) that verify an HTTPS Cinder or Keystone endpoint.', path: { kind: 'readable-file' } },
  { name: 'cinder_http_retries', type: 'int', default: 3, min: 0, help: 'How many times a Cinder call that failed with a connection error or a server error (5xx) is retried, after a growing pause.' },
  {
    name: 'cinder_state_transition_timeout',
    type: 'int',
    default: 300,
    min: 0,
    help: 'Seconds to wait for a volume to change state (creating, extending, attaching, deleting) before the call fails.',
  },
  {
    name: 'cinder_attachment_retry_attempts',
    type: 'int',
    default: 5,
    min: 1,
    help: 'Attempts in all at creating a volume attachment while Cinder refuses it because the volume is in a transitional state (reserved, attaching, detaching, or in use by another reader), with pauses of 2, 4, 8, then 10 s; other refusals are not retried (glance_store master).',
  },
  {
    name: 'cinder_lock_path',
    type: 'string',
    help: 'Directory of the per-volume lock files that the processes of one host share, so they detach one volume one at a time (glance_store 5.3 uses [oslo_concurrency] lock_path: set both to the same directory). Unset: glance-store-locks in the system temporary directory. Not in glance_store.',
  },
  { name: 'cinder_api_insecure', type: 'bool', default: false, help: 'Do not verify the TLS certificate of an HTTPS Cinder or Keystone endpoint.' },
  { name: 'cinder_store_auth_address', type: 'string', help: 'Keystone v3 URL the store authenticates at with its own user. With cinder_store_user_name, cinder_store_password and cinder_store_project_name, the store ignores the request context and uses this user\'s token and catalog.' },
  { name: 'cinder_store_user_name', type: 'string', help: 'The store\'s own Keystone user (see cinder_store_auth_address).' },
  { name: 'cinder_store_user_domain_name', type: 'string', default: 'Default', help: 'Domain of cinder_store_user_name.' },
  { name: 'cinder_store_password', type: 'string', secret: true, help: 'Password of cinder_store_user_name.' },
  { name: 'cinder_store_project_name', type: 'string', help: 'Project the store\'s volumes are created in (see cinder_store_auth_address).' },
  { name: 'cinder_store_project_domain_name', type: 'string', default: 'Default', help: 'Domain of cinder_store_project_name.' },
  {
    name: 'cinder_store_application_credential_id',
    type: 'string',
    help: 'Id of a Keystone application credential the store authenticates with at cinder_store_auth_address, instead of cinder_store_user_name and cinder_store_password (glance_store 5.4); the volumes go to the credential\'s project.',
  },
  applicationCredentialSecret('cinder_store_application_credential_secret', 'cinder_store_application_credential_id'),
  { name: 'cinder_volume_type', type: 'string', help: 'Volume type of the volumes images are written to; Cinder\'s default type when unset.' },
  {
    name: 'cinder_do_extend_attached',
    type: 'bool',
    default: false,
    help: 'Grow a volume of unknown final size while it stays attached (Cinder microversion 3.42) instead of detaching, extending and attaching it again.',
  },
  { name: 'cinder_enforce_multipath', type: 'bool', default: false, help: `${IGNORED} multipath applies to iSCSI and FC attachments, which this store does not make.` },
  { name: 'cinder_use_multipath', type: 'bool', default: false, help: `${IGNORED} multipath applies to iSCSI and FC attachments, which this store does not make.` },
  { name: 'cinder_mount_point_base', type: 'string', default: '/var/lib/glance/mnt', help: `${IGNORED} NFS volumes are mounted by os-brick in glance_store; this store reads RBD volumes only, with librbd.` },
  { name: 'rootwrap_config', type: 'string', default: '/etc/glance/rootwrap.conf', help: `${IGNORED} this store runs no privileged helper: it reads and writes RBD volumes with librbd as the Ceph user Cinder names.` },
  {
    name: 'cinder_rbd_keyring',
    type: 'string',
    help: 'Keyring file of the Ceph user that Cinder\'s connection info names, when Cinder does not send the key itself. Unset: `/etc/ceph/<cluster>.client.<user>.keyring`, where os-brick looks. (Not a glance_store option.)',
  },
] as const satisfies readonly OptionSpec[];

/** The options a cinder store's `create` receives. */
export type CinderStoreOptions = OptionsOf<typeof CINDER_OPTIONS>;
