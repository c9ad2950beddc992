/**
 * A lock per volume shared by every process of one host (glance_store 5.3
 * takes an external oslo lock named after the volume around its detach, so
 * that the workers of one glance-api serialise detaching one volume and
 * deleting its attachment). Here the lock is a file per volume under
 * `cinder_lock_path`, held with flock(2) by a `flock` child process (util-
 * linux, on every Debian host: Node itself cannot flock): the kernel lets
 * the lock go when the holder exits, so a process that dies holding it
 * cannot leave it taken. The files stay, as oslo's do: removing a lock file
 * another process has open would let two processes hold "the" lock.
 *
 * flock locks do not conflict with the fcntl locks of Python's oslo, so the
 * lock is shared by this library's processes, not with a Glance on the same
 * host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BackendError, BackendUnavailableError } from '../../errors.js';

/** Where the lock files go when cinder_lock_path is unset. */
export const DEFAULT_LOCK_DIR = path.join(tmpdir(), 'glance-store-locks');

export class VolumeLocks {
  /** In this process, holders of one volume's lock queue here, so only one flock child per volume waits at a time. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private ready: Promise<unknown> | undefined;

  constructor(
    private readonly dir: string,
    /** How long to wait for the lock, in seconds, before failing (cinder_state_transition_timeout). */
    private readonly waitSeconds: number,
  ) {}

  /** The file that is the volume's lock. */
  fileOf(volumeId: string): string {
    return path.join(this.dir, `glance-store-volume-${encodeURIComponent(volumeId)}.lock`);
  }

  /** Runs `body` holding the volume's lock. */
  async withLock<T>(volumeId: string, body: () => Promise<T>): Promise<T> {
    const before = this.queues.get(volumeId) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(async () => {
      const held = await this.acquire(volumeId);
      try {
        return await body();
      } finally {
        await held.release();
      }
    });
    const tail = run.catch(() => undefined);
    this.queues.set(volumeId, tail);
    void tail.then(() => this.queues.get(volumeId) === tail && this.queues.delete(volumeId));
    return run;
  }

  private async acquire(volumeId: string): Promise<{ release: () => Promise<void> }> {
    this.ready ??= mkdir(this.dir, { recursive: true, mode: 0o700 });
    try {
      await this.ready;
    } catch (err) {
      this.ready = undefined;
      throw new BackendError(`The cinder lock directory ${this.dir} (cinder_lock_path) cannot be made: ${(err as Error).message}`, { cause: err });
    }
    const file = this.fileOf(volumeId);
    // flock runs the shell once it holds the lock: its line says so; it then holds it until its stdin closes.
    const child = spawn('flock', ['--exclusive', '--wait', String(this.waitSeconds), file, 'sh', '-c', 'echo locked && exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdout!.once('data', () => resolve());
      child.once('error', (err) => reject(new BackendError(`Taking the lock of volume ${volumeId} failed: ${err.message} (the flock command of util-linux is needed)`, { cause: err })));
      child.once('exit', (code) =>
        reject(
          code === 1
            ? new BackendUnavailableError(`The lock of volume ${volumeId} (${file}) was held by another process for more than ${this.waitSeconds} s`)
            : new BackendError(`Taking the lock of volume ${volumeId} (${file}) failed: flock exited with ${code}${stderr ? `: ${stderr.trim()}` : ''}`),
        ),
      );
    });
    return { release: () => releaseLock(child) };
  }
}

function releaseLock(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.stdin!.end();
  });
}
