/**
 * The built-in driver types, listed once, in the order the configuration
 * reference shows them. Importing this costs little: each definition loads
 * its driver (and the driver's SDK, HTTP client or native binding) only when
 * a store of its type is created.
 */
import { isDriverDefinition, type AnyDriverDefinition } from '../driver.js';
import { BadStoreConfigurationError } from '../errors.js';
import { cinderDriver } from './cinder/index.js';
import { fileDriver } from './file/index.js';
import { httpDriver } from './http/index.js';
import { rbdDriver } from './rbd/index.js';
import { s3Driver } from './s3/index.js';
import { sheepdogDriver } from './sheepdog/index.js';
import { swiftDriver } from './swift/index.js';
import { vmwareDriver } from './vmware/index.js';

export const BUILTIN_DRIVERS: readonly AnyDriverDefinition[] = Object.freeze([fileDriver, httpDriver, rbdDriver, swiftDriver, s3Driver, cinderDriver, sheepdogDriver, vmwareDriver]);

/** Driver types by name: the built-in ones and those passed to `MultiStore.create`. */
export type DriverRegistry = ReadonlyMap<string, AnyDriverDefinition>;

/**
 * The built-in drivers plus `extra` (third-party definitions from
 * `defineDriver`). A type name that is already taken is refused, never a
 * silent replacement: a driver named `file` must not take over every file
 * store of the config.
 */
export function driverRegistry(extra: readonly AnyDriverDefinition[] = []): DriverRegistry {
  if (!Array.isArray(extra)) throw invalidDrivers('options.drivers must be an array of driver definitions');
  const registry = new Map(BUILTIN_DRIVERS.map((d) => [d.type, d]));
  const problems: string[] = [];
  extra.forEach((def, i) => {
    if (!isDriverDefinition(def)) throw invalidDrivers(`options.drivers[${i}] is not a driver definition: make it with defineDriver()`);
    const taken = registry.get(def.type);
    if (taken) {
      const by = BUILTIN_DRIVERS.includes(taken) ? 'a built-in driver' : 'another driver in options.drivers';
      problems.push(`options.drivers[${i}]: driver type ${JSON.stringify(def.type)} is already taken by ${by}; give the driver a type name of its own`);
      return;
    }
    registry.set(def.type, def);
  });
  if (problems.length) throw new BadStoreConfigurationError(problems);
  return registry;
}

function invalidDrivers(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}
