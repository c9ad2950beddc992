/** Helpers of the tests that read image streams as a consumer would. */
import type { Readable } from 'node:stream';

/** Reads a stream as a consumer would: how many bytes came, whether it ended cleanly, or its error. */
export async function consume(stream: Readable): Promise<{ bytes: number; ended: boolean; error?: unknown }> {
  let bytes = 0;
  let ended = false;
  stream.on('end', () => (ended = true));
  try {
    for await (const chunk of stream) bytes += (chunk as Buffer).byteLength;
    return { bytes, ended };
  } catch (error) {
    return { bytes, ended, error };
  }
}
