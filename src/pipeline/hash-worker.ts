/**
 * One long-lived worker thread that computes hashes for the add pipeline, so
 * that the md5 checksum (on the main thread) and the multihash (here) run on
 * two cores at once instead of one after the other.
 *
 * The worker is shared by every add in the process (jobs are keyed by id),
 * kept referenced only while a job is open so it never holds the process
 * alive, and loaded from inline source so it runs the same from dist/ and
 * from TypeScript sources under a test runner.
 */
import { Worker } from 'node:worker_threads';

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'start') jobs.set(m.id, createHash(m.algo));
    else if (m.op === 'update') {
      const h = jobs.get(m.id);
      if (h) h.update(new Uint8Array(m.buf));
      parentPort.postMessage({ op: 'ack', id: m.id });
    } else if (m.op === 'digest') {
      const h = jobs.get(m.id);
      jobs.delete(m.id);
      parentPort.postMessage({ op: 'digest', id: m.id, hex: h ? h.digest('hex') : null });
    } else if (m.op === 'cancel') jobs.delete(m.id);
  } catch (err) {
    parentPort.postMessage({ op: 'error', id: m.id, message: String(err && err.message || err) });
  }
});
`;

interface JobState {
  inFlight: number;
  waiters: Array<() => void>;
  digest?: { resolve: (hex: string) => void; reject: (err: Error) => void };
  failed?: Error;
}

/** Chunks queued to the worker per job before the producer waits. */
const MAX_IN_FLIGHT = 8;

class HashWorker {
  private worker: Worker | undefined;
  private readonly jobs = new Map<number, JobState>();
  private nextId = 1;

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: { op: string; id: number; hex?: string | null; message?: string }) => this.onMessage(m));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('hash worker exited'));
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onMessage(m: { op: string; id: number; hex?: string | null; message?: string }): void {
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.op === 'ack') {
      job.inFlight--;
      job.waiters.shift()?.();
    } else if (m.op === 'digest') {
      this.finish(m.id);
      if (m.hex) job.digest?.resolve(m.hex);
      else job.digest?.reject(new Error('hash job lost'));
    } else if (m.op === 'error') {
      const err = new Error(`hashing failed: ${m.message}`);
      job.failed = err;
      job.digest?.reject(err);
      for (const w of job.waiters.splice(0)) w();
    }
  }

  private failAll(err: Error): void {
    for (const [id, job] of this.jobs) {
      job.failed = err;
      job.digest?.reject(err);
      for (const w of job.waiters.splice(0)) w();
      this.finish(id);
    }
  }

  private finish(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker?.unref();
  }

  start(algo: string): number {
    const worker = this.ensure();
    const id = this.nextId++;
    if (this.jobs.size === 0) worker.ref();
    this.jobs.set(id, { inFlight: 0, waiters: [] });
    worker.postMessage({ op: 'start', id, algo });
    return id;
  }

  /** Queues a copy of `chunk`; waits only when the worker falls behind. */
  async update(id: number, chunk: Uint8Array): Promise<void> {
    const job = this.jobs.get(id);
    if (!job) throw new Error('hash job is closed');
    if (job.failed) throw job.failed;
    // The caller keeps using `chunk` (the driver writes it), so the worker
    // gets its own copy, moved rather than cloned a second time.
    const copy = new Uint8Array(chunk.byteLength);
    copy.set(chunk);
    job.inFlight++;
    this.worker!.postMessage({ op: 'update', id, buf: copy.buffer }, [copy.buffer]);
    if (job.inFlight >= MAX_IN_FLIGHT) {
      await new Promise<void>((resolve) => job.waiters.push(resolve));
      if (job.failed) throw job.failed;
    }
  }

  digest(id: number): Promise<string> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new Error('hash job is closed'));
    if (job.failed) return Promise.reject(job.failed);
    return new Promise<string>((resolve, reject) => {
      job.digest = { resolve, reject };
      this.worker!.postMessage({ op: 'digest', id });
    });
  }

  cancel(id: number): void {
    if (!this.jobs.has(id)) return;
    const job = this.jobs.get(id)!;
    for (const w of job.waiters.splice(0)) w();
    this.finish(id);
    this.worker?.postMessage({ op: 'cancel', id });
  }
}

export const hashWorker = new HashWorker();
