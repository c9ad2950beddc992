/** The `swift` driver type (OpenStack Swift, single- or multi-tenant). */
import { registerDriver } from '../../driver.js';
import { SWIFT_OPTIONS } from './options.js';
import { SWIFT_SCHEMES } from './location.js';

export { SWIFT_OPTIONS } from './options.js';
export { formatSwiftLocation, parseSwiftLocation, pyQuote, type SwiftLocation } from './location.js';
export { selectEndpoint } from './auth.js';
export { containerName } from './driver.js';

export function registerSwiftDriver(): void {
  registerDriver(
    'swift',
    async (ctx) => {
      const { SwiftStore } = await import('./driver.js');
      return SwiftStore.create(ctx);
    },
    SWIFT_OPTIONS,
    { schemes: SWIFT_SCHEMES },
  );
}
