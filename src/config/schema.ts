/**
 * The shape of an option schema: what a driver declares for each of its
 * options (name, type, default, help, secret, limits, whether it is required
 * and the driver's own rule), and the types derived from it. Only types live
 * here, so every part of src/config (and every driver) can import them
 * without importing the code that reads a config.
 */

export type OptionType = 'string' | 'int' | 'float' | 'bool' | 'list' | 'multistring' | 'dict' | 'port';

/** The values of one group (a store's section, [DEFAULT], ...), by option name, after conversion. */
export type OptionValues = Record<string, unknown>;

/**
 * A rule of the driver's own that an option's value must keep (a power of
 * two, octal digits, a URL, ...), checked at startup beside every other
 * problem of the config, before any store is contacted. It sees values
 * only: what an option names on the machine is a `PathCheck`.
 */
export interface OptionCheck {
  /** The rule as the configuration reference states it, e.g. "a power of two". */
  rule: string;
  /**
   * Why `value` breaks the rule, or undefined when it keeps it. Called for
   * every value that is set and not empty (defaults included), after type
   * and range checks passed; `values` are the group's other options, for
   * rules across options. The message must not repeat the value of a secret
   * option: the caller shows the value only for options that are not secret.
   */
  problem(value: unknown, values: OptionValues): string | undefined;
}

/**
 * What an option's value names on this machine, checked at startup with the
 * config's other problems (after the option's type, range and `check`), so
 * a missing CA bundle or a references file that does not parse is reported
 * before any store is contacted. The check only looks: it reads and stats,
 * never creates (`glance-store check` creates nothing).
 */
export interface PathCheck {
  /** A file the store reads (it must exist and be readable), or a directory it writes in. */
  kind: 'readable-file' | 'writable-directory';
  /** Checked only where `test` says so, with `when` saying it in words ("when swift_buffer_on_upload is set"). */
  only?: { when: string; test(values: OptionValues): boolean };
  /**
   * For a file: what it must hold, as the configuration reference states it
   * ("JSON: an object with id and mountpoint"), and why `text` does not, or
   * undefined when it does.
   */
  content?: { rule: string; problem(text: string, values: OptionValues): string | undefined };
}

/**
 * When an option must be set: `true`, always; otherwise only where `test`
 * says so, with `when` saying it in words ("unless swift_store_config_file
 * is set").
 */
export type OptionRequirement = true | { when: string; test(values: OptionValues): boolean };

export interface OptionSpec {
  name: string;
  type: OptionType;
  default?: unknown;
  help: string;
  /** Never shown in errors, logs, info or the CLI. */
  secret?: boolean;
  /** Allowed values (for list and dict: of each item / each value). Numbers are compared as numbers. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  /** Older names still read (a warning says which name to use). */
  deprecatedNames?: readonly string[];
  /** An example value for the configuration reference. */
  sample?: string;
  /** The store cannot start without a value (an empty one counts as unset). */
  required?: OptionRequirement;
  /** A rule of the driver's own, checked with every other problem at startup. */
  check?: OptionCheck;
  /** A file or directory the value names, checked with every other problem at startup. */
  path?: PathCheck;
}

/**
 * Why a value was refused: `value` where oslo.config refuses it too (a bad
 * value, or a reference oslo cannot resolve); `limit` for the interpolation
 * limits; `integer-range` and `empty-number` for the deliberate differences
 * of convert.ts; `store-rule` for a required option left unset or a
 * driver's own rule broken (glance_store's drivers make these checks when a
 * store is configured, oslo.config does not).
 */
export type RefusalKind = 'value' | 'limit' | 'integer-range' | 'empty-number' | 'store-rule';

/** The value type of one option type, as `readOptions` gives it. */
type ValueOfType<T extends OptionType> = T extends 'string'
  ? string
  : T extends 'int' | 'float' | 'port'
    ? number
    : T extends 'bool'
      ? boolean
      : T extends 'list' | 'multistring'
        ? string[]
        : Record<string, string>;

/** A string option with choices is the union of its choices. */
type ValueOfSpec<S extends OptionSpec> = S extends { type: 'string'; choices: readonly (infer C extends string)[] } ? C : ValueOfType<S['type']>;

/** An option without a default may be unset, unless it is always required. */
type OptionValueOf<S extends OptionSpec> = S extends { default: unknown } ? ValueOfSpec<S> : S extends { required: true } ? ValueOfSpec<S> : ValueOfSpec<S> | undefined;

/**
 * The options object a driver's `create` receives, derived from its schema
 * declared `as const`: `OptionsOf<typeof MY_OPTIONS>`.
 */
export type OptionsOf<Schema extends readonly OptionSpec[]> = {
  readonly [S in Schema[number] as S['name']]: OptionValueOf<S>;
};
