/** The `rbd` driver type. Its native binding is loaded only when an rbd store is created. */
import { registerDriver } from '../../driver.js';
import { RBD_OPTIONS } from './options.js';

export { RBD_OPTIONS } from './options.js';
export { formatRbdLocation, parseRbdLocation } from './location.js';

export function registerRbdDriver(): void {
  registerDriver(
    'rbd',
    async (ctx) => {
      const { RbdStore } = await import('./driver.js');
      return RbdStore.create(ctx);
    },
    RBD_OPTIONS,
    { schemes: ['rbd'] },
  );
}
