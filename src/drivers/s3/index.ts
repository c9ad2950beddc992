/** The `s3` driver type. The AWS SDK is loaded only when an s3 store is created. */
import { registerDriver } from '../../driver.js';
import { S3_OPTIONS } from './options.js';

export { S3_OPTIONS } from './options.js';
export { formatS3Location, parseS3Location } from './location.js';

export function registerS3Driver(): void {
  registerDriver(
    's3',
    async (ctx) => {
      const { S3Store } = await import('./driver.js');
      return S3Store.create(ctx);
    },
    S3_OPTIONS,
    { schemes: ['s3', 's3+http', 's3+https'] },
  );
}
