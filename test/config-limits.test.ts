import { describe, it, expect } from 'vitest';
import { parseConfig } from '../src/config/parse.js';
import { readStoresConfig, type StoresConfig } from '../src/config/stores.js';
import { INTERPOLATION_LIMITS } from '../src/config/interpolate.js';
import { driverRegistry } from '../src/drivers/index.js';
import { BadStoreConfigurationError } from '../src/errors.js';

// Hostile config files: each must be read or refused with BadStoreConfiguration
// in time linear in its size. The bounds are generous correctness bounds (a
// quadratic or exponential reading takes minutes or crashes), not benchmarks;
// they are on the process's CPU time, so a busy machine does not fail them.
const BOUND_MS = 2000;

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

const HEAD = '[DEFAULT]\nenabled_backends = a:file\n[glance_store]\ndefault_backend = a\n[a]\nfilesystem_store_datadir = /srv/a\n';

function read(text: string): { result?: StoresConfig; error?: BadStoreConfigurationError; ms: number } {
  const start = process.cpuUsage();
  try {
    const result = readStoresConfig(parseConfig(text), driverRegistry());
    return { result, ms: cpuMs(start) };
  } catch (err) {
    const ms = cpuMs(start);
    if (!(err instanceof BadStoreConfigurationError)) throw err;
    return { error: err, ms };
  }
}

function refused(text: string, pattern: RegExp): BadStoreConfigurationError {
  const { error, ms } = read(text);
  expect(error, 'refused').toBeInstanceOf(BadStoreConfigurationError);
  expect(error!.message).toMatch(pattern);
  expect(ms).toBeLessThan(BOUND_MS);
  return error!;
}

describe('hostile config files are read or refused in linear time', () => {
  it('refuses a chain of thousands of $references (no stack overflow)', () => {
    const chain = Array.from({ length: 20_000 }, (_, i) => `o${i} = ${i === 0 ? 'x' : `$o${i - 1}`}`).join('\n');
    const text = `${HEAD}store_description = $o19999\n[DEFAULT]\n${chain}\n`;
    expect(text.length).toBeGreaterThan(200_000);
    refused(text, new RegExp(`store_description = "\\$o19999": .*references nest more than ${INTERPOLATION_LIMITS.depth} deep`));
  });

  it(`accepts references nested ${INTERPOLATION_LIMITS.depth} deep and refuses one more`, () => {
    const chain = (n: number) => Array.from({ length: n + 1 }, (_, i) => `o${i} = ${i === 0 ? 'end' : `<$o${i - 1}>`}`).join('\n');
    const ok = read(`${HEAD}store_description = $o${INTERPOLATION_LIMITS.depth - 1}\n[DEFAULT]\n${chain(INTERPOLATION_LIMITS.depth)}\n`);
    expect(ok.result?.stores[0]!.description).toBe(`${'<'.repeat(INTERPOLATION_LIMITS.depth - 1)}end${'>'.repeat(INTERPOLATION_LIMITS.depth - 1)}`);
    refused(`${HEAD}store_description = $o${INTERPOLATION_LIMITS.depth}\n[DEFAULT]\n${chain(INTERPOLATION_LIMITS.depth)}\n`, /nest more than/);
  });

  it('refuses a reference cycle of thousands of options', () => {
    const n = 10_000;
    const cycle = Array.from({ length: n }, (_, i) => `c${i} = $c${(i + 1) % n}`).join('\n');
    refused(`${HEAD}store_description = $c0\n[DEFAULT]\n${cycle}\n`, /references lead back to itself/);
  });

  it('refuses references that double at each level (exponential text) at the value limit', () => {
    const levels = Array.from({ length: 30 }, (_, i) => `d${i} = ${i === 0 ? 'xy' : `$d${i - 1}$d${i - 1}`}`).join('\n');
    refused(`${HEAD}store_description = $d29\n[DEFAULT]\n${levels}\n`, new RegExp(`longer than ${INTERPOLATION_LIMITS.valueLength} characters`));
  });

  it('refuses many values that each stay under the limit but together expand far beyond the file', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `s${i}`);
    const big = 'b'.repeat(16_000);
    const sections = ids.map((id) => `[${id}]\nfilesystem_store_datadir = /srv/${id}\nstore_description = $big$big$big$big\n`).join('');
    const text = `[DEFAULT]\nenabled_backends = ${ids.map((id) => `${id}:file`).join(',')}\nbig = ${big}\n[glance_store]\ndefault_backend = s0\n${sections}`;
    refused(text, /substitutions in this config produce too much text/);
  });

  it('refuses one unknown option with a 1 MB name without a quadratic did-you-mean', () => {
    const err = refused(`${HEAD}filesystem_store_datadir${'x'.repeat(1 << 20)} = 1\n`, /Unknown option/);
    expect(err.message).not.toMatch(/did you mean/);
  });

  it('refuses tens of thousands of unknown options, listing a few and counting the rest', () => {
    const unknown = Array.from({ length: 50_000 }, (_, i) => `filesystem_store_datadi${i % 10}${i} = 1`).join('\n');
    const err = refused(`${HEAD}${unknown}\n`, /\[a\] has 49980 more unknown options/);
    expect(err.problems).toHaveLength(21);
  });

  it('refuses an enabled_backends of a million empty entries, or 50,000 stores of an unknown type, listing a few of each', () => {
    const commas = refused(`[DEFAULT]\nenabled_backends = ${','.repeat(1_000_000)}\n[glance_store]\ndefault_backend = s0\n`, /entry 1 is empty[\s\S]*and 999981 more malformed enabled_backends entries/);
    expect(commas.message.length).toBeLessThan(10_000);
    const types = Array.from({ length: 50_000 }, (_, i) => `s${i}:fil`).join(',');
    const unknown = refused(`[DEFAULT]\nenabled_backends = ${types}\n[glance_store]\ndefault_backend = s0\n`, /"s0" has unknown type "fil" \(did you mean "file"\?\)[\s\S]*and 49900 more problems of the kind unknown-type/);
    expect(unknown.problems.length).toBeLessThanOrEqual(102);
  });

  it('reads a line with a long run of inner whitespace, and a list or dict of 200,000 items', () => {
    const spaces = `${HEAD}store_description = a${' '.repeat(1 << 20)}b\n`;
    const r = read(spaces);
    expect(r.ms).toBeLessThan(BOUND_MS);
    expect(r.result?.stores[0]!.description.length).toBe((1 << 20) + 2);
    // A dict whose pieces have no ':' are glued together one by one in oslo.config.
    const dict = `[DEFAULT]\nenabled_backends = w:http\n[glance_store]\ndefault_backend = w\n[w]\nhttp_proxy_information = ${'a,'.repeat(200_000)}b\n`;
    refused(dict, /http_proxy_information = .*expected key:value pairs/);
    const list = `[DEFAULT]\nenabled_backends = s:swift\n[glance_store]\ndefault_backend = s\n[s]\nswift_store_admin_tenants = ${'t,'.repeat(200_000)}\n`;
    const l = read(list);
    expect(l.ms).toBeLessThan(BOUND_MS);
    expect(l.error?.message ?? '').not.toMatch(/swift_store_admin_tenants/);
  });

  it('reads a 1 MB file of 10,000 stores', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `store${i}`);
    const sections = ids.map((id) => `[${id}]\nstore_description = Store ${id} at $base/${id}\nfilesystem_store_datadir = $base/${id}\nweight = ${id.length}\n`).join('');
    const text = `[DEFAULT]\nenabled_backends = ${ids.map((id) => `${id}:file`).join(', ')}\nbase = /srv/images\n[glance_store]\ndefault_backend = store0\n${sections}`;
    expect(text.length).toBeGreaterThan(1_000_000);
    const r = read(text);
    expect(r.error).toBeUndefined();
    expect(r.ms).toBeLessThan(BOUND_MS);
    expect(r.result!.stores.filter((s) => !s.reserved)).toHaveLength(10_000);
    expect(r.result!.stores[9999]!.options['filesystem_store_datadir']).toBe('/srv/images/store9999');
  });
});
