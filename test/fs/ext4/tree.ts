/**
 * The source tree the ext2/3/4 tests put into images with `mkfs.ext4 -d`, and a comparison of a
 * walked image against it (lstat on the host is the oracle for every field).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readFileSync, symlinkSync, truncateSync, utimesSync, writeFileSync, writeSync, lutimesSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../helpers/tools.ts';
import type { Stat } from '../../../src/fs/index.ts';
import { hostFileType } from '../../../src/fs/directory/index.ts';
import type { PathFileSystem } from '../../../src/fs/path-fs.ts';
import { walk } from '../../../src/fs/walk.ts';
import type { Issue } from '../../../src/util/issues.ts';

export const BIG_DIR = '/dir-5000';
export const BIG_DIR_ENTRIES = 5000;
export const DEEP_LEVELS = 60;

function seeded(n: number, seed: number): Uint8Array {
  // Deterministic "random" bytes so a failure reproduces; crypto for the big file only.
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const SMALL_SIZES = [1, 59, 60, 61, 1023, 1024, 1025, 4095, 4096, 4097, 65537];

/** Builds the tree under `root` (must run as root for owners and device nodes). */
export async function buildTree(root: string, options: { entries?: number } = {}): Promise<void> {
  const p = (...parts: string[]) => join(root, ...parts);
  for (const d of ['etc', 'usr/lib', 'usr/bin', 'data', 'links', 'dev', 'names', 'owners', 'time']) mkdirSync(p(d), { recursive: true });
  writeFileSync(p('etc/shadow'), 'image-shadow\n');
  chmodSync(p('etc/shadow'), 0o640);
  chownSync(p('etc/shadow'), 0, 42);
  symlinkSync('/etc/shadow', p('etc/abs-shadow'));
  symlinkSync('../../../../../../etc/shadow', p('etc/dotdot-shadow'));
  writeFileSync(p('usr/lib/os-release'), 'ID=hullscan-test\n');
  symlinkSync('../usr/lib/os-release', p('etc/os-release'));
  writeFileSync(p('usr/bin/prog'), seeded(200 * 1024 + 7, 7));
  chmodSync(p('usr/bin/prog'), 0o4755);
  linkSync(p('usr/bin/prog'), p('usr/bin/prog-hardlink'));
  linkSync(p('usr/bin/prog'), p('data/prog-third-link'));

  writeFileSync(p('data/random.bin'), randomBytes(3 * 1024 * 1024 + 123));
  writeFileSync(p('data/empty'), '');
  // Holes: data at 1 MiB, 8 MiB and 10 MiB, like `dd seek=`; then a file ending in a hole (`truncate`).
  const fd = openSync(p('data/sparse'), 'w');
  writeSync(fd, seeded(4096, 11), 0, 4096, 1024 * 1024);
  writeSync(fd, seeded(5000, 12), 0, 5000, 8 * 1024 * 1024);
  writeSync(fd, seeded(100, 13), 0, 100, 10 * 1024 * 1024);
  closeSync(fd);
  writeFileSync(p('data/trailing-hole'), 'head');
  truncateSync(p('data/trailing-hole'), 3 * 1024 * 1024);
  // Fragmented on purpose: 8 separate extents force an extent tree deeper than the inode's 4 slots.
  const fd2 = openSync(p('data/fragmented'), 'w');
  for (let i = 0; i < 8; i++) writeSync(fd2, seeded(4096, 100 + i), 0, 4096, i * 3 * 65536);
  closeSync(fd2);
  for (const n of SMALL_SIZES) writeFileSync(p(`data/small-${n}`), seeded(n, n));

  symlinkSync('short/target', p('links/fast'));
  symlinkSync('/' + 'long-component/'.repeat(14) + 'end', p('links/slow'));
  for (const n of [59, 60, 61]) symlinkSync('x'.repeat(n), p(`links/len-${n}`));
  symlinkSync('/nonexistent/target', p('links/dangling'));
  symlinkSync('/', p('links/rootlink'));

  await run('mknod', [p('dev/null'), 'c', '1', '3']);
  await run('mknod', [p('dev/sda1'), 'b', '8', '1']);
  await run('mknod', [p('dev/bignum'), 'c', '300', '70000']);
  await run('mkfifo', [p('fifo')]);

  for (const name of ['naïve café.txt', '日本語のファイル', 'with space', 'tab\tname', 'x'.repeat(255)]) writeFileSync(p('names', name), name);

  writeFileSync(p('owners/u100000'), 'big ids');
  chownSync(p('owners/u100000'), 100000, 200000);
  writeFileSync(p('owners/u1234'), 'small ids');
  chownSync(p('owners/u1234'), 1234, 5678);
  chmodSync(p('owners/u1234'), 0o2750);
  mkdirSync(p('owners/sticky'));
  chmodSync(p('owners/sticky'), 0o1777);

  writeFileSync(p('time/future'), 'f');
  utimesSync(p('time/future'), new Date('2100-01-01T00:00:00.123Z'), new Date('2100-01-01T00:00:00.123Z'));
  writeFileSync(p('time/past'), 'p');
  utimesSync(p('time/past'), new Date('1960-06-15T12:00:00.5Z'), new Date('1960-06-15T12:00:00.5Z'));
  lutimesSync(p('links/fast'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));

  let deep = p('deep');
  for (let i = 0; i < DEEP_LEVELS; i++) deep = join(deep, `level${i}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'bottom.txt'), 'bottom');

  mkdirSync(p(BIG_DIR.slice(1)));
  const entries = options.entries ?? BIG_DIR_ENTRIES;
  for (let i = 0; i < entries; i++) writeFileSync(p(BIG_DIR.slice(1), `entry-${String(i).padStart(5, '0')}${i % 7 === 0 ? '-with-a-longer-name' : ''}`), String(i));
}


export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface CompareOptions {
  /**
   * Sizes that differ from the host because of a known bug of the tool that built the image
   * (debugfs is then the oracle); the content must equal the host file cut to that size.
   */
  sizeOverrides?: Record<string, number>;
}

export interface CompareResult {
  entries: number;
  mismatches: string[];
  issues: Issue[];
}

/**
 * Walks the image and compares every entry with the host tree: type, mode, uid, gid, size,
 * link target, content SHA-256, device numbers, mtime; hard links must share an inode.
 */
export async function compareWithTree(fs: PathFileSystem, root: string, options: CompareOptions = {}): Promise<CompareResult> {
  const mismatches: string[] = [];
  const issues: Issue[] = [];
  const seen = new Set<string>();
  const hostInoToImage = new Map<number, number>();
  let entries = 0;
  const check = (path: string, what: string, got: unknown, want: unknown) => {
    if (got !== want) mismatches.push(`${path}: ${what} ${String(got)} != ${String(want)}`);
  };
  for await (const e of walk(fs, { issues })) {
    if (e.path === '/lost+found') continue;
    entries++;
    seen.add(e.path);
    const host = lstatSync(join(root, e.path));
    const st: Stat = e.stat;
    check(e.path, 'type', st.type, hostFileType(host));
    check(e.path, 'dirent type', e.entry.type, hostFileType(host));
    check(e.path, 'mode', st.mode, host.mode & 0o7777);
    check(e.path, 'uid', st.uid, host.uid);
    check(e.path, 'gid', st.gid, host.gid);
    const wantSize = options.sizeOverrides?.[e.path] ?? host.size;
    if (st.type !== 'dir') check(e.path, 'size', st.size, wantSize);
    check(e.path, 'nlink', st.nlink, host.nlink);
    // mkfs -d (e2fsprogs 1.47) stores whole seconds, truncated to the signed 32-bit i_mtime.
    if (st.type !== 'dir') check(e.path, 'mtime', st.mtimeMs, (Math.floor(host.mtimeMs / 1000) | 0) * 1000);
    const prev = hostInoToImage.get(host.ino);
    if (prev !== undefined) check(e.path, 'hard link ino', st.ino, prev);
    else hostInoToImage.set(host.ino, st.ino);
    if (st.type === 'symlink') check(e.path, 'target', await fs.readlink(e.path), readlinkSync(join(root, e.path), 'utf8'));
    if (st.type === 'file') {
      const data = await fs.readFile(e.path);
      check(e.path, 'sha256', sha256(data), sha256(readFileSync(join(root, e.path)).subarray(0, wantSize)));
    }
    if (st.type === 'chardev' || st.type === 'blockdev') {
      const major = Math.floor(host.rdev / 256) & 0xfff;
      const minor = (host.rdev & 0xff) | ((host.rdev >> 12) & 0xfff00);
      check(e.path, 'rdev', `${st.rdev?.major}:${st.rdev?.minor}`, `${major}:${minor}`);
    }
  }
  // Every host entry must have been walked.
  const stack = [''];
  while (stack.length) {
    const rel = stack.pop()!;
    for (const name of readdirSync(join(root, rel))) {
      const child = `${rel}/${name}`;
      if (!seen.has(child)) mismatches.push(`${child}: missing from the image walk`);
      if (lstatSync(join(root, child)).isDirectory()) stack.push(child);
    }
  }
  return { entries, mismatches, issues };
}
