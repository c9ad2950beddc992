/** The `rbd` driver type (Ceph RBD). Its native binding loads only when an rbd store is created. */
import { defineDriver } from '../../driver.js';
import { RBD_OPTIONS } from './options.js';

export const rbdDriver = defineDriver({
  type: 'rbd',
  schemes: ['rbd'],
  options: RBD_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).RbdStore.create(ctx),
});

export { formatRbdLocation, parseRbdLocation } from './location.js';
