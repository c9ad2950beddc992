/**
 * The one mapping from a failed network call to the library's errors, for
 * every driver that talks to a service: an HTTP status (from undici, or the
 * AWS SDK's `$metadata.httpStatusCode`), or a failure below HTTP (a refused
 * connection, a TLS verification failure, a reset, a transport timeout, an
 * aborted call). Drivers pass what differs (their wording, the option that
 * makes a server trusted, what their service means by a status) instead of
 * writing a mapper of their own. Every message is masked here, so the
 * credentials of a URI never reach an error.
 */
import { STATUS_CODES } from 'node:http';
import {
  AbortedError,
  AuthenticationFailedError,
  BackendError,
  BackendUnavailableError,
  DuplicateError,
  ForbiddenError,
  GlanceStoreError,
  NotFoundError,
  StorageFullError,
  type ErrorOptions,
} from '../errors.js';
import { maskLocation } from '../location.js';

/** A library error class whose constructor takes a message and a cause. */
export type ErrorClass = new (message: string, options?: ErrorOptions) => GlanceStoreError;

/**
 * What a failing status means where the services agree. A driver whose
 * service says something else spreads this table into its own.
 */
export const STATUS_ERRORS: Readonly<Record<number, ErrorClass>> = {
  401: AuthenticationFailedError,
  403: ForbiddenError,
  404: NotFoundError,
  // A write with If-None-Match: * met an existing object.
  412: DuplicateError,
  413: StorageFullError,
  507: StorageFullError,
};

/** A failed call, described for its error message. */
export interface FailedCall {
  /** What was being done: `Swift PUT https://...`, `s3 object bucket/key`. Masked here. */
  what: string;
  /** Who answered, in messages: `Swift`, `the S3 server`. Default `the server`. */
  service?: string;
  /**
   * The call's signal. Once it is aborted, any failure of the call is the
   * signal's own library error (a reason the add pipeline gave) or AbortedError.
   */
  signal?: AbortSignal;
  /** Said after a TLS verification failure: which option makes the server trusted. */
  tlsHint?: string;
  /** What a TLS verification failure is; BackendUnavailable unless the driver says otherwise. */
  tlsError?: ErrorClass;
}

/** How a driver's service answers, for a failing status. */
export interface StatusMeaning extends FailedCall {
  /** Statuses with a meaning (default STATUS_ERRORS; a driver spreads it to extend it). */
  statuses?: Readonly<Record<number, ErrorClass>>;
  /** Error names a service answers with (S3's `NoSuchKey`), which win over the status. */
  names?: Readonly<Record<string, ErrorClass>>;
  /** Any other failing status; default BackendUnavailable for 5xx, 408 and 429, else BackendError. */
  otherwise?: ErrorClass;
}

/** Whether `err` ended a call because the caller aborted it (AbortSignal.abort or AbortSignal.timeout). */
export function isAbort(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  return someCause(err, (e) => {
    // AbortSignal's reasons are DOMExceptions; the AWS SDK's own socket timeouts are plain
    // errors also named TimeoutError, and those are a backend that does not answer.
    if (e instanceof DOMException) return e.name === 'AbortError' || e.name === 'TimeoutError';
    const { name, code } = e as { name?: unknown; code?: unknown };
    return name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR';
  });
}

/** The error code of a failed TLS verification (an unknown CA, a bad certificate), if that is what `err` is. */
export function tlsFailureCode(err: unknown): string | undefined {
  let found: string | undefined;
  someCause(err, (e) => {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) found = code;
    return found !== undefined;
  });
  return found;
}

/**
 * A failure below HTTP as the library's error: the library's own error when
 * one caused it (the add pipeline's size cap travels inside undici's body
 * error), AbortedError for an aborted call, the TLS error with its hint, else
 * BackendUnavailable.
 */
export function transportError(err: unknown, call: FailedCall): GlanceStoreError {
  const own = ownError(err, call.signal);
  if (own) return own;
  if (isAbort(err, call.signal)) return abortedError(err, call);
  const tls = tlsFailureCode(err);
  if (tls) {
    const Kind = call.tlsError ?? BackendUnavailableError;
    return new Kind(maskLocation(`${call.what}: TLS verification failed (${tls})${call.tlsHint ? `; ${call.tlsHint}` : ''}`), { cause: withoutExchange(err) });
  }
  const e = err as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? `${e.code} ` : '';
  return new BackendUnavailableError(maskLocation(`${call.what} failed: ${code}${typeof e?.message === 'string' ? e.message : String(err)}`), { cause: withoutExchange(err) });
}

/**
 * A failing HTTP status as the library's error. `detail` is what the answer
 * said (the start of its body, the service's error code).
 */
export function statusError(status: number | undefined, call: StatusMeaning & { detail?: string; name?: string; cause?: unknown }): GlanceStoreError {
  const named = call.name !== undefined ? call.names?.[call.name] : undefined;
  const byStatus = status !== undefined ? ((call.statuses ?? STATUS_ERRORS)[status] ?? call.otherwise ?? defaultKind(status)) : BackendError;
  const Kind = named ?? byStatus;
  const answer = status === undefined ? 'an error' : `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  const said = `${call.service ?? 'the server'} answered ${answer}${call.detail ? ` (${call.detail})` : ''}`;
  // What a user most often meets reads as a sentence: "<location> was not found (...)".
  const text = Kind === NotFoundError ? `${call.what} was not found (${said})` : `${call.what}: ${said}`;
  return new Kind(maskLocation(text), call.cause === undefined ? undefined : { cause: call.cause });
}

/**
 * An error thrown by a service client that knows the status (the AWS SDK puts
 * it in `$metadata.httpStatusCode`, its error code in `name`): mapped by its
 * status and name when it has them, as a transport failure otherwise.
 */
export function serviceError(err: unknown, call: StatusMeaning): GlanceStoreError {
  const own = ownError(err, call.signal);
  if (own) return own;
  if (isAbort(err, call.signal)) return abortedError(err, call);
  const e = err as { name?: unknown; message?: unknown } | undefined;
  const status = statusOf(err);
  const name = typeof e?.name === 'string' ? e.name : undefined;
  const named = name !== undefined && call.names?.[name] !== undefined;
  if (status === undefined && !named) return transportError(err, call);
  const detail = `${name ?? 'Error'}: ${typeof e?.message === 'string' ? e.message : String(err)}`;
  return statusError(status, { ...call, detail, ...(name !== undefined ? { name } : {}), cause: withoutExchange(err) });
}

/**
 * An AWS SDK error keeps the raw HTTP exchange (`$response`: the request as sent, its
 * Authorization header and signature among it), which a caller that logs an error's cause
 * would print: the cause a library error carries is the same error without it.
 */
function withoutExchange(err: unknown): unknown {
  if (typeof err !== 'object' || err === null || !('$response' in err)) return err;
  const clean = Object.create(Object.getPrototypeOf(err) as object) as object;
  for (const key of Reflect.ownKeys(err)) if (key !== '$response') Object.defineProperty(clean, key, Object.getOwnPropertyDescriptor(err, key)!);
  return clean;
}

/** The status of an error from a service client (the AWS SDK's `$metadata.httpStatusCode`), if it has one. */
export function statusOf(err: unknown): number | undefined {
  const status = (err as { $metadata?: { httpStatusCode?: unknown } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

function defaultKind(status: number): ErrorClass {
  return status >= 500 || status === 408 || status === 429 ? BackendUnavailableError : BackendError;
}

function abortedError(err: unknown, call: FailedCall): GlanceStoreError {
  const timedOut = someCause(call.signal?.aborted ? call.signal.reason : err, (e) => e instanceof DOMException && e.name === 'TimeoutError');
  return new AbortedError(maskLocation(`${call.what}: aborted${timedOut ? ' (its time limit passed)' : ''}`), { cause: withoutExchange(err) });
}

/** The library error that caused a failure: found in its cause chain, or given as the abort reason. */
function ownError(err: unknown, signal: AbortSignal | undefined): GlanceStoreError | undefined {
  let found: GlanceStoreError | undefined;
  someCause(err, (e) => {
    if (e instanceof GlanceStoreError) found = e;
    return found !== undefined;
  });
  if (found) return found;
  const reason: unknown = signal?.aborted ? signal.reason : undefined;
  return reason instanceof GlanceStoreError ? reason : undefined;
}

/** Whether `test` holds for `err` or an error in its `cause` chain (undici and fetch wrap the real one). */
function someCause(err: unknown, test: (e: object) => boolean): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    if (test(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
