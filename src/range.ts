/**
 * Ranged gets are fitted to the image once, here, at the public API, so
 * that every driver receives a range that lies inside the image: it starts
 * inside the image and is cut at its end. (That `offset` and `length` are
 * non-negative integers is checked with the other arguments.)
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

/** The range a get asks for (its arguments already checked); undefined for the whole image. */
export function requestedRange(offset: number | undefined, length: number | undefined): RequestedRange | undefined {
  if (offset === undefined && length === undefined) return undefined;
  return { offset: offset ?? 0, ...(length !== undefined ? { length } : {}) };
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
