/**
 * Checks of the public methods' arguments, made before any I/O, with errors
 * shaped as Node's own APIs shape them: a TypeError (`ERR_INVALID_ARG_TYPE`)
 * or RangeError (`ERR_OUT_OF_RANGE`) whose message names the argument.
 * What is wrong with the image or the store is a GlanceStoreError instead.
 */

/** A mistyped argument, as Node reports one. */
export class InvalidArgumentTypeError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_TYPE';
  override name = 'TypeError';
}

/** An argument of the right type whose value is not one that is accepted, as Node reports one. */
export class InvalidArgumentValueError extends TypeError {
  readonly code = 'ERR_INVALID_ARG_VALUE';
  override name = 'TypeError';
}

/** An argument outside its range, as Node reports one. */
export class ArgumentOutOfRangeError extends RangeError {
  readonly code = 'ERR_OUT_OF_RANGE';
  override name = 'RangeError';
}

/** How a value is described in a message: its type, never its content (it may be a secret). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an instance of ${(value as object).constructor?.name ?? 'Object'}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return `${typeof value} ${typeof value === 'number' || typeof value === 'boolean' ? String(value) : ''}`.trim();
}

/** `options` must be an object (or left out). */
export function checkOptionsObject(name: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new InvalidArgumentTypeError(`The "${name}" argument must be an object; got ${describe(value)}`);
  }
}

/** A byte count or offset: a non-negative safe integer, or left out. */
export function checkByteCount(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new InvalidArgumentTypeError(`The "${name}" option must be a number of bytes; got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ArgumentOutOfRangeError(`The "${name}" option must be a whole number of bytes from 0 to ${Number.MAX_SAFE_INTEGER}; got ${value}`);
  }
}

/** A duration in ms: a non-negative safe integer, or left out. */
export function checkMilliseconds(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') throw new InvalidArgumentTypeError(`The "${name}" option must be a number of milliseconds; got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ArgumentOutOfRangeError(`The "${name}" option must be a whole number of milliseconds from 0 to ${Number.MAX_SAFE_INTEGER}; got ${value}`);
  }
}

export function checkOptionalString(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') throw new InvalidArgumentTypeError(`The "${name}" option must be a string; got ${describe(value)}`);
}

export function checkOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw new InvalidArgumentTypeError(`The "${name}" option must be a function; got ${describe(value)}`);
}

export function checkOptionalBoolean(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidArgumentTypeError(`The "${name}" option must be a boolean; got ${describe(value)}`);
}

export function checkOptionalSignal(value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) throw new InvalidArgumentTypeError(`The "signal" option must be an AbortSignal; got ${describe(value)}`);
}

/** The options every call takes: store, context and signal. */
export function checkCallOptions(options: unknown): void {
  checkOptionsObject('options', options);
  const o = (options ?? {}) as Record<string, unknown>;
  checkOptionalString('store', o['store']);
  checkOptionalSignal(o['signal']);
  if (o['context'] !== undefined) checkOptionsObject('context', o['context']);
}

/** A location: a URI string or a Glance location record `{ url, metadata? }`. */
export function checkLocation(location: unknown): void {
  if (typeof location === 'string') return;
  if (location && typeof location === 'object' && typeof (location as { url?: unknown }).url === 'string') return;
  throw new InvalidArgumentTypeError(`The "location" argument must be a URI string or an object with a string url; got ${describe(location)}`);
}
