/**
 * Ranged gets are checked once, here, at the public API, so that every
 * driver receives a range that lies inside the image: `offset` and `length`
 * are integers, the range starts inside the image and is cut at its end.
 */
import { InvalidRangeError } from './errors.js';

export interface RequestedRange {
  offset: number;
  /** To the end of the image when absent. */
  length?: number;
}

export interface ByteRange {
  offset: number;
  length: number;
}

/** Checks a get's offset and length before any I/O; undefined for a get of the whole image. */
export function checkRange(offset: unknown, length: unknown): RequestedRange | undefined {
  if (offset === undefined && length === undefined) return undefined;
  const bad = (name: string, value: unknown) => new InvalidRangeError(`${name} must be a non-negative integer, got ${typeof value === 'number' ? value : JSON.stringify(value) ?? String(value)}`);
  if (offset !== undefined && !isCount(offset)) throw bad('offset', offset);
  if (length !== undefined && !isCount(length)) throw bad('length', length);
  return { offset: (offset as number | undefined) ?? 0, ...(length !== undefined ? { length: length as number } : {}) };
}

/**
 * The range inside an image of `size` bytes: one that runs past the end is
 * cut at the end (a range from the end itself is empty); one that starts
 * past the end is an error naming the image's size.
 */
export function fitRange(range: RequestedRange, size: number, image: string): ByteRange {
  if (range.offset > size) {
    throw new InvalidRangeError(`The range starts at byte ${range.offset}, past the end of ${image} (${size} bytes)`);
  }
  const left = size - range.offset;
  return { offset: range.offset, length: range.length === undefined ? left : Math.min(range.length, left) };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
