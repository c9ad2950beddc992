/**
 * Error classes. Every error the library raises is a `GlanceStoreError` with a
 * stable `code` (the name of the glance_store exception it ports), so callers
 * can branch on `err.code` without importing classes, and the backend's own
 * error kept as `cause`.
 */

import type { Inspection } from './inspect/types.js';

/** Every code, in one list: each has its class below (ERROR_CLASSES). */
export const ERROR_CODES = [
  'NotFound',
  'Duplicate',
  'StorageFull',
  'StorageWriteDenied',
  'ImageSizeLimitExceeded',
  'SizeMismatch',
  'ChecksumMismatch',
  'UnknownScheme',
  'BadStoreUri',
  'BadStoreConfiguration',
  'ReadOnlyStore',
  'RandomGetNotSupported',
  'InvalidRange',
  'BackendUnavailable',
  'AuthenticationFailed',
  'InUse',
  'Aborted',
  'SourceError',
  'UnknownStore',
  'InvalidImageId',
  'Forbidden',
  'BackendError',
  'DiskFormatMismatch',
  'UnsafeImage',
  'Timeout',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorOptions {
  cause?: unknown;
}

export class GlanceStoreError extends Error {
  declare readonly code: ErrorCode;
  /**
   * Constructed directly, it gives the class of its code
   * (`new GlanceStoreError('NotFound', m)` is a NotFoundError), so that
   * `instanceof` and `code` always agree; subclasses construct themselves.
   */
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    if (new.target === GlanceStoreError && Object.prototype.hasOwnProperty.call(ERROR_CLASSES, code)) {
      return new ERROR_CLASSES[code](message, options);
    }
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** Defines a subclass bound to one code, so each kind stays a one-liner. */
function kind<C extends ErrorCode>(code: C) {
  return class extends GlanceStoreError {
    declare readonly code: C;
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

export class NotFoundError extends kind('NotFound') {}
export class DuplicateError extends kind('Duplicate') {}
export class StorageFullError extends kind('StorageFull') {}
export class StorageWriteDeniedError extends kind('StorageWriteDenied') {}
export class ImageSizeLimitExceededError extends kind('ImageSizeLimitExceeded') {}
export class SizeMismatchError extends kind('SizeMismatch') {}
export class ChecksumMismatchError extends kind('ChecksumMismatch') {}
export class UnknownSchemeError extends kind('UnknownScheme') {}
export class BadStoreUriError extends kind('BadStoreUri') {}
export class ReadOnlyStoreError extends kind('ReadOnlyStore') {}
export class RandomGetNotSupportedError extends kind('RandomGetNotSupported') {}
/** A ranged get that starts past the end of the image. */
export class InvalidRangeError extends kind('InvalidRange') {}
export class BackendUnavailableError extends kind('BackendUnavailable') {}
export class AuthenticationFailedError extends kind('AuthenticationFailed') {}
export class InUseError extends kind('InUse') {}
export class AbortedError extends kind('Aborted') {}
export class SourceError extends kind('SourceError') {}
export class UnknownStoreError extends kind('UnknownStore') {}
export class InvalidImageIdError extends kind('InvalidImageId') {}
export class ForbiddenError extends kind('Forbidden') {}
export class BackendError extends kind('BackendError') {}
/** An inspected add whose image is not of the expected disk format (docs/inspection.md). */
export class DiskFormatMismatchError extends kind('DiskFormatMismatch') {
  /** What the inspection found. */
  declare readonly inspection?: Inspection;
}
/** An inspected add whose image a host must not open: a backing file, a data file, a flat extent... */
export class UnsafeImageError extends kind('UnsafeImage') {
  /** What the inspection found, its problems among it. */
  declare readonly inspection?: Inspection;
}
/** A backend call that did not answer within the store's own timeout (glance_store's TimeoutError). */
export class TimeoutError extends kind('Timeout') {}

const WARNINGS_IN_MESSAGE = 20;

/**
 * Startup validation failure: every problem found, in one error, with the
 * warnings of the same reading beside them (a misspelt [DEFAULT] option is
 * only a warning, yet often the reason for a problem).
 */
export class BadStoreConfigurationError extends GlanceStoreError {
  declare readonly code: 'BadStoreConfiguration';
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
  constructor(problems: readonly string[] | string, options?: ErrorOptions & { warnings?: readonly string[] }) {
    const list = typeof problems === 'string' ? [problems] : problems;
    const warnings = options?.warnings ?? [];
    const head = list.length === 1 ? `Bad store configuration: ${list[0]}` : `Bad store configuration (${list.length} problems):\n - ${list.join('\n - ')}`;
    // The message shows the first warnings (a hostile file may cause thousands); `warnings` holds them all.
    const shown = warnings.slice(0, WARNINGS_IN_MESSAGE).concat(warnings.length > WARNINGS_IN_MESSAGE ? [`...and ${warnings.length - WARNINGS_IN_MESSAGE} more warnings`] : []);
    super('BadStoreConfiguration', shown.length ? `${head}\nWarnings:\n - ${shown.join('\n - ')}` : head, options);
    this.problems = list;
    this.warnings = warnings;
  }
}

/** The class of each code: what `err instanceof` tests for a given `err.code`. */
export const ERROR_CLASSES: { readonly [C in ErrorCode]: new (message: string, options?: ErrorOptions) => GlanceStoreError & { readonly code: C } } = {
  NotFound: NotFoundError,
  Duplicate: DuplicateError,
  StorageFull: StorageFullError,
  StorageWriteDenied: StorageWriteDeniedError,
  ImageSizeLimitExceeded: ImageSizeLimitExceededError,
  SizeMismatch: SizeMismatchError,
  ChecksumMismatch: ChecksumMismatchError,
  UnknownScheme: UnknownSchemeError,
  BadStoreUri: BadStoreUriError,
  BadStoreConfiguration: BadStoreConfigurationError,
  ReadOnlyStore: ReadOnlyStoreError,
  RandomGetNotSupported: RandomGetNotSupportedError,
  InvalidRange: InvalidRangeError,
  BackendUnavailable: BackendUnavailableError,
  AuthenticationFailed: AuthenticationFailedError,
  InUse: InUseError,
  Aborted: AbortedError,
  SourceError: SourceError,
  UnknownStore: UnknownStoreError,
  InvalidImageId: InvalidImageIdError,
  Forbidden: ForbiddenError,
  BackendError: BackendError,
  DiskFormatMismatch: DiskFormatMismatchError,
  UnsafeImage: UnsafeImageError,
  Timeout: TimeoutError,
};

export function isGlanceStoreError(err: unknown): err is GlanceStoreError {
  return err instanceof GlanceStoreError;
}

/** Maps a Node system error (errno code) to the library's error kinds. */
export function fromSystemError(err: unknown, what: string): GlanceStoreError {
  if (err instanceof GlanceStoreError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`${what}: not found`, { cause: err });
    case 'EEXIST':
      return new DuplicateError(`${what}: already exists`, { cause: err });
    case 'ENOSPC':
    case 'EDQUOT':
    case 'EFBIG':
      return new StorageFullError(`${what}: no space left on the store`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StorageWriteDeniedError(`${what}: permission denied`, { cause: err });
    case 'EROFS':
      return new StorageWriteDeniedError(`${what}: read-only file system`, { cause: err });
    case 'EBUSY':
      return new InUseError(`${what}: in use`, { cause: err });
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
      return new BackendUnavailableError(`${what}: backend unavailable (${code})`, { cause: err });
    default:
      return new BackendError(`${what}: ${(err as Error | undefined)?.message ?? String(err)}`, { cause: err });
  }
}
