/**
 * Every error code has its class, and an error's `code` and its class always
 * agree: callers may branch on either.
 */
import { describe, it, expect } from 'vitest';
import * as errors from '../src/errors.js';
import * as api from '../src/index.js';
import { ERROR_CLASSES, ERROR_CODES, GlanceStoreError, type ErrorCode } from '../src/errors.js';

describe('error classes', () => {
  it('gives every code a class whose instances carry that code', () => {
    expect(ERROR_CODES.length).toBeGreaterThan(20);
    for (const code of ERROR_CODES) {
      const Kind = ERROR_CLASSES[code];
      const cause = new Error('underneath');
      const err = new Kind('what happened', { cause });
      expect(err, code).toBeInstanceOf(Kind);
      expect(err, code).toBeInstanceOf(GlanceStoreError);
      expect(err, code).toBeInstanceOf(Error);
      expect(err.code).toBe(code);
      expect(err.name).toBe(Kind.name);
      expect(err.message).toContain('what happened');
      expect(err.cause).toBe(cause);
      // The class is exported from the package root under its own name.
      expect((api as Record<string, unknown>)[Kind.name], `${Kind.name} exported`).toBe(Kind);
    }
  });

  it('makes the base class, constructed with a code, an instance of that code\'s class', () => {
    for (const code of ERROR_CODES) {
      const err = new GlanceStoreError(code, 'raised the old way');
      expect(err, code).toBeInstanceOf(ERROR_CLASSES[code]);
      expect(err.code).toBe(code);
      expect(err.message).toContain('raised the old way');
    }
  });

  it('has one class per code: every exported error class is the class of its code', () => {
    const classes = (Object.values(errors) as unknown[]).filter((v): v is new (m: string) => GlanceStoreError => typeof v === 'function' && v.prototype instanceof GlanceStoreError);
    expect(classes.length).toBe(ERROR_CODES.length);
    for (const Kind of classes) {
      const code = new Kind('x').code as ErrorCode;
      expect(ERROR_CLASSES[code], Kind.name).toBe(Kind);
    }
  });

  it('maps system errors to classes that match their codes', () => {
    for (const errno of ['ENOENT', 'EEXIST', 'ENOSPC', 'EACCES', 'EBUSY', 'ECONNREFUSED', 'EWHATEVER']) {
      const err = errors.fromSystemError(Object.assign(new Error(errno), { code: errno }), 'Reading x');
      expect(err, errno).toBeInstanceOf(ERROR_CLASSES[err.code]);
    }
  });
});
