/**
 * The vmware store when vcsim itself fails: stopped (SIGSTOP) under an add,
 * killed, and restarted. Every call settles in bounded time, an abort is
 * prompt, what a failed add wrote is gone once vcsim answers again, and the
 * store logs in again to the restarted server by itself.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MultiStore, parseConfig } from '../../src/index.js';
import { readAll } from '../../src/testing/index.js';
import { kill, pause, restart, withFault, type Daemon } from '../services/daemons.js';
import { serviceEnv } from '../services/env.js';

const env = serviceEnv('vcsim');
const VCSIM: Daemon = { service: 'vcsim', name: 'vcsim' };

describe.skipIf(!env)('vmware store when vcsim fails', () => {
  const root = env?.['VCSIM_DATASTORE_ROOT'] ?? '';
  const dir = `faults-${randomUUID().slice(0, 8)}`;
  let ms: MultiStore;

  const stored = () => readdirSync(root).flatMap((ds) => (existsSync(path.join(root, ds, dir)) ? readdirSync(path.join(root, ds, dir)).map((f) => `${ds}/${f}`) : []));

  beforeAll(async () => {
    ms = await MultiStore.create(
      parseConfig(`[DEFAULT]
enabled_backends = vm:vmware
[glance_store]
default_backend = vm
[vm]
vmware_server_host = ${env!['VCSIM_HOST']}
vmware_server_username = ${env!['VCSIM_USER']}
vmware_server_password = ${env!['VCSIM_PASSWORD']}
vmware_ca_file = ${env!['VCSIM_CA_FILE']}
vmware_store_image_dir = /${dir}
vmware_api_retry_count = 2
vmware_task_poll_interval = 1
vmware_datastores = DC0:${env!['VCSIM_DATASTORE']}
`),
    );
  });
  afterAll(async () => {
    await ms?.close();
  });

  it('an add under a stopped vcsim ends soon after the abort, and its upload is removed once vcsim runs again', async () => {
    const ac = new AbortController();
    const chunk = randomBytes(64 * 1024);
    let sent = 0;
    const source = (async function* () {
      for (;;) {
        sent += chunk.length;
        yield chunk;
        await sleep(5);
      }
    })();
    const adding = ms.add(randomUUID(), source, { signal: ac.signal });
    const outcome = adding.then(
      () => undefined,
      (err: unknown) => err as { code?: string },
    );
    while (sent < 1024 * 1024) await sleep(20);
    await withFault(VCSIM, async () => {
      await pause(VCSIM);
      await sleep(300);
      const abortedAt = Date.now();
      ac.abort();
      const err = await outcome;
      expect(Date.now() - abortedAt).toBeLessThan(5_000);
      expect(['Aborted', 'BackendUnavailable']).toContain(err?.code);
    });
    // vcsim runs again: the reclaimer removes the upload's file.
    const deadline = Date.now() + 60_000;
    while ((stored().length || ms.pendingCleanups().length) && Date.now() < deadline) await sleep(250);
    expect(stored()).toEqual([]);
    expect(ms.pendingCleanups()).toEqual([]);
  });

  it('a killed vcsim fails calls with BackendUnavailable in bounded time; restarted, the store logs in again and reads what it wrote', async () => {
    const bytes = randomBytes(300_000);
    const before = await ms.add(randomUUID(), bytes);
    await withFault(VCSIM, async () => {
      await kill(VCSIM);
      const started = Date.now();
      await expect(ms.add(randomUUID(), randomBytes(1000))).rejects.toMatchObject({ code: 'BackendUnavailable' });
      await expect(ms.getSize(before.location)).rejects.toMatchObject({ code: 'BackendUnavailable' });
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(stored().length).toBe(1);
      await restart(VCSIM);
    });
    // A new server: the store's session is unknown to it, and it logs in again by itself.
    expect((await readAll((await ms.get(before.location)).stream)).equals(bytes)).toBe(true);
    const after = await ms.add(randomUUID(), randomBytes(1000));
    await ms.delete(after.location);
    await ms.delete(before.location);
    expect(stored()).toEqual([]);
  });
});
