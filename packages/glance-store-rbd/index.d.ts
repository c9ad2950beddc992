/**
 * The librbd binding used by glance-store's rbd driver. Every call that talks
 * to the cluster runs on the binding's own threads and returns a promise.
 * Importing the module throws (code ERR_GLANCE_STORE_RBD_NOT_BUILT or
 * ERR_GLANCE_STORE_RBD_LOAD_FAILED) when the binding is not built or cannot load.
 */

/** Opaque native handles, released by close() (or at garbage collection). */
export interface Cluster { readonly kind: 'cluster' }
export interface Ioctx { readonly kind: 'ioctx' }
export interface Image { readonly kind: 'image' }

/** Errors from librados/librbd carry the positive errno and its name (ENOENT, EEXIST, ...). */
export interface RbdError extends Error {
  errno: number;
  code: string;
}

export interface RbdBinding {
  /**
   * Connects as client.<user> (client.admin by default). Timeouts are in
   * seconds; a call past its timeout fails with ETIMEDOUT. connectTimeout sets
   * client_mount_timeout (the connection), monOpTimeout rados_mon_op_timeout,
   * osdOpTimeout rados_osd_op_timeout (every read and write of an image). Each
   * one given is set as given, 0 being Ceph's "no timeout"; one left out keeps
   * the Ceph configuration's value.
   */
  connect(options: { confFile?: string; user?: string; connectTimeout?: number; monOpTimeout?: number; osdOpTimeout?: number }): Promise<Cluster>;
  fsid(cluster: Cluster): string;
  openPool(cluster: Cluster, pool: string): Promise<Ioctx>;
  /**
   * Fetches the newest OSD map from the monitors (rados_wait_for_latest_osdmap):
   * after an OSD was restarted, a client that still has the old instance in
   * its map times out every call to it until it has the new map.
   */
  refreshMap(cluster: Cluster): Promise<void>;
  /** Creates an image of `size` bytes with objects of 2^order bytes. */
  create(ioctx: Ioctx, name: string, size: number, order: number, features: number): Promise<void>;
  /** Opens an image, at a snapshot when `snap` is given. */
  open(ioctx: Ioctx, name: string, snap: string | null): Promise<Image>;
  /**
   * Opens an image read-only (at a snapshot when `snap` is given): the handle
   * registers no watch, so the image's watchers do not list it, and cannot write.
   */
  openReadOnly(ioctx: Ioctx, name: string, snap: string | null): Promise<Image>;
  remove(ioctx: Ioctx, name: string): Promise<void>;
  /** Moves the image to the pool's RBD trash, removable at once (EBUSY while a client has it open). */
  trashMove(ioctx: Ioctx, name: string): Promise<void>;
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
  /**
   * The pool's image names (rbd_list2), each followed by a NUL byte, in one
   * buffer: librbd lists a pool whole, and the names' bytes cost far less
   * than as many strings. Split it as you go.
   */
  list(ioctx: Ioctx): Promise<Buffer>;
  /** When the image was created (rbd_get_create_timestamp), in seconds since the epoch. */
  createTimestamp(image: Image): Promise<number>;
  /** The clones ("pool/image") of the snapshot the image is opened at. */
  listChildren(image: Image): Promise<string[]>;
  /**
   * The clients ("address") that have the image open now, a reader at its
   * snapshot included; the call itself opens it read-only, unseen.
   */
  watchers(ioctx: Ioctx, name: string): Promise<string[]>;
  close(handle: Cluster | Ioctx | Image): Promise<void>;
  readonly FEATURE_LAYERING: number;
}

declare const binding: RbdBinding;
export default binding;
