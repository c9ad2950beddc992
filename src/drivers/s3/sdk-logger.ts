/**
 * The AWS SDK's logger, pointed at the store's. The SDK logs every failed
 * command at error level with the error object itself, and a few warnings as
 * text. A failure is logged with the error's name, code, status and message
 * (masked), at the level it deserves: what the driver expects and handles (the
 * 404 of an existence check, the 412 of a claim another add holds, the 501 of
 * a conditional write an endpoint refuses, an abort) is debug; any other is a
 * warning, since the driver turns it into the error its caller gets, and
 * that caller decides whether it is one. The SDK's line per successful call
 * is dropped.
 */
import { maskLocation } from '../../location.js';
import type { Logger } from '../../logger.js';

/** Failures the driver asks for or handles as a normal outcome. */
const EXPECTED_NAMES = new Set(['NotFound', 'NoSuchKey', 'NoSuchUpload', 'NoSuchBucket', 'PreconditionFailed', 'NotImplemented', 'BucketAlreadyOwnedByYou', 'AbortError']);

export interface SdkFailure {
  name?: string;
  code?: string;
  status?: number;
  message: string;
}

/** What an SDK error says, masked: never the object itself (its request holds signed headers). */
export function describeSdkError(err: unknown): SdkFailure {
  if (typeof err !== 'object' || err === null) return { message: maskLocation(String(err)) };
  const e = err as { name?: unknown; Code?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const code = typeof e.Code === 'string' ? e.Code : typeof e.code === 'string' ? e.code : undefined;
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  return {
    ...(typeof e.name === 'string' ? { name: e.name } : {}),
    ...(code ? { code } : {}),
    ...(status ? { status } : {}),
    message: maskLocation(typeof e.message === 'string' ? e.message : String(err)),
  };
}

function oneLine(f: SdkFailure): string {
  const what = [f.name, f.code && f.code !== f.name ? f.code : undefined, f.status ? `HTTP ${f.status}` : undefined].filter(Boolean).join(', ');
  return what ? `${what}: ${f.message}` : f.message;
}

/** Text of what the SDK logs as text, or of an object it logs: never `[object Object]`. */
function text(item: unknown): string {
  if (typeof item === 'string') return maskLocation(item);
  if (item instanceof Error) return oneLine(describeSdkError(item));
  try {
    return maskLocation(JSON.stringify(item));
  } catch {
    return maskLocation(String(item));
  }
}

export function sdkLogger(store: string, logger: Logger) {
  const failure = (entry: { commandName?: unknown; error?: unknown }) => {
    const err = describeSdkError(entry.error);
    const command = typeof entry.commandName === 'string' ? entry.commandName.replace(/Command$/, '') : 'request';
    const expected = err.status === 404 || EXPECTED_NAMES.has(err.name ?? '') || EXPECTED_NAMES.has(err.code ?? '');
    const msg = `[${store}] S3 ${command} failed: ${oneLine(err)}`;
    (expected ? logger.debug : logger.warn).call(logger, { store, command, err }, msg);
  };
  const log = (level: 'warn' | 'error', content: unknown[]) => {
    const [first] = content;
    if (content.length === 1 && typeof first === 'object' && first !== null && 'error' in first) return failure(first as { commandName?: unknown; error?: unknown });
    logger[level]({ store }, `[${store}] ${content.map(text).join(' ')}`);
  };
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...content: unknown[]) => log('warn', content),
    error: (...content: unknown[]) => log('error', content),
  };
}
