/** The `vmware` driver type (images on vSphere datastores through vCenter). It loads only when a vmware store is created. */
import { defineDriver } from '../../driver.js';
import { VMWARE_OPTIONS } from './options.js';
import { VSPHERE_SCHEME } from './location.js';

export { formatVsphereLocation, parseVsphereLocation, type VsphereLocation } from './location.js';

export const vmwareDriver = defineDriver({
  type: 'vmware',
  schemes: [VSPHERE_SCHEME],
  options: VMWARE_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).VmwareStore.create(ctx),
});
