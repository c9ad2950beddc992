/**
 * One long-lived worker thread that computes hashes for the add pipeline, so
 * that the md5 checksum (on the main thread) and the multihash (here) run on
 * two cores at once instead of one after the other.
 *
 * Data reaches the worker through a fixed ring of slots in one
 * SharedArrayBuffer: a block is copied into a free slot and the worker is
 * told which slot to hash. Memory stays flat whatever the image size (a new
 * buffer per block would pile up until the worker's garbage collector ran),
 * and waiting for a free slot is the backpressure when the worker falls
 * behind.
 *
 * The worker is shared by every add in the process (jobs are keyed by id),
 * kept referenced only while a job is open so it never holds the process
 * alive, and loaded from inline source so it runs the same from dist/ and
 * from TypeScript sources under a test runner.
 */
import { Worker } from 'node:worker_threads';

const SLOT_BYTES = 4 * 1024 * 1024;
const SLOTS = 8;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const ring = new Uint8Array(workerData.ring);
const slotBytes = workerData.slotBytes;
const jobs = new Map();
parentPort.on('message', (m) => {
  try {
    if (m.op === 'start') jobs.set(m.id, createHash(m.algo));
    else if (m.op === 'update') {
      const h = jobs.get(m.id);
      const at = m.slot * slotBytes;
      if (h) h.update(ring.subarray(at, at + m.len));
      parentPort.postMessage({ op: 'ack', id: m.id, slot: m.slot });
    } else if (m.op === 'digest') {
      const h = jobs.get(m.id);
      jobs.delete(m.id);
      parentPort.postMessage({ op: 'digest', id: m.id, hex: h ? h.digest('hex') : null });
    } else if (m.op === 'cancel') jobs.delete(m.id);
  } catch (err) {
    if (m.op === 'update') parentPort.postMessage({ op: 'ack', id: m.id, slot: m.slot });
    parentPort.postMessage({ op: 'error', id: m.id, message: String((err && err.message) || err) });
  }
});
`;

interface JobState {
  digest?: { resolve: (hex: string) => void; reject: (err: Error) => void };
  failed?: Error;
}

interface WorkerMessage {
  op: 'ack' | 'digest' | 'error';
  id: number;
  slot?: number;
  hex?: string | null;
  message?: string;
}

class HashWorker {
  private worker: Worker | undefined;
  private ring: Uint8Array | undefined;
  private freeSlots: number[] = [];
  private slotWaiters: Array<(slot: number | undefined) => void> = [];
  private readonly jobs = new Map<number, JobState>();
  private nextId = 1;

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const shared = new SharedArrayBuffer(SLOT_BYTES * SLOTS);
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: shared, slotBytes: SLOT_BYTES } });
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error('hash worker exited'));
    });
    worker.unref();
    this.worker = worker;
    this.ring = new Uint8Array(shared);
    // Every slot touched once now: the ring is resident from the first add on, instead of growing
    // the resident set by up to its size during some later add, as slots come into use.
    this.ring.fill(0);
    this.freeSlots = Array.from({ length: SLOTS }, (_, i) => i);
    this.slotWaiters = [];
    return worker;
  }

  private onMessage(m: WorkerMessage): void {
    if (m.op === 'ack' && m.slot !== undefined) {
      this.releaseSlot(m.slot);
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.op === 'digest') {
      this.finish(m.id);
      if (m.hex) job.digest?.resolve(m.hex);
      else job.digest?.reject(new Error('hash job lost'));
    } else if (m.op === 'error') {
      const err = new Error(`hashing failed: ${m.message}`);
      job.failed = err;
      job.digest?.reject(err);
    }
  }

  private releaseSlot(slot: number): void {
    const waiter = this.slotWaiters.shift();
    if (waiter) waiter(slot);
    else this.freeSlots.push(slot);
  }

  private acquireSlot(): Promise<number | undefined> {
    const slot = this.freeSlots.pop();
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise((resolve) => this.slotWaiters.push(resolve));
  }

  private failAll(err: Error): void {
    for (const [id, job] of this.jobs) {
      job.failed = err;
      job.digest?.reject(err);
      this.finish(id);
    }
    for (const w of this.slotWaiters.splice(0)) w(undefined);
  }

  private finish(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) this.worker?.unref();
  }

  start(algo: string): number {
    const worker = this.ensure();
    const id = this.nextId++;
    if (this.jobs.size === 0) worker.ref();
    this.jobs.set(id, {});
    worker.postMessage({ op: 'start', id, algo });
    return id;
  }

  /** Hands `chunk` to the worker, waiting only while every slot is busy. */
  async update(id: number, chunk: Uint8Array): Promise<void> {
    for (let off = 0; off < chunk.byteLength; off += SLOT_BYTES) {
      const job = this.jobs.get(id);
      if (!job) throw new Error('hash job is closed');
      if (job.failed) throw job.failed;
      const slot = await this.acquireSlot();
      if (slot === undefined || !this.worker) throw this.jobs.get(id)?.failed ?? new Error('hash worker exited');
      const piece = chunk.subarray(off, Math.min(off + SLOT_BYTES, chunk.byteLength));
      this.ring!.set(piece, slot * SLOT_BYTES);
      this.worker.postMessage({ op: 'update', id, slot, len: piece.byteLength });
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
    this.finish(id);
    this.worker?.postMessage({ op: 'cancel', id });
  }
}

export const hashWorker = new HashWorker();
