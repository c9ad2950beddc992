/**
 * librbd's and librados' errors (an errno name in `code`) as the library's
 * error kinds, in one place for every store that talks to Ceph: the rbd
 * store, and the cinder store reading and writing Cinder's RBD volumes.
 */
import { DuplicateError, GlanceStoreError, InUseError, NotFoundError, fromSystemError } from '../../errors.js';
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
    default:
      return fromSystemError(err, what);
  }
}

/** The errno name librbd failed with (`ENOENT`, `EEXIST`...), for the few places that treat one apart. */
export function rbdCode(err: unknown): string | undefined {
  const code = (err as RbdError | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}
