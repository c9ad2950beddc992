/**
 * Exit codes of the `glance-store` command, one per kind of failure so
 * scripts can tell them apart without parsing messages.
 */
import type { ErrorCode } from '../errors.js';

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  config: 3,
  notFound: 4,
  conflict: 5,
  full: 6,
  denied: 7,
  unavailable: 8,
  dataCheck: 9,
  findings: 10,
  aborted: 130,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  BadStoreConfiguration: EXIT.config,
  UnknownStore: EXIT.config,
  NotFound: EXIT.notFound,
  Duplicate: EXIT.conflict,
  InUse: EXIT.conflict,
  StorageFull: EXIT.full,
  ImageSizeLimitExceeded: EXIT.full,
  ReadOnlyStore: EXIT.denied,
  StorageWriteDenied: EXIT.denied,
  Forbidden: EXIT.denied,
  RandomGetNotSupported: EXIT.denied,
  BackendUnavailable: EXIT.unavailable,
  AuthenticationFailed: EXIT.unavailable,
  SizeMismatch: EXIT.dataCheck,
  ChecksumMismatch: EXIT.dataCheck,
  SourceError: EXIT.dataCheck,
  DiskFormatMismatch: EXIT.dataCheck,
  UnsafeImage: EXIT.dataCheck,
  BadStoreUri: EXIT.usage,
  UnknownScheme: EXIT.usage,
  InvalidImageId: EXIT.usage,
  InvalidRange: EXIT.usage,
  Aborted: EXIT.aborted,
};

export function exitCodeFor(code: string | undefined): number {
  return (code && BY_CODE[code as ErrorCode]) || EXIT.unexpected;
}

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  unexpected error
  2  usage error (bad arguments, bad location URI or image id, a range past the end)
  3  bad configuration (or unknown store id)
  4  image not found
  5  image already exists, or in use
  6  store full, or image larger than image_size_cap
  7  store is read-only, or writing/deleting is denied
  8  backend unavailable, or authentication failed
  9  data check failed (size or checksum mismatch, unreadable source, an inspected image
     of another format than expected or unsafe)
  10 audit: the store is not clean (orphans, missing images, leftovers or corrupt images)
  130 interrupted`;
