#!/usr/bin/env node
/**
 * `glance-store`: stores, adds, gets, sizes, deletes and copies images
 * through the stores of a glance-api.conf (or, without one, a single file
 * store in ./.glance-store/images).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MultiStore } from '../multistore.js';
import { parseConfig, type ParsedConfig } from '../config/parse.js';
import { maskLocation } from '../location.js';
import { BadStoreConfigurationError } from '../errors.js';
import * as commands from './commands.js';
import { inspectOption, integer, loadDrivers, parseCommandLine, positional, UsageError } from './args.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { commandHelp, USAGE } from './help.js';
import { noProgress, terminalProgress } from './progress.js';
import { countProgress, ls } from './ls.js';
import { audit } from './audit.js';
import { askOnTerminal } from './ask.js';
import { parseDuration } from './records.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultConfig(): { config: ParsedConfig; datadir: string } {
  const datadir = path.resolve('.glance-store', 'images');
  return {
    datadir,
    config: {
      DEFAULT: { enabled_backends: 'local:file' },
      glance_store: { default_backend: 'local' },
      local: { store_description: 'Local file store', filesystem_store_datadir: datadir },
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    return report(err, argv.includes('--json'), false);
  }
  const { options: o, command, args } = parsed;
  const json = o.json === true;
  if (o.version) {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  if (o.help || !command) {
    (o.help ? process.stdout : process.stderr).write(`${o.help && command ? commandHelp(command) : USAGE}\n`);
    return o.help ? EXIT.ok : EXIT.usage;
  }
  let drivers;
  try {
    drivers = await loadDrivers(o.driver);
  } catch (err) {
    return report(err, json, o.debug === true);
  }
  if (command === 'config-reference') {
    process.stdout.write(`${commands.reference(drivers).text}\n`);
    return EXIT.ok;
  }

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ms: MultiStore | undefined;
  try {
    const configFile = o.config ?? process.env['GLANCE_STORE_CONFIG'];
    let config: ParsedConfig;
    let defaultDatadir: string | undefined;
    if (configFile) {
      let text: Buffer;
      try {
        // Bytes, not text: parseConfig refuses a file that is not UTF-8, as Glance does.
        text = readFileSync(configFile);
      } catch (err) {
        throw new BadStoreConfigurationError(`cannot read config file ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      config = parseConfig(text);
    } else {
      ({ config, datadir: defaultDatadir } = defaultConfig());
    }
    const warnings: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      warn: (_o: unknown, msg?: string) => {
        const warning = maskLocation(String(msg ?? ''));
        warnings.push(warning);
        process.stderr.write(json ? `${JSON.stringify({ warning })}\n` : `glance-store: warning: ${warning}\n`);
      },
      error: () => {},
    };
    // Looking at the stores makes nothing: no datadir is created by check or stores.
    const createNothing = command === 'check' || command === 'stores' || command === 'inspect' || command === 'ls' || command === 'audit';
    ms = await MultiStore.create(config, { logger, drivers, createNothing });
    const progress = !json && !o.quiet && process.stderr.isTTY ? terminalProgress(process.stderr) : noProgress;
    const ctx: commands.CommandContext = {
      ms,
      signal: controller.signal,
      progress,
      warnings,
      stdoutIsTerminal: process.stdout.isTTY === true,
      ...(defaultDatadir ? { defaultDatadir } : {}),
    };
    let out: commands.Output | undefined;
    let status: number = EXIT.ok;
    switch (command) {
      case 'stores':
        out = commands.stores(ctx, o.detail === true);
        break;
      case 'add':
        out = await commands.add(ctx, positional(args, 0, 'FILE (or - for standard input)'), { store: o.store, id: o.id, size: integer('size', o.size), inspect: inspectOption(o) });
        break;
      case 'get':
        out = await commands.get(ctx, positional(args, 0, 'URI'), { output: o.output, offset: integer('offset', o.offset), length: integer('length', o.length), store: o.store });
        break;
      case 'size':
        out = await commands.size(ctx, positional(args, 0, 'URI'), o.store);
        break;
      case 'delete':
        out = await commands.remove(ctx, positional(args, 0, 'URI'), o.store);
        break;
      case 'copy':
        if (!o.to) throw new UsageError('copy needs --to STORE_ID');
        out = await commands.copy(ctx, positional(args, 0, 'URI'), { to: o.to, id: o.id, from: o.from });
        break;
      case 'inspect': {
        const r = await commands.inspect(ctx, positional(args, 0, 'FILE, - or a location URI'), o.store);
        out = r;
        if (!r.safe) status = EXIT.dataCheck;
        break;
      }
      case 'ls':
      case 'audit': {
        const storeId = positional(args, 0, 'STORE');
        const progress = countProgress(process.stderr, !o.quiet && process.stderr.isTTY === true);
        const io = { out: (line: string) => (progress.clear(), void process.stdout.write(`${line}\n`)), progress };
        if (command === 'ls') {
          await ls(ms, storeId, { json, leftovers: o.leftovers === true }, io, controller.signal);
          break;
        }
        if (!o.known) throw new UsageError('audit needs --known FILE (the locations Glance knows, one a line: see docs/cli.md)');
        const auditOptions = {
          known: o.known,
          ...(o.verify ? { verify: o.verify } : {}),
          json,
          deleteOrphans: o['delete-orphans'] === true,
          yes: o.yes === true,
          skipBadLines: o['skip-bad-lines'] === true,
          ...(o['older-than'] !== undefined ? { olderThanMs: parseDuration(o['older-than']) } : {}),
        };
        status = await audit(ms, storeId, auditOptions, { ...io, confirm: (q) => askOnTerminal(q, controller.signal) }, controller.signal);
        break;
      }
      case 'check': {
        const r = commands.check(ctx);
        out = r;
        if (!r.ok) status = EXIT.unavailable;
        break;
      }
    }
    if (out) process.stdout.write(`${json ? JSON.stringify(out.json) : out.text}\n`);
    return status;
  } catch (err) {
    return report(err, json, o.debug === true);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await ms?.close();
  }
}

function report(err: unknown, json: boolean, debug: boolean): number {
  const e = err as { code?: string; message?: string; stack?: string; problems?: readonly string[] };
  const code = e?.code;
  const status = code === 'Usage' ? EXIT.usage : exitCodeFor(code);
  const message = maskLocation(e?.message ?? String(err));
  if (json) process.stderr.write(`${JSON.stringify({ error: { code: code ?? 'Error', message, ...(e?.problems ? { problems: e.problems.map(maskLocation) } : {}) } })}\n`);
  else process.stderr.write(`glance-store: ${message}\n`);
  if (debug && status === EXIT.unexpected && e?.stack) process.stderr.write(`${maskLocation(e.stack)}\n`);
  return status;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (err: unknown) => {
    process.stderr.write(`glance-store: ${maskLocation(String((err as Error)?.message ?? err))}\n`);
    process.exitCode = EXIT.unexpected;
  },
);
