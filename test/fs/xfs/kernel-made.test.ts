/**
 * Shapes only a mounted filesystem makes (the kernel is the writer and the oracle): holes,
 * unwritten (fallocated) extents, a btree-format regular file, reflinked copies, hard links,
 * v5 remote symlinks with their per-block headers, files with extended attributes (an attribute
 * fork shrinks the data fork). Needs root and loop mounts; skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, symlinkSync, linkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canUseLoopDevices, run, tempDir } from '../../helpers/tools.ts';
import { openFile } from '../../../src/disk/file-source.ts';
import { openXfs, type XfsReader } from '../../../src/fs/xfs/index.ts';
import { walk, type WalkEntry } from '../../../src/fs/walk.ts';
import { createHash } from 'node:crypto';
import { manifestOf, mkfsPlain, inodeFormat, needXfsTools } from './fixtures.ts';
import { prng } from '../../helpers/fuzz.ts';
import { assertBytesEqual } from '../../helpers/bytes.ts';

function canMount(): string | false {
  const reason = needXfsTools() || canUseLoopDevices();
  if (reason) return reason;
  const t = tempDir();
  try {
    const img = join(t.dir, 'probe.img');
    spawnSync('truncate', ['-s', '16m', img]);
    spawnSync('mkfs.xfs', ['-q', '-f', img], { env: { ...process.env, TEST_DIR: '/tmp', TEST_DEV: 'x', QA_CHECK_FS: '1' } });
    mkdirSync(join(t.dir, 'm'));
    const r = spawnSync('mount', ['-o', 'loop', img, join(t.dir, 'm')], { encoding: 'utf8' });
    if (r.status !== 0) return `cannot loop-mount XFS here: ${r.stderr.trim()}`;
    spawnSync('umount', [join(t.dir, 'm')]);
    return false;
  } finally {
    t.cleanup();
  }
}

function fill(seed: number, n: number): Uint8Array {
  const rnd = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

/** Populates a mounted filesystem with the shapes listed at the top of the file. */
async function populate(m: string): Promise<void> {
  // Holes: data at 0, 1 MiB and past 8 MiB; the rest never written.
  const fd = openSync(join(m, 'holes'), 'w');
  writeSync(fd, fill(1, 5000), 0, 5000, 0);
  writeSync(fd, fill(2, 4096), 0, 4096, 1024 * 1024);
  writeSync(fd, fill(3, 100), 0, 100, 8 * 1024 * 1024 + 13);
  closeSync(fd);
  // Unwritten: preallocated blocks read as zeros, then part of the range written.
  writeFileSync(join(m, 'prealloc'), '');
  await run('fallocate', ['-l', String(2 * 1024 * 1024), join(m, 'prealloc')]);
  await run('xfs_io', ['-c', 'pwrite -S 0x5a 65536 8192', join(m, 'prealloc')]);
  // Many extents: every other block written, each write synced so the allocator cannot merge.
  await run('xfs_io', ['-f', '-c', 'extsize 0', ...Array.from({ length: 400 }, (_, i) => ['-c', `pwrite -S ${i % 250} ${i * 8192} 4096`]).flat(), join(m, 'fragmented')]);
  // Reflinked copies share blocks; the copy is then modified in its middle (copy-on-write).
  writeFileSync(join(m, 'original'), fill(4, 3 * 1024 * 1024));
  await run('cp', ['--reflink=always', join(m, 'original'), join(m, 'reflinked')]);
  await run('xfs_io', ['-c', 'pwrite -S 0x77 1048576 4096', join(m, 'reflinked')]);
  linkSync(join(m, 'original'), join(m, 'hardlink'));
  const long = Array.from({ length: 100 }, (_, i) => `component-${i}`).join('/').slice(0, 1020);
  symlinkSync(long, join(m, 'remote-link'));
  symlinkSync('x'.repeat(700), join(m, 'remote-link-700'));
  writeFileSync(join(m, 'with-xattr'), 'has attrs\n');
  await run('python3', ['-c', `import os; [os.setxattr(${JSON.stringify(join(m, 'with-xattr'))}, 'user.k%d' % i, b'v' * 200) for i in range(3)]`]);
  mkdirSync(join(m, 'dir-with-xattr'));
  for (let i = 0; i < 30; i++) writeFileSync(join(m, 'dir-with-xattr', `f${i}`), String(i));
  await run('python3', ['-c', `import os; os.setxattr(${JSON.stringify(join(m, 'dir-with-xattr'))}, 'user.big', b'v' * 150)`]);
}

test('kernel-written image: holes, unwritten extents, btree file, reflinks, hard links, remote symlinks, xattrs', { skip: canMount(), timeout: 120_000 }, async () => {
  const t = tempDir();
  const m = join(t.dir, 'mnt');
  mkdirSync(m);
  const img = join(t.dir, 'k.img');
  let mounted = false;
  try {
    await mkfsPlain(img, 64, ['-m', 'reflink=1']);
    await run('mount', ['-o', 'loop', img, m]);
    mounted = true;
    await populate(m);
    const manifest = manifestOf(m);
    await run('umount', [m]);
    mounted = false;

    const source = await openFile(img);
    const fs = await openXfs(source);
    const reader = fs.reader as XfsReader;
    const got: WalkEntry[] = [];
    for await (const e of walk(fs)) got.push(e);
    assert.deepEqual(got.map((e) => e.path), manifest.map((e) => e.path));
    for (const [i, e] of got.entries()) {
      const w = manifest[i]!;
      assert.equal(e.stat.type, w.type, e.path);
      assert.equal(e.stat.size, e.stat.type === 'dir' ? e.stat.size : w.size, e.path);
      assert.equal(e.stat.mode, w.mode, e.path);
      if (w.target !== undefined) assert.equal(await fs.readlink(e.path), w.target, e.path);
      if (w.sha256 !== undefined) assert.equal(createHash('sha256').update(await fs.readFile(e.path)).digest('hex'), w.sha256, e.path);
    }
    assert.equal((await fs.stat('/hardlink')).ino, (await fs.stat('/original')).ino, 'a hard link is the same inode');
    assert.equal((await fs.stat('/original')).nlink, 2);
    assert.equal(await inodeFormat(img, (await fs.stat('/fragmented')).ino), 'btree', 'fragmented file has a btree data fork');
    assert.equal(await inodeFormat(img, (await fs.lstat('/remote-link')).ino), 'extents', 'long symlink is remote');
    const pre = await reader.extents(await reader.inode((await fs.stat('/prealloc')).ino));
    assert.ok(pre.some((x) => x.unwritten), 'fallocate left unwritten extents');
    // Partial reads across extent boundaries and holes match the kernel's bytes.
    const holes = await fs.readFile('/holes');
    assertBytesEqual(await fs.open('/holes').then((f) => f.read(4000, 1024 * 1024)), holes.subarray(4000, 4000 + 1024 * 1024));
    assert.deepEqual(fs.issues, []);
    await source.close();
  } finally {
    if (mounted) spawnSync('umount', [m]);
    t.cleanup();
  }
});
