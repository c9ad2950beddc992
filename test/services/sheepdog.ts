/**
 * The sheepdog cluster the driver's tests run against: a real sheep when
 * SHEEPDOG_ADDR (and SHEEPDOG_PORT, default 7000) is set, else the stand-in
 * (test/services/sheepdog-standin.mjs) started in a child process over a
 * temporary directory. What the cluster holds is read over the protocol
 * (names of VDIs) and, where the objects' directory is known (the stand-in's,
 * or SHEEPDOG_STORE_DIR for a local sheep), from the directory too, so a
 * data object left by a failed add or a delete shows.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { closeSync, mkdtempSync, openSync, readSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SheepConnection } from '../../src/drivers/sheepdog/connection.js';
import { readName } from '../../src/drivers/sheepdog/protocol.js';
import { readInode, readVdis } from '../../src/drivers/sheepdog/vdi.js';

const STANDIN = new URL('./sheepdog-standin.mjs', import.meta.url).pathname;

export interface SheepCluster {
  host: string;
  port: number;
  /** `a real sheep` or `the stand-in`, for test names. */
  kind: string;
  /** The objects' directory (<store>/obj), when known. */
  objDir?: string;
  stop(): Promise<void>;
}

/** A stand-in sheep in a child process; `args` are its own (--unformatted, --delay-ms N). */
export async function startStandin(args: string[] = [], dir = mkdtempSync(path.join(tmpdir(), 'gs-sheepdog-standin-'))): Promise<SheepCluster & { dir: string; child: ChildProcess }> {
  // Its stdin is a pipe from this process: if the test run dies, the stand-in goes with it.
  const child = spawn(process.execPath, [STANDIN, '--dir', dir, '--exit-with-parent', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the sheepdog stand-in exited (${code}) before listening`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return {
    host: '127.0.0.1',
    port,
    kind: 'the stand-in',
    objDir: path.join(dir, 'obj'),
    dir,
    child,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The real sheep named by SHEEPDOG_ADDR / SHEEPDOG_PORT, if set. */
export function realSheep(): SheepCluster | undefined {
  const host = process.env['SHEEPDOG_ADDR'];
  if (!host) return undefined;
  return { host, port: Number(process.env['SHEEPDOG_PORT'] ?? 7000), kind: 'a real sheep', ...(process.env['SHEEPDOG_STORE_DIR'] ? { objDir: path.join(process.env['SHEEPDOG_STORE_DIR'], 'obj') } : {}), stop: () => Promise.resolve() };
}

/**
 * A real sheep of the test's own, for the cases that kill and restart their
 * cluster or need an unformatted one: SHEEPDOG_SHEEP names a sheep binary
 * built from sheepdog's source (and SHEEPDOG_DOG its dog, by default
 * ../dog/dog beside it). It runs in the foreground in a process group of its
 * own over `dir` (local cluster driver, one node), on a free port, and is
 * formatted with one copy unless `unformatted`. `stop` kills it (SIGKILL, as
 * a crash); `start` again on the same dir and port is a restart.
 */
export function ownSheepBinary(): string | undefined {
  return process.env['SHEEPDOG_SHEEP'] || undefined;
}

export async function startOwnSheep(o: { unformatted?: boolean; dir?: string; port?: number } = {}): Promise<SheepCluster & { dir: string; port: number }> {
  const sheep = ownSheepBinary();
  if (!sheep) throw new Error('SHEEPDOG_SHEEP is not set');
  const dog = process.env['SHEEPDOG_DOG'] || path.join(path.dirname(sheep), '..', 'dog', 'dog');
  const dir = o.dir ?? mkdtempSync(path.join(tmpdir(), 'gs-sheepdog-real-'));
  const port = o.port ?? (await freePort());
  // The local driver's shared file is stale after a kill: sheep refuses to start on it.
  rmSync(path.join(dir, 'shm'), { force: true, recursive: true });
  const child = spawn(sheep, ['-f', '-c', `local:${path.join(dir, 'shm')}`, '-p', String(port), '-b', '127.0.0.1', path.join(dir, 'store')], { detached: true, stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
  };
  try {
    for (let t = 0; !(await answers(port)); t++) {
      if (t > 100 || child.exitCode !== null) throw new Error(`sheep did not listen on ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!o.unformatted && o.dir === undefined) await promisify(execFile)(dog, ['cluster', 'format', '--copies=1', '-a', '127.0.0.1', '-p', String(port)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: '127.0.0.1', port, kind: 'a real sheep of its own', objDir: path.join(dir, 'store', 'obj'), dir, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * What the cluster holds: `vdi:<name>` for each named VDI and, where the
 * directory is known, `object:<oid>` for each data and attribute object.
 * Sheep removes a deleted VDI's objects shortly after the delete: objects of
 * VDIs without a name are waited for (up to 3 s) before they count as left.
 * An attribute object (a claim) belongs to the VDI named in it, not to the
 * vid in its id (the name's hash vid).
 */
export async function listCluster(c: SheepCluster): Promise<string[]> {
  const conn = new SheepConnection({ host: c.host, port: c.port }, `sheep at ${c.host}:${c.port}`, 10_000);
  try {
    for (let tries = 0; ; tries++) {
      const bitmap = await readVdis(conn);
      const named = new Map<number, string>();
      const reads: Promise<void>[] = [];
      for (let byte = 0; byte < bitmap.length; byte++) {
        if (bitmap[byte] === 0) continue;
        for (let bit = 0; bit < 8; bit++) {
          if (!(bitmap[byte]! & (1 << bit))) continue;
          const vid = byte * 8 + bit;
          reads.push(readInode(conn, { vid, copies: 0 }).then((inode) => void (inode.name && named.set(vid, inode.name))));
        }
      }
      await Promise.all(reads);
      const objects = c.objDir ? readdirSync(c.objDir).filter((f) => /^[0-7][0-9a-f]{15}$/.test(f)) : [];
      const names = new Set(named.values());
      const orphans = objects.filter((f) => (isAttr(f) ? !names.has(attrName(path.join(c.objDir!, f))) : !named.has(parseInt(f.slice(2, 8), 16))));
      if (orphans.length === 0 || tries >= 30) return [...[...named.values()].map((n) => `vdi:${n}`), ...objects.map((o) => `object:${o}`)];
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    conn.close();
  }
}

const isAttr = (oidHex: string) => (parseInt(oidHex[0]!, 16) & 2) !== 0;

/** The VDI name an attribute object names (its first 256 bytes). */
function attrName(file: string): string {
  const b = Buffer.alloc(256);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, b, 0, b.length, 0);
  } finally {
    closeSync(fd);
  }
  return readName(b);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
