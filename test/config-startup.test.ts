/**
 * Every option is checked before any store starts: the checks a driver
 * declares in its schema (required options, its own rules) are reported by
 * MultiStore.create in the one BadStoreConfigurationError with every other
 * problem, for the default store and every other store alike, before any
 * store is created or any backend contacted. And the warnings of the same
 * reading stay beside the problems.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MultiStore, parseConfig, BadStoreConfigurationError } from '../src/index.js';
import { defineDriver, type StoreDriver } from '../src/driver-kit.js';
import { readConfig } from '../src/config/stores.js';
import { driverRegistry } from '../src/drivers/index.js';

let root: string;
let server: Server;
/** Every connection any store makes goes here: none may arrive. */
let connections = 0;
let backend: string;
/** Stores of this type count their creation: none may be created either. */
let created = 0;
const probe = defineDriver({
  type: 'probe',
  schemes: ['probe'],
  options: [],
  create: (): StoreDriver => {
    created++;
    throw new Error('a store was created although the config has problems');
  },
});

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'gs-startup-'));
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  backend = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

/** [what, store type, its section's lines (null: no section at all), [option, what the problem says]...] */
type Case = [string, string, string | null, Array<[string, RegExp]>];
const CASES = (): Case[] => [
  ['a file mode that is not octal', 'file', `filesystem_store_datadir = ${root}/f1\nfilesystem_store_file_perm = 999`, [['filesystem_store_file_perm', /= 999: is not an octal file mode/]]],
  ['a file mode the owner cannot read', 'file', `filesystem_store_datadir = ${root}/f2\nfilesystem_store_file_perm = 200`, [['filesystem_store_file_perm', /= 200: would make images unreadable by their owner/]]],
  ['an empty datadir', 'file', 'filesystem_store_datadir =', [['filesystem_store_datadir', /filesystem_store_datadir is required unless filesystem_store_datadirs is set/]]],
  ['a datadir priority that is not a number', 'file', `filesystem_store_datadirs = ${root}/f3:high`, [['filesystem_store_datadirs', /the priority must be an integer/]]],
  ['both datadir options', 'file', `filesystem_store_datadir = ${root}/f4\nfilesystem_store_datadirs = ${root}/f5:1`, [['filesystem_store_datadirs', /filesystem_store_datadir and filesystem_store_datadirs cannot both be set/]]],
  ['an rbd chunk size that is not a power of two', 'rbd', 'rbd_store_chunk_size = 3', [['rbd_store_chunk_size', /= 3: must be a power of two/]]],
  [
    'an s3 store without keys',
    's3',
    `s3_store_host = http://${backend}\ns3_store_bucket = images`,
    [
      ['s3_store_access_key', /s3_store_access_key is required/],
      ['s3_store_secret_key', /s3_store_secret_key is required/],
    ],
  ],
  [
    'an s3 store with no section at all',
    's3',
    null,
    [
      ['s3_store_host', /s3_store_host is required/],
      ['s3_store_bucket', /s3_store_bucket is required/],
    ],
  ],
  [
    'an s3 bucket that cannot be a host name',
    's3',
    `s3_store_host = http://${backend}\ns3_store_access_key = ak\ns3_store_secret_key = sk-s3cret-1\ns3_store_bucket = Images_2\ns3_store_bucket_url_format = virtual`,
    [['s3_store_bucket', /= "Images_2": cannot be addressed as a virtual host/]],
  ],
  [
    'a swift store without an account',
    'swift',
    'swift_store_container = glance',
    [
      ['swift_store_auth_address', /swift_store_auth_address is required unless swift_store_config_file or swift_store_multi_tenant is set/],
      ['swift_store_user', /swift_store_user is required/],
      ['swift_store_key', /swift_store_key is required/],
    ],
  ],
  [
    'a multi-tenant swift store with account references',
    'swift',
    `swift_store_multi_tenant = true\nswift_store_config_file = ${root}/refs.conf`,
    [['swift_store_config_file', /swift_store_multi_tenant and swift_store_config_file cannot be used together/]],
  ],
  [
    'a Keystone user without its project, a non-URL auth address and endpoint',
    'swift',
    'swift_store_auth_version = 3\nswift_store_auth_address = keystone:5000\nswift_store_user = glance-user-s3cret\nswift_store_key = k\nswift_store_endpoint = swift.example.org/v1',
    [
      ['swift_store_user', /swift_store_user \(value hidden\): must be project:user for Keystone/],
      ['swift_store_auth_address', /= "keystone:5000": must be an http:\/\/ or https:\/\/ URL/],
      ['swift_store_endpoint', /swift_store_endpoint = "swift.example.org\/v1": must be an http/],
    ],
  ],
  [
    'upload buffering without a directory',
    'swift',
    `swift_store_auth_version = 1\nswift_store_auth_address = http://${backend}/auth/v1.0\nswift_store_user = a:b\nswift_store_key = k\nswift_buffer_on_upload = true`,
    [['swift_upload_buffer_dir', /swift_upload_buffer_dir is required when swift_buffer_on_upload is set/]],
  ],
  ['a proxy for a scheme that is not http', 'http', 'http_proxy_information = ftp:http://p:1', [['http_proxy_information', /scheme "ftp" must be http or https/]]],
  ['a proxy that is not an http URL', 'http', 'http_proxy_information = http:ftp://proxy-user:pr0xy-s3cret@nowhere:1', [['http_proxy_information', /the proxy for http is not an http:\/\/ or https:\/\/ URL/]]],
  ['a catalog entry that is not type:name:interface', 'cinder', 'cinder_catalog_info = volumev3', [['cinder_catalog_info', /= "volumev3": must be <service_type>:<service_name>:<interface>/]]],
];

/** A config whose default store is fine, one broken store `bad`, a probe store, and `extra` problems. */
function config(type: string, section: string | null, extra = ''): string {
  return (
    `[DEFAULT]\nenabled_backends = good:file, bad:${type}, p:probe\n[glance_store]\ndefault_backend = good\n` +
    `[good]\nfilesystem_store_datadir = ${root}/good\n${extra}` +
    (section === null ? '' : `[bad]\n${section}\n`)
  );
}

describe('the options of every store are checked before any store starts', () => {
  it.each(CASES().map((c) => [c[0], c] as const))('%s', async (_what, [, type, section, expected]) => {
    // Another store's problem of another kind, to be reported in the same error.
    const text = config(type, section, 'weight = heavy\n');
    const err = await MultiStore.create(parseConfig(text), { drivers: [probe] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    const problems = (err as BadStoreConfigurationError).problems;
    expect(problems).toContainEqual(expect.stringMatching(/^\[good\] weight = "heavy": expected an integer/));
    for (const [option, says] of expected) {
      // Named by store (the section's label), option and what is wrong.
      expect(problems.filter((p) => p.startsWith(`[bad] ${option} `) && says.test(p)), `${option} in ${JSON.stringify(problems)}`).toHaveLength(1);
    }
    // The same problems from readConfig, each naming its group and option.
    const reading = readConfig(parseConfig(text), driverRegistry([probe]));
    for (const [option] of expected) expect(reading.problems).toContainEqual(expect.objectContaining({ kind: 'store-rule', group: 'bad', option }));
    // Nothing was created or contacted, and no secret or credential shown.
    expect(created).toBe(0);
    expect(connections).toBe(0);
    expect(existsSync(path.join(root, 'good'))).toBe(false);
    expect((err as Error).message).not.toMatch(/s3cret/);
  });

  it('checks reserved stores too', async () => {
    const text = config('file', `filesystem_store_datadir = ${root}/b`, `[os_glance_staging_store]\nfilesystem_store_datadir = ${root}/staging\nfilesystem_store_file_perm = 888\n`);
    await expect(MultiStore.create(parseConfig(text), { drivers: [probe] })).rejects.toMatchObject({
      problems: [expect.stringMatching(/^\[os_glance_staging_store\] filesystem_store_file_perm = 888: is not an octal file mode/)],
    });
    expect(existsSync(path.join(root, 'staging'))).toBe(false);
  });

  it('accepts what the rules allow', async () => {
    const ok = config('file', `filesystem_store_datadirs = ${root}/ok1:100\nfilesystem_store_datadirs = ${root}/ok2\nfilesystem_store_file_perm = 0640`).replace(', p:probe', '');
    const ms = await MultiStore.create(parseConfig(ok));
    expect(ms.states().every((s) => s.ok)).toBe(true);
    await ms.close();
  });
});

describe('warnings beside the problems', () => {
  it('keeps the did-you-mean of a misspelt [DEFAULT] option when the config fails', async () => {
    const text = `[DEFAULT]\nenabled_backend = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${root}/a\n`;
    const err = (await MultiStore.create(parseConfig(text)).catch((e: unknown) => e)) as BadStoreConfigurationError;
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    expect(err.problems).toContainEqual(expect.stringMatching(/enabled_backends is empty or unset/));
    const hint = 'Unknown option "enabled_backend" in [DEFAULT]: did you mean "enabled_backends"?';
    expect(err.warnings).toEqual([hint]);
    expect(err.message).toMatch(/enabled_backends is empty or unset[\s\S]*Warnings:\n - Unknown option "enabled_backend" in \[DEFAULT\]: did you mean "enabled_backends"\?/);
  });

  it('shows the first warnings of many in the message and keeps them all on the error', () => {
    const misspelt = Array.from({ length: 30 }, (_, i) => `image_size_ca${String.fromCharCode(97 + (i % 26))}${i >= 26 ? i : ''} = 1`).join('\n');
    const err = new BadStoreConfigurationError(['one problem'], { warnings: misspelt.split('\n') });
    expect(err.warnings).toHaveLength(30);
    expect(err.message).toMatch(/...and 10 more warnings$/);
    expect(new BadStoreConfigurationError('alone').message).toBe('Bad store configuration: alone');
  });
});
