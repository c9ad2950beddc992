/**
 * `glance-store/driver`: what a driver author needs to write a store type
 * of their own (docs/writing-a-driver.md). The driver contract and
 * defineDriver; the option schema types and option reading; the errors a
 * driver throws and secret masking; the stream helpers a driver may use
 * (none of them hashes: MultiStore's add pipeline does that before a
 * driver sees the data). Services use the package root.
 */
export { defineDriver, isDriverDefinition, isWritable } from './driver.js';
export type {
  Capability,
  StoreDriver,
  WritableStoreDriver,
  ReadOnlyStoreDriver,
  DriverContext,
  DriverDefinition,
  DriverDeclaration,
  AnyDriverDefinition,
  DriverAddOptions,
  DriverAddResult,
  DriverGetOptions,
  DriverGetResult,
  DriverCallOptions,
  DriverListOptions,
  ListedImage,
  StoreLeftover,
  LocationRecord,
  RequestContext,
  ImageAcls,
} from './driver.js';
export { BUILTIN_DRIVERS } from './drivers/index.js';
export { readOptions, suggest, maskSecrets } from './config/options.js';
export type { OptionSpec, OptionType, OptionValues, OptionsOf, ReadOptionsResult, ReadOptionsContext } from './config/options.js';
export * from './errors.js';
export { checkImageId, isImageId } from './image-id.js';
export { maskLocation, maskDeep } from './location.js';
export type { Logger } from './logger.js';
export { fixedChunks, isAllZero, ByteReader } from './pipeline/chunks.js';
export { readAhead } from './pipeline/read-ahead.js';
export type { ReadAheadOptions } from './pipeline/read-ahead.js';
// Writes at offsets with a bound in flight (rbd, cinder), and waiting for a backend's state (cinder volumes, swift).
export { WriteBehind } from './pipeline/write-behind.js';
export type { WriteAt, WriteBehindOptions } from './pipeline/write-behind.js';
export { waitUntil, reached, waiting } from './net/poller.js';
export { createReclaimer } from './pipeline/reclaim.js';
export type { Reclaimer, ReclaimerOptions, LeftoverRef, PendingLeftover, RemoveLeftover } from './pipeline/reclaim.js';
export type { Poll, WaitOptions } from './net/poller.js';
