/** The `s3` driver type. The AWS SDK loads only when an s3 store is created. */
import { defineDriver } from '../../driver.js';
import { S3_OPTIONS } from './options.js';

export const s3Driver = defineDriver({
  type: 's3',
  schemes: ['s3', 's3+http', 's3+https'],
  options: S3_OPTIONS,
  create: async (ctx) => (await import('./driver.js')).S3Store.create(ctx),
});

export { formatS3Location, parseS3Location } from './location.js';
