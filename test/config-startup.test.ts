/**
 * Every option is checked before any store starts: the checks a driver
 * declares in its schema (required options, its own rules) are reported by
 * MultiStore.create in the one BadStoreConfigurationError with every other
 * problem, for the default store and every other store alike, before any
 * store is created or any backend contacted. And the warnings of the same
 * reading stay beside the problems.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

describe('the files and directories options name are checked with every other problem', () => {
  /** Swift stores with an account of their own, each with `lines` added. */
  const swift = (id: string, lines: string) => `[${id}]\nswift_store_auth_version = 1\nswift_store_auth_address = http://${backend}/auth/v1.0\nswift_store_user = a:b\nswift_store_key = k-s3cret\n${lines}\n`;
  const s3 = (id: string, lines: string) => `[${id}]\ns3_store_host = http://${backend}\ns3_store_access_key = ak\ns3_store_secret_key = sk-s3cret\ns3_store_bucket = images\n${lines}\n`;

  it('reports a missing CA bundle, references file, bad metadata and an unwritable buffer dir of non-default stores in one error, before any store starts', async () => {
    const dir = path.join(root, 'paths');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'refs-broken.conf'), 'auth_address = http://nowhere\n');
    await writeFile(path.join(dir, 'refs-other.conf'), `[other]\nauth_address = http://${backend}/auth/v1.0\nuser = a:b\nkey = k-s3cret\n`);
    await writeFile(path.join(dir, 'meta-broken.json'), '{"id": "x", "mountpoint": ');
    await writeFile(path.join(dir, 'meta-shape.json'), '[{"id": 7, "mountpoint": "/"}]');
    await writeFile(path.join(dir, 'a-file'), 'not a directory');
    const text =
      `[DEFAULT]\nenabled_backends = good:file, sw1:swift, sw2:swift, sw3:swift, sw4:swift, sw5:swift, o:s3, c:cinder, h:http, m1:file, m2:file, p:probe\n` +
      `[glance_store]\ndefault_backend = good\n[good]\nfilesystem_store_datadir = ${root}/good\nweight = heavy\n` +
      swift('sw1', `swift_store_cacert = ${dir}/no-ca.pem`) +
      `[sw2]\nswift_store_config_file = ${dir}/no-refs.conf\n` +
      `[sw3]\nswift_store_config_file = ${dir}/refs-broken.conf\n` +
      `[sw4]\nswift_store_config_file = ${dir}/refs-other.conf\n` +
      swift('sw5', `swift_buffer_on_upload = true\nswift_upload_buffer_dir = ${dir}/a-file`) +
      s3('o', `s3_store_cacert = ${dir}/no-ca.pem`) +
      `[c]\ncinder_ca_certificates_file = ${dir}/no-ca.pem\n` +
      `[h]\nhttps_ca_certificates_file = ${dir}\n` +
      `[m1]\nfilesystem_store_datadir = ${root}/m1\nfilesystem_store_metadata_file = ${dir}/meta-broken.json\n` +
      `[m2]\nfilesystem_store_datadir = ${root}/m2\nfilesystem_store_metadata_file = ${dir}/meta-shape.json\n`;
    const err = await MultiStore.create(parseConfig(text), { drivers: [probe] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadStoreConfigurationError);
    const problems = (err as BadStoreConfigurationError).problems;
    const expected: RegExp[] = [
      /^\[good\] weight = "heavy": expected an integer/,
      /^\[sw1\] swift_store_cacert = ".*\/no-ca\.pem": cannot be read \(ENOENT\)$/,
      /^\[sw2\] swift_store_config_file = ".*\/no-refs\.conf": cannot be read \(ENOENT\)$/,
      /^\[sw3\] swift_store_config_file = ".*\/refs-broken\.conf": does not parse: option auth_address comes before any \[section\]$/,
      /^\[sw4\] swift_store_config_file = ".*\/refs-other\.conf": has no complete reference "ref1" \(auth_address, user, key\), the default_swift_reference$/,
      /^\[sw5\] swift_upload_buffer_dir = ".*\/a-file": is not a directory$/,
      /^\[o\] s3_store_cacert = ".*\/no-ca\.pem": cannot be read \(ENOENT\)$/,
      /^\[c\] cinder_ca_certificates_file = ".*\/no-ca\.pem": cannot be read \(ENOENT\)$/,
      /^\[h\] https_ca_certificates_file = ".*\/paths": is a directory, not a file$/,
      /^\[m1\] filesystem_store_metadata_file = ".*\/meta-broken\.json": is not JSON \(/,
      /^\[m2\] filesystem_store_metadata_file = ".*\/meta-shape\.json": must hold JSON: an object with string "id" and "mountpoint" keys, or a non-empty list of such objects$/,
    ];
    for (const says of expected) expect(problems.filter((p) => says.test(p)), `${says} in ${JSON.stringify(problems, null, 1)}`).toHaveLength(1);
    expect(problems).toHaveLength(expected.length);
    // Nothing was created or contacted, and no secret shown.
    expect(created).toBe(0);
    expect(connections).toBe(0);
    for (const d of ['m1', 'm2']) expect(existsSync(path.join(root, d))).toBe(false);
    expect((err as Error).message).not.toMatch(/s3cret/);
  });

  it('reports a buffer dir that does not exist, and only when buffering is on', async () => {
    const text = (on: boolean) =>
      `[DEFAULT]\nenabled_backends = good:file, sw:swift\n[glance_store]\ndefault_backend = good\n[good]\nfilesystem_store_datadir = ${root}/good\n` +
      swift('sw', `swift_buffer_on_upload = ${on}\nswift_upload_buffer_dir = ${root}/no-such-dir`);
    expect(readConfig(parseConfig(text(true)), driverRegistry()).problems).toEqual([
      expect.objectContaining({ kind: 'store-rule', group: 'sw', option: 'swift_upload_buffer_dir', message: expect.stringMatching(/: is not a writable directory \(ENOENT\)$/) }),
    ]);
    expect(readConfig(parseConfig(text(false)), driverRegistry()).problems).toEqual([]);
  });

  it('accepts files that hold what they must, and glance-store check creates nothing reading them', async () => {
    const dir = path.join(root, 'paths-ok');
    await mkdir(path.join(dir, 'buffer'), { recursive: true });
    await writeFile(path.join(dir, 'refs.conf'), `[ref1]\nauth_address = http://${backend}/auth/v1.0\nuser = a:b\nkey = k\nauth_version = 1\n`);
    await writeFile(path.join(dir, 'meta.json'), '{"id": "nfs-1", "mountpoint": "/"}');
    const text =
      `[DEFAULT]\nenabled_backends = m:file, sw:swift\n[glance_store]\ndefault_backend = m\n` +
      `[m]\nfilesystem_store_datadir = ${dir}/images\nfilesystem_store_metadata_file = ${dir}/meta.json\n` +
      `[sw]\nswift_store_config_file = ${dir}/refs.conf\nswift_buffer_on_upload = true\nswift_upload_buffer_dir = ${dir}/buffer\n`;
    expect(readConfig(parseConfig(text), driverRegistry()).problems).toEqual([]);
    const ms = await MultiStore.create(parseConfig(text), { createNothing: true });
    try {
      expect(ms.states().map((s) => [s.id, s.ok, s.error])).toEqual([
        ['m', true, undefined],
        ['sw', true, undefined],
      ]);
    } finally {
      await ms.close();
    }
    expect(existsSync(path.join(dir, 'images'))).toBe(false);
    expect(connections).toBe(0);
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
