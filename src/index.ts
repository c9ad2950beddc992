/**
 * glance-store: multi-store image storage configured by glance-api.conf.
 * This module only re-exports the public API.
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
} from './multistore.js';
export { parseConfig, mergeConfigs, ConfigParseError } from './config/parse.js';
export type { ParsedConfig } from './config/parse.js';
export { readOptions, suggest, maskSecrets } from './config/options.js';
export type { OptionSpec, OptionType, OptionValues, OptionsOf, ReadOptionsResult, ReadOptionsContext } from './config/options.js';
export { readStoresConfig, readConfig, RESERVED_STORES, COMMON_STORE_OPTIONS, GLOBAL_OPTIONS } from './config/stores.js';
export type { ConfigReading, ConfigProblem, ProblemKind, GroupOutcome } from './config/stores.js';
export { INTERPOLATION_LIMITS } from './config/interpolate.js';
export { defineDriver, isDriverDefinition, isWritable } from './driver.js';
export { BUILTIN_DRIVERS } from './drivers/index.js';
export type {
  Capability,
  StoreDriver,
  WritableStoreDriver,
  DriverContext,
  DriverDefinition,
  AnyDriverDefinition,
  DriverAddOptions,
  DriverAddResult,
  DriverGetOptions,
  DriverGetResult,
  DriverCallOptions,
  LocationRecord,
  RequestContext,
  ImageAcls,
} from './driver.js';
export * from './errors.js';
export { maskLocation, maskDeep, schemeOf, imageIdFromLocation } from './location.js';
export type { Logger } from './logger.js';
export { openAddPipeline, checkAddOptions } from './pipeline/add.js';
export type { AddPipeline, AddProgress, AddDigest, AddPipelineOptions } from './pipeline/add.js';
export type { ImageData } from './pipeline/source.js';
export { fixedChunks, isAllZero, ByteReader } from './pipeline/chunks.js';
export { readAhead } from './pipeline/read-ahead.js';
export type { ReadAheadOptions } from './pipeline/read-ahead.js';
export { FileStore } from './drivers/file/driver.js';
export { FILE_OPTIONS } from './drivers/file/options.js';
export { SWIFT_OPTIONS } from './drivers/swift/options.js';
export { formatSwiftLocation, parseSwiftLocation } from './drivers/swift/location.js';
