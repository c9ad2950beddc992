/**
 * The sheepdog driver: the conformance suite (its fault-proxy cases
 * included) and the driver's own cases, against the sheepdog STAND-IN
 * (test/services/sheepdog-standin.mjs) and, when SHEEPDOG_ADDR is set,
 * against that real sheep as well (docs/sheepdog.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { MultiStore, parseConfig } from '../src/index.js';
import { formatSheepdogLocation, parseSheepdogLocation } from '../src/drivers/sheepdog/location.js';
import { SheepConnection } from '../src/drivers/sheepdog/connection.js';
import { HEADER_BYTES, Op, decodeRequest, encodeResponse, nameHashVid } from '../src/drivers/sheepdog/protocol.js';
import { newVdi, vdiInfo } from '../src/drivers/sheepdog/vdi.js';
import { removeVdi } from '../src/drivers/sheepdog/remove.js';
import { runStoreConformance, readAll, FaultProxy } from '../src/testing/index.js';
import { listCluster, ownSheepBinary, realSheep, removeDir, startOwnSheep, startStandin, type SheepCluster } from './services/sheepdog.js';

const MiB = 1024 * 1024;

function conf(host: string, port: number, extra = ''): string {
  return `[DEFAULT]\nenabled_backends = sheep:sheepdog, sheep2:sheepdog\n[glance_store]\ndefault_backend = sheep\n[sheep]\nstore_description = sheepdog\nsheepdog_store_address = ${host}\nsheepdog_store_port = ${port}\nsheepdog_store_chunk_size = 8\nsheepdog_store_request_timeout = 10\n${extra}[sheep2]\nsheepdog_store_address = ${host}\nsheepdog_store_port = ${port}\nsheepdog_store_chunk_size = 4\n`;
}

describe('sheepdog locations', () => {
  it('are written as sheepdog://addr:port:image, and the old sheepdog://image is read', () => {
    expect(formatSheepdogLocation({ addr: '10.0.0.5', port: 7000, image: 'abc' })).toBe('sheepdog://10.0.0.5:7000:abc');
    expect(parseSheepdogLocation('sheepdog://10.0.0.5:7000:abc')).toEqual({ addr: '10.0.0.5', port: 7000, image: 'abc' });
    expect(parseSheepdogLocation('sheepdog://abc')).toEqual({ image: 'abc' });
    expect(() => parseSheepdogLocation('sheepdog://h:notaport:abc')).toThrow(/not a port number/);
    expect(() => parseSheepdogLocation('sheepdog://h:7000')).toThrow(/addr:port:image/);
    expect(() => parseSheepdogLocation('sheepdog://h::abc')).toThrow(/empty/);
    expect(() => parseSheepdogLocation('rbd://abc')).toThrow(expect.objectContaining({ code: 'BadStoreUri' }));
  });

  it('name VDIs by the vid sheep gives a new name first (FNV-1a-64, low 24 bits)', () => {
    // The stand-in computes its own; these are the values a real sheep gave.
    expect(nameHashVid('probe-1796181267903').toString(16)).toBe('1b5f98');
    expect(nameHashVid('')).toBe(0x222325);
  });
});

/** A peer that answers each request as `answer` says: for the wire checks a real sheep cannot be made to fail. */
async function scriptedPeer(answer: (req: ReturnType<typeof decodeRequest>, socket: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= HEADER_BYTES) {
        const req = decodeRequest(buf.subarray(0, HEADER_BYTES));
        const body = req.flags & 1 ? req.dataLength : 0;
        if (buf.length < HEADER_BYTES + body) return;
        buf = buf.subarray(HEADER_BYTES + body);
        answer(req, s);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('sheepdog connection: bad input from the wire', () => {
  const readReq = { kind: 'obj', opcode: Op.READ_OBJ, flags: 0, dataLength: 16, oid: 1n, offset: 0 } as const;
  const cases: [string, (req: ReturnType<typeof decodeRequest>, s: net.Socket) => void, RegExp, string][] = [
    ['a response with an unknown id', (r, s) => s.write(encodeResponse({ opcode: r.opcode, id: r.id + 1000, dataLength: 0, result: 0 })), /id \d+ answers no request/, 'BackendError'],
    ['a payload longer than the request asked for', (r, s) => s.write(Buffer.concat([encodeResponse({ opcode: r.opcode, id: r.id, dataLength: 32, result: 0 }), Buffer.alloc(32, 7)])), /carries 32 bytes, more than the 16/, 'BackendError'],
    ['a result code the driver does not know', (r, s) => s.write(encodeResponse({ opcode: r.opcode, id: r.id, dataLength: 0, result: 0x77 })), /unknown result code 0x77/, 'BackendError'],
    ['a header cut short by the end of the connection', (r, s) => s.end(encodeResponse({ opcode: r.opcode, id: r.id, dataLength: 16, result: 0 }).subarray(0, 20)), /truncated header/, 'BackendUnavailable'],
    ['a payload cut short by the end of the connection', (r, s) => s.end(Buffer.concat([encodeResponse({ opcode: r.opcode, id: r.id, dataLength: 16, result: 0 }), Buffer.alloc(5)])), /truncated payload/, 'BackendUnavailable'],
  ];
  for (const [what, answer, message, code] of cases) {
    it(`${what} fails every request on the connection, naming the cluster, and closes it`, async () => {
      const peer = await scriptedPeer((r, s) => {
        // Only the first request is answered, badly; the second must not hang.
        if (r.id === 1) answer(r, s);
      });
      const conn = new SheepConnection({ host: '127.0.0.1', port: peer.port }, 'the sheepdog cluster at test', 5_000);
      try {
        const started = Date.now();
        const results = await Promise.allSettled([conn.request(readReq, { replyBytes: 16 }), conn.request(readReq, { replyBytes: 16 })]);
        expect(Date.now() - started).toBeLessThan(2_000);
        for (const r of results) {
          expect(r.status).toBe('rejected');
          const err = (r as PromiseRejectedResult).reason as Error & { code: string };
          expect(err.code).toBe(code);
          expect(err.message).toMatch(message);
          expect(err.message).toContain('the sheepdog cluster at test');
        }
        expect(conn.inFlight).toBe(0);
      } finally {
        conn.close();
        await peer.close();
      }
    });
  }

  it('bounds a request the cluster never answers, and drops a late answer to an aborted one', async () => {
    const answers: Array<() => void> = [];
    const peer = await scriptedPeer((r, s) => answers.push(() => s.write(Buffer.concat([encodeResponse({ opcode: r.opcode, id: r.id, dataLength: 16, result: 0 }), Buffer.alloc(16, r.id)]))));
    const conn = new SheepConnection({ host: '127.0.0.1', port: peer.port }, 'the sheepdog cluster at test', 1_000);
    try {
      const ac = new AbortController();
      const aborted = conn.request(readReq, { replyBytes: 16, signal: ac.signal });
      const second = conn.request(readReq, { replyBytes: 16 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      ac.abort();
      await expect(aborted).rejects.toMatchObject({ code: 'Aborted' });
      // The late answer to the aborted request is dropped, then the second is answered.
      for (const a of answers.splice(0)) a();
      // Each answer carries its own id in every byte: the second gets its own, not the aborted one's.
      const { rsp, data } = await second;
      expect([...data]).toEqual([...Buffer.alloc(16, rsp.id)]);
      // Never answered: fails at the timeout.
      const t0 = Date.now();
      await expect(conn.request(readReq, { replyBytes: 16 })).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/did not answer within 1 s/) });
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      conn.close();
      await peer.close();
    }
  });
});

const standin = await startStandin();
const real = realSheep();
const clusters: SheepCluster[] = [standin, ...(real ? [real] : [])];
afterAll(async () => {
  await standin.stop();
  removeDir(standin.dir);
});

for (const cluster of clusters) {
  const name = `sheepdog (${cluster.kind}, ${cluster.host}:${cluster.port})`;
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name,
      storeId: 'sheep',
      secondStoreId: 'sheep2',
      create: (opts) => MultiStore.create(parseConfig(conf(cluster.host, cluster.port)), opts),
      listStored: () => listCluster(cluster),
      largeImageBytes: 9 * MiB + 7,
      timeout: 120_000,
      faults: {
        target: { host: cluster.host, port: cluster.port },
        create: (proxy, opts) => MultiStore.create(parseConfig(conf(proxy.host, proxy.port)), opts),
      },
    },
  );

  describe(`${name}: the driver`, () => {
    let ms: MultiStore;
    beforeAll(async () => {
      ms = await MultiStore.create(parseConfig(conf(cluster.host, cluster.port)));
    });
    afterAll(() => ms?.close());

    it('writes sheepdog://addr:port:image, reads the old sheepdog://image form, and tells the size from the inode', async () => {
      const id = randomUUID();
      const bytes = randomBytes(5 * MiB + 3);
      const r = await ms.add(id, bytes);
      expect(r.location).toBe(`sheepdog://${cluster.host}:${cluster.port}:${id}`);
      expect((await readAll((await ms.get(`sheepdog://${id}`)).stream)).equals(bytes)).toBe(true);
      expect(await ms.getSize(`sheepdog://${id}`)).toBe(bytes.length);
      expect(await listCluster(cluster)).toContain(`vdi:${id}`);
      await ms.delete(`sheepdog://${id}`);
      await expect(ms.getSize(r.location)).rejects.toMatchObject({ code: 'NotFound' });
      await expect(ms.delete(r.location)).rejects.toMatchObject({ code: 'NotFound' });
      expect(await listCluster(cluster)).not.toContain(`vdi:${id}`);
    });

    it('deletes the data too: DEL_VDI alone would keep it, so data_vdi_id is zeroed first', async () => {
      const conn = new SheepConnection({ host: cluster.host, port: cluster.port }, 'test', 10_000);
      try {
        const id = randomUUID();
        const r = await ms.add(id, randomBytes(4 * MiB + 1));
        const { vid } = await vdiInfo(conn, id);
        await ms.delete(r.location);
        const left = await listCluster(cluster);
        expect(left.filter((e) => e.startsWith(`object:00${vid.toString(16).padStart(6, '0')}`))).toEqual([]);
        // The name is free again; sheep gives it another vid (the deleted inode keeps its own).
        const again = await newVdi(conn, id, 1);
        expect(again.vid).not.toBe(vid);
        await removeVdi(conn, id, 0);
      } finally {
        conn.close();
      }
    });

    it('gives a new name whose vid is taken the next free vid', async () => {
      const conn = new SheepConnection({ host: cluster.host, port: cluster.port }, 'test', 10_000);
      try {
        const first = `vidtest-${randomUUID()}`;
        const a = await newVdi(conn, first, 0);
        expect(a.vid).toBe(nameHashVid(first));
        // Find another name whose hash lands on the taken vid's neighbourhood: the taken one itself, by recreating after delete.
        await removeVdi(conn, first, 0);
        const b = await newVdi(conn, first, 0);
        expect(b.vid).toBe((a.vid + 1) & 0xffffff);
        await removeVdi(conn, first, 0);
      } finally {
        conn.close();
      }
    });

    it('stores two images whose names hash to the same vid, each under its own vid', async () => {
      // Two names whose FNV-1a-64 agree in the low 24 bits: a birthday search finds a pair in a few thousand tries.
      const prefix = `col-${randomUUID().slice(0, 8)}-`;
      const seen = new Map<number, string>();
      let pair: [string, string] | undefined;
      for (let i = 0; !pair; i++) {
        const n = `${prefix}${i}`;
        const other = seen.get(nameHashVid(n));
        if (other) pair = [other, n];
        else seen.set(nameHashVid(n), n);
      }
      const [a, b] = pair;
      const one = randomBytes(4 * MiB + 5);
      const two = randomBytes(3000);
      const ra = await ms.add(a, one);
      const rb = await ms.add(b, two);
      const conn = new SheepConnection({ host: cluster.host, port: cluster.port }, 'test', 10_000);
      try {
        const [va, vb] = [await vdiInfo(conn, a), await vdiInfo(conn, b)];
        expect(va.vid).toBe(nameHashVid(a));
        expect(vb.vid).not.toBe(va.vid);
      } finally {
        conn.close();
      }
      expect((await readAll((await ms.get(ra.location)).stream)).equals(one)).toBe(true);
      expect((await readAll((await ms.get(rb.location)).stream)).equals(two)).toBe(true);
      await ms.delete(ra.location);
      expect((await readAll((await ms.get(rb.location)).stream)).equals(two)).toBe(true);
      await ms.delete(rb.location);
    });

    it('fails an add of an existing image with Duplicate and leaves the first intact', async () => {
      const id = randomUUID();
      const bytes = randomBytes(1000);
      const r = await ms.add(id, bytes);
      await expect(ms.add(id, randomBytes(10))).rejects.toMatchObject({ code: 'Duplicate' });
      expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
      await ms.delete(r.location);
    });

    it('an add whose NEW_VDI never reached the cluster leaves alone the VDI another add of the same id made meanwhile', async () => {
      const id = randomUUID();
      const bytes = randomBytes(6 * MiB + 11);
      // The other add: its VDI exists (and is claimed) while its data is still coming.
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const other = ms.add(id, (async function* () {
        yield bytes.subarray(0, 4 * MiB);
        await gate;
        yield bytes.subarray(4 * MiB);
      })());
      const conn = new SheepConnection({ host: cluster.host, port: cluster.port }, 'test', 10_000);
      const proxy = await FaultProxy.start({ host: cluster.host, port: cluster.port });
      const lines: string[] = [];
      const keep = (o: unknown, msg?: string) => void lines.push(msg ?? String(o));
      const via = await MultiStore.create(parseConfig(conf(proxy.address.host, proxy.address.port)), { logger: { debug: () => undefined, info: keep, warn: keep, error: keep } });
      try {
        for (let t = 0; !(await vdiInfo(conn, id).then(() => true, () => false)); t++) {
          if (t > 100) throw new Error('the other add made no VDI');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        // This add's NEW_VDI is cut before any byte of it reaches the cluster: no answer, and (unknown to the add) not carried out.
        proxy.set({ kind: 'cut', afterBytes: 0, direction: 'up' });
        await expect(via.add(id, randomBytes(1000))).rejects.toMatchObject({ code: 'BackendUnavailable' });
        expect(via.pendingCleanups()).toEqual([]);
        expect(lines.join('\n')).toMatch(new RegExp(`left VDI sheepdog://127.0.0.1:${proxy.address.port}:${id} in place .*claimed by another add`));
        release();
        const r = await other;
        expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
        await ms.delete(r.location);
        expect((await listCluster(cluster)).filter((e) => e.includes(id))).toEqual([]);
      } finally {
        release();
        await other.catch(() => undefined);
        conn.close();
        await via.close();
        await proxy.close();
      }
    });

    it('an add whose NEW_VDI was carried out but never answered removes that VDI (its own claim proves it its own); a concurrent add of the id is Duplicate', async () => {
      const id = randomUUID();
      const proxy = await FaultProxy.start({ host: cluster.host, port: cluster.port });
      const via = await MultiStore.create(parseConfig(conf(proxy.address.host, proxy.address.port)));
      const before = await listCluster(cluster);
      try {
        // The first answer back (NEW_VDI's) is held: the VDI was made, the add never hears so, and is aborted waiting.
        proxy.set({ kind: 'stall', afterBytes: 0, direction: 'down' });
        const ac = new AbortController();
        const lost = via.add(id, randomBytes(5 * MiB), { signal: ac.signal });
        await proxy.nextFault();
        await expect(ms.add(id, randomBytes(10))).rejects.toMatchObject({ code: 'Duplicate' });
        ac.abort();
        await expect(lost).rejects.toMatchObject({ code: 'Aborted' });
        expect(via.pendingCleanups()).toEqual([]);
        expect(await listCluster(cluster)).toEqual(before);
        // The id is free again.
        const r = await ms.add(id, Buffer.from('again'));
        await ms.delete(r.location);
      } finally {
        await via.close();
        await proxy.close();
      }
    });

    it('a connection lost mid-get is an error naming the cluster, never a short read', async () => {
      const proxy = await FaultProxy.start({ host: cluster.host, port: cluster.port });
      const via = await MultiStore.create(parseConfig(conf(proxy.address.host, proxy.address.port)));
      try {
        const bytes = randomBytes(9 * MiB);
        const r = await via.add(randomUUID(), bytes);
        proxy.set({ kind: 'reset', afterBytes: 5 * MiB, direction: 'down' });
        const got = await via.get(r.location);
        const err = await readAll(got.stream).then(
          (b) => new Error(`read ${b.length} bytes`),
          (e: unknown) => e as Error & { code: string },
        );
        expect(err).toMatchObject({ code: 'BackendUnavailable', message: expect.stringContaining(`the sheepdog cluster at ${proxy.address.host}:${proxy.address.port}`) });
        proxy.pass();
        await via.delete(r.location);
      } finally {
        await via.close();
        await proxy.close();
      }
    });
  });
}

/** A cluster of the test's own, to kill and restart: the stand-in, and a real sheep where SHEEPDOG_SHEEP names one (docs/sheepdog.md). */
interface OwnCluster {
  kind: string;
  start(o?: { unformatted?: boolean; dir?: string; port?: number }): Promise<SheepCluster & { dir: string }>;
}
const ownClusters: OwnCluster[] = [
  { kind: 'the stand-in', start: (o = {}) => startStandin([...(o.unformatted ? ['--unformatted'] : []), ...(o.port ? ['--port', String(o.port)] : [])], o.dir) },
  ...(ownSheepBinary() ? [{ kind: 'a real sheep of its own', start: startOwnSheep }] : []),
];

for (const own of ownClusters) {
  describe(`sheepdog (${own.kind}): a cluster that goes away`, () => {
    it('an add that loses its cluster fails naming it; its VDI is removed once the cluster is back', async () => {
      const first = await own.start();
      const ms = await MultiStore.create(parseConfig(conf(first.host, first.port)), { reclaim: { firstPauseMs: 200, maxPauseMs: 400, attemptMs: 2_000 } });
      let back: SheepCluster | undefined;
      try {
        const id = randomUUID();
        const source = (async function* () {
          yield randomBytes(6 * MiB);
          // The cluster dies in the middle of the add.
          await first.stop();
          yield randomBytes(6 * MiB);
        })();
        await expect(ms.add(id, source, { store: 'sheep' })).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringContaining(`the sheepdog cluster at 127.0.0.1:${first.port}`) });
        expect(ms.pendingCleanups()).toMatchObject([{ kind: 'VDI', location: `sheepdog://127.0.0.1:${first.port}:${id}` }]);
        // The cluster comes back on the same port and directory: the reclaimer removes the VDI.
        back = await own.start({ port: first.port, dir: first.dir });
        const deadline = Date.now() + 15_000;
        while (ms.pendingCleanups().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(ms.pendingCleanups()).toEqual([]);
        expect(await listCluster(back)).toEqual([]);
      } finally {
        await ms.close();
        await first.stop();
        await back?.stop();
        removeDir(first.dir);
      }
    });

    it('a get whose cluster is killed mid-image fails naming it, never ending short; nothing is left once the cluster is back', async () => {
      const first = await own.start();
      const ms = await MultiStore.create(parseConfig(conf(first.host, first.port)));
      let back: SheepCluster | undefined;
      try {
        const bytes = randomBytes(40 * MiB);
        const r = await ms.add(randomUUID(), bytes);
        const got = await ms.get(r.location);
        let read = 0;
        const err = await (async () => {
          for await (const chunk of got.stream) {
            // The cluster dies once the first bytes are in.
            if (read === 0) await first.stop();
            read += (chunk as Buffer).length;
          }
          return new Error(`the stream ended after ${read} of ${bytes.length} bytes`);
        })().catch((e: unknown) => e as Error & { code: string });
        expect(err).toMatchObject({ code: 'BackendUnavailable', message: expect.stringContaining(`the sheepdog cluster at 127.0.0.1:${first.port}`) });
        expect(read).toBeLessThan(bytes.length);
        back = await own.start({ port: first.port, dir: first.dir });
        // The image is whole on the cluster that came back; deleting it leaves nothing.
        expect((await readAll((await ms.get(r.location)).stream)).equals(bytes)).toBe(true);
        await ms.delete(r.location);
        expect(await listCluster(back)).toEqual([]);
      } finally {
        await ms.close();
        await first.stop();
        await back?.stop();
        removeDir(first.dir);
      }
    });

    it('an unformatted cluster fails calls with BackendUnavailable saying so', async () => {
      const c = await own.start({ unformatted: true });
      const ms = await MultiStore.create(parseConfig(conf(c.host, c.port)));
      try {
        await expect(ms.add(randomUUID(), Buffer.from('x'))).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/the sheepdog cluster at 127\.0\.0\.1:\d+.*not formatted.*dog cluster format/) });
        await expect(ms.getSize(`sheepdog://127.0.0.1:${c.port}:x`)).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/not formatted/) });
        await expect(ms.get(`sheepdog://127.0.0.1:${c.port}:x`)).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/not formatted/) });
        await expect(ms.delete(`sheepdog://127.0.0.1:${c.port}:x`)).rejects.toMatchObject({ code: 'BackendUnavailable', message: expect.stringMatching(/not formatted/) });
        expect(ms.pendingCleanups()).toEqual([]);
      } finally {
        await ms.close();
        await c.stop();
        removeDir(c.dir);
      }
    });
  });
}
