/** The `sheepdog` driver type: sheepdog's wire protocol over TCP, nothing installed on the client. */
import { defineDriver } from '../../driver.js';
import { SHEEPDOG_OPTIONS } from './options.js';
import { SHEEPDOG_SCHEME } from './location.js';

export { formatSheepdogLocation, parseSheepdogLocation, type SheepdogLocation } from './location.js';

export const sheepdogDriver = defineDriver({
  type: 'sheepdog',
  schemes: [SHEEPDOG_SCHEME],
  options: SHEEPDOG_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).SheepdogStore.create(ctx),
});
