/**
 * A TCP proxy on 127.0.0.1 in front of a networked backend that breaks the
 * backend on purpose, so the conformance suite can check what a driver does
 * when its service goes away: it passes traffic, refuses connections, stalls
 * them, cuts one after some bytes, or resets one (a TCP RST) mid-transfer.
 *
 * A fault that counts bytes (`afterBytes`) counts, from the moment it is set,
 * the bytes in its direction over every connection; the connection that
 * carries byte `afterBytes` gets the fault after exactly that many bytes have
 * been forwarded, and the proxy then passes again (so a driver can clean up
 * through it). `refuse` and a `stall` without `afterBytes` hold every
 * connection until `pass()`.
 */
import net from 'node:net';

/** `up`: from the driver to the backend (a request body); `down`: back (a response body). */
export type Direction = 'up' | 'down';

export type Fault =
  | { kind: 'pass' }
  /** Closes the open connections and every new one at once, as a backend that went down. */
  | { kind: 'refuse' }
  /** Stops forwarding (connections stay open, nothing moves): at once, or on the connection that carries byte `afterBytes`. */
  | { kind: 'stall'; afterBytes?: number; direction?: Direction }
  /** Closes the connection (a FIN both ways) after `afterBytes` bytes: a short transfer. */
  | { kind: 'cut'; afterBytes: number; direction: Direction }
  /** Resets the connection (a TCP RST to the driver) after `afterBytes` bytes. */
  | { kind: 'reset'; afterBytes: number; direction?: Direction };

export interface FaultAddress {
  host: string;
  port: number;
}

interface Pair {
  client: net.Socket;
  server: net.Socket;
}

export class FaultProxy {
  private fault: Fault = { kind: 'pass' };
  private counted = 0;
  private fired = 0;
  private readonly pairs = new Set<Pair>();
  private readonly stalled = new Set<Pair>();
  private waiting: (() => void)[] = [];

  private constructor(
    private readonly listener: net.Server,
    private readonly target: FaultAddress,
  ) {}

  /** Starts a proxy on 127.0.0.1 (a free port) that forwards to `target`. */
  static async start(target: FaultAddress): Promise<FaultProxy> {
    const listener = net.createServer();
    const proxy = new FaultProxy(listener, target);
    listener.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** Where drivers connect instead of the backend. */
  get address(): FaultAddress {
    return { host: '127.0.0.1', port: (this.listener.address() as net.AddressInfo).port };
  }

  /** How many times a fault has hit a connection (refused or stalled ones included) since the proxy started. */
  get faultsFired(): number {
    return this.fired;
  }

  /** Resolves when a fault next hits a connection. */
  nextFault(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /**
   * Sets the fault for what follows. `pass` also ends the stalled
   * connections, so nothing waits on them; `refuse` and an immediate `stall`
   * take the open connections too (a client's pooled ones included).
   */
  set(fault: Fault): void {
    this.fault = fault;
    this.counted = 0;
    if (fault.kind === 'pass') for (const p of this.stalled) this.drop(p);
    if (fault.kind === 'refuse') {
      for (const p of this.pairs) this.drop(p, true);
    }
    if (fault.kind === 'stall' && fault.afterBytes === undefined && this.pairs.size > 0) {
      for (const p of this.pairs) this.hold(p);
      this.hit();
    }
  }

  pass(): void {
    this.set({ kind: 'pass' });
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    for (const p of this.pairs) this.drop(p);
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    const f = this.fault;
    if (f.kind === 'refuse') {
      this.hit();
      return void client.destroy();
    }
    const server = net.connect(this.target.port, this.target.host);
    server.on('error', () => client.destroy());
    client.on('error', () => server.destroy());
    const pair = { client, server };
    this.pairs.add(pair);
    const forget = () => {
      this.pairs.delete(pair);
      this.stalled.delete(pair);
    };
    client.on('close', () => {
      forget();
      server.destroy();
    });
    server.on('close', () => {
      forget();
      if (!client.destroyed) client.end();
    });
    if (f.kind === 'stall' && f.afterBytes === undefined) {
      this.hit();
      this.hold(pair);
      return;
    }
    this.forward(pair, client, server, 'up');
    this.forward(pair, server, client, 'down');
  }

  private forward(pair: Pair, from: net.Socket, to: net.Socket, direction: Direction): void {
    from.on('data', (data: Buffer) => {
      if (this.stalled.has(pair)) return;
      const f = this.fault;
      if (f.kind === 'pass' || f.kind === 'refuse' || f.afterBytes === undefined || (f.direction ?? 'down') !== direction) {
        return void to.write(data);
      }
      const at = f.afterBytes;
      const room = at - this.counted;
      if (data.length < room) {
        this.counted += data.length;
        return void to.write(data);
      }
      // This connection carries the byte the fault waits for: forward up to it, then break.
      this.counted = at;
      this.fault = { kind: 'pass' };
      this.hit();
      const before = data.subarray(0, room);
      if (f.kind === 'stall') {
        if (before.length) to.write(before);
        return this.hold(pair);
      }
      if (f.kind === 'cut') {
        to.end(before);
        from.end();
        pair.server.destroySoon();
        pair.client.destroySoon();
        return;
      }
      // A reset: the driver's side gets an RST, whichever way the bytes were going.
      const finish = () => {
        pair.client.resetAndDestroy();
        pair.server.destroy();
      };
      if (before.length) to.write(before, finish);
      else finish();
    });
  }

  private hit(): void {
    this.fired++;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  /** A connection that stays open and moves nothing, until `pass()` or `close()`. */
  private hold(pair: Pair): void {
    this.stalled.add(pair);
    pair.client.pause();
    pair.server.pause();
  }

  private drop(pair: Pair, reset = false): void {
    this.pairs.delete(pair);
    this.stalled.delete(pair);
    if (reset) pair.client.resetAndDestroy();
    else pair.client.destroy();
    pair.server.destroy();
  }
}
