/**
 * vsphere locations, written and read as glance_store writes and reads them:
 *
 *   vsphere://vcenter.example.org/folder/openstack_glance/<image id>?dsName=LocalDS_0&dcPath=DC0
 *
 * The host is vmware_server_host as configured; the path is the datastore
 * file below vCenter's `/folder` endpoint; the query names the datastore and
 * its datacenter's inventory path, dsName first, each quoted as Python's
 * urlencode quotes it (`/` as %2F, a space as +).
 */
import { BadStoreUriError } from '../../errors.js';
import { maskLocation, pyQuote } from '../../location.js';

export const VSPHERE_SCHEME = 'vsphere';
/** vCenter's HTTP endpoint for datastore files. */
export const FOLDER_PREFIX = '/folder';

export interface VsphereLocation {
  /** The host part as written (`host`, `host:port`, `[v6]`). */
  host: string;
  /** The URL path, `/folder/<dir>/<file>`, as written (still quoted). */
  path: string;
  /** The query as written, sent as it is to the `/folder` endpoint. */
  query: string;
  datastoreName: string;
  datacenterPath?: string;
}

/** Python's urllib.parse.quote_plus: what urlencode does to each key and value. */
export function quotePlus(text: string): string {
  return pyQuote(text, '').replaceAll('%20', '+');
}

/** The location of a new image, byte for byte as glance_store's StoreLocation.get_uri() gives it. */
export function formatVsphereLocation(host: string, imageDir: string, imageId: string, datastoreName: string, datacenterPath: string): string {
  const dir = imageDir.replace(/^\/+|\/+$/g, '');
  const path = `${FOLDER_PREFIX}/${dir ? `${dir}/` : ''}${imageId}`;
  const query = `dsName=${quotePlus(datastoreName)}${datacenterPath ? `&dcPath=${quotePlus(datacenterPath)}` : ''}`;
  return `${VSPHERE_SCHEME}://${host}${path}?${query}`;
}

/** Python's parse_qs decoding of one value: `+` is a space, then percent-decoding. */
function unquotePlus(text: string, uri: string): string {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    throw new BadStoreUriError(`Invalid vsphere location ${maskLocation(uri)}: badly escaped query`);
  }
}

/** Reads a vsphere location (one glance_store wrote, or this driver). */
export function parseVsphereLocation(uri: string): VsphereLocation {
  const bad = (why: string) => new BadStoreUriError(`Invalid vsphere location ${maskLocation(uri)}: ${why}`);
  const prefix = `${VSPHERE_SCHEME}://`;
  if (!uri.startsWith(prefix)) throw bad(`it must start with ${prefix}`);
  const rest = uri.slice(prefix.length).split('#')[0]!;
  const q = rest.indexOf('?');
  const beforeQuery = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const slash = beforeQuery.indexOf('/');
  const host = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash);
  const path = slash < 0 ? '' : beforeQuery.slice(slash);
  if (!host) throw bad('it names no server');
  if (host.includes('@')) throw bad('it must not hold credentials');
  if (!path.startsWith(`${FOLDER_PREFIX}/`) || path.length <= FOLDER_PREFIX.length + 1) throw bad(`its path must be ${FOLDER_PREFIX}/<directory>/<image>`);
  const params = new Map<string, string>();
  for (const pair of query.split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = unquotePlus(eq < 0 ? pair : pair.slice(0, eq), uri);
    // parse_qs keeps the first value of a repeated key for get(...)[0], and drops empty ones.
    const value = eq < 0 ? '' : unquotePlus(pair.slice(eq + 1), uri);
    if (value && !params.has(key)) params.set(key, value);
  }
  const datastoreName = params.get('dsName');
  if (!datastoreName) throw bad('it names no datastore (dsName)');
  const datacenterPath = params.get('dcPath');
  return { host, path, query, datastoreName, ...(datacenterPath ? { datacenterPath } : {}) };
}

/** The datastore path of a location's file, `[datastore] dir/file`, as the FileManager takes it. */
export function datastorePath(loc: Pick<VsphereLocation, 'path' | 'datastoreName'>): string {
  const file = decodeURIComponent(loc.path.slice(FOLDER_PREFIX.length + 1));
  return `[${loc.datastoreName}] ${file}`;
}
