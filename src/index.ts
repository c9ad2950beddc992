/**
 * glance-store: multi-store image storage configured by glance-api.conf.
 * This is the entry for services: MultiStore, its store handles, config
 * parsing, the errors and secret masking. What driver authors need
 * (defineDriver, the driver contract, pipeline helpers, option reading) is
 * `glance-store/driver` (src/driver-kit.ts); the conformance suite is
 * `glance-store/testing`.
 */
export { MultiStore, checkImageId } from './multistore.js';
export type {
  MultiStoreOptions,
  StoreInfo,
  StoreInfoDetail,
  StoreState,
  AddOptions,
  AddResult,
  GetOptions,
  GetResult,
  CallOptions,
  CopyOptions,
  StoreHandle,
  StoreHandleBase,
  ReadOnlyStoreHandle,
  WritableStoreHandle,
} from './multistore.js';
export { parseConfig, mergeConfigs, ConfigParseError } from './config/parse.js';
export type { ParsedConfig } from './config/parse.js';
export { INTERPOLATION_LIMITS } from './config/interpolate.js';
// A service passes driver definitions to MultiStore.create and may read locations' metadata: the types only.
export type { AnyDriverDefinition, Capability, LocationRecord, RequestContext, ImageAcls } from './driver.js';
export * from './errors.js';
export { maskLocation, schemeOf, imageIdFromLocation } from './location.js';
export type { Logger } from './logger.js';
export type { AddProgress } from './pipeline/add.js';
export type { ImageData } from './pipeline/source.js';
export type { PendingLeftover } from './pipeline/reclaim.js';
export type { ListOptions, ListedImage, StoreLeftover, PartialListing } from './listing.js';
export type { VerifyExpected, VerifyResult, HashName } from './verify.js';
export type { GetFirstOptions, GetFirstResult, AllLocationsFailed } from './read-first.js';
