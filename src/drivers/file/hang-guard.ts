/**
 * filesystem_store_timeout (glance_store 5.4): a call into a datadir that
 * stops answering (a hung NFS or FUSE mount) fails with a TimeoutError naming
 * the store instead of hanging its caller.
 *
 * Node cannot cancel a file system call: the libuv thread running it stays
 * blocked in the kernel until the file system answers. So a call that timed
 * out is only abandoned, and it keeps holding one of the UV_THREADPOOL_SIZE
 * (default 4) threads that every fs call, dns.lookup, zlib and crypto call of
 * the whole process shares. To keep one hung datadir from taking them all,
 * a store with a call still hung takes no new ones: they fail at once with
 * the same error, without touching the file system, until every hung call
 * has returned. And at most filesystem_store_thread_pool_size calls of a
 * store run at once (glance_store's per-store pool): the rest wait, and the
 * wait counts towards their timeout, as in glance_store's executor.
 */
import { TimeoutError } from '../../errors.js';
import type { Logger } from '../../logger.js';

export interface HangGuardOptions {
  store: string;
  /** Seconds; 0 turns the guard off (calls run as they are). */
  timeoutSeconds: number;
  poolSize: number;
  /** Percentage of poolSize in use at which a warning is logged. */
  thresholdPercent: number;
  logger: Logger;
}

export class HangGuard {
  private running = 0;
  private hung = 0;
  private readonly waiting: Array<() => void> = [];
  private warned = false;

  constructor(private readonly o: HangGuardOptions) {}

  get enabled(): boolean {
    return this.o.timeoutSeconds > 0;
  }

  /** Calls abandoned after their timeout that the file system has not answered yet. */
  get hungCalls(): number {
    return this.hung;
  }

  /**
   * Runs one file system call (`what` names it in the error) under the
   * store's timeout. `always`: a call that must run even on a store with a
   * hung call, without a slot (closing a file the store opened: left open,
   * Node would close it on garbage collection with a warning). `late`: what
   * to do with the result of a call that answers after it timed out (close
   * the file it opened, remove the name it linked), since its caller has
   * moved on.
   */
  run<T>(what: string, call: () => Promise<T>, options: { always?: boolean; late?: (value: T) => void } = {}): Promise<T> {
    const always = options.always === true;
    if (!this.enabled) return call();
    if (this.hung > 0 && !always) return Promise.reject(this.refused(what));
    return new Promise<T>((resolve, reject) => {
      let state: 'waiting' | 'running' | 'done' | 'abandoned' = 'waiting';
      const go = (): void => {
        if (this.hung > 0 && !always) {
          // It queued before a call of the store hung: it fails as a new one would.
          clearTimeout(timer);
          state = 'done';
          reject(this.refused(what));
          return;
        }
        state = 'running';
        this.running += 1;
        this.checkUsage();
        Promise.resolve()
          .then(call)
          .then(
            (value) => {
              if (state === 'running') resolve(value);
              else options.late?.(value);
            },
            (err: unknown) => {
              if (state === 'running') reject(err);
            },
          )
          .finally(() => {
            clearTimeout(timer);
            if (state === 'abandoned') this.returned();
            state = 'done';
            this.release();
          });
      };
      const timer = setTimeout(() => {
        if (state === 'waiting') {
          // Its wait for a slot used up its time: it never runs.
          this.waiting.splice(this.waiting.indexOf(go), 1);
          state = 'done';
          reject(this.timeout(what, false));
        } else if (state === 'running') {
          state = 'abandoned';
          this.hung += 1;
          reject(this.timeout(what, true));
        }
      }, this.o.timeoutSeconds * 1000);
      if (always || this.running < this.o.poolSize) go();
      else this.waiting.push(go);
    });
  }

  private returned(): void {
    this.hung -= 1;
    this.o.logger.info({ store: this.o.store, hung: this.hung }, `a file system call of store ${this.o.store} that timed out has returned; ${this.hung} still hung`);
  }

  private release(): void {
    this.running -= 1;
    if (this.running * 100 < this.o.thresholdPercent * this.o.poolSize) this.warned = false;
    // Queued calls start in turn (one refused by `go` leaves its slot to the next).
    while (this.waiting.length && this.running < this.o.poolSize) this.waiting.shift()!();
  }

  private checkUsage(): void {
    const usage = (this.running / this.o.poolSize) * 100;
    if (usage < this.o.thresholdPercent || this.warned) return;
    this.warned = true;
    this.o.logger.warn({ store: this.o.store, running: this.running, poolSize: this.o.poolSize }, `store ${this.o.store} has ${this.running} of its ${this.o.poolSize} file system calls in use (${usage.toFixed(1)}%, threshold ${this.o.thresholdPercent}%): further calls wait`);
  }

  private timeout(what: string, ran: boolean): TimeoutError {
    if (ran) this.o.logger.error({ store: this.o.store, hung: this.hung }, `${what} in store ${this.o.store} did not answer within ${this.o.timeoutSeconds} s (filesystem_store_timeout): the call is abandoned, its thread stays blocked until the file system answers`);
    const why = ran ? 'its datadir is not answering' : `it waited for one of the store's ${this.o.poolSize} file system call slots (filesystem_store_thread_pool_size)`;
    return new TimeoutError(`${what} in store ${this.o.store} timed out after ${this.o.timeoutSeconds} s (filesystem_store_timeout): ${why}`);
  }

  private refused(what: string): TimeoutError {
    return new TimeoutError(`${what} in store ${this.o.store} refused: ${this.hung} earlier file system call(s) of the store are still hung past filesystem_store_timeout (${this.o.timeoutSeconds} s)`);
  }
}
