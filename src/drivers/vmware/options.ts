/**
 * The vmware store's options, as glance_store 4.1 declares them (its
 * `vmware_api_insecure` still read as the old name of vmware_insecure).
 * vmware_server_host may carry a port here: glance_store only speaks to 443.
 */
import type { OptionCheck, OptionSpec, OptionsOf } from '../../config/schema.js';


/** `host`, `host:port`, `[v6]` or `[v6]:port`, with nothing else (no scheme, no path, no credentials). */
export const HOST_CHECK: OptionCheck = {
  rule: 'a host name or IP address, optionally with :port',
  problem: (value) => (parseServerHost(value as string) ? undefined : 'must be a host name or IP address, optionally followed by :port (no scheme or path)'),
};

/** The host and port vmware_server_host names, or undefined when it is not one. */
export function parseServerHost(value: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F]*:[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return undefined;
  const bare = m[1]!.includes(':') && !m[1]!.startsWith('[');
  // A bare IPv6 address has no port: its last group is not one.
  const host = bare ? `[${m[1]}${m[2] !== undefined ? `:${m[2]}` : ''}]` : m[1]!;
  const port = bare || m[2] === undefined ? 443 : Number(m[2]);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/** One vmware_datastores entry, `datacenter_path:datastore_name[:weight]`, split as glance_store splits it. */
export interface DatastoreSpec {
  datacenterPath: string;
  datastoreName: string;
  weight: number;
}

/** Splits an entry from the right (a datacenter path may hold a colon), or says why it cannot. */
export function parseDatastoreSpec(entry: string): DatastoreSpec | string {
  const parts: string[] = [];
  let rest = entry;
  for (let i = 0; i < 2; i++) {
    const at = rest.lastIndexOf(':');
    if (at < 0) break;
    parts.unshift(rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  parts.unshift(rest);
  const [dc, ds, weight] = parts.map((p) => p.trim());
  if (parts.length < 2) return 'must be datacenter_path:datastore_name or datacenter_path:datastore_name:weight';
  if (weight && !/^\d+$/.test(weight)) return `has the weight ${JSON.stringify(weight)}, which is not a whole number`;
  if (!dc || !ds) return 'needs both a datacenter path and a datastore name';
  return { datacenterPath: dc, datastoreName: ds, weight: weight ? Number(weight) : 0 };
}

export const VMWARE_OPTIONS = [
  {
    name: 'vmware_server_host',
    type: 'string',
    required: true,
    check: HOST_CHECK,
    sample: '127.0.0.1',
    help: 'The vCenter Server (or ESX/ESXi host) to use: a DNS name or IP address, optionally with `:port` (glance_store always speaks to 443). It is the host part of every location this store writes.',
  },
  { name: 'vmware_server_username', type: 'string', required: true, sample: 'root', help: 'User name to log in to the server with.' },
  { name: 'vmware_server_password', type: 'string', secret: true, required: true, sample: 'vmware', help: 'Password of vmware_server_username.' },
  {
    name: 'vmware_api_retry_count',
    type: 'int',
    default: 10,
    min: 1,
    help: 'Times a call is tried again when its connection to the server was refused (nothing reached it), with a short pause that doubles.',
  },
  { name: 'vmware_task_poll_interval', type: 'int', default: 5, min: 1, help: 'Seconds between looks at a server task (a delete, a move) that has not finished; the first looks come sooner.' },
  {
    name: 'vmware_store_image_dir',
    type: 'string',
    default: '/openstack_glance',
    help: 'Directory of each datastore that images are stored in (created on the first add).',
  },
  {
    name: 'vmware_insecure',
    type: 'bool',
    default: false,
    deprecatedNames: ['vmware_api_insecure'],
    help: "Do not verify the server's TLS certificate. Ignored when vmware_ca_file is set.",
  },
  { name: 'vmware_ca_file', type: 'string', sample: '/etc/ssl/certs/ca-certificates.crt', help: "CA bundle that verifies the server's TLS certificate." },
  {
    name: 'vmware_datastores',
    type: 'multistring',
    required: true,
    sample: 'DC0:LocalDS_0:100',
    help: 'A datastore images may be stored in, as `datacenter_path:datastore_name[:weight]`; repeat the option for several. An add goes to the datastore of the highest weight (0 when not given) that is accessible and has room for the image, and among equal weights to the one with the most free space.',
    check: {
      rule: 'each entry `datacenter_path:datastore_name[:weight]`, the weight a whole number',
      problem: (value) => {
        for (const entry of value as string[]) {
          const spec = parseDatastoreSpec(entry);
          if (typeof spec === 'string') return `${JSON.stringify(entry)} ${spec}`;
        }
        return undefined;
      },
    },
  },
] as const satisfies readonly OptionSpec[];

/** The options a vmware store's `create` receives. */
export type VmwareStoreOptions = OptionsOf<typeof VMWARE_OPTIONS>;
