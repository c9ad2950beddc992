/**
 * Registers the built-in driver types. Heavy backends (rbd's native binding,
 * the AWS SDK) are loaded by their drivers only when a store of that type is
 * created, so importing the library stays cheap.
 */
import { registerFileDriver } from './file/index.js';
import { registerHttpDriver } from './http/index.js';
import { registerRbdDriver } from './rbd/index.js';
import { registerS3Driver } from './s3/index.js';
import { registerSwiftDriver } from './swift/index.js';

/** Built-in types, in the order the configuration reference lists them. */
export const BUILTIN_TYPES = ['file', 'http', 'rbd', 'swift', 's3'] as const;

registerFileDriver();
registerHttpDriver();
registerRbdDriver();
registerSwiftDriver();
registerS3Driver();
