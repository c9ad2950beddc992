/** The `cinder` driver type: each image in a Cinder volume of its own. Its REST client and librbd binding load only when a cinder store is created. */
import { defineDriver } from '../../driver.js';
import { CINDER_OPTIONS } from './options.js';

export const cinderDriver = defineDriver({
  type: 'cinder',
  schemes: ['cinder'],
  options: CINDER_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).CinderStore.create(ctx),
});

export { formatCinderLocation, parseCinderLocation } from './location.js';
