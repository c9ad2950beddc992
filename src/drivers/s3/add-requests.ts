/**
 * The S3 requests of one add, lib-storage's part uploads included (it sends
 * them without a signal of their own). They all end on one controller,
 * DRAIN_MS after the add's signal aborts or after the add fails. So an
 * abort never waits on a server that stopped answering. A part that a live
 * server is still storing finishes first: aborting its multipart upload
 * under it would orphan the part (Swift's s3api stores a late part as a
 * segment that no upload names any more).
 */
import type { S3Client } from '@aws-sdk/client-s3';

/** How long requests in flight may finish once the add is aborted or has failed. */
export const DRAIN_MS = 1_000;

export class AddRequests {
  private readonly controller = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort = () => this.endSoon();
  /** The client, every request of it counted and bound to this add. */
  readonly client: S3Client;

  constructor(
    client: S3Client,
    private readonly signal: AbortSignal | undefined,
  ) {
    if (signal?.aborted) this.endSoon();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
    const send = (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => {
      const sent = client.send(command, { ...options, abortSignal: this.controller.signal });
      this.inFlight.add(sent);
      const settled = () => void this.inFlight.delete(sent);
      sent.then(settled, settled);
      return sent;
    };
    this.client = new Proxy(client, {
      get: (target, prop, receiver) => (prop === 'send' ? send : (Reflect.get(target, prop, receiver) as unknown)),
    });
  }

  private endSoon(): void {
    this.timer ??= setTimeout(() => this.controller.abort(this.signal?.reason ?? new Error('the add failed')), DRAIN_MS).unref();
  }

  /** Waits until no request of the add is in flight; those still going after DRAIN_MS are ended. */
  async drained(): Promise<void> {
    this.endSoon();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  close(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}
