/**
 * One TCP connection to a sheep daemon carrying many requests at once.
 * Each request gets an id; sheep answers in any order and echoes the id, so
 * responses are matched by it. The connection is opened on first use and
 * again after it was lost.
 *
 * What the wire says is checked before anything is taken from it: a
 * response with an id nothing waits for, a payload longer than its request
 * allows, or a result code the driver does not know is a BackendError that
 * closes the connection and fails every request on it: nothing from such a
 * connection reaches a caller, and no request waits for an answer that
 * cannot come. A connection that ends in the middle of a response (a
 * truncated header or payload) fails every request the same way, as
 * BackendUnavailable: the cluster went away, and nothing of the partial
 * response is used.
 *
 * Every request is bounded: one that has no answer within `timeoutMs`
 * closes the connection (a cluster that stopped answering), and an aborted
 * request stops waiting at once; its late answer is read and dropped.
 */
import net from 'node:net';
import { abandonOnAbort } from '../../abandon.js';
import { AbortedError, BackendError, BackendUnavailableError, GlanceStoreError } from '../../errors.js';
import { HEADER_BYTES, decodeResponse, encodeRequest, resultName, type Request, type Response } from './protocol.js';

export interface SheepAddress {
  host: string;
  port: number;
}

export interface SheepReply {
  rsp: Response;
  /** The response payload (empty for writes). */
  data: Buffer;
}

export interface RequestOptions {
  /** The request payload, written after the header (its length is the header's data_length): one buffer or several, sent as they are. */
  payload?: Buffer | readonly Buffer[];
  /** The most payload bytes the response may carry (a read's length; 0 for writes). */
  replyBytes?: number;
  signal?: AbortSignal;
}

interface Waiting {
  replyBytes: number;
  resolve(reply: SheepReply): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export class SheepConnection {
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private readonly waiting = new Map<number, Waiting>();
  /** Ids whose caller gave up: their answers are read and dropped, never taken as unknown. */
  private readonly abandoned = new Set<number>();
  private nextId = 1;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  /** The header being read, once its 48 bytes are in. */
  private header: Response | undefined;
  private closed = false;

  constructor(
    private readonly address: SheepAddress,
    /** Who answers, in messages: `the sheepdog cluster at 127.0.0.1:7000`. */
    readonly cluster: string,
    private readonly timeoutMs: number,
  ) {}

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.waiting.size;
  }

  async request(req: Request, o: RequestOptions = {}): Promise<SheepReply> {
    o.signal?.throwIfAborted();
    if (this.closed) throw new BackendUnavailableError(`The connection to ${this.cluster} is closed`);
    const socket = await this.open(o.signal);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const pieces = o.payload === undefined ? [] : Buffer.isBuffer(o.payload) ? [o.payload] : o.payload;
    const payloadBytes = pieces.reduce((n, p) => n + p.length, 0);
    const header = encodeRequest({ ...req, dataLength: Math.max(req.dataLength, payloadBytes) }, id);
    return new Promise<SheepReply>((resolve, reject) => {
      const onAbort = () => {
        if (!this.waiting.has(id)) return;
        this.settle(id);
        this.abandoned.add(id);
        const reason: unknown = o.signal?.reason;
        reject(reason instanceof GlanceStoreError ? reason : new AbortedError(`A request to ${this.cluster} was aborted`, { cause: reason }));
      };
      const timer = setTimeout(() => {
        this.fail(new BackendUnavailableError(`${this.cluster} did not answer within ${this.timeoutMs / 1000} s`));
      }, this.timeoutMs);
      this.waiting.set(id, {
        replyBytes: o.replyBytes ?? 0,
        timer,
        resolve: (r) => {
          o.signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          o.signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      });
      o.signal?.addEventListener('abort', onAbort, { once: true });
      socket.cork();
      socket.write(header);
      for (const piece of pieces) socket.write(piece);
      socket.uncork();
    });
  }

  private open(signal: AbortSignal | undefined): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: this.address.host, port: this.address.port, noDelay: true });
      const timer = setTimeout(() => s.destroy(new Error(`no connection within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      const failed = (err: Error) => {
        clearTimeout(timer);
        this.connecting = undefined;
        reject(new BackendUnavailableError(`Could not connect to ${this.cluster}: ${err.message}`, { cause: err }));
      };
      s.once('error', failed);
      s.once('connect', () => {
        clearTimeout(timer);
        s.off('error', failed);
        this.attach(s);
        this.connecting = undefined;
        resolve(s);
      });
    });
    // An abort stops this caller's wait at once; the connection may still serve others.
    return abandonOnAbort(this.connecting, `Connecting to ${this.cluster}`, { signal, graceMs: 0 });
  }

  private attach(s: net.Socket): void {
    this.socket = s;
    this.buffered = [];
    this.bufferedBytes = 0;
    this.header = undefined;
    this.abandoned.clear();
    s.on('data', (chunk: Buffer) => {
      if (this.socket !== s) return;
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
      this.parse();
    });
    s.on('error', (err) => this.lost(s, new BackendUnavailableError(`The connection to ${this.cluster} failed: ${err.message}`, { cause: err })));
    s.on('close', () => {
      // Cut in the middle of a response: what came of it is dropped, never handed on as a short answer.
      const cut = this.header ? ' in the middle of a response (a truncated payload)' : this.bufferedBytes > 0 ? ` after ${this.bufferedBytes} bytes of a response header (a truncated header)` : '';
      this.lost(s, new BackendUnavailableError(`${this.cluster} closed the connection${cut}`));
    });
  }

  /** Takes complete responses off the buffered bytes. */
  private parse(): void {
    for (;;) {
      if (!this.header) {
        if (this.bufferedBytes < HEADER_BYTES) return;
        const rsp = decodeResponse(this.take(HEADER_BYTES));
        const problem = this.check(rsp);
        if (problem) {
          this.fail(new BackendError(`${this.cluster} sent a bad response: ${problem}; the connection was closed`));
          return;
        }
        this.header = rsp;
      }
      const rsp = this.header;
      if (this.bufferedBytes < rsp.dataLength) return;
      const data = this.take(rsp.dataLength);
      this.header = undefined;
      if (this.abandoned.delete(rsp.id)) continue;
      const w = this.settle(rsp.id);
      w?.resolve({ rsp, data });
    }
  }

  /** Why a response header cannot be taken, if it cannot. */
  private check(rsp: Response): string | undefined {
    const w = this.waiting.get(rsp.id);
    if (!w && !this.abandoned.has(rsp.id)) return `response id ${rsp.id} answers no request`;
    if (w && rsp.dataLength > w.replyBytes) return `response ${rsp.id} carries ${rsp.dataLength} bytes, more than the ${w.replyBytes} its request asked for`;
    if (resultName(rsp.result) === undefined) return `unknown result code 0x${rsp.result.toString(16)} for request ${rsp.id}`;
    return undefined;
  }

  private take(n: number): Buffer {
    const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.bufferedBytes = rest.length;
    return out;
  }

  private settle(id: number): Waiting | undefined {
    const w = this.waiting.get(id);
    if (!w) return undefined;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    return w;
  }

  /** The socket `s` ended: every request on it fails with `err`. */
  private lost(s: net.Socket, err: GlanceStoreError): void {
    if (this.socket !== s) return;
    this.fail(err);
  }

  /** Closes the current connection and fails every request waiting on it. */
  private fail(err: GlanceStoreError): void {
    const s = this.socket;
    this.socket = undefined;
    this.header = undefined;
    this.buffered = [];
    this.bufferedBytes = 0;
    this.abandoned.clear();
    s?.destroy();
    for (const id of [...this.waiting.keys()]) this.settle(id)?.reject(err);
  }

  close(): void {
    this.closed = true;
    this.fail(new BackendUnavailableError(`The connection to ${this.cluster} was closed`));
  }
}
