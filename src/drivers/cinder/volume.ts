/**
 * A volume's life as the store drives it: waiting for state changes with a
 * bounded backoff (cinder_state_transition_timeout), attaching through the
 * attachments API (create, update with the connector, connect, os-complete),
 * detaching, extending, deleting. Reads of one volume in this process share
 * one attachment: Cinder gives a volume that is not multiattach one
 * attachment at a time.
 */
import { AbortedError, BackendError, BackendUnavailableError, InUseError, NotFoundError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { reached, waitUntil, waiting, type WaitOptions } from '../../net/poller.js';
import type { Reclaimer } from '../../pipeline/reclaim.js';
import type { CinderApi, ConnectionInfo, Volume } from './api.js';
import { connectorProperties, type Connectors, type VolumeDevice } from './connector.js';
import { formatCinderLocation } from './location.js';
import type { VolumeLocks } from './volume-lock.js';

/**
 * Pauses between attempts at attaching a volume in a transitional state, as
 * glance_store's retrying does: 2 s, doubled each time, at most 10 s (2, 4,
 * 8, 10 s: 24 s for cinder_attachment_retry_attempts' default of 5).
 */
const ATTACH_PAUSE_MS = 2000;
const ATTACH_MAX_PAUSE_MS = 10_000;
/**
 * Cinder's answer (400) to an attachment of a volume that is reserved,
 * attaching, detaching or, not being multiattach, in use: the only refusal
 * glance_store retries, since the volume may reach a state it can be
 * attached in (another process's read finishing). Any other 400 fails at once.
 */
const TRANSITIONAL = ['status must be available or downloading to reserve', 'status must be available or in-use or downloading to reserve'];
export const isTransitionalRefusal = (err: unknown): boolean => err instanceof InUseError && TRANSITIONAL.some((m) => err.message.toLowerCase().includes(m));
/** How long after an unanswered create Cinder may still be making the volume. */
const UNANSWERED_SETTLE_MS = 5000;

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
    private readonly reclaimer: Reclaimer,
    /** cinder_attachment_retry_attempts, and the host's per-volume locks (cinder_lock_path). */
    private readonly attaching: { attempts: number; locks: VolumeLocks },
  ) {}

  /**
   * Polls until the volume leaves `transitional` states; it must then be in
   * `expected`. Gone while waiting is NotFound.
   */
  async waitFor(api: CinderApi, volumeId: string, transitional: readonly string[], expected: string, signal?: AbortSignal): Promise<Volume> {
    const volume = await waitUntil(async () => {
      const v = await api.volume(volumeId);
      return transitional.includes(v.status) ? waiting(v.status) : reached(v);
    }, this.waiting(`volume ${volumeId} to leave ${transitional.join(', ')}`, signal));
    if (volume.status !== expected) throw new BackendError(`Volume ${volumeId} is ${volume.status}, expected ${expected}`);
    return volume;
  }

  /** How long and for what the store waits, in the poller's terms. */
  private waiting(what: string, signal?: AbortSignal): WaitOptions {
    return { what, timeoutMs: this.timeoutMs, timeoutOption: 'cinder_state_transition_timeout', signal };
  }

  /** Deletes a volume and waits until Cinder no longer lists it (its rbd image is gone by then). */
  async remove(api: CinderApi, volumeId: string, signal?: AbortSignal): Promise<void> {
    try {
      await api.deleteVolume(volumeId);
    } catch (err) {
      // A volume still detaching from a read that just ended is not in use: wait for it, once.
      if (!(err instanceof InUseError) || (await api.volume(volumeId)).status !== 'detaching') throw err;
      await this.waitFor(api, volumeId, ['detaching'], 'available', signal);
      await api.deleteVolume(volumeId);
    }
    await waitUntil(async () => {
      let volume: Volume;
      try {
        volume = await api.volume(volumeId);
      } catch (err) {
        if (err instanceof NotFoundError) return reached(undefined);
        throw err;
      }
      if (volume.status === 'error_deleting') throw new BackendError(`Cinder could not delete volume ${volumeId} (error_deleting)`);
      return waiting(volume.status);
    }, this.waiting(`volume ${volumeId} to be deleted`, signal));
  }

  /**
   * Hands the volume of a failed add to the store's reclaimer, which removes
   * it now or, while Cinder does not answer or the volume cannot be deleted
   * yet, again later until it is gone. Resolves after the first attempt.
   */
  async reclaimFailedAdd(api: CinderApi, volumeId: string): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'volume', location: this.location(volumeId) }, (signal) => this.discard(api.withSignal(signal), volumeId, signal));
  }

  /**
   * A volume create that got no answer (the connection broke after the
   * request went out) may have made the volume: the reclaimer looks for it
   * by name and removes the one `ours` recognises. Seeing none counts only
   * a few seconds after the failure, when Cinder has finished a create it
   * was still making.
   */
  async reclaimUnanswered(api: CinderApi, name: string, ours: (v: Volume) => boolean): Promise<void> {
    const failedAt = Date.now();
    await this.reclaimer.reclaim({ kind: 'volume', location: `cinder://${this.storeId}/${name}` }, async (signal) => {
      const quiet = api.withSignal(signal);
      const found = (await quiet.volumesNamed(name)).filter((v) => v.name === name && ours(v));
      if (found.length === 0 && Date.now() - failedAt < UNANSWERED_SETTLE_MS) throw new BackendUnavailableError(`volume ${name} not listed yet`);
      for (const v of found) await this.discard(quiet, v.id, signal);
    });
  }

  /**
   * Removes a volume the store created for a failed add, whatever state it
   * got to. A volume still creating is waited for: while the scheduler has
   * not given it a host, Cinder's API removes the record at once, but the
   * volume service may still create its rbd image, which would then belong
   * to no volume. The volume is the add's alone, so an attachment it still
   * has (a detach that failed, an attachment whose answer was lost) is the
   * add's too, and is deleted; a volume still in-use while its attachment
   * goes is waited for until Cinder lets it be deleted.
   */
  private async discard(api: CinderApi, volumeId: string, signal: AbortSignal): Promise<void> {
    await this.waitFor(api, volumeId, ['creating'], 'available', signal).catch((err: unknown) => {
      // A failed create (error) is deleted as it is; an abort or an unanswered poll is tried again.
      if (err instanceof NotFoundError || err instanceof AbortedError || err instanceof BackendUnavailableError) throw err;
    });
    try {
      await waitUntil(async () => {
        try {
          await this.remove(api, volumeId, signal);
        } catch (err) {
          if (!(err instanceof InUseError)) throw err;
          for (const a of await api.attachmentsOf(volumeId)) await api.deleteAttachment(a.id).catch(() => undefined);
          return waiting(`in use (${err.message})`);
        }
        return reached(undefined);
      }, this.waiting(`volume ${volumeId} of a failed add to be deletable`, signal));
    } catch (err) {
      if (err instanceof NotFoundError) return;
      throw err;
    }
  }

  /**
   * An attachment Cinder may have made although its answer never came (the
   * connection broke, the caller aborted): it keeps the volume `reserved`,
   * so no one could delete or attach it again (glance_store's bug 2004555).
   * The volume's reserved attachments without a server are the store's
   * (Nova's name their server; a volume that is not multiattach has one at a
   * time), and are deleted through the reclaimer.
   */
  private async reclaimLostAttachment(api: CinderApi, volumeId: string): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'attachment', location: this.location(volumeId) }, async (signal) => {
      const quiet = api.withSignal(signal);
      for (const a of await quiet.attachmentsOf(volumeId)) {
        if (a.status === 'reserved' && !a.instance) await quiet.deleteAttachment(a.id);
      }
    });
  }

  private location(volumeId: string): string {
    return formatCinderLocation({ storeId: this.storeId, volumeId });
  }

  /**
   * Attaches a volume to this host. Cinder refuses an attachment of a volume
   * in a transitional state (reserved, attaching, detaching; or in use, when
   * it is not multiattach: another process or host reads it) with 400; as
   * glance_store (master), only that refusal is tried again, up to
   * cinder_attachment_retry_attempts attempts in all, with growing pauses;
   * then it is InUse. Creating an attachment takes no lock, as in glance_store
   * 5.3: Cinder's volume states serialise it.
   */
  async attach(api: CinderApi, volumeId: string, mode: 'rw' | 'ro', signal?: AbortSignal): Promise<Attached> {
    const started = Date.now();
    const { attempts } = this.attaching;
    // Bounded by attempts: the poller's deadline only backs that up.
    let tries = 0;
    const attachment = await waitUntil(
      async () => {
        try {
          return reached(await api.createAttachment(volumeId, mode));
        } catch (err) {
          // No answer: Cinder may have made the attachment all the same.
          if (err instanceof BackendUnavailableError || err instanceof AbortedError) await this.reclaimLostAttachment(api.unbounded(), volumeId);
          if (err instanceof InUseError && !isTransitionalRefusal(err)) throw new BackendError(`${err.message} (not a transitional state: not retried)`, { cause: err });
          if (!(err instanceof InUseError) || ++tries >= attempts) throw err;
          this.logger.debug({ store: this.storeId, volume: volumeId, attempt: tries }, `attachment of volume ${volumeId} refused in a transitional state: trying again`);
          return waiting(`in a transitional state (${err.message})`);
        }
      },
      {
        what: `volume ${volumeId} to be free to attach`,
        timeoutMs: ATTACH_MAX_PAUSE_MS * (attempts + 1),
        firstPauseMs: ATTACH_PAUSE_MS,
        maxPauseMs: ATTACH_MAX_PAUSE_MS,
        signal,
      },
    );
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
      await this.reclaimAttachment(api.unbounded(), volumeId, attachment.id);
      throw err;
    }
  }

  /** Deletes one of the store's attachments through the reclaimer: again later while Cinder does not answer. */
  private async reclaimAttachment(api: CinderApi, volumeId: string, attachmentId: string): Promise<void> {
    await this.reclaimer.reclaim({ kind: 'attachment', location: this.location(volumeId) }, (signal) => api.withSignal(signal).deleteAttachment(attachmentId));
  }

  /**
   * Closes the device and deletes the attachment, holding the volume's lock
   * of this host (glance_store 5.3's external lock around its detach), so
   * the processes of one host detach one volume one at a time; the volume is
   * then `available` again once no one else has it attached. The device is
   * this process's own librbd handle, never shared with another process, so
   * it is always closed (glance_store counts the host's attachments first
   * because its kernel device is shared).
   */
  async detach(api: CinderApi, attached: Attached): Promise<void> {
    await this.attaching.locks.withLock(attached.volumeId, async () => {
      await attached.device.close().catch((err: unknown) => this.logger.warn({ store: this.storeId, volume: attached.volumeId, err }, 'closing the volume device failed'));
      await api.unbounded().deleteAttachment(attached.attachmentId);
    });
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
    await waitUntil(async () => {
      const bytes = await attached.device.size();
      return bytes < volume.size * 2 ** 30 ? waiting(`${bytes} bytes`) : reached(undefined);
    }, this.waiting(`the device of volume ${attached.volumeId} to grow to ${volume.size} GiB`, signal));
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
    // An attachment left would keep the volume in-use: no one could delete it.
    const done = this.detach(api, attached)
      .catch(() => this.reclaimAttachment(api, attached.volumeId, attached.attachmentId))
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
