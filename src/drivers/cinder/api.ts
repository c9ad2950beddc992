/**
 * The few Cinder v3 REST calls the store makes, over undici. Every call
 * carries microversion 3.54 (the attachments API without an instance, and
 * extending an attached volume), is retried on connection errors and server
 * errors (cinder_http_retries), renews a Keystone token once on 401, and
 * turns a failed status into the library's errors in one place,
 * `cinderError`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { InUseError, type GlanceStoreError } from '../../errors.js';
import { maskLocation } from '../../location.js';
import { discard } from '../../net/response.js';
import { STATUS_ERRORS, statusError, type ErrorClass, tlsFailureCode, transportError as netTransportError } from '../../net/failure.js';

/** Microversion 3.54: attachments with a mode and no instance. */
const MICROVERSION = 'volume 3.54';
/** Pause before retry n (0-based): 0.25 s, doubled, at most 4 s. */
const retryPause = (n: number) => Math.min(250 * 2 ** n, 4000);

/** Where Cinder is and the token to show it. */
export interface CinderSession {
  /** The project's Cinder URL (`.../v3/<project id>`). */
  endpoint: string;
  token: string;
}

/** Gives the session; `renew` asks for a new token after a 401 (absent for a caller's own token). */
export interface SessionSource {
  session(): Promise<CinderSession>;
  renew?(): Promise<CinderSession>;
}

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
  constructor(
    private readonly source: SessionSource,
    private readonly dispatcher: Dispatcher,
    private readonly retries: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** The same client without the caller's signal: for detaching and cleaning up after an abort. */
  unbounded(): CinderApi {
    return this.signal ? new CinderApi(this.source, this.dispatcher, this.retries) : this;
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

  async deleteAttachment(id: string): Promise<void> {
    await this.call('DELETE', `/attachments/${encodeURIComponent(id)}`, { what: `attachment ${id}`, idempotent: true });
  }

  private async call<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, o: CallOptions): Promise<T> {
    let session = await this.source.session();
    let renewed = false;
    for (let attempt = 0; ; attempt++) {
      const url = `${session.endpoint.replace(/\/+$/, '')}${path}`;
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method,
          headers: {
            'x-auth-token': session.token,
            accept: 'application/json',
            'openstack-api-version': MICROVERSION,
            ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
          dispatcher: this.dispatcher,
          ...(this.signal ? { signal: this.signal } : {}),
        });
      } catch (err) {
        const refused = (err as { code?: string }).code === 'ECONNREFUSED';
        if (attempt < this.retries && !this.signal?.aborted && (o.idempotent || refused) && !tlsFailureCode(err)) {
          await sleep(retryPause(attempt), undefined, this.signal ? { signal: this.signal } : undefined).catch(() => undefined);
          continue;
        }
        throw transportError(err, `Cinder ${method} ${maskLocation(url)}`, this.signal);
      }
      if (res.statusCode === 401 && this.source.renew && !renewed) {
        discard(res);
        renewed = true;
        session = await this.source.renew();
        attempt--;
        continue;
      }
      if (res.statusCode >= 500 && attempt < this.retries && (o.idempotent || res.statusCode === 503)) {
        discard(res);
        await sleep(retryPause(attempt), undefined, this.signal ? { signal: this.signal } : undefined).catch(() => undefined);
        continue;
      }
      const text = await res.body.text().catch(() => '');
      if (res.statusCode < 200 || res.statusCode >= 300) throw cinderError(res.statusCode, text, `${method} ${o.what}`, o.badRequestIsInUse);
      return (text ? JSON.parse(text) : undefined) as T;
    }
  }
}

/** Cinder's own explanation in an error body (`{"badRequest": {"message": ...}}`). */
function explanation(body: string): string {
  try {
    const parsed = JSON.parse(body) as Record<string, { message?: string }>;
    const first = Object.values(parsed)[0];
    if (first && typeof first.message === 'string') return first.message;
  } catch {
    // not JSON: the text itself
  }
  return body.slice(0, 300);
}

/** The one mapping of Cinder's HTTP statuses to the library's errors. */
export function cinderError(status: number, body: string, what: string, badRequestIsInUse = false): GlanceStoreError {
  return statusError(status, {
    what: `Cinder ${what}`,
    service: 'Cinder',
    detail: explanation(body),
    // Cinder answers 409 (or 400, for some calls) for a volume in use, 413 when a quota is exceeded.
    statuses: { ...STATUS_ERRORS, 409: InUseError, ...(badRequestIsInUse ? { 400: InUseError } : {}) } as Record<number, ErrorClass>,
  });
}

/** A failure below HTTP: aborted, TLS, or the service unreachable. */
export function transportError(err: unknown, what: string, signal?: AbortSignal): GlanceStoreError {
  return netTransportError(err, { what, service: 'Cinder', tlsHint: "set cinder_ca_certificates_file to trust the server's CA", ...(signal ? { signal } : {}) });
}
