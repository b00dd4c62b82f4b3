/**
 * The CLI's compile cache (bin/compile-cache.js): made per user with mode 0700 and used; off with
 * NODE_DISABLE_COMPILE_CACHE; and a directory that cannot be made leaves it off instead of
 * hanging the CLI (under /proc, Node's recursive mkdir never returns).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'hullscan.js');

function version(env: Record<string, string>, cwd?: string): ReturnType<typeof spawnSync> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.NODE_COMPILE_CACHE;
  delete base.HULLSCAN_COMPILE_CACHE;
  delete base.NODE_DISABLE_COMPILE_CACHE;
  return spawnSync(process.execPath, [BIN, '--version'], { env: { ...base, ...env }, encoding: 'utf8', timeout: 30_000, ...(cwd ? { cwd } : {}) });
}

test('by default the cache lives under the home directory; an empty or relative XDG_CACHE_HOME is ignored (XDG spec), never a path below the working directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-cc-'));
  try {
    const home = join(dir, 'home');
    const cwd = join(dir, 'cwd');
    mkdirSync(home);
    mkdirSync(cwd);
    for (const xdg of ['', 'relative/cache']) {
      const r = version({ HOME: home, XDG_CACHE_HOME: xdg }, cwd);
      assert.equal(r.status, 0, String(r.stderr));
      assert.ok(readdirSync(join(home, '.cache', 'hullscan', 'node-compile-cache')).length > 0);
      assert.deepEqual(readdirSync(cwd), [], `XDG_CACHE_HOME='${xdg}' wrote nothing into the working directory`);
    }
    const xdg = join(dir, 'xdg');
    assert.equal(version({ HOME: home, XDG_CACHE_HOME: xdg }, cwd).status, 0);
    assert.ok(existsSync(join(xdg, 'hullscan', 'node-compile-cache')), 'an absolute XDG_CACHE_HOME is used');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the compile cache directory is made 0700 and filled by a CLI run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-cc-'));
  try {
    const cache = join(dir, 'a', 'b');
    const r = version({ HULLSCAN_COMPILE_CACHE: cache });
    assert.equal(r.status, 0, String(r.stderr));
    assert.match(String(r.stdout), /^hullscan \d/);
    assert.equal(statSync(cache).mode & 0o777, 0o700);
    assert.ok(readdirSync(cache).length > 0, 'Node wrote its cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('NODE_DISABLE_COMPILE_CACHE leaves it off', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-cc-'));
  try {
    const cache = join(dir, 'c');
    const r = version({ HULLSCAN_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(r.status, 0, String(r.stderr));
    assert.equal(existsSync(cache), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache directory that cannot be made (under a file, under /proc) leaves the CLI working', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hullscan-cc-'));
  try {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    for (const cache of [join(file, 'cc'), '/proc/1/hullscan-cc']) {
      const r = version({ HULLSCAN_COMPILE_CACHE: cache });
      assert.equal(r.error, undefined, `${cache}: ${r.error?.message}`);
      assert.equal(r.status, 0, `${cache}: ${String(r.stderr)}`);
      assert.match(String(r.stdout), /^hullscan \d/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
