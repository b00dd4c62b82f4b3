/**
 * XFS test fixtures built by the real tools: a host tree with every file shape a node image has,
 * turned into an mkfs.xfs protofile (xfsprogs mkfs/proto.c syntax, `man mkfs.xfs` "-p"), then
 * `mkfs.xfs -p` writes it into a fresh image. xfs_db is the oracle for on-disk formats.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixtureCacheDir, needTools, run } from '../../helpers/tools.ts';
import { prng } from '../../helpers/fuzz.ts';

/** Bumped whenever the tree or the generator changes, so cached images are rebuilt. */
const FIXTURE_VERSION = 4;

/** mkfs.xfs (>= 5.19) refuses filesystems under 300 MB unless it believes it runs under fstests. */
const MKFS_ENV = { ...process.env, TEST_DIR: '/tmp', TEST_DEV: 'hullscan', QA_CHECK_FS: '1' };

export interface TreeOptions {
  /** Entry counts of the big directories ("dir-N" with N entries). */
  dirSizes: number[];
  /** Size of the random multi-MiB file. */
  bigFileBytes: number;
}

function randomBytes(seed: number, n: number): Uint8Array {
  const rnd = prng(seed);
  const out = new Uint8Array(n);
  const dv = new DataView(out.buffer);
  for (let i = 0; i + 4 <= n; i += 4) dv.setUint32(i, Math.floor(rnd() * 2 ** 32));
  for (let i = n & ~3; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** Writes the reference tree under `root` (run as root: devices, ownership). */
export function buildTree(root: string, options: TreeOptions): void {
  const mk = (p: string) => mkdirSync(join(root, p), { recursive: true });
  const file = (p: string, data: Uint8Array | string, mode = 0o644, uid = 0, gid = 0) => {
    writeFileSync(join(root, p), data);
    chownSync(join(root, p), uid, gid);
    chmodSync(join(root, p), mode);
  };
  mk('etc');
  file('etc/shadow', 'root:image-shadow:19000:0:99999:7:::\n', 0o640, 0, 42);
  file('etc/os-release', 'ID=debian\nVERSION_ID="12"\n');
  symlinkSync('/etc/shadow', join(root, 'etc/abs-shadow'));
  symlinkSync('../etc/os-release', join(root, 'etc/rel-os-release'));
  mk('files');
  for (const n of [0, 1, 511, 512, 4095, 4096, 4097, 65536, 100_000]) file(`files/size-${n}`, randomBytes(n + 1, n));
  file('files/big-random', randomBytes(7, options.bigFileBytes));
  // Mostly zeros with data at both ends: whatever mkfs allocates, the content must round-trip.
  const sparse = new Uint8Array(1024 * 1024);
  sparse.set(randomBytes(9, 1000), 0);
  sparse.set(randomBytes(10, 1000), sparse.length - 1000);
  file('files/sparse-ish', sparse);
  file('files/setuid-bin', 'ELF', 0o4755);
  file('files/setgid-bin', 'ELF', 0o2711, 0, 50);
  file('files/owned', 'x', 0o600, 1000, 1001);
  file('files/nobody', 'y', 0o640, 65534, 65534);
  mk('links');
  symlinkSync('t', join(root, 'links/short'));
  // Longer than any inode's literal area (2048 - 176 at most): a remote symlink.
  const long = Array.from({ length: 100 }, (_, i) => `segment${String(i).padStart(2, '0')}`).join('/');
  symlinkSync(long.slice(0, 1000), join(root, 'links/long-1000'));
  symlinkSync(long.slice(0, 400), join(root, 'links/mid-400'));
  symlinkSync('../files/size-4096', join(root, 'links/to-file'));
  symlinkSync('/nonexistent', join(root, 'links/dangling'));
  mk('dev');
  spawnSync('mknod', [join(root, 'dev/null'), 'c', '1', '3']);
  spawnSync('mknod', [join(root, 'dev/sda1'), 'b', '8', '1']);
  spawnSync('mknod', [join(root, 'dev/big-minor'), 'c', '240', '70000']);
  spawnSync('mkfifo', [join(root, 'dev/fifo')]);
  mk('setgid-dir');
  chmodSync(join(root, 'setgid-dir'), 0o2775);
  chownSync(join(root, 'setgid-dir'), 0, 100);
  let deep = 'deep';
  for (let i = 0; i < 40; i++) deep += `/level${i}`;
  mk(deep);
  file(`${deep}/bottom`, 'bottom\n');
  mk('utf8');
  for (const n of ['café', '日本語のファイル名', 'emoji-😀', 'Ünïcödé-ñ']) file(`utf8/${n}`, n);
  for (const count of options.dirSizes) {
    const d = `dir-${count}`;
    mk(d);
    // One byte per file: each file takes a block between the directory's own blocks, so big
    // directories end up with fragmented (many-extent, hence btree-format) data forks.
    for (let i = 0; i < count; i++) file(`${d}/entry-${String(i).padStart(6, '0')}`, String(i % 10));
  }
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p' };

/** Turns a host tree into an mkfs.xfs protofile (names with whitespace or ':' are refused). */
export function protofileFor(root: string): string {
  const lines: string[] = ['hullscan-proto', '0 0'];
  const modeString = (mode: number, type: string) =>
    `${TYPE_CHAR[type]}${mode & 0o4000 ? 'u' : '-'}${mode & 0o2000 ? 'g' : '-'}${(mode & 0o777).toString(8).padStart(3, '0')}`;
  const typeOf = (p: string) => {
    const s = lstatSync(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isCharacterDevice() ? 'chardev' : s.isBlockDevice() ? 'blockdev' : s.isFIFO() ? 'fifo' : 'other';
  };
  const rootStat = lstatSync(root);
  lines.push(`${modeString(rootStat.mode, 'dir')} ${rootStat.uid} ${rootStat.gid}`);
  // Iterative pre-order: a directory's entries, then '$' to close it.
  const stack: Array<{ dir: string; names: string[]; next: number }> = [{ dir: root, names: readdirSync(root).sort(), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const name = top.names[top.next++];
    if (name === undefined) {
      lines.push('$');
      stack.pop();
      continue;
    }
    if (/[\s:]/.test(name)) throw new Error(`protofile cannot hold the name ${JSON.stringify(name)}`);
    const p = join(top.dir, name);
    const s = lstatSync(p);
    const type = typeOf(p);
    const head = `${name} ${modeString(s.mode, type)} ${s.uid} ${s.gid}`;
    if (type === 'file') lines.push(`${head} ${p}`);
    else if (type === 'symlink') lines.push(`${head} ${readlinkSync(p)}`);
    else if (type === 'chardev' || type === 'blockdev') lines.push(`${head} ${Math.floor(s.rdev / 256) & 0xfff} ${(s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00)}`);
    else if (type === 'fifo') lines.push(head);
    else if (type === 'dir') {
      lines.push(head);
      stack.push({ dir: p, names: readdirSync(p).sort(), next: 0 });
    } else throw new Error(`protofile cannot hold ${p} (${type})`);
  }
  return lines.join('\n') + '\n';
}

export interface XfsFixture {
  image: string;
  tree: string;
  /** What the tree holds, in walk order (computed once per tree, cached as JSON). */
  manifest: ManifestEntry[];
}

export interface ManifestEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  rdev?: { major: number; minor: number };
  target?: string;
  sha256?: string;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Lists the host tree in the same pre-order, name-sorted order as fs/walk.ts. */
export function manifestOf(root: string): ManifestEntry[] {
  const out: ManifestEntry[] = [];
  const stack: Array<{ rel: string; names: string[]; next: number }> = [{ rel: '', names: readdirSync(root).sort(byName), next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const name = top.names[top.next++];
    if (name === undefined) {
      stack.pop();
      continue;
    }
    const rel = `${top.rel}/${name}`;
    const abs = join(root, rel);
    const s = lstatSync(abs);
    const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isCharacterDevice() ? 'chardev' : s.isBlockDevice() ? 'blockdev' : s.isFIFO() ? 'fifo' : 'other';
    const e: ManifestEntry = { path: rel, type, mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, size: s.size };
    if (type === 'file') e.sha256 = createHash('sha256').update(readFileSync(abs)).digest('hex');
    if (type === 'symlink') e.target = readlinkSync(abs);
    if (type === 'chardev' || type === 'blockdev') e.rdev = { major: Math.floor(s.rdev / 256) & 0xfff, minor: (s.rdev & 0xff) | ((s.rdev >> 12) & 0xfff00) };
    out.push(e);
    if (type === 'dir') stack.push({ rel, names: readdirSync(abs).sort(byName), next: 0 });
  }
  return out;
}

export function needXfsTools(): string | false {
  return needTools('mkfs.xfs', 'xfs_db', 'mknod') || (process.getuid?.() !== 0 ? 'XFS fixtures need root (device nodes, file ownership)' : false);
}

/**
 * Builds (or reuses from the fixture cache) the tree and an image made with `mkfsArgs`. Returns
 * undefined with a reason when mkfs refuses the variant (e.g. a v4 filesystem).
 */
export async function xfsFixture(name: string, tree: TreeOptions, mkfsArgs: string[], sizeMiB: number): Promise<XfsFixture | { skip: string }> {
  const cache = fixtureCacheDir();
  const treeKey = createHash('sha256').update(JSON.stringify({ FIXTURE_VERSION, tree })).digest('hex').slice(0, 12);
  const treeDir = join(cache, `xfs-tree-${treeKey}`);
  if (!existsSync(treeDir)) {
    const tmp = `${treeDir}.tmp-${process.pid}`;
    mkdirSync(tmp);
    buildTree(tmp, tree);
    writeFileSync(`${tmp}.manifest.json`, JSON.stringify(manifestOf(tmp)));
    renameSync(`${tmp}.manifest.json`, `${treeDir}.manifest.json`);
    renameSync(tmp, treeDir);
  }
  const manifest = JSON.parse(readFileSync(`${treeDir}.manifest.json`, 'utf8')) as ManifestEntry[];
  const key = createHash('sha256').update(JSON.stringify({ treeKey, mkfsArgs, sizeMiB })).digest('hex').slice(0, 12);
  const image = join(cache, `xfs-${name}-${key}.img`);
  if (!existsSync(image)) {
    const proto = join(cache, `xfs-${name}-${key}.proto`);
    writeFileSync(proto, protofileFor(treeDir));
    const tmp = `${image}.tmp-${process.pid}`;
    const r = spawnSync('mkfs.xfs', ['-q', '-f', ...mkfsArgs, '-p', proto, '-d', `file,name=${tmp},size=${sizeMiB}m`], { env: MKFS_ENV, encoding: 'utf8' });
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      return { skip: `mkfs.xfs ${mkfsArgs.join(' ')} refused: ${r.stderr.trim().split('\n')[0]}` };
    }
    renameSync(tmp, image);
  }
  return { image, tree: treeDir, manifest };
}

/** Runs xfs_db read-only commands against an image. */
export async function xfsDb(image: string, ...commands: string[]): Promise<string> {
  return run('xfs_db', ['-r', ...commands.flatMap((c) => ['-c', c]), image]);
}

/** The data-fork format xfs_db reports for an inode: "local", "extents" or "btree". */
export async function inodeFormat(image: string, ino: number): Promise<string> {
  const out = await xfsDb(image, `inode ${ino}`, 'print core.format');
  const m = /core\.format = \d+ \((\w+)\)/.exec(out);
  if (!m) throw new Error(`xfs_db gave no format for inode ${ino}: ${out}`);
  return m[1]!;
}

/** Makes a fresh mkfs'd image without a protofile (hostile-structure tests patch it). */
export async function mkfsPlain(path: string, sizeMiB: number, args: string[] = []): Promise<void> {
  const r = spawnSync('mkfs.xfs', ['-q', '-f', ...args, '-d', `file,name=${path},size=${sizeMiB}m`], { env: MKFS_ENV, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mkfs.xfs failed: ${r.stderr}`);
}

export { MKFS_ENV };
