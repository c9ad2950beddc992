/**
 * The command line of `glance-store`: flags, commands, and the driver
 * modules named by --driver. Mistakes get one line that says what was wrong,
 * with a did-you-mean where a known name is close, and a pointer to --help.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { suggest } from '../config/options.js';
import { isDriverDefinition, type AnyDriverDefinition } from '../driver.js';
import { DISK_FORMATS, type DiskFormat } from '../inspect/types.js';
import type { InspectSetting } from '../inspect/policy.js';

export const COMMANDS = ['stores', 'add', 'get', 'size', 'delete', 'copy', 'inspect', 'ls', 'audit', 'check', 'config-reference'] as const;
export type Command = (typeof COMMANDS)[number];

const OPTIONS = {
  config: { type: 'string' },
  driver: { type: 'string', multiple: true },
  json: { type: 'boolean', default: false },
  quiet: { type: 'boolean', default: false },
  debug: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
  version: { type: 'boolean', default: false },
  detail: { type: 'boolean', default: false },
  store: { type: 'string' },
  id: { type: 'string' },
  size: { type: 'string' },
  output: { type: 'string', short: 'o' },
  offset: { type: 'string' },
  length: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  inspect: { type: 'boolean', default: false },
  expect: { type: 'string', multiple: true },
  'report-unsafe': { type: 'boolean', default: false },
  leftovers: { type: 'boolean', default: false },
  known: { type: 'string' },
  verify: { type: 'string' },
  'delete-orphans': { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  'older-than': { type: 'string' },
  'skip-bad-lines': { type: 'boolean', default: false },
} as const;

/** A mistake on the command line: exit code 2, one line of explanation. */
export class UsageError extends Error {
  readonly code = 'Usage';
}

const HELP_HINT = "run 'glance-store --help' for usage";

function didYouMean(name: string, known: readonly string[]): string {
  const hint = suggest(name, known);
  return hint ? ` (did you mean ${JSON.stringify(hint)}?)` : '';
}

export function parseCommandLine(argv: string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const flag = /'(-{1,2}[^'\s]+)'/.exec(e.message ?? '')?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) {
      const known = Object.keys(OPTIONS).map((k) => `--${k}`);
      throw new UsageError(`unknown option ${flag}${didYouMean(flag.replace(/=.*$/, ''), known)}; ${HELP_HINT}`);
    }
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) throw new UsageError(`option ${flag} needs a value; ${HELP_HINT}`);
    throw new UsageError(`${(e.message ?? String(err)).split('\n')[0]}; ${HELP_HINT}`);
  }
  const [command, ...args] = parsed.positionals;
  if (command !== undefined && !(COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}${didYouMean(command, COMMANDS)}; ${HELP_HINT}`);
  }
  return { options: parsed.values, command: command as Command | undefined, args };
}

/** A missing argument of a command. */
export function positional(args: string[], n: number, what: string): string {
  const v = args[n];
  if (v === undefined) throw new UsageError(`missing ${what}; ${HELP_HINT}`);
  return v;
}

export function integer(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** `--inspect`, `--expect FMT[,FMT]` (repeatable) and `--report-unsafe` as an add's inspect option. */
export function inspectOption(o: { inspect?: boolean; expect?: string[]; 'report-unsafe'?: boolean }): InspectSetting | undefined {
  const expect = (o.expect ?? []).flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  for (const f of expect) {
    if (!(DISK_FORMATS as readonly string[]).includes(f)) throw new UsageError(`--expect ${JSON.stringify(f)} is not a disk format (${DISK_FORMATS.join(', ')})${didYouMean(f, DISK_FORMATS)}`);
  }
  if (!o.inspect && !expect.length && !o['report-unsafe']) return undefined;
  return { ...(expect.length ? { expect: expect as DiskFormat[] } : {}), safety: o['report-unsafe'] ? 'report' : 'refuse' };
}

/**
 * The driver definitions exported by the modules --driver names (a path, or
 * a package name resolved from the current directory): the default export
 * and every named export made with defineDriver.
 */
export async function loadDrivers(specifiers: readonly string[] = []): Promise<AnyDriverDefinition[]> {
  const drivers: AnyDriverDefinition[] = [];
  for (const spec of specifiers) {
    const isPath = spec.startsWith('.') || path.isAbsolute(spec);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(isPath ? pathToFileURL(path.resolve(spec)).href : spec)) as Record<string, unknown>;
    } catch (err) {
      // A bare name is a package, as with import; a file of that name is most likely what was meant.
      const hint = !isPath && existsSync(spec) ? ` (${spec} is read as a package name; for the file, write ./${spec})` : '';
      throw new UsageError(`--driver ${spec} could not be loaded${hint}: ${(err as Error)?.message?.split('\n')[0] ?? String(err)}`);
    }
    const found = Object.values(mod).filter(isDriverDefinition);
    if (found.length === 0) throw new UsageError(`--driver ${spec} exports no driver definition (make one with defineDriver and export it)`);
    drivers.push(...new Set(found));
  }
  return drivers;
}
