/** The `file` driver type: images as files in one or more datadirs. */
import { defineDriver } from '../../driver.js';
import { FileStore } from './driver.js';
import { FILE_OPTIONS } from './options.js';

export const fileDriver = defineDriver({
  type: 'file',
  schemes: ['file', 'filesystem'],
  options: FILE_OPTIONS,
  create: (ctx) => FileStore.create(ctx),
});

export { formatFileLocation, parseFileLocation } from './location.js';
