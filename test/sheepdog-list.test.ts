/**
 * What a sheepdog store lists, VDI by VDI: a VDI without a claim
 * (glance_store's), one whose add finished, one whose add left its claim
 * open (a process that died mid-add), one claimed before adds marked
 * theirs finished, and names that are no image ids. Against the stand-in,
 * and a real sheep when SHEEPDOG_ADDR is set (docs/sheepdog.md).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { MultiStore, parseConfig, type ListedImage, type StoreLeftover } from '../src/index.js';
import { SheepConnection } from '../src/drivers/sheepdog/connection.js';
import { FLAG_CREAT, FLAG_EXCL, FLAG_WRITE, Inode, Op, Result, attrPayload, inodeOid } from '../src/drivers/sheepdog/protocol.js';
import { claimVdi } from '../src/drivers/sheepdog/owner.js';
import { newVdi, writeObject } from '../src/drivers/sheepdog/vdi.js';
import { removeVdi } from '../src/drivers/sheepdog/remove.js';
import { realSheep, removeDir, startStandin, type SheepCluster } from './services/sheepdog.js';

const standin = await startStandin();
const real = realSheep();
afterAll(async () => {
  await standin.stop();
  removeDir(standin.dir);
});

async function collect<T>(entries: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const e of entries) all.push(e);
  return all;
}

/** A claim as adds wrote it before they marked theirs finished: the token alone. */
async function unmarkedClaim(conn: SheepConnection, name: string, vid: number): Promise<void> {
  const payload = attrPayload(name, `glance-store.owner.${vid.toString(16)}`, Buffer.from(randomUUID(), 'utf8'));
  const { rsp } = await conn.request({ kind: 'vdi', opcode: Op.GET_VDI_ATTR, flags: FLAG_WRITE | FLAG_CREAT | FLAG_EXCL, dataLength: payload.length }, { payload });
  expect(rsp.result).toBe(Result.SUCCESS);
}

/** Sets a VDI's creation time (seconds in create_time's high 32 bits), as if it was made `ago` ms before. */
async function createdAgo(conn: SheepConnection, vid: number, ago: number): Promise<void> {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(Math.floor((Date.now() - ago) / 1000)) << 32n);
  await writeObject(conn, inodeOid(vid), Inode.CREATE_TIME, b, 0);
}

for (const cluster of [standin, ...(real ? [real] : [])] as SheepCluster[]) {
  describe(`sheepdog (${cluster.kind}): list() and leftovers()`, () => {
    let ms: MultiStore;
    let conn: SheepConnection;
    beforeAll(async () => {
      ms = await MultiStore.create(parseConfig(`[DEFAULT]\nenabled_backends = sheep:sheepdog\n[glance_store]\ndefault_backend = sheep\n[sheep]\nsheepdog_store_address = ${cluster.host}\nsheepdog_store_port = ${cluster.port}\n`));
      conn = new SheepConnection({ host: cluster.host, port: cluster.port }, 'test', 10_000);
    });
    afterAll(async () => {
      conn?.close();
      await ms?.close();
    });

    it('lists finished adds and unclaimed VDIs as images, an open claim as a leftover aged from the VDI\'s creation, and no other name', async () => {
      const [added, unclaimed, unmarked, open] = Array.from({ length: 4 }, () => randomUUID()) as [string, string, string, string];
      // A VDI of another user of the cluster, whose name no add writes.
      const notAnImage = `scratch disk ${randomUUID()}`;
      const bytes = randomBytes(4 * 1024 * 1024 + 9);
      const made: string[] = [];
      try {
        await ms.add(added, bytes);
        made.push(added);
        // glance_store's own VDIs carry no claim.
        await newVdi(conn, unclaimed, 1000);
        made.push(unclaimed);
        const u = await newVdi(conn, unmarked, 2000);
        made.push(unmarked);
        await unmarkedClaim(conn, unmarked, u.vid);
        // What an add that died after its claim leaves: the claim still open, made two hours ago.
        const o = await newVdi(conn, open, 3000);
        made.push(open);
        expect(await claimVdi(conn, open, o.vid, randomUUID())).toBe('ours');
        await createdAgo(conn, o.vid, 2 * 3600_000);
        await newVdi(conn, notAnImage, 10);
        made.push(notAnImage);

        const ours = new Set(made);
        const images = (await collect<ListedImage>(ms.list('sheep'))).filter((i) => ours.has(i.id));
        const at = (id: string) => `sheepdog://${cluster.host}:${cluster.port}:${id}`;
        expect(images.map(({ since: _since, ...i }) => i).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
          [
            { id: added, size: bytes.length, location: at(added) },
            { id: unclaimed, size: 1000, location: at(unclaimed) },
            { id: unmarked, size: 2000, location: at(unmarked) },
          ].sort((a, b) => a.id.localeCompare(b.id)),
        );
        for (const i of images) expect(Math.abs(Date.now() - i.since!.getTime())).toBeLessThan(120_000);

        const left = (await collect<StoreLeftover>(ms.leftovers('sheep'))).filter((l) => ours.has(l.imageId ?? ''));
        expect(left).toEqual([{ kind: 'VDI of an unfinished add', location: at(open), imageId: open, since: expect.any(Date), size: 3000 }]);
        expect(Math.abs(Date.now() - 2 * 3600_000 - left[0]!.since!.getTime())).toBeLessThan(120_000);
      } finally {
        for (const name of made) await removeVdi(conn, name, 0).catch(() => undefined);
      }
      expect((await collect<ListedImage>(ms.list('sheep'))).filter((i) => made.includes(i.id))).toEqual([]);
    });

    it('stops when the caller aborts, saying how many entries it had given', async () => {
      const made = [randomUUID(), randomUUID()];
      try {
        for (const id of made) await newVdi(conn, id, 1);
        const ac = new AbortController();
        let seen = 0;
        const err = await (async () => {
          for await (const _ of ms.list('sheep', { signal: ac.signal })) {
            seen++;
            ac.abort();
          }
        })().catch((e: unknown) => e);
        expect(seen).toBe(1);
        expect(err).toMatchObject({ code: 'Aborted', listed: 1 });
      } finally {
        for (const id of made) await removeVdi(conn, id, 0).catch(() => undefined);
      }
    });
  });
}
