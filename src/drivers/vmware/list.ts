/**
 * Listing a vmware store: the image directory (vmware_store_image_dir) of
 * each configured datastore, searched with its HostDatastoreBrowser
 * (SearchDatastore_Task, polled as every task is). An image is a file named
 * by an image id, listed with the location an add writes; an add's upload
 * file (`<id>.<12 hex digits>.partial`, see driver.ts) is a leftover, never
 * an image; folders and other names are neither.
 *
 * The vSphere API answers a search with the whole directory at once (it has
 * no pages): a directory's entries are held while they are given out, one
 * datastore at a time.
 */
import type { DriverListOptions, ListedImage, StoreLeftover } from '../../driver.js';
import { NotFoundError } from '../../errors.js';
import { isImageId } from '../../image-id.js';
import type { ResolvedDatastore } from './inventory.js';
import { retrieveProperties } from './inventory.js';
import { formatVsphereLocation } from './location.js';
import type { VsphereSession } from './session.js';
import { children, child, moRef, stripPrefix, text, type MoRef, type Node, type SoapValue } from './soap.js';

/** driver.ts's upload name: the image's name, a dot, 12 hex digits, `.partial`. */
const UPLOAD_NAME = /^([A-Za-z0-9][A-Za-z0-9._-]{0,254})\.[0-9a-f]{12}\.partial$/;

/** What a listing needs of the store. */
export interface VmwareListing {
  storeId: string;
  session: VsphereSession;
  /** vmware_server_host as locations carry it. */
  host: string;
  imageDir: string;
  datastores(signal?: AbortSignal): Promise<ResolvedDatastore[]>;
  /** Starts `method` on `self` and waits for its task, resolving with the task's result. */
  runTask(method: string, self: MoRef, args: Record<string, SoapValue>, what: string, signal?: AbortSignal): Promise<Node | Node[] | undefined>;
}

interface DatastoreFile {
  ds: ResolvedDatastore;
  name: string;
  size: number | undefined;
  modified: Date | undefined;
}

/** The image directory's path on a datastore, as the browser takes it (`[LocalDS_0] openstack_glance`). */
function directoryOn(ds: ResolvedDatastore, imageDir: string): string {
  const dir = imageDir.replace(/^\/+|\/+$/g, '');
  return `[${ds.name}]${dir ? ` ${dir}` : ''}`;
}

/** The files (not folders) of the image directory on each datastore; a datastore without it holds nothing. */
async function* files(l: VmwareListing, signal: AbortSignal | undefined): AsyncGenerator<DatastoreFile> {
  const datastores = await l.datastores(signal);
  const browsers = await retrieveProperties(l.session, datastores.map((d) => d.ref), ['browser'], signal);
  const seen = new Set<string>();
  for (const ds of datastores) {
    // Two entries may name one datastore (with different weights): it is listed once.
    if (seen.has(ds.ref.value)) continue;
    seen.add(ds.ref.value);
    signal?.throwIfAborted();
    const browser = moRef(browsers.get(ds.ref.value)?.get('browser'));
    if (!browser) continue;
    const dir = directoryOn(ds, l.imageDir);
    let result;
    try {
      result = await l.runTask(
        'SearchDatastore_Task',
        browser,
        {
          datastorePath: dir,
          // vSphere's element order: details, then matchPattern (vcsim lists nothing without a pattern).
          searchSpec: { details: { fileType: true, fileSize: true, modification: true, fileOwner: false }, matchPattern: '*' },
        },
        `Listing ${dir} of store ${l.storeId}`,
        signal,
      );
    } catch (err) {
      // The directory is made by the first add: until then the datastore holds nothing of the store's.
      if (err instanceof NotFoundError) continue;
      throw err;
    }
    for (const f of children(result, 'file')) {
      signal?.throwIfAborted();
      const type = stripPrefix(text(child(f, '@type')) ?? 'FileInfo');
      const name = text(child(f, 'path'));
      if (!name || type === 'FolderFileInfo') continue;
      const size = Number(text(child(f, 'fileSize')));
      const mtime = text(child(f, 'modification'));
      const modified = mtime ? new Date(mtime) : undefined;
      yield { ds, name, size: Number.isFinite(size) ? size : undefined, modified: modified && !Number.isNaN(modified.getTime()) ? modified : undefined };
    }
  }
}

const locationOf = (l: VmwareListing, f: DatastoreFile) => formatVsphereLocation(l.host, l.imageDir, f.name, f.ds.name, f.ds.datacenterPath);

export async function* listVmwareImages(l: VmwareListing, options: DriverListOptions = {}): AsyncGenerator<ListedImage> {
  for await (const f of files(l, options.signal)) {
    if (UPLOAD_NAME.test(f.name) || !isImageId(f.name)) continue;
    yield { id: f.name, size: f.size, location: locationOf(l, f), ...(f.modified ? { since: f.modified } : {}) };
  }
}

export async function* vmwareLeftovers(l: VmwareListing, options: DriverListOptions = {}): AsyncGenerator<StoreLeftover> {
  for await (const f of files(l, options.signal)) {
    const m = UPLOAD_NAME.exec(f.name);
    if (!m) continue;
    yield { kind: 'upload', location: locationOf(l, f), imageId: m[1]!, since: f.modified, ...(f.size !== undefined ? { size: f.size } : {}) };
  }
}
