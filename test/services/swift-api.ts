/**
 * Direct Swift API calls for tests (tempauth v1): what a container holds,
 * and raw object writes, so tests can check the backend without the store.
 */
export interface SwiftAccount {
  authUrl: string;
  user: string;
  key: string;
}

export async function swiftLogin(account: SwiftAccount): Promise<{ storageUrl: string; token: string }> {
  const r = await fetch(account.authUrl, { headers: { 'X-Auth-User': account.user, 'X-Auth-Key': account.key } });
  if (!r.ok) throw new Error(`swift login: HTTP ${r.status}`);
  return { storageUrl: r.headers.get('x-storage-url')!, token: r.headers.get('x-auth-token')! };
}

/** Object names in a container (every page), empty when the container does not exist. */
export async function swiftContainerListing(account: SwiftAccount, container: string, prefix = ''): Promise<string[]> {
  const { storageUrl, token } = await swiftLogin(account);
  const names: string[] = [];
  for (let marker = ''; ; ) {
    const q = new URLSearchParams({ format: 'json', prefix, ...(marker ? { marker } : {}) });
    const r = await fetch(`${storageUrl}/${encodeURIComponent(container)}?${q}`, { headers: { 'X-Auth-Token': token } });
    if (r.status === 404) return names;
    if (!r.ok) throw new Error(`swift listing of ${container}: HTTP ${r.status}`);
    if (r.status === 204) return names;
    const page = (await r.json()) as { name: string }[];
    if (page.length === 0) return names;
    names.push(...page.map((o) => o.name));
    marker = page.at(-1)!.name;
  }
}

export async function swiftRequest(account: SwiftAccount, method: string, pathInAccount: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}): Promise<Response> {
  const { storageUrl, token } = await swiftLogin(account);
  return fetch(`${storageUrl}/${pathInAccount}`, { method, body: init.body, headers: { 'X-Auth-Token': token, ...init.headers } });
}

/**
 * A glance-api.conf with one swift store `objects`, given its auth lines: a
 * container created on first use, 5 MB large-object threshold and 2 MB segments
 * (glance_store's MB), so segmented images are cheap to test.
 */
export function swiftStoreConf(auth: readonly string[], container: string, extra = ''): string {
  return [
    '[DEFAULT]',
    'enabled_backends = objects:swift',
    '[glance_store]',
    'default_backend = objects',
    '[objects]',
    ...auth,
    `swift_store_container = ${container}`,
    'swift_store_create_container_on_put = true',
    'swift_store_large_object_size = 5',
    'swift_store_large_object_chunk_size = 2',
    extra,
  ].join('\n');
}

/**
 * The same config with a second swift store `copies`, configured as
 * `objects` but writing to `container`: for copies between two stores.
 */
export function withCopiesStore(conf: string, container: string): string {
  const lines = conf.split('\n');
  const start = lines.indexOf('[objects]');
  const end = lines.findIndex((l, i) => i > start && l.startsWith('['));
  const section = lines.slice(start + 1, end === -1 ? undefined : end).map((l) => (l.startsWith('swift_store_container =') ? `swift_store_container = ${container}` : l));
  return [...lines.map((l) => (l === 'enabled_backends = objects:swift' ? 'enabled_backends = objects:swift, copies:swift' : l)), '[copies]', ...section].join('\n');
}
