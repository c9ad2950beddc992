/**
 * The cinder driver against a real OpenStack Cinder (test/services/cinder.sh:
 * Debian's Cinder with its RBD backend on the test Ceph), with noauth
 * (token `admin:admin`, the caller's request context) and behind Keystone
 * (test/services/cinder-keystone.sh, the store's own cinder_store_* user).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { request } from 'undici';
import { MultiStore, parseConfig } from '../src/index.js';
import type { RequestContext } from '../src/driver.js';
import type { MultiStoreOptions } from '../src/multistore.js';
import { formatCinderLocation, parseCinderLocation } from '../src/drivers/cinder/location.js';
import { runStoreConformance, readAll } from './conformance/index.js';
import { serviceEnv } from './services/env.js';

const cinder = serviceEnv('cinder');
const GiB = 2 ** 30;

function conf(env: Record<string, string>, extra = ''): string {
  return `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\nstore_description = Cinder volumes\ncinder_endpoint_template = ${env['CINDER_ENDPOINT_TEMPLATE']}\ncinder_state_transition_timeout = 60\n${extra}`;
}

function contextOf(env: Record<string, string>): RequestContext {
  return { userId: env['CINDER_USER_ID']!, projectId: env['CINDER_PROJECT_ID']!, authToken: env['CINDER_TOKEN']!, serviceCatalog: [] };
}

/**
 * Glance passes a request context on every call; this MultiStore passes the
 * noauth one, so the conformance suite (which passes none) runs as Glance would.
 */
function withContext(ms: MultiStore, context: RequestContext): MultiStore {
  /** Where each call takes its options. */
  const optionsAt: Record<string, number> = { add: 2, copy: 2, get: 1, getSize: 1, delete: 1 };
  return new Proxy(ms, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const at = optionsAt[prop as string];
      if (at === undefined) return value.bind(target);
      return (...args: unknown[]) => {
        args[at] = { context, ...(args[at] as object | undefined) };
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function cinderCall<T>(env: Record<string, string>, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const res = await request(`${env['CINDER_URL']}/${env['CINDER_PROJECT_ID']}${path}`, {
    method,
    headers: { 'x-auth-token': env['CINDER_TOKEN']!, 'openstack-api-version': 'volume 3.54', 'content-type': 'application/json', accept: 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, data: (text ? JSON.parse(text) : undefined) as T };
}

interface TestVolume {
  id: string;
  name: string | null;
  size: number;
  status: string;
  metadata: Record<string, string>;
}

async function volumes(env: Record<string, string>): Promise<TestVolume[]> {
  return (await cinderCall<{ volumes: TestVolume[] }>(env, 'GET', '/volumes/detail')).data.volumes;
}

function rbdImages(env: Record<string, string>): string[] {
  const out = execFileSync('rbd', ['-c', env['CINDER_CEPH_CONF']!, '--id', env['CINDER_CEPH_USER']!, 'ls', '--format', 'json', env['CINDER_CEPH_POOL']!], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

/** What Cinder and its pool hold: volumes of the project (with their status) and rbd images. */
async function listStored(env: Record<string, string>): Promise<string[]> {
  const vols = (await volumes(env)).map((v) => `volume:${v.id}`);
  return [...vols, ...rbdImages(env).map((i) => `rbd:${i}`)];
}

if (cinder) {
  const context = contextOf(cinder);
  runStoreConformance(
    { describe, it, beforeAll, afterAll },
    {
      name: 'cinder (OpenStack Cinder, RBD volumes, noauth request context)',
      storeId: 'volumes',
      create: async (opts: MultiStoreOptions) => withContext(await MultiStore.create(parseConfig(conf(cinder)), opts), context),
      listStored: () => listStored(cinder),
      largeImageBytes: 9 * 1024 * 1024 + 7,
      // Past the first GiB: the volume is detached, extended and attached again; 1 MiB chunks are generated, never held.
      streaming: { imageBytes: GiB + 5 * 1024 * 1024, maxGrowthBytes: 96 * 1024 * 1024 },
      timeout: 240_000,
    },
  );
}

describe('cinder locations', () => {
  it('are cinder://<store id>/<volume id>, and the legacy cinder://<volume id> is read', () => {
    const id = '0b6a3f2e-4b9d-4c1e-9a57-2f3c8e1d6a40';
    expect(formatCinderLocation({ storeId: 'volumes', volumeId: id })).toBe(`cinder://volumes/${id}`);
    expect(formatCinderLocation({ volumeId: id })).toBe(`cinder://${id}`);
    expect(parseCinderLocation(`cinder://volumes/${id}`)).toEqual({ storeId: 'volumes', volumeId: id });
    expect(parseCinderLocation(`cinder://${id}`)).toEqual({ volumeId: id });
    // As glance_store (oslo's is_uuid_like): any case, with or without dashes.
    expect(parseCinderLocation(`cinder://${id.toUpperCase().replace(/-/g, '')}`).volumeId).toBe(id.toUpperCase().replace(/-/g, ''));
    expect(() => parseCinderLocation('cinder://volumes/not-a-volume')).toThrow(/volume id/);
    expect(() => parseCinderLocation(`rbd://${id}`)).toThrow(/Not a cinder location/);
  });
});
