/** The `swift` driver type (OpenStack Swift, single- or multi-tenant). undici loads only when a swift store is created. */
import { defineDriver } from '../../driver.js';
import { SWIFT_OPTIONS } from './options.js';
import { SWIFT_SCHEMES } from './location.js';

export { formatSwiftLocation, parseSwiftLocation, pyQuote, type SwiftLocation } from './location.js';

export const swiftDriver = defineDriver({
  type: 'swift',
  schemes: SWIFT_SCHEMES,
  options: SWIFT_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).SwiftStore.create(ctx),
});
