import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from './services/env.js';

// The command as users run it: the built bin, in a child process.
const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(root, 'dist/src/cli/main.js');

let work: string;
const swift = serviceEnv('swift');

function run(args: string[], opts: { input?: Buffer | string; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? work, input: opts.input, maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  if (!existsSync(BIN)) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  work = mkdtempSync(path.join(tmpdir(), 'gs-cli-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('glance-store command', () => {
  it('adds and gets an image with no config, in ./.glance-store/images', () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 3);
    writeFileSync(path.join(work, 'disk.img'), bytes);
    const add = run(['add', 'disk.img', '--json']);
    expect(add.stderr).toBe('');
    expect(add.status).toBe(0);
    const r = JSON.parse(add.stdout.toString()) as { id: string; location: string; size: number; checksum: string; metadata: { store: string } };
    expect(r.location).toBe(`file://${work}/.glance-store/images/${r.id}`);
    expect(r.size).toBe(bytes.length);
    expect(r.checksum).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(r.metadata.store).toBe('local');
    const got = run(['get', r.location]);
    expect(got.status).toBe(0);
    expect(sha(got.stdout)).toBe(sha(bytes));
    const ranged = run(['get', r.location, '--offset', '10', '--length', '100']);
    expect(ranged.stdout.equals(bytes.subarray(10, 110))).toBe(true);
    expect(run(['size', r.location]).stdout.toString().trim()).toBe(String(bytes.length));
    const out = run(['get', r.location, '-o', 'copy.img']);
    expect(out.status).toBe(0);
    expect(sha(readFileSync(path.join(work, 'copy.img')))).toBe(sha(bytes));
    expect(readdirSync(work).filter((f) => f.includes('partial'))).toEqual([]);
    expect(run(['delete', r.location]).status).toBe(0);
    const gone = run(['get', r.location]);
    expect(gone.status).toBe(4);
    expect(gone.stderr).toMatch(/^glance-store: /);
  });

  it('reads standard input with -, takes an id, and refuses a duplicate with exit code 5', () => {
    const bytes = randomBytes(100_000);
    const id = randomUUID();
    const add = run(['add', '-', '--id', id, '--json'], { input: bytes });
    expect(add.status).toBe(0);
    expect((JSON.parse(add.stdout.toString()) as { id: string }).id).toBe(id);
    const again = run(['add', '-', '--id', id], { input: bytes });
    expect(again.status).toBe(5);
    const short = run(['add', '-', '--size', '100001'], { input: bytes });
    expect(short.status).toBe(9);
  });

  it('lists every configuration problem with exit code 3', () => {
    writeFileSync(path.join(work, 'bad.conf'), '[DEFAULT]\nenabled_backends = a:file, a:file, b:nosuch\n[glance_store]\ndefault_backend = zz\n');
    const r = run(['--config', 'bad.conf', 'stores']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/more than once[\s\S]*unknown type "nosuch"[\s\S]*default_backend "zz"/);
    const json = run(['--config', 'bad.conf', '--json', 'stores']);
    expect((JSON.parse(json.stderr) as { error: { code: string; problems: string[] } }).error.problems).toHaveLength(3);
    expect(run(['--config', 'missing.conf', 'stores']).status).toBe(3);
  });

  it('copies between stores, checks stores, and never prints secrets', () => {
    const conf = `[DEFAULT]\nenabled_backends = a:file, b:file, web:http\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/a\n[b]\nfilesystem_store_datadir = ${work}/b\n[web]\nhttp_proxy_information = http:http://proxyuser:pr0xy-s3cret@127.0.0.1:1\n`;
    writeFileSync(path.join(work, 'two.conf'), conf);
    writeFileSync(path.join(work, 'img'), randomBytes(5000));
    const add = JSON.parse(run(['--config', 'two.conf', '--json', 'add', 'img']).stdout.toString()) as { location: string; id: string };
    const copy = run(['--config', 'two.conf', '--json', 'copy', add.location, '--to', 'b']);
    expect(copy.status).toBe(0);
    expect((JSON.parse(copy.stdout.toString()) as { location: string }).location).toBe(`file://${work}/b/${add.id}`);
    const stores = run(['--config', 'two.conf', 'stores', '--detail']);
    expect(stores.stdout.toString()).toMatch(/web \(read-only\)/);
    const check = run(['--config', 'two.conf', 'check']);
    expect(check.status).toBe(0);
    const all = stores.stdout.toString() + stores.stderr + check.stdout.toString() + run(['--config', 'two.conf', '--json', 'stores', '--detail']).stdout.toString();
    expect(all).not.toContain('pr0xy-s3cret');
    // A location with credentials in an error message is masked too.
    const err = run(['--config', 'two.conf', 'get', 'http://u:hunter2-pw@127.0.0.1:1/x']);
    expect(err.status).toBe(8);
    expect(err.stderr).not.toContain('hunter2-pw');
  });

  it('reports a broken store in check with a non-zero exit', () => {
    // A datadir under a plain file can never be created: the store starts without the write it should have.
    writeFileSync(path.join(work, 'plain-file'), '');
    writeFileSync(path.join(work, 'broken.conf'), `[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/a\n[b]\nfilesystem_store_datadir = ${work}/plain-file/images\n`);
    const r = run(['--config', 'broken.conf', 'check']);
    expect(r.status).toBe(8);
    expect(r.stdout.toString()).toMatch(/FAIL b \(file\).*plain-file/);
    expect(r.stdout.toString()).toMatch(/ok {3}a \(file\)/);
  });

  it('refuses in check a CA bundle that cannot be read, as a configuration problem naming store and option', () => {
    writeFileSync(path.join(work, 'no-ca.conf'), `[DEFAULT]\nenabled_backends = a:file, web:http\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/a\n[web]\nhttps_ca_certificates_file = /nonexistent/ca.pem\n`);
    const r = run(['--config', 'no-ca.conf', 'check']);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toMatch(/\[web\] https_ca_certificates_file = "\/nonexistent\/ca\.pem": cannot be read \(ENOENT\)/);
  });

  it("fails check on an unknown option in a store's section, and on a config that is not UTF-8", () => {
    const conf = `[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/typo-a\nfilesystem_store_datadri = ${work}/typo-b\n`;
    writeFileSync(path.join(work, 'typo.conf'), conf);
    const r = run(['--config', 'typo.conf', 'check']);
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(/Unknown option "filesystem_store_datadri" in \[a\] \(a file store\): did you mean "filesystem_store_datadir"\?/);
    expect(existsSync(path.join(work, 'typo-a'))).toBe(false);
    // Latin-1 bytes in a value: Glance (Python's strict UTF-8) refuses the file, and so does the command.
    writeFileSync(path.join(work, 'latin1.conf'), Buffer.concat([Buffer.from(conf.replace(/filesystem_store_datadri = .*\n/, '')), Buffer.from('store_description = caf\xe9\n', 'latin1')]));
    const bad = run(['--config', 'latin1.conf', 'check']);
    expect(bad.status).toBe(3);
    expect(bad.stderr).toMatch(/line 7: The file is not valid UTF-8 \(byte 0xe9/);
  });

  it.skipIf(!swift)('works with the location it printed for a store whose locations hold credentials (swift)', () => {
    const conf = path.join(work, 'swift.conf');
    writeFileSync(
      conf,
      `[DEFAULT]\nenabled_backends = objects:swift\n[glance_store]\ndefault_backend = objects\n[objects]\nswift_store_auth_version = 1\nswift_store_auth_address = ${swift!['SWIFT_AUTH_URL']}\nswift_store_user = ${swift!['SWIFT_USER']}\nswift_store_key = ${swift!['SWIFT_KEY']}\nswift_store_container = cli-${randomUUID().slice(0, 8)}\nswift_store_create_container_on_put = true\n`,
    );
    const bytes = randomBytes(100_000);
    writeFileSync(path.join(work, 'swift.img'), bytes);
    const add = run(['--config', conf, 'add', 'swift.img', '--json']);
    expect(add.status).toBe(0);
    const { location } = JSON.parse(add.stdout.toString()) as { location: string };
    // Printed with the key masked, and usable as printed.
    expect(location).toContain(':***@');
    expect(add.stdout.toString()).not.toContain(`:${swift!['SWIFT_KEY']}@`);
    expect(run(['--config', conf, 'get', location, '-o', 'swift.out']).status).toBe(0);
    expect(readFileSync(path.join(work, 'swift.out')).equals(bytes)).toBe(true);
    expect(run(['--config', conf, 'delete', location]).status).toBe(0);
    const gone = run(['--config', conf, 'size', location]);
    expect(gone.status).toBe(4);
    expect(gone.stderr).toMatch(/not found/);
  });

  it('loads third-party drivers with --driver', () => {
    const driver = path.join(root, 'test/fixtures/memory-driver.mjs');
    const conf = path.join(work, 'memory.conf');
    writeFileSync(conf, `[DEFAULT]\nenabled_backends = disk:file, mem:memory\n[glance_store]\ndefault_backend = disk\n[disk]\nfilesystem_store_datadir = ${work}/disk\n[mem]\nmemory_store_label = cli\n`);
    expect(run(['--config', conf, 'stores']).stderr).toMatch(/unknown type "memory"/);
    const bytes = randomBytes(70_000);
    writeFileSync(path.join(work, 'mem.img'), bytes);
    const add = JSON.parse(run(['--config', conf, '--driver', driver, '--json', 'add', 'mem.img']).stdout.toString()) as { location: string; id: string };
    // One process: the memory store lives as long as the command.
    const copy = run(['--config', conf, '--driver', driver, '--json', 'copy', add.location, '--to', 'mem']);
    expect(copy.stderr).toBe('');
    expect(JSON.parse(copy.stdout.toString())).toMatchObject({ location: `memory://mem/${add.id}`, size: bytes.length, checksum: createHash('md5').update(bytes).digest('hex') });
    expect(run(['--config', conf, '--driver', driver, 'stores', '--detail']).stdout.toString()).toMatch(/mem: +\[memory, weight 0\].*"memory_store_label":"cli"/);
    expect(run(['--driver', driver, 'config-reference']).stdout.toString()).toMatch(/## memory stores[\s\S]*memory_store_max_images/);
    const missing = run(['--driver', './no-such-driver.mjs', 'stores']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^glance-store: --driver \.\/no-such-driver\.mjs could not be loaded/);
    writeFileSync(path.join(work, 'not-a-driver.mjs'), 'export const x = 1;\n');
    expect(run(['--driver', './not-a-driver.mjs', 'stores']).stderr).toMatch(/exports no driver definition/);
  });

  it('says when no store owns a location to copy, instead of blaming the destination', () => {
    const r = run(['--config', 'two.conf', 'copy', `file://${work}/elsewhere/${randomUUID()}`, '--to', 'b']);
    expect(r.status).toBe(4);
    expect(r.stderr).toMatch(/No enabled store owns file:\/\/.*elsewhere.*: none of the file stores \(a, b\) holds it/);
  });

  it('answers a mistyped command or option with one line and a did-you-mean', () => {
    const cmd = run(['stors']);
    expect(cmd.status).toBe(2);
    expect(cmd.stderr).toBe(`glance-store: unknown command "stors" (did you mean "stores"?); run 'glance-store --help' for usage\n`);
    const flag = run(['stores', '--detial']);
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe(`glance-store: unknown option --detial (did you mean "--detail"?); run 'glance-store --help' for usage\n`);
    expect(run(['stores', '--frobnicate']).stderr).toBe(`glance-store: unknown option --frobnicate; run 'glance-store --help' for usage\n`);
  });

  it('answers usage errors with exit code 2 and help', () => {
    expect(run(['frobnicate']).status).toBe(2);
    expect(run(['get']).status).toBe(2);
    expect(run(['get', 'file:///x', '--offset', '-1']).status).toBe(2);
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout.toString()).toMatch(/Exit codes:/);
  });

  it('check reports a store that lost write at start, with the reason, also in --json', () => {
    writeFileSync(path.join(work, 'plain-file'), 'not a directory');
    const conf = `[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/plain-file/images\n`;
    writeFileSync(path.join(work, 'lost-write.conf'), conf);
    const r = run(['--config', 'lost-write.conf', 'check']);
    expect(r.status).toBe(8);
    expect(r.stdout.toString()).toMatch(/FAIL a \(file\): Store a cannot write: datadir .*plain-file\/images cannot be created/);
    const json = run(['--config', 'lost-write.conf', '--json', 'check']);
    expect(json.status).toBe(8);
    const out = JSON.parse(json.stdout.toString()) as { ok: boolean; stores: Array<{ ok: boolean; error: string; warnings: string[] }>; warnings: string[] };
    expect(out.ok).toBe(false);
    expect(out.stores[0]).toMatchObject({ ok: false, error: expect.stringMatching(/cannot write/), warnings: [expect.stringMatching(/cannot be created/)] });
    expect(out.warnings).toEqual([expect.stringMatching(/plain-file\/images cannot be created/)]);
    // On stderr, warnings are JSON too, one object a line.
    expect(JSON.parse(json.stderr.trim().split('\n')[0]!)).toEqual({ warning: expect.stringMatching(/cannot be created/) });
  });

  it('check and stores create nothing: not the datadirs of a config, nor the default one', () => {
    const fresh = mkdtempSync(path.join(work, 'fresh-'));
    const conf = path.join(fresh, 'glance.conf');
    writeFileSync(conf, `[DEFAULT]\nenabled_backends = a:file, b:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${fresh}/a/images\n[b]\nfilesystem_store_datadirs = ${fresh}/b1:10\nfilesystem_store_datadirs = ${fresh}/b2\n[os_glance_staging_store]\nfilesystem_store_datadir = ${fresh}/staging\n[os_glance_tasks_store]\nfilesystem_store_datadir = ${fresh}/tasks\n`);
    for (const args of [['check'], ['--json', 'check'], ['stores'], ['stores', '--detail']]) {
      const r = run(['--config', conf, ...args], { cwd: fresh });
      expect(r.status, args.join(' ')).toBe(0);
      expect(readdirSync(fresh), args.join(' ')).toEqual(['glance.conf']);
    }
    // Without a config: the default store in ./.glance-store/images is not made either.
    expect(run(['check'], { cwd: fresh }).status).toBe(0);
    expect(run(['stores'], { cwd: fresh }).status).toBe(0);
    expect(readdirSync(fresh)).toEqual(['glance.conf']);
  });

  it('shows one command\'s help with COMMAND --help', () => {
    const r = run(['add', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toMatch(/^Usage: glance-store add FILE\|- \[--store ID\] \[--id UUID\] \[--size N\]\s+\[--inspect\] \[--expect FMT\] \[--report-unsafe\]\n/);
    expect(r.stdout.toString()).not.toMatch(/config-reference +print/);
    expect(run(['get', '-h']).stdout.toString()).toMatch(/^Usage: glance-store get URI/);
    expect(run(['--help']).stdout.toString()).toMatch(/config-reference +print the configuration reference/);
  });

  it('treats a range that starts past the end as a usage error (exit 2)', () => {
    writeFileSync(path.join(work, 'small.img'), randomBytes(100));
    const { location } = JSON.parse(run(['add', 'small.img', '--json']).stdout.toString()) as { location: string };
    const r = run(['get', location, '--offset', '101']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\(100 bytes\)/);
  });

  it('refuses to write image data to a terminal unless -o is given', () => {
    writeFileSync(path.join(work, 'tty.img'), randomBytes(1000));
    const { location } = JSON.parse(run(['add', 'tty.img', '--json']).stdout.toString()) as { location: string };
    // script(1) gives the command a terminal as standard output.
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const tty = spawnSync('script', ['-qec', [process.execPath, BIN, 'get', location].map(quote).join(' '), '/dev/null'], { cwd: work });
    expect(tty.status).toBe(2);
    expect(tty.stdout.toString()).toMatch(/refusing to write it to a terminal; use -o FILE/);
    expect(tty.stdout.length).toBeLessThan(500);
    // Piped, the bytes flow.
    expect(run(['get', location]).stdout.length).toBe(1000);
  });

  it('suggests ./ for a --driver path written without it, and names a byte-order mark at the start of a config', () => {
    mkdirSync(path.join(work, 'drv'), { recursive: true });
    writeFileSync(path.join(work, 'drv/x.mjs'), 'export const x = 1;\n');
    const r = run(['--driver', 'drv/x.mjs', 'stores']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/drv\/x\.mjs is read as a package name; for the file, write \.\/drv\/x\.mjs/);
    writeFileSync(path.join(work, 'bom.conf'), `\uFEFF[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/bom\n`);
    const bom = run(['--config', 'bom.conf', 'stores']);
    expect(bom.status).toBe(3);
    expect(bom.stderr).toMatch(/line 1: The file starts with a UTF-8 byte-order mark/);
  });

  it('exits 130 when a get is interrupted, to a file (leaving none) or to standard output', async () => {
    // An http server that sends the first bytes of a large image, then stalls.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slow.img`;
      writeFileSync(path.join(work, 'web.conf'), `[DEFAULT]\nenabled_backends = a:file, web:http\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = ${work}/a\n`);
      for (const output of [['-o', 'interrupted.img'], []]) {
        const child = spawn(process.execPath, [BIN, '--config', 'web.conf', 'get', url, ...output], { cwd: work });
        let received = 0;
        let stderr = '';
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        if (output.length) await new Promise((resolve) => setTimeout(resolve, 1500));
        else await new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => ((received += c.length), received >= 64 * 1024 && resolve())));
        child.stdout.resume();
        child.kill('SIGINT');
        expect(await exited, stderr).toBe(130);
        expect(stderr).toMatch(/^glance-store: Interrupted/);
      }
      expect(readdirSync(work).filter((f) => f.includes('interrupted'))).toEqual([]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
