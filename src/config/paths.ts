/**
 * The path checks an option schema declares (`PathCheck`): the file or
 * directory an option names, looked at when the config is read, so that
 * MultiStore.create reports a missing CA bundle or a references file that
 * does not parse with every other problem, before any store is contacted.
 * Only reads and stats: nothing is created or changed.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { OptionValues, PathCheck } from './schema.js';

/** The error code of a failed file-system call, or its message. */
function reason(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

/** Why the path `value` does not pass `check`, or undefined when it does (or the check does not apply). */
export function pathProblem(check: PathCheck, value: unknown, values: OptionValues): string | undefined {
  if (typeof value !== 'string' || (check.only && !check.only.test(values))) return undefined;
  if (check.kind === 'writable-directory') {
    try {
      if (!statSync(value).isDirectory()) return 'is not a directory';
      accessSync(value, constants.W_OK | constants.X_OK);
    } catch (err) {
      return `is not a writable directory (${reason(err)})`;
    }
    return undefined;
  }
  let text: string;
  try {
    if (statSync(value).isDirectory()) return 'is a directory, not a file';
    text = readFileSync(value, 'utf8');
  } catch (err) {
    return `cannot be read (${reason(err)})`;
  }
  return check.content?.problem(text, values);
}

/** How the configuration reference states a path check. */
export function pathNote(check: PathCheck): string {
  const what = check.kind === 'writable-directory' ? 'a directory the store can write in' : `a file the store can read${check.content ? `, holding ${check.content.rule}` : ''}`;
  return `must name ${what}${check.only ? `, ${check.only.when}` : ''}, checked at startup`;
}
