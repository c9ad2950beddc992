/**
 * librbd's and librados' errors (an errno name in `code`) as the library's
 * error kinds, in one place for every store that talks to Ceph: the rbd
 * store, and the cinder store reading and writing Cinder's RBD volumes.
 */
import { BackendUnavailableError, DuplicateError, GlanceStoreError, InUseError, NotFoundError, fromSystemError } from '../../errors.js';
import type { RbdError } from './native.js';

/**
 * `what` names the object ("image abc", "pool images"), `where` the place it
 * was looked for in messages ("store images", "Ceph").
 */
export function rbdError(err: unknown, what: string, where: string): GlanceStoreError {
  if (err instanceof GlanceStoreError) return err;
  switch (rbdCode(err)) {
    case 'ENOENT':
      return new NotFoundError(`${what} was not found in ${where}`, { cause: err });
    case 'EBUSY':
      return new InUseError(`${what} is in use`, { cause: err });
    case 'ENOTEMPTY':
      // rbd_remove of an image that still has snapshots.
      return new InUseError(`${what} still has snapshots`, { cause: err });
    case 'EEXIST':
      return new DuplicateError(`${what} already exists`, { cause: err });
    case 'ETIMEDOUT':
      // A call past rados_osd_op_timeout / rados_mon_op_timeout: an OSD or monitor stopped answering.
      return new BackendUnavailableError(`${what}: ${where} did not answer in time (ETIMEDOUT)`, { cause: err });
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'ECONNABORTED':
    case 'ENOTCONN':
    case 'ESHUTDOWN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new BackendUnavailableError(`${what}: ${where} is unreachable (${rbdCode(err)})`, { cause: err });
    default:
      // Any other errno (EIO, ENOSPC...) still becomes a library error, naming where it happened.
      return fromSystemError(err, `${what} in ${where}`);
  }
}

/** The errno name librbd failed with (`ENOENT`, `EEXIST`...), for the few places that treat one apart. */
export function rbdCode(err: unknown): string | undefined {
  const code = (err as RbdError | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
