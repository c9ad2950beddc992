/** Helpers of the tests that make real network calls on 127.0.0.1. */
import net from 'node:net';
import { expect } from 'vitest';
import { GlanceStoreError } from '../src/errors.js';

/** Starts a server on a free port of 127.0.0.1 and gives its `host:port`. */
export async function listen(server: net.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** The error a promise rejects with (failing the test when it resolves, or rejects with another kind). */
export async function failure(p: Promise<unknown>): Promise<GlanceStoreError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(GlanceStoreError);
  return outcome as GlanceStoreError;
}
