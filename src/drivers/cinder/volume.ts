/**
 * A volume's life as the store drives it: waiting for state changes with a
 * bounded backoff (cinder_state_transition_timeout), attaching through the
 * attachments API (create, update with the connector, connect, os-complete),
 * detaching, extending, deleting. Reads of one volume in this process share
 * one attachment: Cinder gives a volume that is not multiattach one
 * attachment at a time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendError, GlanceStoreError, InUseError, NotFoundError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { CinderApi, ConnectionInfo, Volume } from './api.js';
import { connectorProperties, type Connectors, type VolumeDevice } from './connector.js';

/** First pause between status polls; doubled up to MAX_POLL_MS. Cinder's RBD volumes change state in well under a second. */
const FIRST_POLL_MS = 50;
const MAX_POLL_MS = 1000;
/** Attempts at attaching a busy volume, and the first pause between them (doubled each time): about 7.5 s in all. */
const ATTACH_TRIES = 5;
const ATTACH_PAUSE_MS = 500;

export interface Attached {
  volumeId: string;
  attachmentId: string;
  device: VolumeDevice;
}

export class VolumeLifecycle {
  private readonly readers = new Map<string, { attached: Promise<Attached>; users: number }>();
  /** Detaches under way, so a new read of the volume waits for the old attachment to go. */
  private readonly detaching = new Map<string, Promise<void>>();

  constructor(
    private readonly connectors: Connectors,
    /** cinder_state_transition_timeout, in ms. */
    private readonly timeoutMs: number,
    private readonly logger: Logger,
    private readonly storeId: string,
  ) {}

  /**
   * Polls until the volume leaves `transitional` states; it must then be in
   * `expected`. Gone while waiting is NotFound.
   */
  async waitFor(api: CinderApi, volumeId: string, transitional: readonly string[], expected: string, signal?: AbortSignal): Promise<Volume> {
    const deadline = Date.now() + this.timeoutMs;
    let pause = FIRST_POLL_MS;
    for (;;) {
      const volume = await api.volume(volumeId);
      if (!transitional.includes(volume.status)) {
        if (volume.status !== expected) throw new BackendError(`Volume ${volumeId} is ${volume.status}, expected ${expected}`);
        return volume;
      }
      if (Date.now() >= deadline) throw new BackendError(`Volume ${volumeId} is still ${volume.status} after ${this.timeoutMs / 1000} s (cinder_state_transition_timeout)`);
      await pauseFor(Math.min(pause, Math.max(0, deadline - Date.now())), signal);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }

  /** Deletes a volume and waits until Cinder no longer lists it (its rbd image is gone by then). */
  async remove(api: CinderApi, volumeId: string): Promise<void> {
    try {
      await api.deleteVolume(volumeId);
    } catch (err) {
      // A volume still detaching from a read that just ended is not in use: wait for it, once.
      if (!(err instanceof InUseError) || (await api.volume(volumeId)).status !== 'detaching') throw err;
      await this.waitFor(api, volumeId, ['detaching'], 'available');
      await api.deleteVolume(volumeId);
    }
    const deadline = Date.now() + this.timeoutMs;
    let pause = FIRST_POLL_MS;
    for (;;) {
      let volume: Volume;
      try {
        volume = await api.volume(volumeId);
      } catch (err) {
        if (err instanceof NotFoundError) return;
        throw err;
      }
      if (volume.status === 'error_deleting') throw new BackendError(`Cinder could not delete volume ${volumeId} (error_deleting)`);
      if (Date.now() >= deadline) throw new BackendError(`Volume ${volumeId} is still ${volume.status} ${this.timeoutMs / 1000} s after its deletion (cinder_state_transition_timeout)`);
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }

  /**
   * Removes a volume the store created for a failed add, whatever state it
   * got to: a volume still creating, or still in-use while its attachment
   * goes, is waited for until Cinder lets it be deleted.
   */
  async discard(bounded: CinderApi, volumeId: string): Promise<void> {
    const api = bounded.unbounded();
    const deadline = Date.now() + this.timeoutMs;
    let pause = FIRST_POLL_MS;
    for (;;) {
      try {
        await this.remove(api, volumeId);
        return;
      } catch (err) {
        if (err instanceof NotFoundError) return;
        if (!(err instanceof InUseError) || Date.now() >= deadline) {
          this.logger.error({ store: this.storeId, volume: volumeId, err }, `could not remove volume ${volumeId} of a failed add`);
          throw err;
        }
      }
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
  }

  /**
   * Attaches a volume to this host. Cinder refuses a second attachment of a
   * volume that is not multiattach with 400 while another host has it;
   * as glance_store, that is tried ATTACH_TRIES times with growing pauses
   * (a detach elsewhere may be finishing), then it is InUse.
   */
  async attach(api: CinderApi, volumeId: string, mode: 'rw' | 'ro', signal?: AbortSignal): Promise<Attached> {
    const started = Date.now();
    let attachment;
    for (let attempt = 1; ; attempt++) {
      try {
        attachment = await api.createAttachment(volumeId, mode);
        break;
      } catch (err) {
        if (!(err instanceof InUseError) || attempt >= ATTACH_TRIES) throw err;
        await pauseFor(ATTACH_PAUSE_MS * 2 ** (attempt - 1), signal);
      }
    }
    try {
      const updated = await api.updateAttachment(attachment.id, connectorProperties());
      const info = flatten(updated.connection_info);
      const device = await this.connectors.for(info).connect(info);
      try {
        await api.completeAttachment(attachment.id);
      } catch (err) {
        await device.close().catch(() => undefined);
        throw err;
      }
      this.logger.debug({ store: this.storeId, volume: volumeId, mode, ms: Date.now() - started }, `attached volume ${volumeId}`);
      return { volumeId, attachmentId: attachment.id, device };
    } catch (err) {
      await api.unbounded().deleteAttachment(attachment.id).catch(() => undefined);
      throw err;
    }
  }

  /** Closes the device and deletes the attachment; the volume is then `available` again. */
  async detach(api: CinderApi, attached: Attached): Promise<void> {
    await attached.device.close().catch((err: unknown) => this.logger.warn({ store: this.storeId, volume: attached.volumeId, err }, 'closing the volume device failed'));
    await api.unbounded().deleteAttachment(attached.attachmentId);
  }

  /** Detaches, grows the volume to `sizeGib`, waits until it is available again. */
  async extendDetached(api: CinderApi, volumeId: string, sizeGib: number, signal?: AbortSignal): Promise<Volume> {
    await this.waitFor(api, volumeId, ['detaching', 'in-use', 'attaching'], 'available', signal);
    await api.extendVolume(volumeId, sizeGib);
    return this.waitFor(api, volumeId, ['extending'], 'available', signal);
  }

  /** Grows an attached volume (cinder_do_extend_attached), then waits until the device shows the new size. */
  async extendAttached(api: CinderApi, attached: Attached, sizeGib: number, signal?: AbortSignal): Promise<Volume> {
    await api.extendVolume(attached.volumeId, sizeGib);
    const volume = await this.waitFor(api, attached.volumeId, ['extending'], 'in-use', signal);
    const deadline = Date.now() + this.timeoutMs;
    let pause = FIRST_POLL_MS;
    while ((await attached.device.size()) < volume.size * 2 ** 30) {
      if (Date.now() >= deadline) throw new BackendError(`Volume ${attached.volumeId} was extended to ${volume.size} GiB, but its device did not grow`);
      await pauseFor(pause, signal);
      pause = Math.min(pause * 2, MAX_POLL_MS);
    }
    return volume;
  }

  /** A read attachment of the volume, shared with the other reads of it in this process; give it back with `release`. */
  async acquireForRead(api: CinderApi, volumeId: string, signal?: AbortSignal): Promise<Attached> {
    let entry = this.readers.get(volumeId);
    if (!entry) {
      const previous = this.detaching.get(volumeId);
      const attached = (async () => {
        if (previous) await previous;
        return this.attach(api, volumeId, 'ro', signal);
      })();
      entry = { attached, users: 0 };
      this.readers.set(volumeId, entry);
      attached.catch(() => this.readers.get(volumeId) === entry && this.readers.delete(volumeId));
    }
    entry.users++;
    try {
      return await entry.attached;
    } catch (err) {
      entry.users--;
      throw err;
    }
  }

  /** The last reader's release detaches. */
  async release(api: CinderApi, attached: Attached): Promise<void> {
    const entry = this.readers.get(attached.volumeId);
    if (entry && --entry.users > 0) return;
    this.readers.delete(attached.volumeId);
    const done = this.detach(api, attached)
      .catch((err: unknown) => this.logger.warn({ store: this.storeId, volume: attached.volumeId, err }, `could not detach volume ${attached.volumeId} after reading it`))
      .finally(() => this.detaching.delete(attached.volumeId));
    this.detaching.set(attached.volumeId, done);
    await done;
  }

  /** Waits for the detaches in flight (before the store closes its connections). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.detaching.values()]);
  }
}

/** Connection info is flat from the attachments API; older calls wrap it in `data`. */
function flatten(info: ConnectionInfo | null | undefined): ConnectionInfo {
  if (!info) throw new BackendError('Cinder attached the volume without connection info');
  const data = info['data'];
  return data && typeof data === 'object' ? { ...(data as Record<string, unknown>), driver_volume_type: info.driver_volume_type } : info;
}

async function pauseFor(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch (err) {
    throw new GlanceStoreError('Aborted', 'Stopped waiting for Cinder: aborted', { cause: err });
  }
}
