/**
 * What a driver's `create` finds wrong with its store on this machine (a CA
 * bundle, a datadir, a metadata file that cannot be read now, though the
 * start-up check passed): one BadStoreConfiguration listing each problem,
 * each line naming the store, as the start-up check lists a config's.
 */
import { BadStoreConfigurationError } from '../errors.js';

export function throwStoreProblems(storeId: string, problems: readonly string[]): void {
  if (problems.length) throw new BadStoreConfigurationError(problems.map((p) => `[${storeId}] ${p}`));
}
