/**
 * Loads the librbd binding built from native/rbd. It is optional: without
 * Ceph's development headers `npm install` skips it, and creating an rbd store
 * then fails with this message instead of the library failing to load.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../../errors.js';

/** Opaque native handles. */
export interface Cluster { readonly kind: 'cluster' }
export interface Ioctx { readonly kind: 'ioctx' }
export interface Image { readonly kind: 'image' }

/** Errors from the binding carry the errno and its name. */
export interface RbdError extends Error {
  errno: number;
  code: string;
}

export interface RbdBinding {
  connect(options: { confFile?: string; user?: string; keyring?: string; connectTimeout?: number }): Promise<Cluster>;
  fsid(cluster: Cluster): string;
  openPool(cluster: Cluster, pool: string): Promise<Ioctx>;
  create(ioctx: Ioctx, name: string, size: number, order: number, features: number): Promise<void>;
  open(ioctx: Ioctx, name: string, snap: string | null): Promise<Image>;
  remove(ioctx: Ioctx, name: string): Promise<void>;
  trashMove(ioctx: Ioctx, name: string, delaySeconds: number): Promise<void>;
  list(ioctx: Ioctx): Promise<string[]>;
  size(image: Image): Promise<number>;
  write(image: Image, offset: number, data: Buffer): Promise<void>;
  read(image: Image, offset: number, length: number): Promise<Buffer>;
  resize(image: Image, size: number): Promise<void>;
  snapCreate(image: Image, snap: string): Promise<void>;
  snapProtect(image: Image, snap: string): Promise<void>;
  snapUnprotect(image: Image, snap: string): Promise<void>;
  snapRemove(image: Image, snap: string): Promise<void>;
  snapIsProtected(image: Image, snap: string): Promise<boolean>;
  snapList(image: Image): Promise<string[]>;
  listChildren(image: Image): Promise<string[]>;
  flatten(image: Image): Promise<void>;
  close(handle: Cluster | Ioctx | Image): Promise<void>;
  FEATURE_LAYERING: number;
}

const BUILT = fileURLToPath(new URL('../../../../native/rbd/build/Release/glance_store_rbd.node', import.meta.url));
const FROM_SOURCE = fileURLToPath(new URL('../../../native/rbd/build/Release/glance_store_rbd.node', import.meta.url));

let binding: RbdBinding | undefined;

export function loadRbdBinding(): RbdBinding {
  if (binding) return binding;
  const file = [BUILT, FROM_SOURCE].find((f) => existsSync(f));
  if (!file) {
    throw new BackendUnavailableError(
      'The rbd driver needs its librbd binding, which is not built: install the Debian packages librbd-dev and librados-dev (apt-get install librbd-dev librados-dev), then rebuild it with `npm rebuild glance-store` (or `npm run build:native` in a checkout)',
    );
  }
  binding = createRequire(import.meta.url)(file) as RbdBinding;
  return binding;
}
