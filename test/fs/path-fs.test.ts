import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { openDirectory } from '../../src/fs/directory/index.ts';
import { walk } from '../../src/fs/walk.ts';
import { FsPathError } from '../../src/fs/errors.ts';
import { tempDir } from '../helpers/tools.ts';
import type { Issue } from '../../src/util/issues.ts';

/** A tree with the symlink shapes real node images have, plus hostile ones. */
function buildTree(root: string): void {
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/os-release'), 'ID=debian\n');
  symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
  writeFileSync(join(root, 'etc/shadow'), 'image-shadow\n');
  symlinkSync('/etc/shadow', join(root, 'etc/abs-shadow'));
  symlinkSync('../../../../../../../../etc/shadow', join(root, 'etc/dotdot-shadow'));
  symlinkSync('/', join(root, 'rootlink'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  symlinkSync('/nonexistent/target', join(root, 'etc/dangling'));
  mkdirSync(join(root, 'usr/bin'));
  writeFileSync(join(root, 'usr/bin/ls'), 'ELF');
  linkSync(join(root, 'usr/bin/ls'), join(root, 'usr/bin/dir'));
  symlinkSync('usr/bin', join(root, 'bin'));
}

test('relative symlink like /etc/os-release resolves inside the tree', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    assert.equal(new TextDecoder().decode(await fs.readFile('/etc/os-release')), 'ID=debian\n');
    assert.equal(await fs.realpath('/etc/os-release'), '/usr/lib/os-release');
    assert.equal((await fs.lstat('/etc/os-release')).type, 'symlink');
    assert.equal(await fs.readlink('/etc/os-release'), '../usr/lib/os-release');
  } finally {
    t.cleanup();
  }
});

test('absolute and dot-dot symlinks to /etc/shadow read the image file, never the host file', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    for (const p of ['/etc/abs-shadow', '/etc/dotdot-shadow', '/rootlink/etc/shadow', '/../../etc/shadow', '/rootlink/../../etc/shadow']) {
      assert.equal(new TextDecoder().decode(await fs.readFile(p)), 'image-shadow\n', p);
    }
  } finally {
    t.cleanup();
  }
});

test('symlink loops end in ELOOP after at most 40 hops', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    await assert.rejects(fs.stat('/loop-a'), (e: unknown) => e instanceof FsPathError && e.code === 'ELOOP');
    assert.equal((await fs.lstat('/loop-a')).type, 'symlink');
  } finally {
    t.cleanup();
  }
});

test('path errors carry errno-style codes', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    await assert.rejects(fs.stat('/nope'), (e: unknown) => e instanceof FsPathError && e.code === 'ENOENT');
    await assert.rejects(fs.stat('/usr/bin/ls/x'), (e: unknown) => e instanceof FsPathError && e.code === 'ENOTDIR');
    await assert.rejects(fs.readFile('/usr'), (e: unknown) => e instanceof FsPathError && e.code === 'EISDIR');
    await assert.rejects(fs.readFile('/usr/bin/ls', { maxBytes: 2 }), (e: unknown) => e instanceof FsPathError && e.code === 'EFBIG');
    await assert.rejects(fs.stat('/' + 'a/'.repeat(3000)), (e: unknown) => e instanceof FsPathError && e.code === 'ENAMETOOLONG');
  } finally {
    t.cleanup();
  }
});

test('walk visits every entry once, in name order, without following symlinked directories', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    const paths: string[] = [];
    for await (const e of walk(fs)) paths.push(e.path);
    assert.deepEqual(paths, [
      '/bin', '/etc', '/etc/abs-shadow', '/etc/dangling', '/etc/dotdot-shadow', '/etc/os-release', '/etc/shadow',
      '/loop-a', '/loop-b', '/rootlink', '/usr', '/usr/bin', '/usr/bin/dir', '/usr/bin/ls', '/usr/lib', '/usr/lib/os-release',
    ]);
  } finally {
    t.cleanup();
  }
});

test('walk stops at its entry budget and says so', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const fs = await openDirectory(t.dir);
    const issues: Issue[] = [];
    let n = 0;
    for await (const _ of walk(fs, { maxEntries: 5, issues })) n++;
    assert.equal(n, 5);
    assert.equal(issues[0]?.code, 'walk.budget');
  } finally {
    t.cleanup();
  }
});

test('a directory listed by the walk serves later path lookups in it: no driver lookup, first of duplicate names wins', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const dirFs = await openDirectory(t.dir);
    // The same reader, counting lookups and readdirs, and with a corrupt listing of /usr/bin
    // that names "ls" twice (the second pointing elsewhere).
    const inner = dirFs.reader;
    const binIno = (await dirFs.resolve('/usr/bin', true)).ino;
    const osReleaseIno = (await dirFs.resolve('/usr/lib/os-release', true)).ino;
    let lookups = 0;
    let readdirs = 0;
    const reader = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'lookup') {
          return async (dir: number, name: string) => {
            lookups++;
            return inner.lookup!(dir, name);
          };
        }
        if (prop === 'readdir') {
          return async (ino: number) => {
            readdirs++;
            const list = await inner.readdir(ino);
            return ino === binIno ? [...list, { name: 'ls', type: 'file' as const, ino: osReleaseIno }] : list;
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const { PathFileSystem } = await import('../../src/fs/path-fs.ts');
    const fs = new PathFileSystem(reader);
    const walked: string[] = [];
    for await (const e of walk(fs, { root: '/usr' })) walked.push(e.path);
    assert.ok(walked.includes('/usr/bin/ls'));
    const before = lookups;
    // Every directory on these paths was listed by the walk, except the root: one lookup ("usr").
    assert.equal(new TextDecoder().decode(await fs.readFile('/usr/bin/ls')), 'ELF', 'the first "ls" entry, not the duplicate');
    assert.equal((await fs.stat('/usr/lib/os-release')).size, 'ID=debian\n'.length);
    assert.equal(lookups - before, 2, 'only "/" → "usr" went to the driver, once per path');
    assert.equal(readdirs, 3, '/usr, /usr/lib and /usr/bin, each listed once: the lookups listed nothing again');
    await assert.rejects(fs.stat('/usr/bin/absent'), (err: unknown) => err instanceof FsPathError && err.code === 'ENOENT');
    assert.equal(lookups - before, 3);
  } finally {
    t.cleanup();
  }
});

test('OpenFile.readInto and stream({ buffer }) on a driver without readInto (the host-directory reader): same bytes, views of the one buffer', async () => {
  const t = tempDir();
  try {
    buildTree(t.dir);
    const content = Uint8Array.from({ length: 10_007 }, (_, i) => (i * 7 + (i >> 9)) & 0xff);
    writeFileSync(join(t.dir, 'usr/lib/blob'), content);
    const fs = await openDirectory(t.dir);
    assert.equal(fs.reader.readInto, undefined, 'this test is about the fallback path');
    const file = await fs.open('/usr/lib/blob');
    const buffer = new Uint8Array(4096).fill(0xee);
    const seen: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const chunk of file.stream({ buffer })) {
      assert.equal(chunk.buffer, buffer.buffer);
      seen.push(chunk.length);
      parts.push(chunk.slice());
    }
    assert.deepEqual(seen, [4096, 4096, 1815]);
    assert.deepEqual(Buffer.concat(parts), Buffer.from(content));
    // readInto clamps at the end of the file and leaves the rest of the target untouched.
    const into = new Uint8Array(100).fill(0xee);
    assert.equal(await file.readInto(10_000, into), 7);
    assert.deepEqual(into.subarray(0, 7), content.subarray(10_000));
    assert.ok(into.subarray(7).every((b) => b === 0xee));
    assert.equal(await file.readInto(20_000, into), 0);
    await assert.rejects(async () => {
      for await (const _ of file.stream({ buffer: new Uint8Array(0) })) void _;
    }, RangeError);
  } finally {
    t.cleanup();
  }
});
