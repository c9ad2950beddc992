/**
 * The two references the inspection is checked against: `qemu-img info
 * --output=json`, and the format inspector of Debian's python3-glance (25.1
 * with its security updates), downloaded with apt-get and unpacked at test
 * time, run with /usr/bin/python3. And the list of known differences, read
 * from docs/inspection.md, where each has its reason.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export type QemuInfo = Record<string, unknown> & { format: string; 'virtual-size': number };

/** qemu-img's view of an image (it probes the format, as a host would), or its error. */
export async function qemuInfo(file: string): Promise<QemuInfo | { error: string }> {
  try {
    const { stdout } = await exec('qemu-img', ['info', '--output=json', file], { cwd: path.dirname(file) });
    return JSON.parse(stdout) as QemuInfo;
  } catch (err) {
    return { error: String((err as { stderr?: string }).stderr ?? err).trim() };
  }
}

const GLANCE_DIR = path.join(tmpdir(), 'glance-store-test-python3-glance');
const SITE = path.join(GLANCE_DIR, 'root', 'usr', 'lib', 'python3', 'dist-packages');

/** Unpacks python3-glance once per machine (cached in the temporary directory). */
export function glancePackage(): string {
  if (existsSync(path.join(SITE, 'glance', 'common', 'format_inspector.py'))) return SITE;
  mkdirSync(GLANCE_DIR, { recursive: true });
  execFileSync('apt-get', ['download', '-q', 'python3-glance'], { cwd: GLANCE_DIR, stdio: 'pipe' });
  const deb = readdirSync(GLANCE_DIR).find((f) => f.startsWith('python3-glance_') && f.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download python3-glance gave no package');
  execFileSync('dpkg-deb', ['-x', deb, 'root'], { cwd: GLANCE_DIR });
  return SITE;
}

/** Glance's inspector's verdict (detect_file_format, virtual_size, safety_check) on each file. */
const GLANCE_SCRIPT = `
import json, sys
sys.path.insert(0, sys.argv[1])
from glance.common import format_inspector as fi
out = {}
for f in sys.argv[2:]:
    try:
        i = fi.detect_file_format(f)
    except Exception as e:
        out[f] = {"error": str(e)}
        continue
    try:
        safe = bool(i.safety_check())
    except Exception:
        safe = False
    out[f] = {"format": str(i), "virtualSize": i.virtual_size, "safe": safe}
print(json.dumps(out))
`;

export type GlanceVerdict = { format: string; virtualSize: number; safe: boolean } | { error: string };

export async function glanceVerdicts(files: string[]): Promise<Record<string, GlanceVerdict>> {
  const { stdout } = await exec('/usr/bin/python3', ['-c', GLANCE_SCRIPT, glancePackage(), ...files], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Record<string, GlanceVerdict>;
}

export interface KnownDifference {
  reference: string;
  image: string;
  field: string;
  theirs: string;
  ours: string;
  why: string;
}

/** The table of known differences in docs/inspection.md. */
export function knownDifferences(): KnownDifference[] {
  const doc = readFileSync(new URL('../../docs/inspection.md', import.meta.url), 'utf8');
  const table = /<!-- differences -->([\s\S]*?)<!-- \/differences -->/.exec(doc)?.[1];
  if (!table) throw new Error('docs/inspection.md has no table of differences');
  return table
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l) && !/^\|\s*reference\s*\|/.test(l))
    .map((l) => {
      const [reference, image, field, theirs, ours, why] = l.slice(1, -1).split('|').map((c) => c.trim().replace(/^`|`$/g, ''));
      return { reference: reference!, image: image!, field: field!, theirs: theirs!, ours: ours!, why: why! };
    });
}
