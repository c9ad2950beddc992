/**
 * Image data may come as a Node Readable, a web ReadableStream, an
 * AsyncIterable or Iterable of byte chunks, or a single Buffer/Uint8Array.
 * This module turns each into one AsyncIterator of Uint8Array and gives the
 * pipeline a way to release the source when an add stops early.
 */
import { Readable } from 'node:stream';
import { describe, InvalidArgumentTypeError } from '../arguments.js';

export type ImageData =
  | Readable
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | Uint8Array;

export interface ByteSource {
  iterator: AsyncIterator<Uint8Array>;
  /** Stops the source and frees what it holds; safe to call more than once. */
  release(reason?: unknown): Promise<void>;
}

function isWebStream(data: unknown): data is ReadableStream<Uint8Array> {
  return typeof (data as ReadableStream | undefined)?.getReader === 'function';
}

export function openSource(data: ImageData): ByteSource {
  if (data instanceof Uint8Array) {
    return fromIterable([data]);
  }
  if (data instanceof Readable) {
    // The iterator reports the stream's errors; this listener only keeps an error
    // raised after the add has stopped reading from turning into an uncaught exception.
    data.on('error', () => undefined);
    const iterator = data[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    return {
      iterator,
      async release() {
        if (!data.destroyed) data.destroy();
      },
    };
  }
  if (isWebStream(data)) {
    const reader = data.getReader();
    let released = false;
    return {
      iterator: {
        async next() {
          const r = await reader.read();
          return r.done ? { done: true, value: undefined } : { done: false, value: r.value };
        },
      },
      async release(reason) {
        if (released) return;
        released = true;
        // cancel() settles only when the underlying source agrees; do not wait for it.
        reader.cancel(reason).then(
          () => reader.releaseLock(),
          () => undefined,
        );
      },
    };
  }
  // A string is iterable too, but its characters are not image bytes.
  if (data && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    return fromIterable(data as AsyncIterable<Uint8Array> | Iterable<Uint8Array>);
  }
  throw new InvalidArgumentTypeError(
    `The "data" argument must be a Buffer or Uint8Array, a Node Readable, a web ReadableStream or an (async) iterable of byte chunks; got ${describe(data)}`,
  );
}

function fromIterable(data: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): ByteSource {
  const iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
    Symbol.asyncIterator in data ? (data as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : (data as Iterable<Uint8Array>)[Symbol.iterator]();
  let released = false;
  return {
    iterator: {
      next: async () => iterator.next(),
    },
    async release() {
      if (released) return;
      released = true;
      // Not awaited: a generator stalled inside an await only finishes its
      // return() once that await settles, which may be never.
      void Promise.resolve()
        .then(() => iterator.return?.())
        .catch(() => undefined);
    },
  };
}
