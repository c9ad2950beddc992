/**
 * Connectors turn Cinder's connection info into a device the store reads
 * and writes at offsets. Only `rbd` is implemented, with the project's
 * librbd binding, as os-brick's RBD connector does without a local attach:
 * a ceph.conf naming the monitors from connection_info and the user's
 * keyring, used to connect, then removed. Another protocol is one more
 * `Connector`.
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import path from 'node:path';
import { BackendError, BackendUnavailableError } from '../../errors.js';
import { rbdError as mapRbdError } from '../rbd/errors.js';
import { loadRbdBinding, type Cluster, type Image, type Ioctx, type RbdBinding } from '../rbd/native.js';
import type { ConnectionInfo } from './api.js';

/** An attached volume, read and written at byte offsets. */
export interface VolumeDevice {
  /** The device's size in bytes now (it grows when an attached volume is extended). */
  size(): Promise<number>;
  read(offset: number, length: number): Promise<Buffer>;
  write(offset: number, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export interface Connector {
  /** Cinder's driver_volume_type this connector handles. */
  readonly protocol: string;
  connect(info: ConnectionInfo): Promise<VolumeDevice>;
  /** Releases shared connections; called when the store closes. */
  close(): Promise<void>;
}

const SUPPORTED = ['rbd'];

/** What the store tells Cinder about this host (as os-brick's get_connector_properties, without local attach). */
export function connectorProperties(): Record<string, unknown> {
  const ip =
    Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
  return {
    platform: process.arch === 'x64' ? 'x86_64' : process.arch,
    os_type: process.platform,
    ip,
    host: hostname(),
    multipath: false,
    enforce_multipath: false,
    do_local_attach: false,
    mountpoint: 'glance_store',
  };
}

/** The connectors of one store, by protocol. */
export class Connectors {
  private readonly rbd: RbdConnector;

  constructor(keyring: string | undefined) {
    this.rbd = new RbdConnector(keyring);
  }

  for(info: ConnectionInfo): Connector {
    const protocol = String(info.driver_volume_type ?? 'unknown');
    if (protocol === 'rbd') return this.rbd;
    throw new BackendError(
      `Cinder attached the volume over ${protocol}, which this store cannot use: it reads and writes volumes over ${SUPPORTED.join(', ')} only (Cinder's RBD driver). ` +
        `iSCSI, NVMe-oF, FC and NFS volumes need the host's kernel (os-brick), as glance_store's cinder store uses`,
    );
  }

  async close(): Promise<void> {
    await this.rbd.close();
  }
}

interface ClusterEntry {
  cluster: Cluster;
  pools: Map<string, Promise<Ioctx>>;
}

/**
 * Cluster connections are shared by every volume on the same monitors, user
 * and key (one Cinder backend), so an attach costs an image open, not a
 * cluster connect.
 */
class RbdConnector implements Connector {
  readonly protocol = 'rbd';
  private binding: Promise<RbdBinding> | undefined;
  private readonly clusters = new Map<string, Promise<ClusterEntry>>();

  constructor(private readonly keyring: string | undefined) {}

  async connect(info: ConnectionInfo): Promise<VolumeDevice> {
    const name = stringField(info, 'name');
    const slash = name.indexOf('/');
    if (slash <= 0) throw new BackendError(`Cinder's rbd connection info names ${JSON.stringify(name)}, not <pool>/<image>`);
    const pool = name.slice(0, slash);
    const image = name.slice(slash + 1);
    this.binding ??= loadRbdBinding();
    const rbd = await this.binding.catch((err: unknown) => {
      this.binding = undefined;
      throw err;
    });
    const entry = await this.cluster(rbd, info);
    let io = entry.pools.get(pool);
    if (!io) {
      io = rbd.openPool(entry.cluster, pool).catch((err: unknown) => {
        entry.pools.delete(pool);
        throw rbdError(err, `pool ${pool}`);
      });
      entry.pools.set(pool, io);
    }
    let handle: Image;
    try {
      handle = await rbd.open(await io, image, null);
    } catch (err) {
      throw rbdError(err, `rbd image ${name}`);
    }
    let closed = false;
    return {
      size: () => rbd.size(handle).catch((err: unknown) => Promise.reject(rbdError(err, name))),
      read: (offset, length) => rbd.read(handle, offset, length).catch((err: unknown) => Promise.reject(rbdError(err, name))),
      write: (offset, data) => rbd.write(handle, offset, data).catch((err: unknown) => Promise.reject(rbdError(err, name))),
      close: async () => {
        if (closed) return;
        closed = true;
        await rbd.close(handle);
      },
    };
  }

  private cluster(rbd: RbdBinding, info: ConnectionInfo): Promise<ClusterEntry> {
    const hosts = listField(info, 'hosts');
    const ports = listField(info, 'ports');
    if (hosts.length === 0 || hosts.length !== ports.length) throw new BackendError(`Cinder's rbd connection info has ${hosts.length} monitor hosts and ${ports.length} ports`);
    const monHost = hosts.map((h, i) => `${h.includes(':') ? `[${h}]` : h}:${ports[i]}`).join(',');
    const user = typeof info['auth_username'] === 'string' && info['auth_username'] ? info['auth_username'] : undefined;
    const cluster = typeof info['cluster_name'] === 'string' && info['cluster_name'] ? info['cluster_name'] : 'ceph';
    const key = typeof info['keyring'] === 'string' && info['keyring'] ? info['keyring'] : undefined;
    const id = `${monHost}|${user ?? ''}|${cluster}|${key ?? ''}`;
    let entry = this.clusters.get(id);
    if (!entry) {
      entry = this.connectCluster(rbd, monHost, cluster, user, key).catch((err: unknown) => {
        this.clusters.delete(id);
        throw err;
      });
      this.clusters.set(id, entry);
    }
    return entry;
  }

  private async connectCluster(rbd: RbdBinding, monHost: string, cluster: string, user: string | undefined, keyContents: string | undefined): Promise<ClusterEntry> {
    const dir = await mkdtemp(path.join(tmpdir(), 'glance-store-cinder-'));
    try {
      let keyring: string | undefined;
      if (keyContents) {
        // Cinder sent the key itself (rbd_keyring_conf): os-brick writes it to a file too.
        keyring = path.join(dir, 'keyring');
        await writeFile(keyring, keyContents, { mode: 0o600 });
      } else if (user) {
        keyring = this.keyring ?? `/etc/ceph/${cluster}.client.${user}.keyring`;
        await access(keyring, constants.R_OK).catch((err: unknown) => {
          throw new BackendUnavailableError(
            `Cinder's volumes are read as Ceph user client.${user}, whose keyring ${keyring} cannot be read (${(err as NodeJS.ErrnoException).code}); ` +
              `put the key there, as for os-brick, or set cinder_rbd_keyring`,
            { cause: err },
          );
        });
      }
      const conf = path.join(dir, `${cluster}.conf`);
      // No librbd cache: the store writes and reads ahead itself, and a cache per open volume would grow memory with concurrency.
      // No admin socket: many connections of one process would collide on its path.
      // Every call bounded: an OSD or monitor that stops answering fails a read or write with ETIMEDOUT (BackendUnavailable).
      const settings = [`mon_host = ${monHost}`, ...(keyring ? [`keyring = ${keyring}`] : []), 'rbd_cache = false', 'admin_socket =', ''];
      await writeFile(conf, `[global]\n${settings.join('\n')}`, { mode: 0o600 });
      try {
        const handle = await rbd.connect({ confFile: conf, ...(user ? { user } : {}), connectTimeout: 30, monOpTimeout: 30, osdOpTimeout: 30 });
        return { cluster: handle, pools: new Map() };
      } catch (err) {
        throw new BackendUnavailableError(`Could not connect to the Ceph cluster of Cinder's volumes (monitors ${monHost}, user ${user ?? 'admin'}): ${(err as Error).message}`, { cause: err });
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async close(): Promise<void> {
    const entries = [...this.clusters.values()];
    this.clusters.clear();
    const rbd = await this.binding?.catch(() => undefined);
    if (!rbd) return;
    for (const pending of entries) {
      const entry = await pending.catch(() => undefined);
      if (!entry) continue;
      for (const io of entry.pools.values()) await io.then((h) => rbd.close(h)).catch(() => undefined);
      await rbd.close(entry.cluster).catch(() => undefined);
    }
  }
}

function stringField(info: ConnectionInfo, name: string): string {
  const v = info[name];
  if (typeof v !== 'string' || !v) throw new BackendError(`Cinder's rbd connection info has no ${name}`);
  return v;
}

function listField(info: ConnectionInfo, name: string): string[] {
  const v = info[name];
  return Array.isArray(v) ? v.map(String) : [];
}

function rbdError(err: unknown, what: string) {
  return mapRbdError(err, what, 'Ceph');
}
