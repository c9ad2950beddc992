/**
 * `filesystem_store_metadata_file`: a JSON object with `id` and `mountpoint`,
 * or a list of them, read once at start-up. The entry whose mountpoint holds
 * an image becomes that image's location metadata, as in glance_store.
 */
import { readFile } from 'node:fs/promises';

export type MetadataEntry = { id: string; mountpoint: string; [key: string]: unknown };
/** Always a list: a single object in the file is read as a list of one, as glance_store does. */
export type StoreMetadata = MetadataEntry[];

function isEntry(v: unknown): v is MetadataEntry {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as MetadataEntry).id === 'string' && typeof (v as MetadataEntry).mountpoint === 'string';
}

/** What the file must hold, as the configuration reference states it. */
export const METADATA_FILE_RULE = 'JSON: an object with string "id" and "mountpoint" keys, or a non-empty list of such objects';

/** The file's text read as glance_store reads it, or why it cannot be. */
export function parseMetadata(text: string): { metadata: StoreMetadata } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { problem: `is not JSON (${(err as Error).message})` };
  }
  if (isEntry(parsed)) return { metadata: [parsed] };
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every(isEntry)) return { metadata: parsed };
  return { problem: `must hold ${METADATA_FILE_RULE}` };
}

/**
 * Loads the file. Its content was checked with the whole config (FILE_OPTIONS):
 * a problem here means it changed since; pushed, never thrown.
 */
export async function loadMetadataFile(file: string, problems: string[]): Promise<StoreMetadata | undefined> {
  const read = await readFile(file, 'utf8').then(parseMetadata, (err: unknown) => ({ problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` }));
  if ('metadata' in read) return read.metadata;
  problems.push(`filesystem_store_metadata_file = ${JSON.stringify(file)}: ${read.problem}`);
  return undefined;
}

/** The metadata for an image stored at `filePath`: the entry whose mountpoint holds it, if any. */
export function metadataFor(meta: StoreMetadata | undefined, filePath: string): Record<string, unknown> {
  if (!meta) return {};
  const hit = meta.find((m) => filePath.startsWith(m.mountpoint));
  return hit ? { ...hit } : {};
}
