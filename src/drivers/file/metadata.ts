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

/** Loads and checks the file; problems are pushed, never thrown. */
export async function loadMetadataFile(file: string, problems: string[]): Promise<StoreMetadata | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    problems.push(`filesystem_store_metadata_file ${file} could not be read as JSON: ${(err as Error).message}`);
    return undefined;
  }
  if (isEntry(parsed)) return [parsed];
  if (Array.isArray(parsed) && parsed.length > 0 && parsed.every(isEntry)) return parsed;
  problems.push(`filesystem_store_metadata_file ${file} must hold an object with string "id" and "mountpoint" keys, or a non-empty list of such objects`);
  return undefined;
}

/** The metadata for an image stored at `filePath`: the entry whose mountpoint holds it, if any. */
export function metadataFor(meta: StoreMetadata | undefined, filePath: string): Record<string, unknown> {
  if (!meta) return {};
  const hit = meta.find((m) => filePath.startsWith(m.mountpoint));
  return hit ? { ...hit } : {};
}
