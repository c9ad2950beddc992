/**
 * The images the inspection tests run over, made at test time by the real
 * tools: qemu-img (every format it writes, empty and converted from a small
 * partitioned disk, and the hostile ones), sgdisk/parted for partition
 * tables, xorriso for an ISO. Hostile images qemu-img cannot make (a vmdk
 * descriptor naming /etc/passwd, truncated headers) are edits of real ones.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

export interface TestImage {
  name: string;
  file: string;
  /** What the image is meant to be, for the reader of a failure. */
  about: string;
}

/**
 * Runs a tool, its stderr in the error. qemu-img times its LUKS key derivation by CPU time and
 * fails ("Unable to get accurate CPU usage") on a busy machine: that is tried again.
 */
function run(cmd: string, args: string[], cwd: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      return;
    } catch (err) {
      const stderr = String((err as { stderr?: Buffer }).stderr ?? '');
      if (attempt < 5 && /accurate CPU usage/.test(stderr)) continue;
      throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.trim() || String(err)}`, { cause: err });
    }
  }
}
const LUKS_SECRET = ['--object', 'secret,id=s0,data=inspect-test'];

/** Builds every test image in `dir`; returns them by name. */
export function buildImages(dir: string): TestImage[] {
  mkdirSync(dir, { recursive: true });
  const images: TestImage[] = [];
  const add = (name: string, about: string) => images.push({ name, file: path.join(dir, name), about });
  const qemu = (...args: string[]) => run('qemu-img', args, dir);

  // The small real disk: GPT with two partitions, data in the first.
  writeFileSync(path.join(dir, 'disk.raw'), '');
  truncateSync(path.join(dir, 'disk.raw'), 8 * 1024 * 1024);
  run('sgdisk', ['-o', '-n', '1:2048:+2M', '-n', '2:0:0', 'disk.raw'], dir);
  const fd = openSync(path.join(dir, 'disk.raw'), 'r+');
  writeSync(fd, randomBytes(1024 * 1024), 0, 1024 * 1024, 1024 * 1024);
  closeSync(fd);
  add('disk.raw', 'a raw disk with a GPT and data');
  writeFileSync(path.join(dir, 'mbr.raw'), '');
  truncateSync(path.join(dir, 'mbr.raw'), 4 * 1024 * 1024);
  run('parted', ['-s', 'mbr.raw', 'mklabel', 'msdos', 'mkpart', 'primary', '1MiB', '100%'], dir);
  add('mbr.raw', 'a raw disk with an MBR');

  const formats: Array<[string, string[]]> = [
    ['qcow2', []],
    ['qcow2', ['-o', 'compat=0.10']],
    ['qcow2', ['-o', 'extended_l2=on']],
    ['qcow2', ['-o', 'cluster_size=2M']],
    ['vmdk', []],
    ['vmdk', ['-o', 'subformat=streamOptimized']],
    ['vpc', []],
    ['vpc', ['-o', 'subformat=fixed']],
    ['vhdx', []],
    ['vdi', []],
    ['vdi', ['-o', 'static=on']],
    ['qed', []],
    ['raw', []],
    ['luks', [...LUKS_SECRET, '-o', 'key-secret=s0,iter-time=100']],
  ];
  formats.forEach(([fmt, opts], i) => {
    const tag = `${i}`.padStart(2, '0');
    const variant = opts.filter((o) => o.includes('=') && !o.includes('secret')).join(',');
    const luks = fmt === 'luks' ? LUKS_SECRET : [];
    const createOpts = opts.filter((o) => !LUKS_SECRET.includes(o));
    qemu('create', '-q', ...luks, '-f', fmt, ...createOpts, `created-${tag}.${fmt}`, '16M');
    add(`created-${tag}.${fmt}`, `qemu-img create -f ${fmt} ${variant}`);
    // A streamOptimized vmdk (or a static vdi) is made by convert, as qemu-img allows.
    qemu('convert', ...luks, '-O', fmt, ...createOpts, 'disk.raw', `converted-${tag}.${fmt}`);
    add(`converted-${tag}.${fmt}`, `qemu-img convert -O ${fmt} ${variant} of disk.raw`);
  });
  qemu('convert', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', 'disk.raw', 'flat-pair.vmdk');
  add('flat-pair.vmdk', 'a monolithicFlat vmdk: a descriptor naming its -flat data file');

  // Hostile ones.
  qemu('create', '-q', '-f', 'qcow2', '-o', 'backing_file=converted-00.qcow2,backing_fmt=qcow2', 'backing.qcow2', '8M');
  add('backing.qcow2', 'a qcow2 with a backing file');
  qemu('create', '-q', '-f', 'qcow2', '-o', 'backing_file=/etc/passwd,backing_fmt=raw', 'backing-passwd.qcow2', '8M');
  add('backing-passwd.qcow2', 'a qcow2 whose backing file is /etc/passwd');
  qemu('create', '-q', '-f', 'qcow2', '-o', 'data_file=data-file.bin', 'data-file.qcow2', '8M');
  add('data-file.qcow2', 'a qcow2 with an external data file');
  qemu('create', '-q', '-f', 'qed', '-o', 'backing_file=converted-00.qcow2,backing_fmt=qcow2', 'backing.qed', '8M');
  add('backing.qed', 'a qed with a backing file');
  qemu('create', '-q', '-f', 'vmdk', '-o', 'backing_file=converted-04.vmdk,backing_fmt=vmdk', 'delta.vmdk', '8M');
  add('delta.vmdk', 'a vmdk delta disk naming its parent (parentFileNameHint)');
  copyFileSync(path.join(dir, 'converted-00.qcow2'), path.join(dir, 'qcow2-named.raw'));
  add('qcow2-named.raw', 'a qcow2 renamed .raw');
  writeFileSync(path.join(dir, 'passwd-flat.vmdk'), '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n# Extent description\nRW 8 FLAT "/etc/passwd" 0\n');
  add('passwd-flat.vmdk', 'a vmdk descriptor whose flat extent is /etc/passwd');
  add(embedExtent(dir, 'converted-04.vmdk', 'sparse-passwd.vmdk'), 'a sparse vmdk whose embedded descriptor names /etc/passwd as a flat extent');
  add(qcowUnknownFeature(dir, 'converted-00.qcow2', 'unknown-feature.qcow2'), 'a qcow2 setting an incompatible feature bit no qemu knows');
  add(cut(dir, 'converted-00.qcow2', 'cut-64.qcow2', 64), 'a qcow2 cut inside its header');
  add(cut(dir, 'converted-00.qcow2', 'cut-4k.qcow2', 4096), 'a qcow2 cut inside its first cluster');
  add(cut(dir, 'converted-04.vmdk', 'cut-600.vmdk', 600), 'a sparse vmdk cut inside its descriptor');
  add(cut(dir, 'converted-08.vhdx', 'cut-200k.vhdx', 200 * 1024), 'a vhdx cut inside its region table');
  add(cut(dir, 'converted-09.vdi', 'cut-100.vdi', 100), 'a vdi cut inside its header');
  add(cut(dir, 'converted-13.luks', 'cut-300.luks', 300), 'a luks cut inside its header');

  // LUKS2 (qemu-img writes LUKS1 only): cryptsetup formats a file, no device needed.
  writeFileSync(path.join(dir, 'cryptsetup.luks2'), '');
  truncateSync(path.join(dir, 'cryptsetup.luks2'), 20 * 1024 * 1024);
  writeFileSync(path.join(dir, 'luks2.key'), 'inspect-test');
  run('cryptsetup', ['luksFormat', '--type', 'luks2', '--batch-mode', '--pbkdf', 'pbkdf2', '--pbkdf-force-iterations', '1000', '--key-file', 'luks2.key', 'cryptsetup.luks2'], dir);
  add('cryptsetup.luks2', 'a LUKS2 volume made by cryptsetup (16 MiB header, 4 MiB payload)');

  mkdirSync(path.join(dir, 'iso-root'), { recursive: true });
  writeFileSync(path.join(dir, 'iso-root', 'README'), 'an iso made by xorriso\n');
  run('xorriso', ['-as', 'mkisofs', '-quiet', '-o', 'xorriso.iso', 'iso-root'], dir);
  add('xorriso.iso', 'an ISO 9660 image made by xorriso');
  add(polyglot(dir, 'converted-00.qcow2', 'xorriso.iso', 'iso-in.qcow2'), "a qcow2 carrying an ISO's volume descriptors in its first cluster");
  return images;
}

function cut(dir: string, from: string, to: string, bytes: number): string {
  writeFileSync(path.join(dir, to), readFileSync(path.join(dir, from)).subarray(0, bytes));
  return to;
}

/** A copy of a monolithicSparse vmdk whose descriptor's extent line is a flat extent on /etc/passwd. */
function embedExtent(dir: string, from: string, to: string): string {
  const image = readFileSync(path.join(dir, from));
  const descriptorBytes = Number(image.readBigUInt64LE(36)) * 512;
  const text = image.subarray(512, 512 + descriptorBytes).toString('latin1').replace(/\0+$/, '');
  const edited = text.replace(/^RW (\d+) SPARSE "[^"]*"$/m, 'RW $1 FLAT "/etc/passwd" 0');
  if (edited === text || edited.length > descriptorBytes) throw new Error('the vmdk descriptor has no sparse extent line to edit');
  image.fill(0, 512, 512 + descriptorBytes);
  image.write(edited, 512, 'latin1');
  writeFileSync(path.join(dir, to), image);
  return to;
}

/** A copy of `image` with the volume descriptors (32-40 KiB) of `iso` written in. */
function polyglot(dir: string, image: string, iso: string, to: string): string {
  const b = readFileSync(path.join(dir, image));
  readFileSync(path.join(dir, iso)).copy(b, 0x8000, 0x8000, 0xa000);
  writeFileSync(path.join(dir, to), b);
  return to;
}

/** A copy of a qcow2 v3 with incompatible feature bit 40 set. */
function qcowUnknownFeature(dir: string, from: string, to: string): string {
  const image = readFileSync(path.join(dir, from));
  image.writeBigUInt64BE(image.readBigUInt64BE(72) | (1n << 40n), 72);
  writeFileSync(path.join(dir, to), image);
  return to;
}
