/**
 * What an add does with an inspection: `inspect: true` or `{ expect, safety }`.
 * An image of another format than expected, or an unsafe one when safety is
 * 'refuse' (the default), fails the add inside the pipeline's iteration, as
 * a size mismatch does, so the driver removes what it wrote. The verdict is
 * given as soon as every format is decided (a qcow2 naming a backing file
 * fails after its first block), otherwise at the image's end.
 */
import { DiskFormatMismatchError, UnsafeImageError } from '../errors.js';
import { describe, InvalidArgumentTypeError, InvalidArgumentValueError } from '../arguments.js';
import { ImageInspector } from './inspector.js';
import { DISK_FORMATS, type DiskFormat, type Inspection } from './types.js';

export interface InspectOptions {
  /** The disk format(s) the image must be; any format when absent. */
  expect?: DiskFormat | readonly DiskFormat[];
  /** 'refuse' (default): an unsafe image fails the add; 'report': it is stored and its problems listed. */
  safety?: 'refuse' | 'report';
}

/** The `inspect` option of an add: true (expect anything, refuse the unsafe), false, or the options. */
export type InspectSetting = boolean | InspectOptions;

export interface InspectPolicy {
  expect: readonly DiskFormat[] | undefined;
  safety: 'refuse' | 'report';
}

/** The `inspect` option checked and made whole; undefined when inspection is off. */
export function inspectPolicy(value: unknown): InspectPolicy | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { expect: undefined, safety: 'refuse' };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentTypeError(`The "inspect" option must be a boolean or an object ({ expect, safety }); got ${describe(value)}`);
  }
  const { expect, safety } = value as InspectOptions;
  const list = expect === undefined ? undefined : typeof expect === 'string' ? [expect] : expect;
  if (list !== undefined && (!Array.isArray(list) || list.length === 0 || list.some((f) => !(DISK_FORMATS as readonly unknown[]).includes(f)))) {
    throw new InvalidArgumentValueError(`The "inspect.expect" option must be one of ${DISK_FORMATS.join(', ')}, or a non-empty array of them`);
  }
  if (safety !== undefined && safety !== 'refuse' && safety !== 'report') {
    throw new InvalidArgumentValueError(`The "inspect.safety" option must be 'refuse' or 'report'; got ${describe(safety)}`);
  }
  return { expect: list, safety: safety ?? 'refuse' };
}

/** Throws the add's failure when the inspection breaks the policy. */
export function judge(inspection: Inspection, policy: InspectPolicy, what: string): void {
  if (policy.expect && !policy.expect.includes(inspection.format)) {
    throw Object.assign(new DiskFormatMismatchError(`${what} was refused: it is a ${inspection.format} image, not ${policy.expect.join(' or ')}`), { inspection });
  }
  if (policy.safety === 'refuse' && !inspection.safe) {
    throw Object.assign(new UnsafeImageError(`${what} was refused: unsafe ${inspection.format} image: ${inspection.problems.map((p) => p.message).join('; ')}`), { inspection });
  }
}

/** What the add pipeline calls with each block and at the image's end. */
export interface BlockTap {
  block(bytes: Uint8Array): void;
  end(): void;
}

/** An add's inspection: the pipeline's tap, and the result once the image has ended. */
export function inspectingTap(policy: InspectPolicy, what: string): { tap: BlockTap; result(): Inspection | undefined } {
  const inspector = new ImageInspector();
  let judged = false;
  let final: Inspection | undefined;
  return {
    tap: {
      block(bytes) {
        inspector.feed(bytes);
        if (!judged && inspector.decided) {
          judged = true;
          judge(inspector.result()!, policy, what);
        }
      },
      end() {
        final = inspector.end();
        judge(final, policy, what);
      },
    },
    result: () => final,
  };
}
