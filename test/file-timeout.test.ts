/**
 * filesystem_store_timeout on a datadir whose I/O really blocks: a FUSE file
 * system (test/fixtures/passthrough-fs.py, python3-fuse) whose server the
 * test stops with SIGSTOP, so that every call into the mount waits in the
 * kernel as on a hung NFS mount. The server is always continued and the
 * mount always removed at the end, failed or not.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiStore, parseConfig } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { readAll } from '../src/testing/index.js';
import { HangGuard } from '../src/drivers/file/hang-guard.js';

const SERVER = fileURLToPath(new URL('./fixtures/passthrough-fs.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const MiB = 1024 * 1024;
const TIMEOUT_S = 1;

function fuseMissing(): string {
  if (process.getuid?.() !== 0) return 'mounting FUSE needs root';
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse';
  try {
    execFileSync(PYTHON, ['-c', 'import fuse'], { stdio: 'ignore' });
    execFileSync('fusermount3', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'python3-fuse or fuse3 is not installed';
  }
  return '';
}
const missing = fuseMissing();
if (missing && process.env['GLANCE_STORE_REQUIRE_SERVICES']) throw new Error(`the filesystem_store_timeout tests cannot run: ${missing}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mounted = (dir: string) => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);

describe('the file store\'s hang guard (filesystem_store_timeout, _thread_pool_size, _threadpool_threshold)', () => {
  const never = () => new Promise<never>(() => undefined);
  function guard(poolSize: number, thresholdPercent = 100) {
    const lines: Array<{ level: string; msg: string }> = [];
    const at = (level: string) => (_o: unknown, msg?: string) => void lines.push({ level, msg: String(msg) });
    const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
    return { g: new HangGuard({ store: 'g', timeoutSeconds: 0.2, poolSize, thresholdPercent, logger }), lines };
  }

  it('with timeout 0 runs calls as they are', async () => {
    const g = new HangGuard({ store: 'g', timeoutSeconds: 0, poolSize: 1, thresholdPercent: 75, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    expect(g.enabled).toBe(false);
    await expect(g.run('x', async () => 7)).resolves.toBe(7);
  });

  it('runs at most poolSize calls at once; one that waits past its timeout fails without running, and a late result goes to `late`', async () => {
    const { g } = guard(1);
    let finish!: (v: string) => void;
    const late: string[] = [];
    const first = g.run('first', () => new Promise<string>((r) => (finish = r)), { late: (v) => void late.push(v) }).catch((e: Error) => e);
    let ran = false;
    const second = g.run('second', async () => void (ran = true)).catch((e: Error) => e);
    expect(await second).toMatchObject({ code: 'Timeout', message: expect.stringMatching(/second in store g .*filesystem_store_thread_pool_size/) });
    expect(await first).toMatchObject({ code: 'Timeout', message: expect.stringMatching(/first in store g .*not answering/) });
    expect(ran).toBe(false);
    expect(g.hungCalls).toBe(1);
    await expect(g.run('third', async () => 1)).rejects.toMatchObject({ code: 'Timeout', message: expect.stringMatching(/1 earlier .* still hung/) });
    finish('opened');
    await new Promise((r) => setTimeout(r, 10));
    expect(late).toEqual(['opened']);
    expect(g.hungCalls).toBe(0);
    await expect(g.run('fourth', async () => 4)).resolves.toBe(4);
  });

  it('logs a warning when the calls in use reach the threshold, once until usage drops', async () => {
    const { g, lines } = guard(4, 50);
    const held = [g.run('a', never).catch(() => undefined), g.run('b', never).catch(() => undefined), g.run('c', never).catch(() => undefined)];
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.msg).toMatch(/store g has 2 of its 4 file system calls in use \(50.0%, threshold 50%\)/);
    await Promise.all(held);
  });
});

describe.skipIf(missing !== '')(`file store filesystem_store_timeout on a FUSE datadir whose server stops answering${missing ? `: skipped, ${missing}` : ''}`, () => {
  let root: string;
  let backing: string;
  let mnt: string;
  let server: ChildProcess | undefined;
  let ms: MultiStore;
  const logged: Array<{ level: string; msg: string }> = [];
  const keep = (level: string) => (_o: unknown, msg?: string) => void logged.push({ level, msg: String(msg) });
  const logger: Logger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };

  const stopServer = () => server?.kill('SIGSTOP');
  const continueServer = () => server?.kill('SIGCONT');

  async function unmount(): Promise<void> {
    continueServer();
    if (mnt && mounted(mnt)) {
      try {
        execFileSync('fusermount3', ['-u', mnt], { stdio: 'ignore' });
      } catch {
        // Busy or not answering: detached now, gone once its last user lets go.
        execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
      }
    }
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    }
  }

  // A test process ended without its hooks (killed, or exiting) still continues the server and
  // detaches the mount; the server also dies with this process (passthrough-fs.py).
  const onExit = () => {
    continueServer();
    if (mnt && mounted(mnt)) execFileSync('umount', ['-l', mnt], { stdio: 'ignore' });
  };

  beforeAll(async () => {
    process.once('exit', onExit);
    root = mkdtempSync(path.join(tmpdir(), 'gs-fuse-'));
    backing = path.join(root, 'backing');
    mnt = path.join(root, 'mnt');
    mkdirSync(path.join(backing, 'images'), { recursive: true });
    mkdirSync(mnt);
    try {
      server = spawn(PYTHON, [SERVER, backing, mnt, '-f', '-s', '-o', 'attr_timeout=0,entry_timeout=0,negative_timeout=0,direct_io'], { stdio: 'ignore' });
      for (let i = 0; !mounted(mnt); i++) {
        if (i > 100 || server.exitCode !== null) throw new Error('the FUSE server did not mount');
        await sleep(50);
      }
      const conf = `[DEFAULT]\nenabled_backends = nfs:file\n[glance_store]\ndefault_backend = nfs\n[nfs]\nfilesystem_store_datadir = ${mnt}/images\nfilesystem_store_timeout = ${TIMEOUT_S}\n`;
      ms = await MultiStore.create(parseConfig(conf), { logger, reclaim: { firstPauseMs: 200, maxPauseMs: 500 } });
    } catch (err) {
      await unmount();
      throw err;
    }
  });

  afterAll(async () => {
    continueServer();
    await ms?.close();
    await unmount();
    process.off('exit', onExit);
    expect(mounted(mnt)).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });

  /** Runs `during` with the server stopped, and continues it whatever happens. */
  async function whileStopped<T>(during: () => Promise<T>): Promise<T> {
    stopServer();
    try {
      return await during();
    } finally {
      continueServer();
    }
  }

  /** Once the server answers again, the hung calls return and the store takes calls again. */
  async function recovered(location: string, size: number): Promise<void> {
    for (let i = 0; ; i++) {
      const r = await ms.getSize(location).then(
        (n) => n,
        (err: { code?: string }) => err,
      );
      if (r === size) return;
      if (i > 100) throw new Error(`the store did not recover: ${String((r as Error).message)}`);
      await sleep(50);
    }
  }

  async function timesOut(call: () => Promise<unknown>): Promise<{ ms: number; err: { code?: string; message: string } }> {
    const started = Date.now();
    const err = (await call().then(
      () => new Error('did not fail'),
      (e: unknown) => e,
    )) as { code?: string; message: string };
    return { ms: Date.now() - started, err };
  }

  function expectTimeout(r: { ms: number; err: { code?: string; message: string } }): void {
    expect(r.err.code).toBe('Timeout');
    expect(r.err.message).toMatch(/store nfs/);
    expect(r.err.message).toMatch(/filesystem_store_timeout/);
    expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 50);
    expect(r.ms).toBeLessThan(TIMEOUT_S * 1000 + 1500);
  }

  let kept: { location: string; bytes: Buffer };

  it('works while the file system answers', async () => {
    const bytes = randomBytes(3 * MiB + 11);
    const r = await ms.add(randomUUID(), bytes);
    expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
    kept = { location: r.location, bytes };
  });

  it('getSize fails with Timeout naming the store; a second call is refused at once, the process\'s thread pool is still free', async () => {
    await whileStopped(async () => {
      expectTimeout(await timesOut(() => ms.getSize(kept.location)));
      const refused = await timesOut(() => ms.getSize(kept.location));
      expect(refused.err.code).toBe('Timeout');
      expect(refused.err.message).toMatch(/still hung/);
      expect(refused.ms).toBeLessThan(200);
      // One libuv thread is blocked in the kernel; the others still serve the process.
      const started = Date.now();
      await readFile(SERVER);
      expect(Date.now() - started).toBeLessThan(500);
    });
    await recovered(kept.location, kept.bytes.length);
    expect(logged.some((l) => l.level === 'error' && /did not answer within 1 s/.test(l.msg))).toBe(true);
  });

  it('get fails with Timeout when the file system stops before it, and its stream fails with Timeout when it stops mid-image', async () => {
    await whileStopped(async () => expectTimeout(await timesOut(() => ms.get(kept.location))));
    await recovered(kept.location, kept.bytes.length);

    const big = randomBytes(24 * MiB);
    const r = await ms.add(randomUUID(), big);
    const { stream } = await ms.get(r.location);
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const failed = await whileStopped(() => timesOut(async () => {
      for (;;) if ((await it.next()).done) break;
    }));
    expect(failed.err.code).toBe('Timeout');
    expect(failed.err.message).toMatch(/store nfs/);
    await recovered(kept.location, kept.bytes.length);
    await ms.delete(r.location);
  });

  it('an add whose file system stops mid-image fails with Timeout, and its partial file is removed once it answers again', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const source = (async function* () {
      for (let i = 0; i < 4; i++) yield randomBytes(MiB);
      await gate;
      for (let i = 0; i < 4; i++) yield randomBytes(MiB);
    })();
    const id = randomUUID();
    const adding = ms.add(id, source).catch((e: unknown) => e);
    for (let i = 0; !readdirSync(path.join(backing, 'images')).some((n) => n.endsWith('.partial')); i++) {
      if (i > 200) throw new Error('the add never started writing');
      await sleep(20);
    }
    const err = (await whileStopped(async () => {
      release();
      return adding;
    })) as { code?: string; message: string };
    expect(err.code).toBe('Timeout');
    expect(err.message).toMatch(/store nfs/);
    await recovered(kept.location, kept.bytes.length);
    for (let i = 0; ms.pendingCleanups().length > 0 || readdirSync(path.join(backing, 'images')).some((n) => n.includes(id.slice(0, 8))); i++) {
      if (i > 200) throw new Error(`the partial file was not removed: ${readdirSync(path.join(backing, 'images')).join(', ')}`);
      await sleep(50);
    }
  });

  it('delete fails with Timeout naming the store; once the file system answers, the image is readable or gone, never half there', async () => {
    const bytes = randomBytes(MiB);
    const r = await ms.add(randomUUID(), bytes);
    await whileStopped(async () => expectTimeout(await timesOut(() => ms.delete(r.location))));
    await recovered(kept.location, kept.bytes.length);
    // The realpath that timed out was abandoned before the unlink: the image is still there.
    expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
    await ms.delete(r.location);
    await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('leaves nothing but the kept image in the datadir', async () => {
    await ms.delete(kept.location);
    expect(readdirSync(path.join(backing, 'images'))).toEqual([]);
  });
});
