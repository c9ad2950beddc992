/** The read-only `http` driver type: its stores implement only `StoreDriver`. */
import { defineDriver } from '../../driver.js';
import { HTTP_OPTIONS } from './options.js';

export const httpDriver = defineDriver({
  type: 'http',
  schemes: ['http', 'https'],
  readOnly: true,
  options: HTTP_OPTIONS,
  // undici loads only when an http store is created.
  create: async (ctx) => (await import('./driver.js')).HttpStore.create(ctx),
});
