/** Image ids become file names and object keys: keep them to what every backend holds safely. */
import { InvalidImageIdError } from './errors.js';

const IMAGE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export function checkImageId(imageId: unknown): string {
  if (typeof imageId !== 'string' || !IMAGE_ID.test(imageId)) {
    throw new InvalidImageIdError(
      `Invalid image id ${JSON.stringify(imageId)}: use letters, digits, '.', '_' and '-' only (a UUID, as Glance does), starting with a letter or digit`,
    );
  }
  return imageId;
}

/** Whether a backend name is one an add could have written (listings skip every other name). */
export const isImageId = (name: string): boolean => IMAGE_ID.test(name);
