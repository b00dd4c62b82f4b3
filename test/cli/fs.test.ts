/**
 * `hullscan fs ls` and `fs cat` on real filesystem images of the small fixture tree (mkfs.ext4 -d
 * and mkfs.xfs -p): every regular file's listed SHA-256, size, mode and owner equal the source
 * tree's (the --hash path reads all files through one reused buffer), and `fs cat` writes a
 * file's exact bytes, resolving symlinks inside the image.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fsCat, fsLs } from '../../src/cli/commands/fs.ts';
import { readManifest } from '../fixtures/cache.ts';
import { fixtureOrSkip, fsImage, smallTree, type FsKind } from '../fixtures/node-image.ts';

interface Listed {
  path: string;
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  linkTarget?: string;
}

/** Every entry of a host tree, keyed by in-image path. */
function hostTree(root: string): Map<string, { kind: 'file' | 'dir' | 'symlink' | 'other'; size: number; mode: number; uid: number; gid: number; sha256?: string; link?: string }> {
  const out = new Map<string, { kind: 'file' | 'dir' | 'symlink' | 'other'; size: number; mode: number; uid: number; gid: number; sha256?: string; link?: string }>();
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const host = join(dir, name);
      const path = `${rel}/${name}`;
      const st = lstatSync(host);
      const base = { size: st.size, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isSymbolicLink()) out.set(path, { kind: 'symlink', ...base, link: readlinkSync(host) });
      else if (st.isDirectory()) {
        out.set(path, { kind: 'dir', ...base });
        visit(host, path);
      } else if (st.isFile()) out.set(path, { kind: 'file', ...base, sha256: createHash('sha256').update(readFileSync(host)).digest('hex') });
      else out.set(path, { kind: 'other', ...base });
    }
  };
  visit(root, '');
  return out;
}

for (const kind of ['ext4', 'xfs'] as FsKind[]) {
  test(`fs ls -r --hash on the ${kind} image lists every source file with its SHA-256, size, mode and owner`, async (t) => {
    const tree = await fixtureOrSkip(t, smallTree());
    if (tree === undefined) return;
    const image = await fixtureOrSkip(t, fsImage(kind, smallTree()));
    if (image === undefined) return;
    let json = '';
    assert.equal(await fsLs([image, '/', '--recursive', '--hash', '--format', 'json'], (s) => (json += s)), 0);
    const listing = JSON.parse(json) as { filesystem: string; entries: Listed[] };
    const byPath = new Map(listing.entries.map((e) => [e.path, e]));
    const host = hostTree(tree);
    // Entries the image builder could not carry, each with its reason in the image's manifest
    // (the XFS protofile cannot name a file with whitespace).
    const skipped = new Set(((readManifest(dirname(image))?.details as { skipped?: { path: string }[] } | undefined)?.skipped ?? []).map((x) => x.path));
    let files = 0;
    for (const [path, h] of host) {
      if (skipped.has(path)) continue;
      const e = byPath.get(path);
      assert.ok(e, `${path} is listed`);
      if (h.kind === 'file') {
        files++;
        assert.equal(e.type, 'file', path);
        assert.equal(e.size, h.size, path);
        assert.equal(e.sha256, h.sha256, `${path}: SHA-256`);
      }
      if (h.kind === 'symlink') assert.equal(e.linkTarget, h.link, path);
      // The XFS protofile (mkfs.xfs -p) cannot carry the sticky bit (test/fixtures/xfs-protofile.ts).
      const sticky = kind === 'xfs' ? 0o1000 : 0;
      assert.equal(parseInt(e.mode, 8) & ~sticky, h.mode & ~sticky, `${path}: mode`);
      assert.equal(e.uid, h.uid, `${path}: uid`);
      assert.equal(e.gid, h.gid, `${path}: gid`);
    }
    assert.ok(files > 10, `only ${files} files compared`);
    for (const e of listing.entries) if (e.type !== 'file') assert.equal(e.sha256, undefined, `${e.path}: only regular files are hashed`);
  });
}

test('fs cat writes a file\'s exact bytes, and an absolute symlink resolves inside the image', async (t) => {
  const tree = await fixtureOrSkip(t, smallTree());
  if (tree === undefined) return;
  const image = await fixtureOrSkip(t, fsImage('ext4', smallTree()));
  if (image === undefined) return;
  const host = hostTree(tree);
  // The largest regular file (several reads), and every symlink whose target is a file in the tree.
  const biggest = [...host].filter(([, h]) => h.kind === 'file').sort((a, b) => b[1].size - a[1].size)[0]!;
  const cat = async (path: string): Promise<Buffer> => {
    const parts: Buffer[] = [];
    assert.equal(await fsCat([image, path], async (c) => void parts.push(Buffer.from(c)), () => {}), 0);
    return Buffer.concat(parts);
  };
  assert.equal(createHash('sha256').update(await cat(biggest[0])).digest('hex'), biggest[1].sha256);
  let links = 0;
  for (const [path, h] of host) {
    if (h.kind !== 'symlink' || !h.link!.startsWith('/')) continue;
    const target = host.get(h.link!);
    if (target?.kind !== 'file') continue;
    links++;
    assert.equal(createHash('sha256').update(await cat(path)).digest('hex'), target.sha256, `${path} -> ${h.link}`);
  }
  assert.ok(links > 0, 'the tree has an absolute symlink to a file');
});
