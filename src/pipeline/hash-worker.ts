/**
 * Two long-lived worker threads that hash for the add pipeline, one per hash
 * (md5 and the multihash), so both run on a core of their own and the main
 * thread only moves bytes: reading the source, filling blocks, handing them
 * to the driver.
 *
 * The pipeline's blocks live in one SharedArrayBuffer, a fixed ring of
 * slots: a source chunk is copied once, into a slot (the copy that makes the
 * bytes the pipeline's own), and both workers hash that slot where it is. A
 * slot is reused once both workers are done with it and whoever else holds it
 * (the pipeline, a driver it was lent to) has let it go. Memory stays flat
 * whatever the image size, reused slots cost no page faults (fresh 1 MiB
 * allocations fault in every page: about 3 GB/s here), and waiting for a free
 * slot is the backpressure when the hashes fall behind.
 *
 * The workers are shared by every add in the process (jobs are keyed by id),
 * kept referenced only while a job is open so they never hold the process
 * alive, and loaded from inline source so they run the same from dist/ and
 * from TypeScript sources under a test runner.
 */
import { Worker } from 'node:worker_threads';

/** Bytes per slot: the pipeline's block size. */
export const BLOCK_BYTES = 1024 * 1024;
const SLOTS = 32;

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
  /** One digest per worker, in the order of the algorithms given to start(). */
  hex: Array<string | undefined>;
  digest?: { resolve: (hex: string[]) => void; reject: (err: Error) => void };
  failed?: Error;
}

interface WorkerMessage {
  op: 'ack' | 'digest' | 'error';
  id: number;
  slot?: number;
  hex?: string | null;
  message?: string;
}

/** A slot of the ring, held by its caller until `release()`. */
export interface Block {
  /** The slot's memory (BLOCK_BYTES long). */
  readonly buf: Buffer;
  readonly slot: number;
}

/** A block held by the pipeline: `release()` lets its slot go (once; later calls do nothing). */
export interface HeldBlock extends Block {
  release(): void;
}

/** The ring and its workers; replaced as a whole when a worker dies. */
class Ring {
  readonly buffers: Buffer[];
  private readonly shared: SharedArrayBuffer;
  private spawned: Worker[] | undefined;
  private readonly holds: Int32Array;
  private readonly free: number[];
  private readonly waiters: Array<(slot: number | undefined) => void> = [];
  dead = false;

  constructor(
    private readonly onMessage: (ring: Ring, m: WorkerMessage, worker: number) => void,
    private readonly onDeath: (ring: Ring, err: Error) => void,
  ) {
    this.shared = new SharedArrayBuffer(BLOCK_BYTES * SLOTS);
    // Every slot touched once now: the ring is resident from the first add on, instead of growing
    // the resident set by up to its size during some later add, as slots come into use.
    new Uint8Array(this.shared).fill(0);
    this.buffers = Array.from({ length: SLOTS }, (_, i) => Buffer.from(this.shared, i * BLOCK_BYTES, BLOCK_BYTES));
    this.holds = new Int32Array(SLOTS);
    this.free = Array.from({ length: SLOTS }, (_, i) => SLOTS - 1 - i);
  }

  /** The two workers, started by the first image larger than one block. */
  get workers(): Worker[] {
    this.spawned ??= [0, 1].map((index) => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { ring: this.shared, slotBytes: BLOCK_BYTES } });
      w.on('message', (m: WorkerMessage) => this.onMessage(this, m, index));
      w.on('error', (err) => this.onDeath(this, err));
      w.on('exit', () => this.onDeath(this, new Error('hash worker exited')));
      w.unref();
      return w;
    });
    return this.spawned;
  }

  /** The workers if started, without starting them. */
  get started(): Worker[] {
    return this.spawned ?? [];
  }

  /** A free slot, now held once; undefined when none is free. */
  tryAcquire(): number | undefined {
    if (this.dead) return undefined;
    const slot = this.free.pop();
    if (slot !== undefined) this.holds[slot] = 1;
    return slot;
  }

  retain(slot: number, n: number): void {
    this.holds[slot]! += n;
  }

  release(slot: number): void {
    if (this.dead || this.holds[slot]! <= 0) return;
    if (--this.holds[slot]! > 0) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.holds[slot] = 1;
      waiter(slot);
    } else this.free.push(slot);
  }

  /** Gives up a waiter that stopped waiting (an aborted add). */
  forget(waiter: (slot: number | undefined) => void): void {
    const i = this.waiters.indexOf(waiter);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  waitFor(resolve: (slot: number | undefined) => void): void {
    this.waiters.push(resolve);
  }

  kill(): void {
    this.dead = true;
    for (const w of this.waiters.splice(0)) w(undefined);
    for (const w of this.started) void w.terminate();
  }
}

class HashWorkers {
  private ring: Ring | undefined;
  private readonly jobs = new Map<number, JobState>();
  private nextId = 1;

  private ensure(): Ring {
    if (this.ring && !this.ring.dead) return this.ring;
    this.ring = new Ring(
      (ring, m, worker) => this.onMessage(ring, m, worker),
      (ring, err) => this.onDeath(ring, err),
    );
    return this.ring;
  }

  private onMessage(ring: Ring, m: WorkerMessage, worker: number): void {
    if (m.op === 'ack' && m.slot !== undefined) {
      ring.release(m.slot);
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.op === 'digest') {
      job.hex[worker] = m.hex ?? '';
      if (!m.hex) {
        this.finish(m.id);
        job.digest?.reject(new Error('hash job lost'));
      } else if (!job.hex.includes(undefined)) {
        this.finish(m.id);
        job.digest?.resolve(job.hex as string[]);
      }
    } else if (m.op === 'error') {
      const err = new Error(`hashing failed: ${m.message}`);
      job.failed = err;
      job.digest?.reject(err);
    }
  }

  private onDeath(ring: Ring, err: Error): void {
    if (ring.dead) return;
    ring.kill();
    if (this.ring === ring) this.ring = undefined;
    for (const [id, job] of this.jobs) {
      job.failed = err;
      job.digest?.reject(err);
      this.finish(id);
    }
  }

  private finish(id: number): void {
    if (this.jobs.delete(id) && this.jobs.size === 0) for (const w of this.ring?.started ?? []) w.unref();
  }

  /** A free slot, waiting while none is; rejects with the signal's reason when it aborts first. */
  acquire(signal: AbortSignal): Promise<HeldBlock> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    const ring = this.ensure();
    const held = (slot: number): HeldBlock => {
      let holding = true;
      return {
        buf: ring.buffers[slot]!,
        slot,
        release: () => {
          if (holding) ring.release(slot);
          holding = false;
        },
      };
    };
    const now = ring.tryAcquire();
    if (now !== undefined) return Promise.resolve(held(now));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        ring.forget(waiter);
        reject(signal.reason as Error);
      };
      const waiter = (slot: number | undefined) => {
        signal.removeEventListener('abort', onAbort);
        if (slot === undefined) reject(new Error('hash worker exited'));
        else resolve(held(slot));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      ring.waitFor(waiter);
    });
  }

  /** Starts the workers now, so that they are up by the time the first block is full. */
  prepare(): void {
    void this.ensure().workers;
  }

  /** Starts a job hashing with `algos[0]` on one worker and `algos[1]` on the other. */
  start(algos: [string, string]): number {
    const ring = this.ensure();
    const id = this.nextId++;
    if (this.jobs.size === 0) for (const w of ring.workers) w.ref();
    this.jobs.set(id, { hex: [undefined, undefined] });
    ring.workers.forEach((w, i) => w.postMessage({ op: 'start', id, algo: algos[i] }));
    return id;
  }

  /** Has both workers hash the first `len` bytes of a held block; the block stays held by both until each is done. */
  update(id: number, block: Block, len: number): void {
    const job = this.jobs.get(id);
    if (!job) throw new Error('hash job is closed');
    if (job.failed) throw job.failed;
    const ring = this.ring;
    if (!ring || ring.buffers[block.slot] !== block.buf) throw new Error('hash worker exited');
    ring.retain(block.slot, ring.workers.length);
    for (const w of ring.workers) w.postMessage({ op: 'update', id, slot: block.slot, len });
  }

  /** Both digests (hex), in the order of start()'s algorithms. */
  digest(id: number): Promise<string[]> {
    const job = this.jobs.get(id);
    if (!job) return Promise.reject(new Error('hash job is closed'));
    if (job.failed) return Promise.reject(job.failed);
    return new Promise<string[]>((resolve, reject) => {
      job.digest = { resolve, reject };
      for (const w of this.ring!.workers) w.postMessage({ op: 'digest', id });
    });
  }

  cancel(id: number): void {
    if (!this.jobs.has(id)) return;
    this.finish(id);
    for (const w of this.ring?.started ?? []) w.postMessage({ op: 'cancel', id });
  }
}

export const hashWorkers = new HashWorkers();
