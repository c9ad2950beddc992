/**
 * The few Cinder v3 REST calls the store makes, as operations on the
 * store's service client (src/net/client.ts), which adds the token, renews it
 * once on 401, retries idempotent calls (cinder_http_retries) and maps
 * failures. Every call carries microversion 3.54 (the attachments API
 * without an instance, and extending an attached volume).
 */
import { InUseError } from '../../errors.js';
import { STATUS_ERRORS, type ErrorClass } from '../../net/failure.js';
import type { ServiceClientConfig, ServiceClient } from '../../net/client.js';

/** How the store's client speaks to Cinder. */
export const CINDER_CLIENT: ServiceClientConfig = {
  service: 'Cinder',
  // Microversion 3.54: attachments with a mode and no instance.
  headers: { accept: 'application/json', 'openstack-api-version': 'volume 3.54' },
  // Cinder answers 409 (or 400, for some calls) for a volume in use, 413 when a quota is exceeded.
  statuses: { ...STATUS_ERRORS, 409: InUseError },
};

export interface Volume {
  id: string;
  status: string;
  /** GiB. */
  size: number;
  name?: string | null;
  metadata?: Record<string, string>;
  volume_type?: string | null;
  created_at?: string;
  multiattach?: boolean;
}

/** Cinder's connection info, flat as the attachments API gives it. */
export interface ConnectionInfo {
  driver_volume_type?: string;
  [key: string]: unknown;
}

export interface Attachment {
  id: string;
  status?: string;
  /** The server it is for; none for the store's own (and any other image service's). */
  instance?: string | null;
  connection_info?: ConnectionInfo | null;
}

interface CallOptions {
  body?: unknown;
  /** What the call is about, for messages: "volume <id>". */
  what: string;
  /** A second request does no harm: retried on server errors too, not only when the connection was refused. */
  idempotent?: boolean;
  /** A 400 means the volume is busy (attached, has snapshots...): InUse. */
  badRequestIsInUse?: boolean;
}

export class CinderApi {
  /**
   * @param client the store's client with the call's token (ServiceClient.withToken)
   * @param signal the caller's signal, which every call of this API honours
   */
  constructor(
    private readonly client: ServiceClient,
    private readonly signal?: AbortSignal,
  ) {}

  /** The same client without the caller's signal: for detaching and cleaning up after an abort. */
  unbounded(): CinderApi {
    return this.signal ? new CinderApi(this.client) : this;
  }

  /** The same client with another signal (a cleanup attempt's). */
  withSignal(signal: AbortSignal): CinderApi {
    return new CinderApi(this.client, signal);
  }

  async createVolume(spec: { size: number; name: string; metadata: Record<string, string>; volumeType?: string }): Promise<Volume> {
    const volume = { size: spec.size, name: spec.name, metadata: spec.metadata, ...(spec.volumeType ? { volume_type: spec.volumeType } : {}) };
    return (await this.call<{ volume: Volume }>('POST', '/volumes', { body: { volume }, what: `a ${spec.size} GiB volume for ${spec.name}` })).volume;
  }

  async volume(id: string): Promise<Volume> {
    return (await this.call<{ volume: Volume }>('GET', `/volumes/${encodeURIComponent(id)}`, { what: `volume ${id}`, idempotent: true })).volume;
  }

  /** The project's volumes of one name (a filter Cinder applies by default). */
  async volumesNamed(name: string): Promise<Volume[]> {
    const q = new URLSearchParams({ name });
    return (await this.call<{ volumes: Volume[] }>('GET', `/volumes/detail?${q}`, { what: `volumes named ${name}`, idempotent: true })).volumes;
  }

  async deleteVolume(id: string): Promise<void> {
    await this.call('DELETE', `/volumes/${encodeURIComponent(id)}`, { what: `volume ${id}`, idempotent: true, badRequestIsInUse: true });
  }

  /** os-extend; on an attached volume too (microversion 3.42 and later). */
  async extendVolume(id: string, newSizeGib: number): Promise<void> {
    await this.action(id, { 'os-extend': { new_size: newSizeGib } });
  }

  /** Replaces the volume's metadata (glance_store's update_all_metadata). */
  async setMetadata(id: string, metadata: Record<string, string>): Promise<void> {
    await this.call('PUT', `/volumes/${encodeURIComponent(id)}/metadata`, { body: { metadata }, what: `volume ${id}`, idempotent: true });
  }

  async setReadonly(id: string, readonly: boolean): Promise<void> {
    await this.action(id, { 'os-update_readonly_flag': { readonly } });
  }

  private async action(id: string, body: unknown): Promise<void> {
    await this.call('POST', `/volumes/${encodeURIComponent(id)}/action`, { body, what: `volume ${id}` });
  }

  /** A reserved attachment, without an instance (Cinder answers 400 to a null instance_uuid). */
  async createAttachment(volumeId: string, mode: 'rw' | 'ro'): Promise<Attachment> {
    const body = { attachment: { volume_uuid: volumeId, mode } };
    return (await this.call<{ attachment: Attachment }>('POST', '/attachments', { body, what: `an attachment of volume ${volumeId}`, badRequestIsInUse: true })).attachment;
  }

  /** Gives Cinder the connector; the answer holds the connection info. */
  async updateAttachment(id: string, connector: Record<string, unknown>): Promise<Attachment> {
    const body = { attachment: { connector } };
    return (await this.call<{ attachment: Attachment }>('PUT', `/attachments/${encodeURIComponent(id)}`, { body, what: `attachment ${id}`, idempotent: true })).attachment;
  }

  /** Marks the volume in-use once it is connected. */
  async completeAttachment(id: string): Promise<void> {
    await this.call('POST', `/attachments/${encodeURIComponent(id)}/action`, { body: { 'os-complete': null }, what: `attachment ${id}`, idempotent: true });
  }

  /** Every attachment of one volume, whoever made it. */
  async attachmentsOf(volumeId: string): Promise<Attachment[]> {
    const q = new URLSearchParams({ volume_id: volumeId });
    return (await this.call<{ attachments: Attachment[] }>('GET', `/attachments?${q}`, { what: `the attachments of volume ${volumeId}`, idempotent: true })).attachments;
  }

  async deleteAttachment(id: string): Promise<void> {
    await this.call('DELETE', `/attachments/${encodeURIComponent(id)}`, { what: `attachment ${id}`, idempotent: true });
  }

  private async call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, o: CallOptions): Promise<T> {
    const statuses: Record<number, ErrorClass> = { ...CINDER_CLIENT.statuses };
    if (o.badRequestIsInUse) statuses[400] = InUseError;
    return this.client.json<T>(
      {
        method,
        path,
        ...(o.body !== undefined ? { body: JSON.stringify(o.body), headers: { 'content-type': 'application/json' } } : {}),
        idempotent: o.idempotent ?? false,
        signal: this.signal,
        what: `Cinder ${method} ${o.what}`,
      },
      { statuses },
    );
  }
}
