/**
 * Calls on the test Cinder (test/services/cinder.sh, noauth) for the cinder
 * driver's tests: the store's config, the request context Glance would pass,
 * and what Cinder and its RBD pool hold, seen without the store.
 */
import { execFileSync } from 'node:child_process';
import { request } from 'undici';
import type { RequestContext } from '../../src/driver.js';
import type { MultiStore } from '../../src/index.js';

export function conf(env: Record<string, string>, extra = ''): string {
  return `[DEFAULT]\nenabled_backends = volumes:cinder\n[glance_store]\ndefault_backend = volumes\n[volumes]\nstore_description = Cinder volumes\ncinder_endpoint_template = ${env['CINDER_ENDPOINT_TEMPLATE']}\ncinder_state_transition_timeout = 60\n${extra}`;
}

export function contextOf(env: Record<string, string>): RequestContext {
  return { userId: env['CINDER_USER_ID']!, projectId: env['CINDER_PROJECT_ID']!, authToken: env['CINDER_TOKEN']!, serviceCatalog: [] };
}

/**
 * Glance passes a request context on every call; this MultiStore passes the
 * noauth one, so the conformance suite (which passes none) runs as Glance would.
 */
export function withContext(ms: MultiStore, context: RequestContext): MultiStore {
  /** Where each call takes its options. */
  const optionsAt: Record<string, number> = { add: 2, copy: 2, get: 1, getSize: 1, delete: 1, list: 1, leftovers: 1 };
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

export async function cinderCall<T>(env: Record<string, string>, method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const res = await request(`${env['CINDER_URL']}/${env['CINDER_PROJECT_ID']}${path}`, {
    method,
    headers: { 'x-auth-token': env['CINDER_TOKEN']!, 'openstack-api-version': 'volume 3.54', 'content-type': 'application/json', accept: 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, data: (text ? JSON.parse(text) : undefined) as T };
}

export interface TestVolume {
  id: string;
  name: string | null;
  size: number;
  status: string;
  metadata: Record<string, string>;
}

export async function volumes(env: Record<string, string>): Promise<TestVolume[]> {
  return (await cinderCall<{ volumes: TestVolume[] }>(env, 'GET', '/volumes/detail')).data.volumes;
}

export function rbdImages(env: Record<string, string>): string[] {
  const out = execFileSync('rbd', ['-c', env['CINDER_CEPH_CONF']!, '--id', env['CINDER_CEPH_USER']!, 'ls', '--format', 'json', env['CINDER_CEPH_POOL']!], { encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

/** What Cinder and its pool hold: volumes of the project (with their status) and rbd images. */
export async function listStored(env: Record<string, string>): Promise<string[]> {
  const vols = (await volumes(env)).map((v) => `volume:${v.id}`);
  return [...vols, ...rbdImages(env).map((i) => `rbd:${i}`)];
}

/** The attachments of one volume, whoever made them. */
export async function attachmentsOf(env: Record<string, string>, volumeId: string): Promise<Array<{ id: string; status: string; instance: string | null }>> {
  return (await cinderCall<{ attachments: Array<{ id: string; status: string; instance: string | null }> }>(env, 'GET', `/attachments?volume_id=${volumeId}`)).data.attachments;
}
