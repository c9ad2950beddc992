/**
 * `filesystem_store_metadata_file`: a JSON object with `id` and `mountpoint`,
 * or a list of them, read once at start-up. The entry whose mountpoint holds
 * an image becomes that image's location metadata, as in glance_store.
 */
import { readFile } from 'node:fs/promises';

export type MetadataEntry = { id: string; mountpoint: string; [key: string]: unknown };
export type StoreMetadata = MetadataEntry | MetadataEntry[];

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
  if (isEntry(parsed) || (Array.isArray(parsed) && parsed.length > 0 && parsed.every(isEntry))) return parsed;
  problems.push(`filesystem_store_metadata_file ${file} must hold an object with string "id" and "mountpoint" keys, or a non-empty list of such objects`);
  return undefined;
}

/** The metadata for an image stored at `filePath`. */
export function metadataFor(meta: StoreMetadata | undefined, filePath: string): Record<string, unknown> {
  if (!meta) return {};
  if (!Array.isArray(meta)) return { ...meta };
  const hit = meta.find((m) => filePath.startsWith(m.mountpoint));
  return hit ? { ...hit } : {};
}
