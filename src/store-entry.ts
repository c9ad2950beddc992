/**
 * A store as MultiStore keeps it (its spec, its driver once started or why
 * it could not start, its start-up warnings, its reclaimer) and what the
 * info calls say of one: Glance's /v2/info/stores entry, its detail, and
 * the store's state. Kept apart from MultiStore so the class holds the
 * calls, and what a store looks like from outside is read in one place.
 */
import type { StoreInfo, StoreInfoDetail, StoreState } from './multistore-types.js';
import type { StoreSpec } from './config/stores.js';
import { maskSecrets } from './config/options.js';
import type { GlanceStoreError } from './errors.js';
import type { Capability, StoreDriver } from './driver.js';
import { maskDeep } from './location.js';
import type { Reclaimer } from './pipeline/reclaim.js';

export interface StoreEntry {
  spec: StoreSpec;
  driver?: StoreDriver;
  error?: GlanceStoreError;
  /** What the driver warned about while it started. */
  warnings: string[];
  /** Removes what failed adds left, again later when the backend is down. */
  reclaimer: Reclaimer;
}

/** The store's entry of Glance's /v2/info/stores. */
export function infoOf(e: StoreEntry, defaultBackend: string): StoreInfo {
  const readOnly = e.spec.definition.readOnly === true || (e.driver ? !e.driver.capabilities().has('write') : false);
  return {
    id: e.spec.id,
    description: e.spec.description,
    ...(e.spec.id === defaultBackend ? { default: true as const } : {}),
    ...(readOnly ? { 'read-only': true as const } : {}),
  };
}

/** The store's entry of Glance's /v2/info/stores/detail: type, weight and non-secret properties. */
export function detailOf(e: StoreEntry, defaultBackend: string): StoreInfoDetail {
  const props = { ...maskSecrets(e.spec.definition.options, e.spec.options), ...(e.driver?.properties?.() ?? {}) };
  return { ...infoOf(e, defaultBackend), type: e.spec.type, weight: e.spec.weight, properties: maskDeep(stripSecrets(props, e.spec)) };
}

/** Whether the store started and what it can do. */
export function stateOf(e: StoreEntry): StoreState {
  const capabilities = e.driver ? [...e.driver.capabilities()] : [];
  const problem = e.error?.message ?? lostCapability(e.spec, capabilities, e.warnings);
  return {
    id: e.spec.id,
    type: e.spec.type,
    reserved: e.spec.reserved,
    ok: problem === undefined,
    ...(problem !== undefined ? { error: problem } : {}),
    capabilities,
    warnings: [...e.warnings],
  };
}

/**
 * Why a started store is short of what its type can do: a store of a type
 * that writes, which could not write when it started (a datadir that cannot
 * be created). Its warnings say why, when the driver gave them.
 */
function lostCapability(spec: StoreSpec, capabilities: readonly Capability[], warnings: readonly string[]): string | undefined {
  if (spec.definition.readOnly || capabilities.includes('write') || capabilities.length === 0) return undefined;
  return `Store ${spec.id} cannot write${warnings.length ? `: ${warnings.join('; ')}` : ' (its backend refused writes at start)'}`;
}

function stripSecrets(props: Record<string, unknown>, spec: StoreSpec): Record<string, unknown> {
  const secret = new Set(spec.definition.options.filter((o) => o.secret).map((o) => o.name));
  return Object.fromEntries(Object.entries(props).filter(([k]) => !secret.has(k)));
}
