/** The `file` driver type. */
import { registerDriver } from '../../driver.js';
import { FileStore } from './driver.js';
import { FILE_OPTIONS } from './options.js';

export { FileStore } from './driver.js';
export { FILE_OPTIONS } from './options.js';
export { formatFileLocation, parseFileLocation } from './location.js';

export function registerFileDriver(): void {
  registerDriver('file', (ctx) => FileStore.create(ctx), FILE_OPTIONS, { schemes: ['file', 'filesystem'] });
}
