/** The read-only `http` driver type. */
import { registerDriver } from '../../driver.js';
import { HttpStore } from './driver.js';
import { HTTP_OPTIONS } from './options.js';

export { HttpStore } from './driver.js';
export { HTTP_OPTIONS } from './options.js';

export function registerHttpDriver(): void {
  registerDriver('http', (ctx) => HttpStore.create(ctx), HTTP_OPTIONS, { schemes: ['http', 'https'], readOnly: true });
}
