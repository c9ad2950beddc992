/**
 * The configuration reference (docs/configuration.md) generated from the
 * option schemas, so the documentation can never drift from what the code
 * reads: a test regenerates it and compares.
 */
import type { AnyDriverDefinition } from '../driver.js';
import type { OptionSpec } from './schema.js';
import { COMMON_STORE_OPTIONS, GLOBAL_OPTIONS, RESERVED_STORES } from './stores.js';
import { ruleNotes } from './rules.js';
import { UNSUPPORTED_OPTIONS } from './unsupported.js';

function formatDefault(o: OptionSpec): string {
  if (o.default === undefined) return '(none)';
  if (Array.isArray(o.default)) return o.default.length ? o.default.join(', ') : '(none)';
  if (typeof o.default === 'object' && o.default !== null) {
    const entries = Object.entries(o.default as Record<string, unknown>);
    return entries.length ? entries.map(([k, v]) => `${k}:${String(v)}`).join(', ') : '(none)';
  }
  return String(o.default);
}

function table(options: readonly OptionSpec[]): string {
  const rows = options.map((o) => {
    const limits = [o.min !== undefined ? `min ${o.min}` : '', o.max !== undefined ? `max ${o.max}` : '', o.choices ? `one of ${o.choices.join(', ')}` : '']
      .filter(Boolean)
      .join('; ');
    const notes = [...ruleNotes(o), o.secret ? '**secret**: never shown in errors, logs or info' : '', limits].filter(Boolean).join('; ');
    const help = `${o.help}${notes ? ` (${notes})` : ''}`.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    return `| \`${o.name}\` | ${o.type} | \`${formatDefault(o).replace(/\|/g, '\\|')}\` | ${help} |`;
  });
  return ['| option | type | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Markdown for the given driver types, in their order. */
export function configurationReference(drivers: readonly AnyDriverDefinition[]): string {
  const parts = [
    '# Configuration reference',
    '',
    '<!-- Generated from the option schemas in src/ by `glance-store config-reference`; do not edit by hand. -->',
    '',
    'glance-store reads glance-api.conf as Glance does. Stores are enabled in `[DEFAULT] enabled_backends`',
    'as `id:type` pairs, the default store is `[glance_store] default_backend`, and each store is',
    'configured in a section named by its id.',
    '',
    '```ini',
    '[DEFAULT]',
    'enabled_backends = fast:rbd, shared:file, web:http',
    '',
    '[glance_store]',
    'default_backend = fast',
    '',
    '[shared]',
    'store_description = Shared NFS',
    'filesystem_store_datadir = /var/lib/glance/images',
    '```',
    '',
    '## [DEFAULT]',
    '',
    table(GLOBAL_OPTIONS.DEFAULT),
    '',
    '## [glance_store]',
    '',
    table(GLOBAL_OPTIONS.glance_store),
    '',
    '## Options of every store section',
    '',
    table(COMMON_STORE_OPTIONS),
    '',
    '## [backend_defaults]',
    '',
    'Every option of the store types below may also be set in `[backend_defaults]` (glance_store 5.0), as the',
    'fallback for every store: a store takes its own section\'s value when the section sets it, even a false,',
    'zero or empty one, and the `[backend_defaults]` value otherwise, then the default shown in the tables.',
    'An empty number (`rbd_store_chunk_size =`) in a store\'s section counts as unset and falls back.',
    '`store_description` and `weight` are per store and cannot be set there. An unknown option there is an',
    'error; an option of a type no enabled store has is a warning (it has no effect). A bad value is reported',
    'as `[backend_defaults] ...`, also when a store inherits it; a driver rule broken by an inherited value',
    'names `[backend_defaults]` and the store. The reserved stores below inherit the file options too. A',
    'reference to a store\'s driver option its section does not set (`${fast.rbd_store_pool}`) gives the',
    'empty string, as in glance_store 5 (its store groups register those options with no default).',
    '',
    '```ini',
    '[DEFAULT]',
    'enabled_backends = fast:rbd, cheap:rbd',
    '',
    '[backend_defaults]',
    'rbd_store_user = glance',
    'rbd_store_ceph_conf = /etc/ceph/ceph.conf',
    'rbd_thin_provisioning = true',
    '',
    '[fast]',
    'rbd_store_pool = fast-images',
    '',
    '[cheap]',
    'rbd_store_pool = cheap-images',
    '# a false value of its own wins over the shared true',
    'rbd_thin_provisioning = false',
    '```',
    '',
    '## Reserved stores',
    '',
    `${RESERVED_STORES.map((s) => `\`${s}\``).join(' and ')} are file stores Glance keeps for itself. They are configured`,
    'in sections of those names (the staging store also as `[os_staging]`, its Rocky-era name), can be used',
    'by id, and are never listed in store info. Their ids cannot be used in `enabled_backends`.',
    '',
  ];
  for (const def of drivers) {
    parts.push(`## ${def.type} stores`, '');
    parts.push(`Location schemes: ${def.schemes.map((s) => `\`${s}://\``).join(', ')}.${def.readOnly ? ' Read-only: these stores never accept adds or deletes.' : ''}`, '');
    parts.push(def.options.length ? table(def.options as readonly OptionSpec[]) : 'No options.', '');
  }
  parts.push(
    '## glance_store options not supported',
    '',
    'Every option of glance_store 5.4 is read as the tables above say, except these (a glance-api.conf that sets',
    'one is refused as setting an unknown option, so nothing is silently ignored):',
    '',
    '| option | sections | glance_store | why |',
    '| --- | --- | --- | --- |',
    ...UNSUPPORTED_OPTIONS.map((u) => `| \`${u.name}\` | ${u.group} stores | ${u.since} | ${u.reason.replace(/\|/g, '\\|')} |`),
    '',
  );
  return parts.join('\n');
}
