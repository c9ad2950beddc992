/**
 * What the store asks of vCenter's inventory: datacenters by inventory path,
 * their datastores, properties through the PropertyCollector, and the state
 * of a task, which the store polls until it ends (waitUntil).
 */
import { BackendError, BadStoreConfigurationError } from '../../errors.js';
import { reached, waitUntil, waiting } from '../../net/poller.js';
import { vimFaultError, VimFault, type VsphereSession } from './session.js';
import { child, children, moRef, stripPrefix, text, type MoRef, type Node, type SoapFault } from './soap.js';

/** Property values of one object, by property path. */
export type Properties = Map<string, Node | Node[] | undefined>;

/** The properties `paths` of each object in `objects` (all of one type), in one PropertyCollector call. */
export async function retrieveProperties(session: VsphereSession, objects: readonly MoRef[], paths: readonly string[], signal?: AbortSignal): Promise<Map<string, Properties>> {
  const out = new Map<string, Properties>();
  if (objects.length === 0) return out;
  const content = await session.serviceContent(signal);
  const specSet = {
    propSet: { type: objects[0]!.type, all: false, pathSet: [...paths] },
    objectSet: objects.map((obj) => ({ obj, skip: false })),
  };
  const results = await session.invoke('RetrieveProperties', content.propertyCollector, { specSet }, signal, missingProperty);
  for (const object of results) {
    const ref = moRef(child(object, 'obj'));
    if (!ref) continue;
    const props: Properties = new Map();
    for (const p of children(object, 'propSet')) props.set(text(child(p, 'name')) ?? '', child(p, 'val'));
    out.set(ref.value, props);
  }
  return out;
}

/**
 * The fault of a property the server left out (`missingSet`): vCenter says
 * so, rather than failing the call, when the session is not authenticated.
 */
function missingProperty(results: Node[]): SoapFault | undefined {
  for (const object of results) {
    for (const missing of children(object, 'missingSet')) {
      const fault = child(child(missing, 'fault'), 'fault');
      const type = stripPrefix(text(child(fault, '@type')) ?? 'Unknown');
      return { type, message: `property ${text(child(missing, 'path')) ?? '?'} of ${text(child(object, 'obj')) ?? '?'} is missing` };
    }
  }
  return undefined;
}

/** A datacenter by its inventory path (`DC0`, `folder/DC1`), or undefined when there is none. */
export async function findDatacenter(session: VsphereSession, path: string, signal?: AbortSignal): Promise<MoRef | undefined> {
  const content = await session.serviceContent(signal);
  const [found] = await session.invoke('FindByInventoryPath', content.searchIndex, { inventoryPath: path }, signal);
  const ref = moRef(found);
  return ref?.type === 'Datacenter' ? ref : undefined;
}

/** The datastores of a datacenter, by name. */
export async function datastoresOf(session: VsphereSession, datacenter: MoRef, signal?: AbortSignal): Promise<Map<string, MoRef>> {
  const dc = (await retrieveProperties(session, [datacenter], ['datastore'], signal)).get(datacenter.value);
  const refs = children(dc?.get('datastore'), 'ManagedObjectReference')
    .map((n) => moRef(n))
    .filter((r): r is MoRef => r !== undefined);
  const names = await retrieveProperties(session, refs, ['name'], signal);
  const byName = new Map<string, MoRef>();
  for (const ref of refs) {
    const name = text(names.get(ref.value)?.get('name'));
    if (name !== undefined) byName.set(name, ref);
  }
  return byName;
}

/** A datastore's free space and whether it can be used now (`summary.freeSpace`, `summary.accessible`). */
export interface DatastoreState {
  freeSpace: number;
  accessible: boolean;
}

export async function datastoreStates(session: VsphereSession, datastores: readonly MoRef[], signal?: AbortSignal): Promise<Map<string, DatastoreState>> {
  const props = await retrieveProperties(session, datastores, ['summary.freeSpace', 'summary.accessible'], signal);
  const out = new Map<string, DatastoreState>();
  for (const ds of datastores) {
    const p = props.get(ds.value);
    const free = Number(text(p?.get('summary.freeSpace')));
    out.set(ds.value, { freeSpace: Number.isFinite(free) ? free : 0, accessible: text(p?.get('summary.accessible')) === 'true' });
  }
  return out;
}

export interface TaskWait {
  /** What the task does, in messages. */
  what: string;
  pollIntervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * Waits for a task to end: resolves with its result (`info.result`, none
 * for a file task) when it succeeded; a task that failed rejects with the
 * error its fault means (FileNotFound: NotFound). The first looks come
 * quickly (most file tasks end at once), later ones at
 * vmware_task_poll_interval.
 */
export async function waitForTask(session: VsphereSession, task: MoRef, o: TaskWait): Promise<Node | Node[] | undefined> {
  const outcome = await waitUntil<{ result: Node | Node[] | undefined } | SoapFault>(
    async () => {
      const info = (await retrieveProperties(session, [task], ['info'], o.signal)).get(task.value)?.get('info');
      const state = text(child(info, 'state'));
      if (state === 'success') return reached({ result: child(info, 'result') });
      if (state === 'error') {
        const error = child(info, 'error');
        const fault = child(error, 'fault');
        const type = stripPrefix(text(child(fault, '@type')) ?? 'Unknown');
        return reached({ type, message: text(child(error, 'localizedMessage')) ?? type });
      }
      return waiting(`task ${task.value} ${state ?? 'in an unknown state'}`);
    },
    { what: o.what, timeoutMs: o.timeoutMs, firstPauseMs: 50, maxPauseMs: o.pollIntervalMs, signal: o.signal },
  );
  if ('result' in outcome) return outcome.result;
  throw vimFaultError(o.what, outcome, new VimFault(outcome));
}

/** A datastore the store may write to, resolved on the server. */
export interface ResolvedDatastore {
  datacenterPath: string;
  datacenter: MoRef;
  name: string;
  ref: MoRef;
  weight: number;
}

/** Resolves `datacenter_path:datastore_name` entries; a missing datacenter or datastore is a configuration error, as in glance_store. */
export async function resolveDatastores(
  session: VsphereSession,
  storeId: string,
  specs: readonly { datacenterPath: string; datastoreName: string; weight: number }[],
  signal?: AbortSignal,
): Promise<ResolvedDatastore[]> {
  const datacenters = new Map<string, { ref: MoRef; datastores: Map<string, MoRef> }>();
  const problems: string[] = [];
  const out: ResolvedDatastore[] = [];
  for (const spec of specs) {
    let dc = datacenters.get(spec.datacenterPath);
    if (!dc) {
      const ref = await findDatacenter(session, spec.datacenterPath, signal);
      if (!ref) {
        problems.push(`[${storeId}] vmware_datastores: vCenter has no datacenter at ${JSON.stringify(spec.datacenterPath)}`);
        continue;
      }
      dc = { ref, datastores: await datastoresOf(session, ref, signal) };
      datacenters.set(spec.datacenterPath, dc);
    }
    const ds = dc.datastores.get(spec.datastoreName);
    if (!ds) {
      problems.push(`[${storeId}] vmware_datastores: could not find datastore ${spec.datastoreName} in datacenter ${spec.datacenterPath}`);
      continue;
    }
    out.push({ datacenterPath: spec.datacenterPath, datacenter: dc.ref, name: spec.datastoreName, ref: ds, weight: spec.weight });
  }
  if (problems.length) throw new BadStoreConfigurationError(problems);
  return out;
}

/**
 * glance_store's choice: weights from the highest; within a weight the
 * accessible datastore with the most free space, taken when it can hold
 * `size` bytes (0 when the size is unknown); else the next weight.
 */
export function chooseDatastore<T extends { ref: MoRef; weight: number }>(candidates: readonly T[], states: ReadonlyMap<string, DatastoreState>, size: number): T | undefined {
  const weights = [...new Set(candidates.map((c) => c.weight))].sort((a, b) => b - a);
  for (const w of weights) {
    let best: T | undefined;
    let bestFree = -1;
    for (const c of candidates) {
      const s = states.get(c.ref.value);
      if (c.weight !== w || !s?.accessible) continue;
      if (s.freeSpace > bestFree) {
        best = c;
        bestFree = s.freeSpace;
      }
    }
    if (best && bestFree >= size) return best;
  }
  return undefined;
}

/** A task reference from the answer of a `..._Task` call. */
export function taskOf(results: Node[], what: string): MoRef {
  const ref = moRef(results[0]);
  if (!ref) throw new BackendError(`${what}: vCenter started no task`);
  return ref;
}

