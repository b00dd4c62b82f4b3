/**
 * Filesystem benchmark (issue #3), run as its own process by bench/run.ts. For each filesystem
 * image of the Debian node tree (fsImage('ext4'), fsImage('xfs'), and btrfs when the registry
 * has a driver for it), against the same image in the same run:
 *  (a) a full metadata walk (lstat of every entry) through openFile → openFilesystem → walk;
 *  (b) the walk plus reading every regular file's contents through OpenFile.stream(), as a
 *      throughput ratio to `dd if=img of=/dev/null bs=4M` of the image file (the sequential
 *      physical limit), warm page cache;
 *  (c) peak RSS: every case runs in a fresh child process that reports its own
 *      process.resourceUsage().maxRSS, so one case's heap never inflates another's figure.
 *  (d) the walk plus reading every regular file through sweepFiles (src/fs/sweep.ts, a disk-order
 *      sweep in large windows), same image, same run, same ratio to dd.
 * For ext4 the same files are also read with the `ext2fs` npm package (libext2fs in WASM).
 * Prints a markdown section on stdout, progress on stderr. Not a test: nothing here asserts.
 *
 * Child mode: node bench/fs.ts --case <open|walk|read|sweep|ext2fs> <image>; prints one JSON line.
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { openFile } from '../src/disk/file-source.ts';
import { FS_DRIVERS, openFilesystem } from '../src/fs/registry.ts';
import { sweepFiles, type SweepFile } from '../src/fs/sweep.ts';
import { walk } from '../src/fs/walk.ts';
import type { Issue } from '../src/util/issues.ts';
import { fsImage, type FsKind } from '../test/fixtures/node-image.ts';

const MB = 1e6;
const STREAM_CHUNK_BYTES = 4 * 1024 * 1024;
/** ext2fs copies each read through its WASM heap; larger chunks run that heap out sooner. */
const EXT2FS_CHUNK_BYTES = 256 * 1024;
/** Runs per case; the fastest is kept (the least disturbed by other jobs), RSS is the largest. */
const RUNS = 3;
const DD_RUNS = 3;

interface CaseResult {
  seconds: number;
  openSeconds: number;
  entries: number;
  files: number;
  fileBytes: number;
  maxRssBytes: number;
  issues: number;
  error?: string;
  /** User + system CPU of the whole child process (less disturbed by other jobs than wall time). */
  cpuSeconds?: number;
  /** Sweep case: how the files were read (swept from windows, or the normal way by reason). */
  sweep?: Record<string, number>;
}

function log(message: string): void {
  process.stderr.write(`[fs] ${message}\n`);
}

// ---------------------------------------------------------------------------- child cases

/** Loads the same modules and opens the filesystem, nothing more: the process's RSS floor. */
async function caseOpen(image: string): Promise<CaseResult> {
  const t0 = performance.now();
  const fs = await openFilesystem(await openFile(image));
  const t1 = performance.now();
  await fs.close();
  return { seconds: 0, openSeconds: (t1 - t0) / 1000, entries: 0, files: 0, fileBytes: 0, maxRssBytes: 0, issues: 0 };
}

async function caseHullscan(image: string, readContents: boolean): Promise<CaseResult> {
  const t0 = performance.now();
  const source = await openFile(image);
  const fs = await openFilesystem(source);
  const t1 = performance.now();
  const issues: Issue[] = [];
  let entries = 0;
  let files = 0;
  let fileBytes = 0;
  let sink = 0;
  // One buffer for every read, as a hashing or scanning consumer would use (OpenFile.stream's
  // `buffer`: each chunk is a view into it until the next one).
  const buffer = new Uint8Array(STREAM_CHUNK_BYTES);
  for await (const e of walk(fs, { issues })) {
    entries++;
    if (!readContents || e.stat.type !== 'file') continue;
    files++;
    for await (const chunk of fs.openInode(e.entry.ino, e.stat).stream({ buffer })) {
      fileBytes += chunk.length;
      if (chunk.length > 0) sink ^= chunk[chunk.length - 1]!;
    }
  }
  const t2 = performance.now();
  await fs.close();
  await source.close();
  return {
    seconds: (t2 - t1) / 1000,
    openSeconds: (t1 - t0) / 1000,
    entries,
    files,
    fileBytes: sink === -1 ? 0 : fileBytes,
    maxRssBytes: 0,
    issues: issues.length + fs.reader.issues.length,
  };
}

/** The walk collects the files, then one sweep reads them all in physical order. */
async function caseSweep(image: string): Promise<CaseResult> {
  const t0 = performance.now();
  const source = await openFile(image);
  const fs = await openFilesystem(source);
  const t1 = performance.now();
  const issues: Issue[] = [];
  let entries = 0;
  const list: SweepFile[] = [];
  for await (const e of walk(fs, { issues })) {
    entries++;
    if (e.stat.type === 'file') list.push({ path: e.path, ino: e.entry.ino, size: e.stat.size });
  }
  const tWalked = performance.now();
  let fileBytes = 0;
  let sink = 0;
  const take = (chunk: Uint8Array) => {
    fileBytes += chunk.length;
    if (chunk.length > 0) sink ^= chunk[chunk.length - 1]!;
  };
  const r = await sweepFiles(fs, list, {
    async onFile(_file, contents) {
      if (contents instanceof Uint8Array) take(contents);
      else for await (const chunk of contents) take(chunk);
    },
  });
  const t2 = performance.now();
  await fs.close();
  await source.close();
  const result: CaseResult = {
    seconds: (t2 - t1) / 1000,
    openSeconds: (t1 - t0) / 1000,
    entries,
    files: r.delivered,
    fileBytes: sink === -1 ? 0 : fileBytes,
    maxRssBytes: 0,
    issues: issues.length + fs.reader.issues.length + r.errors.length,
    sweep: { readSeconds: (t2 - tWalked) / 1000, swept: r.swept, windows: r.windows, windowMB: r.windowBytesRead / MB, ...r.normal },
  };
  if (r.errors.length > 0) result.error = `${r.errors.length} files unreadable: ${r.errors[0]!.error.message}`;
  return result;
}

interface Ext2Stats {
  isDirectory(): boolean;
  isFile(): boolean;
}
interface Ext2Promises {
  readdir(path: string): Promise<string[]>;
  lstat(path: string): Promise<Ext2Stats>;
  open(path: string, flags: string): Promise<Ext2Handle>;
}
interface Ext2Handle {
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}
interface Ext2fsModule {
  mount(disk: unknown, offset: number): Promise<{ promises: Ext2Promises }>;
  umount(fs: unknown): Promise<void>;
}

/**
 * The same walk and reads with the `ext2fs` package. Its mount is read-write; the disk object
 * drops every write so the cached fixture is never modified.
 */
async function caseExt2fs(image: string): Promise<CaseResult> {
  const ext2fs = createRequire(import.meta.url)('ext2fs') as Ext2fsModule;
  const fh = await open(image, 'r');
  const disk = {
    read: (buf: Uint8Array, off: number, len: number, pos: number) => fh.read(buf, off, len, pos),
    write: async (_buf: Uint8Array, _off: number, len: number) => ({ bytesWritten: len }),
    discard: async () => undefined,
    flush: async () => undefined,
  };
  const t0 = performance.now();
  const mounted = await ext2fs.mount(disk, 0);
  const fs = mounted.promises;
  const t1 = performance.now();
  let entries = 0;
  let files = 0;
  let fileBytes = 0;
  let error: string | undefined;
  const stack = ['/'];
  try {
    while (stack.length > 0) {
      const dir = stack.pop()!;
      for (const name of await fs.readdir(dir)) {
        const path = dir === '/' ? `/${name}` : `${dir}/${name}`;
        const st = await fs.lstat(path);
        entries++;
        if (st.isDirectory()) stack.push(path);
        else if (st.isFile()) {
          files++;
          const start = fileBytes;
          // Read in the same chunk size as our streams, each chunk into a fresh buffer (its
          // readFile decodes to a string, and reading a large file whole runs its WASM heap out).
          const fh = await fs.open(path, 'r');
          try {
            for (;;) {
              const buf = new Uint8Array(EXT2FS_CHUNK_BYTES);
              const { bytesRead } = await fh.read(buf, 0, buf.length, fileBytes - start);
              if (bytesRead === 0) break;
              fileBytes += bytesRead;
            }
          } finally {
            await fh.close();
          }
        }
      }
  }
  } catch (err) {
    error = `${(err as Error).message.replace(/\. Build with .*$/, '')} after ${files} files (${(fileBytes / MB).toFixed(0)} MB)`;
  }
  const t2 = performance.now();
  try {
    await ext2fs.umount(mounted);
  } catch (err) {
    error ??= `umount: ${(err as Error).message}`;
  }
  await fh.close();
  const result: CaseResult = { seconds: (t2 - t1) / 1000, openSeconds: (t1 - t0) / 1000, entries, files, fileBytes, maxRssBytes: 0, issues: 0 };
  if (error !== undefined) result.error = error;
  return result;
}

async function child(kind: string, image: string): Promise<void> {
  const result =
    kind === 'open' ? await caseOpen(image) : kind === 'walk' ? await caseHullscan(image, false) : kind === 'read' ? await caseHullscan(image, true) : kind === 'sweep' ? await caseSweep(image) : await caseExt2fs(image);
  const usage = process.resourceUsage();
  result.maxRssBytes = usage.maxRSS * 1024;
  result.cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------------------- parent

function runCase(kind: string, image: string): CaseResult {
  const r = spawnSync(process.execPath, [import.meta.filename, '--case', kind, image], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    const why = (r.stderr || `exit ${r.status ?? r.signal}`).trim().split('\n').slice(-3).join(' ').slice(0, 300);
    return { seconds: NaN, openSeconds: NaN, entries: 0, files: 0, fileBytes: 0, maxRssBytes: NaN, issues: 0, error: why };
  }
  return JSON.parse(line) as CaseResult;
}

/** Best of RUNS fresh processes: the fastest time, the largest peak RSS. */
function bestCase(kind: string, image: string, runs = RUNS): CaseResult {
  let best: CaseResult | undefined;
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const r = runCase(kind, image);
    if (r.error !== undefined) return r;
    rss = Math.max(rss, r.maxRssBytes);
    if (!best || r.seconds < best.seconds) best = r;
  }
  return { ...best!, maxRssBytes: rss };
}

/** `dd` of the whole image to /dev/null, warm; returns MB/s of the image's apparent size. */
function dd(image: string): number {
  const size = statSync(image).size;
  let best = 0;
  for (let i = 0; i <= DD_RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync('dd', [`if=${image}`, 'of=/dev/null', 'bs=4M'], { encoding: 'utf8' });
    const s = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`dd failed: ${r.stderr}`);
    if (i > 0) best = Math.max(best, size / s / MB); // the first run only warms the cache
  }
  return best;
}

/** Plain positional reads of the whole image, a fresh buffer per 4 MiB read (best of 3): like-for-like with a reader that must return new buffers. */
async function plainFresh(image: string): Promise<number> {
  const size = statSync(image).size;
  const fh = await open(image, 'r');
  let best = 0;
  try {
    for (let i = 0; i < DD_RUNS; i++) {
      const t0 = performance.now();
      for (let off = 0; off < size; off += STREAM_CHUNK_BYTES) {
        const n = Math.min(STREAM_CHUNK_BYTES, size - off);
        await fh.read(new Uint8Array(n), 0, n, off);
      }
      best = Math.max(best, size / ((performance.now() - t0) / 1000) / MB);
    }
  } finally {
    await fh.close();
  }
  return best;
}

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
const mib = (n: number) => (Number.isFinite(n) ? (n / 2 ** 20).toFixed(0) : '—');

async function parent(): Promise<void> {
  const kinds: FsKind[] = ['ext4', 'xfs'];
  if (FS_DRIVERS.some((d) => d.id === 'btrfs')) kinds.push('btrfs');
  const out: string[] = [];
  const say = (l = '') => out.push(l);
  say('### Filesystems: walk, read every file, peak RSS');
  say();
  say(
    `Each case is a fresh \`node\` process (best of ${RUNS}; peak RSS is the largest of the ${RUNS}) over a warm page cache. ` +
      'The reference is `dd if=img of=/dev/null bs=4M` of the same image file, run right before (best of 3 after one warm-up); ' +
      'beside it, plain positional reads of the image into a fresh 4 MiB buffer per read (what a reader that returns new buffers can reach). ' +
      "Read MB/s is file bytes over the time of the walk-plus-read case (the walk is included). 'floor' is the RSS of a process that loads the same modules and only opens the filesystem.",
  );
  say();
  const sweepNotes: string[] = [];
  const boundNotes: string[] = [];
  say('| image | reader | entries | walk s (target < 1) | files | file MB | walk + read s | read MB/s | dd MB/s | ratio to dd (target ≥ 0.60) | fresh-buffer reads MB/s | ratio to those | peak RSS MiB (target < 256) | floor RSS MiB |');
  say('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const kind of kinds) {
    const image = await fsImage(kind);
    const ddMbps = dd(image);
    const fresh = await plainFresh(image);
    log(`${kind}: dd ${ddMbps.toFixed(0)} MB/s, fresh-buffer reads ${fresh.toFixed(0)} MB/s`);
    const floor = bestCase('open', image, 1);
    const w = bestCase('walk', image);
    const r = bestCase('read', image);
    log(`${kind}: walk ${f2(w.seconds)} s, read ${f2(r.seconds)} s ${w.error ?? ''} ${r.error ?? ''}`);
    const readMbps = r.fileBytes / r.seconds / MB;
    const rss = Math.max(w.maxRssBytes, r.maxRssBytes);
    // What a reader that must list the tree first could reach at best: this walk, then every
    // file byte at dd's own speed.
    const ddSeconds = statSync(image).size / MB / ddMbps;
    const bound = r.fileBytes / MB / (w.seconds + r.fileBytes / MB / ddMbps) / ddMbps;
    boundNotes.push(
      `${kind}: dd reads the whole image in ${ddSeconds.toFixed(3)} s; the metadata walk alone takes ${f2(w.seconds)} s (${(w.seconds / ddSeconds).toFixed(1)}× dd's time). ` +
        `Even with every file byte then read at dd's speed, walk + read would be ${f2(bound)} of dd.`,
    );
    say(
      `| ${kind} (${mib(statSync(image).size)} MiB) | hullscan | ${w.entries} | ${f2(w.seconds)} | ${r.files} | ${(r.fileBytes / MB).toFixed(0)} | ${f2(r.seconds)} | ${readMbps.toFixed(0)} | ${ddMbps.toFixed(0)} | ${f2(readMbps / ddMbps)} | ${fresh.toFixed(0)} | ${f2(readMbps / fresh)} | ${mib(rss)} | ${mib(floor.maxRssBytes)} |`,
    );
    const broken = w.error ?? r.error;
    if (broken !== undefined) say(`| | hullscan failed: ${broken.replaceAll('|', '/')} | | | | | | | | | | | | |`);
    const sw = bestCase('sweep', image);
    log(`${kind}: sweep ${f2(sw.seconds)} s ${sw.error ?? ''} ${JSON.stringify(sw.sweep ?? {})}`);
    const swMbps = sw.fileBytes / sw.seconds / MB;
    say(
      `| ${kind} | hullscan sweepFiles | ${sw.entries} | — | ${sw.files} | ${(sw.fileBytes / MB).toFixed(0)} | ${f2(sw.seconds)} | ${swMbps.toFixed(0)} | ${ddMbps.toFixed(0)} | ${f2(swMbps / ddMbps)} | ${fresh.toFixed(0)} | ${f2(swMbps / fresh)} | ${mib(sw.maxRssBytes)} | |`,
    );
    if (sw.error !== undefined) say(`| | sweepFiles failed: ${sw.error.replaceAll('|', '/')} | | | | | | | | | | | | |`);
    sweepNotes.push(`${kind}: ${sweepSummary(sw, ddMbps)}; process CPU (user + sys, fastest run): stream case ${f2(r.cpuSeconds ?? NaN)} s, sweep case ${f2(sw.cpuSeconds ?? NaN)} s, walk only ${f2(w.cpuSeconds ?? NaN)} s`);
    if (kind === 'ext4') {
      const e = bestCase('ext2fs', image, 1); // tens of seconds a run: once
      const mbps = e.fileBytes / e.seconds / MB;
      log(`${kind}: ext2fs ${f2(e.seconds)} s ${e.error ?? ''}`);
      const status = e.error === undefined ? '' : ` — stopped: ${e.error.replaceAll('|', '/')}`;
      say(
        `| ${kind} | ext2fs ${ext2fsVersion()} (npm, libext2fs in WASM)${status} | ${e.entries} | — | ${e.files} | ${(e.fileBytes / MB).toFixed(0)} | ${f2(e.seconds)} | ${mbps.toFixed(0)} | ${ddMbps.toFixed(0)} | ${f2(mbps / ddMbps)} | ${fresh.toFixed(0)} | ${f2(mbps / fresh)} | ${mib(e.maxRssBytes)} | |`,
      );
    }
  }
  say();
  say(`hullscan streams each file into one reused ${STREAM_CHUNK_BYTES / 2 ** 20} MiB buffer (OpenFile.stream({ buffer })) through openFile → openFilesystem → walk; ext2fs walks with readdir/lstat and reads each file through a file handle in ${EXT2FS_CHUNK_BYTES / 1024} KiB chunks. ext2fs runs once (tens of seconds).`);
  say();
  say('sweepFiles: the walk lists the files, then one sweep reads them (its row times both, like the row above it). Per image (fastest run):');
  for (const n of sweepNotes) say(`- ${n}`);
  say();
  say('The bound on "ratio to dd" for any reader that lists the tree before reading it (computed from this run):');
  for (const n of boundNotes) say(`- ${n}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function sweepSummary(r: CaseResult, ddMbps: number): string {
  const s = r.sweep;
  if (!s) return r.error ?? 'no result';
  const { readSeconds = NaN, swept = 0, windows = 0, windowMB = 0, ...normal } = s;
  const readMbps = r.fileBytes / readSeconds / MB;
  const rest = Object.entries(normal)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `sweep phase alone (after the walk) ${f2(readSeconds)} s = ${readMbps.toFixed(0)} MB/s = ${f2(readMbps / ddMbps)} of dd; ` +
    `${swept} files swept from ${windows} windows (${windowMB.toFixed(0)} MB read); normal reads: ${rest || 'none'}`
  );
}

function ext2fsVersion(): string {
  const require = createRequire(import.meta.url);
  return (require('ext2fs/package.json') as { version: string }).version;
}

if (process.argv[2] === '--case') await child(process.argv[3]!, process.argv[4]!);
else await parent();
