/**
 * The vmware store: images as files on vSphere datastores, written and read
 * through vCenter's `/folder` endpoint (./files.ts), with one SOAP session
 * for login, free space, moves and deletes (./session.ts, ./inventory.ts).
 * Locations are glance_store's (./location.ts), so either library reads and
 * deletes the other's images.
 *
 * An add streams into a file of its own beside the image's name and moves it
 * to that name without overwriting (MoveDatastoreFile_Task, force false), so
 * an image is never seen half-written and two adds of one id cannot both
 * win: the `/folder` endpoint itself overwrites on PUT.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Capability, DriverAddOptions, DriverAddResult, DriverCallOptions, DriverContext, DriverGetOptions, DriverGetResult, DriverListOptions, ListedImage, StoreLeftover, WritableStoreDriver } from '../../driver.js';
import { BadStoreUriError, DuplicateError, NotFoundError, StorageFullError } from '../../errors.js';
import { throwStoreProblems } from '../store-problems.js';
import { maskLocation } from '../../location.js';
import { ServiceClient } from '../../net/client.js';
import { transportError } from '../../net/failure.js';
import { readTls } from '../../net/tls.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import { DatastoreFiles } from './files.js';
import { listVmwareImages, vmwareLeftovers, type VmwareListing } from './list.js';
import { chooseDatastore, datastoreStates, findDatacenter, resolveDatastores, taskOf, waitForTask, type ResolvedDatastore } from './inventory.js';
import { datastorePath, FOLDER_PREFIX, formatVsphereLocation, parseVsphereLocation, type VsphereLocation } from './location.js';
import { parseDatastoreSpec, parseServerHost, type DatastoreSpec, type VmwareStoreOptions } from './options.js';
import { isStaleReference, VsphereSession } from './session.js';
import type { MoRef, Node } from './soap.js';

const CONNECT_TIMEOUT_MS = 30_000;
const ANSWER_TIMEOUT_MS = 60_000;

export class VmwareStore implements WritableStoreDriver {
  private datastores: Promise<ResolvedDatastore[]> | undefined;
  private readonly datacenters = new Map<string, MoRef>();

  private constructor(
    readonly id: string,
    private readonly o: VmwareStoreOptions,
    /** The host part of locations: vmware_server_host as configured. */
    private readonly host: string,
    private readonly specs: readonly DatastoreSpec[],
    private readonly client: ServiceClient,
    private readonly session: VsphereSession,
    private readonly files: DatastoreFiles,
    private readonly reclaimer: Reclaimer,
    private readonly verified: boolean,
  ) {}

  static create(ctx: DriverContext<VmwareStoreOptions>): VmwareStore {
    const o = ctx.options;
    const { tls, problems } = readTls({ caFile: o.vmware_ca_file, insecure: o.vmware_insecure }, { caFile: 'vmware_ca_file', insecure: 'vmware_insecure' });
    // The options' own rules (VMWARE_OPTIONS) were checked with the whole config.
    const server = parseServerHost(o.vmware_server_host)!;
    const specs = o.vmware_datastores.map((e) => parseDatastoreSpec(e) as DatastoreSpec);
    throwStoreProblems(ctx.id, problems);
    const client = ServiceClient.create({
      service: 'vCenter',
      tls,
      timeouts: { connectMs: CONNECT_TIMEOUT_MS, headersMs: ANSWER_TIMEOUT_MS, bodyMs: ANSWER_TIMEOUT_MS },
      // A connection that was refused reached nothing: it is tried again, as oslo.vmware does.
      retry: { attempts: o.vmware_api_retry_count, firstPauseMs: 100, maxPauseMs: 1000 },
    });
    const origin = `https://${server.host}:${server.port}`;
    const session = new VsphereSession(client, { origin, username: o.vmware_server_username, password: o.vmware_server_password });
    ctx.logger.warn(
      `[${ctx.id}] The vmware store is deprecated in glance_store since 2024.1 (the VMware driver of Nova is experimental): plan to move images to another store`,
    );
    // As glance_store writes it: the option as given, a bare IPv6 address in brackets.
    const given = o.vmware_server_host.trim();
    const host = given.split(':').length > 2 && !given.startsWith('[') ? `[${given}]` : given;
    return new VmwareStore(ctx.id, o, host, specs, client, session, new DatastoreFiles(client, session, origin), ctx.reclaimer, tls.verified);
  }

  capabilities(): ReadonlySet<Capability> {
    return new Set<Capability>(['read', 'read-random', 'write']);
  }

  properties(): Record<string, unknown> {
    return {
      server_host: this.host,
      image_dir: this.o.vmware_store_image_dir,
      datastores: this.specs.map((s) => ({ datacenter_path: s.datacenterPath, datastore_name: s.datastoreName, weight: s.weight })),
      tls_verified: this.verified,
    };
  }

  ownsLocation(location: string): boolean {
    try {
      return parseVsphereLocation(location).host.toLowerCase() === this.host.toLowerCase();
    } catch {
      return false;
    }
  }

  async add(imageId: string, data: AsyncIterable<Uint8Array>, options: DriverAddOptions): Promise<DriverAddResult> {
    const signal = options.signal;
    const where = `image ${imageId} in store ${this.id}`;
    const ds = await this.chooseDatastore(options.size ?? 0, signal);
    const location = formatVsphereLocation(this.host, this.o.vmware_store_image_dir, imageId, ds.name, ds.datacenterPath);
    const loc = parseVsphereLocation(location);
    if ((await this.files.size(loc, `HEAD of ${where}`, signal)) !== undefined) throw new DuplicateError(`Image ${imageId} already exists in store ${this.id}`);
    // The upload's own file, beside the image's name (what a failed add may leave, and removes).
    const part: VsphereLocation = { ...loc, path: `${loc.path}.${randomBytes(6).toString('hex')}.partial` };
    const body = Readable.from(
      (async function* () {
        for await (const chunk of data) yield chunk;
      })(),
    );
    try {
      await this.files.write(part, body, options.size, `PUT of ${where}`, signal);
    } catch (err) {
      body.destroy();
      await this.removeLeftover(part, ds.datacenter, location);
      throw transportError(err, { what: `PUT of ${where}`, service: 'vCenter', signal });
    }
    try {
      await this.runTask(
        'MoveDatastoreFile_Task',
        {
          sourceName: datastorePath(part),
          sourceDatacenter: ds.datacenter,
          destinationName: datastorePath(loc),
          destinationDatacenter: ds.datacenter,
          force: false,
        },
        `Moving the upload of ${where} into place`,
        signal,
      );
    } catch (err) {
      await this.removeLeftover(part, ds.datacenter, location);
      if (err instanceof DuplicateError) throw new DuplicateError(`Image ${imageId} already exists in store ${this.id}`, { cause: err });
      throw err;
    }
    return { location };
  }

  async get(location: string, options: DriverGetOptions = {}): Promise<DriverGetResult> {
    const loc = this.parse(location);
    const shown = maskLocation(location);
    if (options.length === 0) {
      await this.getSize(location, options);
      return { stream: Readable.from([]), size: 0 };
    }
    const range = { ...(options.offset !== undefined ? { offset: options.offset } : {}), ...(options.length !== undefined ? { length: options.length } : {}) };
    const res = await this.files.read(loc, shown, range, options.signal);
    return res.size === undefined ? { stream: res.stream } : { stream: res.stream, size: res.size };
  }

  async getSize(location: string, options: DriverCallOptions = {}): Promise<number> {
    const loc = this.parse(location);
    const shown = maskLocation(location);
    const size = await this.files.size(loc, shown, options.signal);
    if (size === undefined) throw new NotFoundError(`${shown} was not found (vCenter answered HTTP 404)`);
    return size;
  }

  async delete(location: string, options: DriverCallOptions = {}): Promise<void> {
    const loc = this.parse(location);
    if (!loc.datacenterPath) throw new BadStoreUriError(`${maskLocation(location)} names no datacenter (dcPath): it cannot be deleted`);
    const dcPath = loc.datacenterPath;
    await this.withInventory(async () => this.deleteFile(loc, await this.datacenter(dcPath, options.signal), `Deleting ${datastorePath(loc)}`, options.signal));
  }

  /** The images of the image directory on each configured datastore (./list.ts). The location depends on the datastore an add chose, so there is no locationFor. */
  list(options?: DriverListOptions): AsyncIterable<ListedImage> {
    return listVmwareImages(this.listing(), options);
  }

  leftovers(options?: DriverListOptions): AsyncIterable<StoreLeftover> {
    return vmwareLeftovers(this.listing(), options);
  }

  private listing(): VmwareListing {
    return {
      storeId: this.id,
      session: this.session,
      host: this.host,
      imageDir: this.o.vmware_store_image_dir,
      datastores: (signal) => this.withInventory(() => this.resolved(signal)),
      runTask: (method, self, args, what, signal) => this.runTask(method, args, what, signal, self),
    };
  }

  async close(): Promise<void> {
    await this.session.logout();
    await this.client.close();
  }

  private parse(location: string): VsphereLocation {
    const loc = parseVsphereLocation(location);
    if (!loc.path.startsWith(`${FOLDER_PREFIX}/`)) throw new BadStoreUriError(`${maskLocation(location)} is not a datastore file`);
    return loc;
  }

  /** The datastores of vmware_datastores on the server, looked up once (again after a failed look-up). */
  private resolved(signal?: AbortSignal): Promise<ResolvedDatastore[]> {
    this.datastores ??= resolveDatastores(this.session, this.id, this.specs, signal).catch((err: unknown) => {
      this.datastores = undefined;
      throw err;
    });
    return this.datastores;
  }

  /** Runs `call` with the inventory looked up before; once more after a fresh look-up when a reference went stale. */
  private async withInventory<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (!isStaleReference(err)) throw err;
      this.datastores = undefined;
      this.datacenters.clear();
      return call();
    }
  }

  private chooseDatastore(size: number, signal: AbortSignal): Promise<ResolvedDatastore> {
    return this.withInventory(() => this.chooseFrom(size, signal));
  }

  private async chooseFrom(size: number, signal: AbortSignal): Promise<ResolvedDatastore> {
    const candidates = await this.resolved(signal);
    const states = await datastoreStates(this.session, candidates.map((c) => c.ref), signal);
    const chosen = chooseDatastore(candidates, states, size);
    if (!chosen) {
      const seen = candidates.map((c) => `${c.name}: ${states.get(c.ref.value)?.accessible ? `${states.get(c.ref.value)!.freeSpace} bytes free` : 'not accessible'}`);
      throw new StorageFullError(`Store ${this.id}: no datastore can hold an image of ${size} bytes (${seen.join('; ')})`);
    }
    return chosen;
  }

  private async datacenter(path: string, signal?: AbortSignal): Promise<MoRef> {
    const known = this.datacenters.get(path);
    if (known) return known;
    const ref = await findDatacenter(this.session, path, signal);
    if (!ref) throw new NotFoundError(`vCenter has no datacenter at ${JSON.stringify(path)}`);
    this.datacenters.set(path, ref);
    return ref;
  }

  /** Starts a task (on the FileManager unless `self` names another object) and waits for its result. */
  private async runTask(method: string, args: Parameters<VsphereSession['invoke']>[2], what: string, signal?: AbortSignal, self?: MoRef): Promise<Node | Node[] | undefined> {
    const on = self ?? (await this.session.serviceContent(signal)).fileManager;
    const task = taskOf(await this.session.invoke(method, on, args, signal), what);
    const pollIntervalMs = this.o.vmware_task_poll_interval * 1000;
    return waitForTask(this.session, task, { what, pollIntervalMs, timeoutMs: Math.max(60_000, 12 * pollIntervalMs), signal });
  }

  private async deleteFile(loc: VsphereLocation, dc: MoRef, what: string, signal?: AbortSignal): Promise<void> {
    await this.runTask('DeleteDatastoreFile_Task', { name: datastorePath(loc), datacenter: dc }, what, signal);
  }

  /** Removes what a failed add wrote, now or, through the reclaimer, once vCenter answers again. */
  private async removeLeftover(part: VsphereLocation, dc: MoRef, location: string): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'upload', location: `${location} (${datastorePath(part)})` }, async (signal) => {
      try {
        await this.deleteFile(part, dc, `Removing the upload ${datastorePath(part)}`, signal);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    });
  }
}
