/**
 * A handle on one store, as `MultiStore.store(id)` gives it: every call goes
 * through MultiStore (argument checks, capability checks, the add pipeline
 * with its hashes, size cap and cleanup), with the store fixed to this one.
 * A store that cannot write gets a handle without `add`, `delete` and
 * `setAcls`, in its type and at run time, so writing to an http store does
 * not compile. The raw driver is `MultiStore.rawDriver(id)`, for driver
 * authors only.
 */
import type { Capability, ImageAcls, LocationRecord } from './driver.js';
import { checkOptionsObject } from './arguments.js';
import type { ImageData } from './pipeline/source.js';
import type { AddResult } from './add-image.js';
import type { VerifyExpected, VerifyResult } from './verify.js';
import type { AddOptions, CallOptions, CopyOptions, GetOptions, GetResult, StoreInfo, StoreInfoDetail } from './multistore-types.js';

/** The calls of MultiStore a handle goes through (MultiStore implements them). */
export interface StoreCalls {
  add(imageId: string, data: ImageData, options: AddOptions): Promise<AddResult>;
  get(location: string | LocationRecord, options: GetOptions): Promise<GetResult>;
  getSize(location: string | LocationRecord, options: CallOptions): Promise<number | undefined>;
  delete(location: string | LocationRecord, options: CallOptions): Promise<void>;
  setAcls(location: string | LocationRecord, acls: ImageAcls, options: CallOptions): Promise<void>;
  copy(location: string | LocationRecord, toStoreId: string, options: CopyOptions): Promise<AddResult>;
  verify(location: string | LocationRecord, options: VerifyExpected & CallOptions): Promise<VerifyResult>;
}

/** What every handle can do: read, and copy its images into another store. */
export interface StoreHandleBase {
  readonly id: string;
  /** The driver type (`file`, `http`, ...). */
  readonly type: string;
  /** Whether this handle has `add`, `delete` and `setAcls`: narrow on it. */
  readonly writable: boolean;
  /** What the store can do now. */
  capabilities(): ReadonlySet<Capability>;
  /** This store's entry of `MultiStore.info()` (a reserved store has one too, though it is not listed). */
  info(): StoreInfo;
  infoDetail(): StoreInfoDetail;
  get(location: string | LocationRecord, options?: Omit<GetOptions, 'store'>): Promise<GetResult>;
  getSize(location: string | LocationRecord, options?: Omit<CallOptions, 'store'>): Promise<number | undefined>;
  /** Reads the image and hashes it, keeping none of it (see `MultiStore.verify`). */
  verify(location: string | LocationRecord, options?: VerifyExpected & Omit<CallOptions, 'store'>): Promise<VerifyResult>;
  /** Glance's copy-image from this store into `toStoreId` (see `MultiStore.copy`). */
  copyTo(location: string | LocationRecord, toStoreId: string, options?: Omit<CopyOptions, 'fromStore'>): Promise<AddResult>;
}

/** A store that cannot write (an http store, or one whose backend refused writes at start). */
export interface ReadOnlyStoreHandle extends StoreHandleBase {
  readonly writable: false;
}

/** A store that can write: adds run through the add pipeline. */
export interface WritableStoreHandle extends StoreHandleBase {
  readonly writable: true;
  add(imageId: string, data: ImageData, options?: Omit<AddOptions, 'store'>): Promise<AddResult>;
  delete(location: string | LocationRecord, options?: Omit<CallOptions, 'store'>): Promise<void>;
  setAcls(location: string | LocationRecord, acls: ImageAcls, options?: Omit<CallOptions, 'store'>): Promise<void>;
}

export type StoreHandle = ReadOnlyStoreHandle | WritableStoreHandle;

/** The store a handle is on, as MultiStore describes it. */
export interface HandleTarget {
  id: string;
  type: string;
  writable: boolean;
  capabilities: () => ReadonlySet<Capability>;
  info: () => StoreInfo;
  infoDetail: () => StoreInfoDetail;
}

export function storeHandle(calls: StoreCalls, target: HandleTarget & { writable: true }): WritableStoreHandle;
export function storeHandle(calls: StoreCalls, target: HandleTarget): StoreHandle;
export function storeHandle(calls: StoreCalls, target: HandleTarget): StoreHandle {
  const { id, type } = target;
  // The caller's options, checked as MultiStore checks them, with the store fixed to this one.
  const on = <T extends object>(options: T | undefined, key: 'store' | 'fromStore' = 'store'): T & Record<typeof key, string> => {
    checkOptionsObject('options', options);
    return { ...(options ?? ({} as T)), [key]: id } as T & Record<typeof key, string>;
  };
  const read = {
    id,
    type,
    capabilities: target.capabilities,
    info: target.info,
    infoDetail: target.infoDetail,
    get: async (location: string | LocationRecord, options?: Omit<GetOptions, 'store'>) => calls.get(location, on(options)),
    getSize: async (location: string | LocationRecord, options?: Omit<CallOptions, 'store'>) => calls.getSize(location, on(options)),
    verify: async (location: string | LocationRecord, options?: VerifyExpected & Omit<CallOptions, 'store'>) => calls.verify(location, on(options)),
    copyTo: async (location: string | LocationRecord, toStoreId: string, options?: Omit<CopyOptions, 'fromStore'>) => calls.copy(location, toStoreId, on(options, 'fromStore')),
  };
  if (!target.writable) return Object.freeze({ ...read, writable: false as const });
  return Object.freeze({
    ...read,
    writable: true as const,
    add: async (imageId: string, data: ImageData, options?: Omit<AddOptions, 'store'>) => calls.add(imageId, data, on(options)),
    delete: async (location: string | LocationRecord, options?: Omit<CallOptions, 'store'>) => calls.delete(location, on(options)),
    setAcls: async (location: string | LocationRecord, acls: ImageAcls, options?: Omit<CallOptions, 'store'>) => calls.setAcls(location, acls, on(options)),
  });
}
