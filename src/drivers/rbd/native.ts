/**
 * Loads the librbd binding from the npm package glance-store-rbd, an optional
 * peer dependency: glance-store itself has no native code and no install
 * script, so it installs without Ceph's headers. The package is imported only
 * when an rbd store is created, and its absence is reported then.
 */
import type { RbdBinding } from 'glance-store-rbd';
import { BackendUnavailableError } from '../../errors.js';

export type { Cluster, Image, Ioctx, RbdBinding, RbdError } from 'glance-store-rbd';

const PACKAGE = 'glance-store-rbd';

export async function loadRbdBinding(): Promise<RbdBinding> {
  try {
    return (await import('glance-store-rbd')).default;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`'${PACKAGE}'`)) {
      throw new BackendUnavailableError(
        `The rbd driver needs the npm package ${PACKAGE}, which is not installed: add it beside glance-store (npm install ${PACKAGE}). ` +
          `It builds a librbd binding when installed, which needs Debian's librbd-dev and librados-dev and a C++ toolchain (apt-get install librbd-dev librados-dev g++ make python3)`,
        { cause: err },
      );
    }
    // The package's own errors (binding not built, or not loadable) say what to install and how to rebuild it.
    const own = typeof e.code === 'string' && e.code.startsWith('ERR_GLANCE_STORE_RBD_');
    throw new BackendUnavailableError(own ? e.message : `The rbd driver could not load ${PACKAGE}: ${e.message}`, { cause: err });
  }
}
