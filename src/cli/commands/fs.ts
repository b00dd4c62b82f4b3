import { createHash } from 'node:crypto';
import { ALLOW_PRIVATE_URLS_HELP, ALLOW_PRIVATE_URLS_SPEC, ArgumentError, assertTargetExists, parseOptions, targetHttpOptions } from '../args.ts';
import type { FileSystem, FileType, Stat } from '../../fs/index.ts';
import { PathFileSystem } from '../../fs/path-fs.ts';
import { walk } from '../../fs/walk.ts';
import { UsageError } from '../../util/errors.ts';
import type { Issue } from '../../util/issues.ts';
import { renderTable } from '../table.ts';

export const FS_LS_HELP = `Usage: hullscan fs ls <target> [path] [options]

Lists files inside a node disk image, filesystem image, HTTPS URL of one, or directory,
without mounting it. Paths resolve inside the image: symlinks never reach the host.

Options:
  -r, --recursive       Walk the whole tree below path (pre-order, names sorted).
      --hash            Add the SHA-256 of every regular file.
      --volume ID       Volume to read ("p1", "lvm:vg0/root" or an index from disk inspect);
                        default: the root filesystem, chosen by probe.
      --format F        table (default) or json (one JSON array).
${ALLOW_PRIVATE_URLS_HELP}
  -h, --help            Show this help.
`;

export const FS_CAT_HELP = `Usage: hullscan fs cat <target> <path> [options]

Writes the bytes of a file inside the image to standard output (symlinks are followed
inside the image).

Options:
      --volume ID       Volume to read ("p1", "lvm:vg0/root" or an index from disk inspect);
                        default: the root filesystem, chosen by probe.
${ALLOW_PRIVATE_URLS_HELP}
  -h, --help            Show this help.
`;

const TYPE_CHAR: Record<FileType, string> = { file: '-', dir: 'd', symlink: 'l', chardev: 'c', blockdev: 'b', fifo: 'p', socket: 's', unknown: '?' };

export function modeString(st: Stat): string {
  const m = st.mode;
  const rwx = (bits: number, special: boolean, ch: string) =>
    (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-');
  return TYPE_CHAR[st.type] + rwx((m >> 6) & 7, (m & 0o4000) !== 0, 's') + rwx((m >> 3) & 7, (m & 0o2000) !== 0, 's') + rwx(m & 7, (m & 0o1000) !== 0, 't');
}

export interface FsLsEntry {
  path: string;
  type: FileType;
  mode: string;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  linkTarget?: string;
  rdev?: string;
  sha256?: string;
}

/** Bytes read at a time for --hash: one buffer for the whole listing (hashing consumes each chunk before the next). */
const HASH_READ_BYTES = 1024 * 1024;

async function describe(fs: FileSystem, path: string, st: Stat, hash: Uint8Array | undefined, issues: Issue[]): Promise<FsLsEntry> {
  const e: FsLsEntry = { path, type: st.type, mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), uid: st.uid, gid: st.gid, size: st.size, mtime: new Date(st.mtimeMs).toISOString() };
  if (st.type === 'symlink') e.linkTarget = await fs.readlink(path);
  if (st.rdev) e.rdev = `${st.rdev.major},${st.rdev.minor}`;
  if (hash && st.type === 'file') {
    try {
      const h = createHash('sha256');
      const f = fs instanceof PathFileSystem ? fs.openInode(st.ino, st) : await fs.open(path);
      for await (const chunk of f.stream({ buffer: hash })) h.update(chunk);
      e.sha256 = h.digest('hex');
    } catch (err) {
      issues.push({ severity: 'error', code: 'fs.read', message: (err as Error).message, location: path });
    }
  }
  return e;
}

/** Rows of a table listing buffered to set its column widths; later rows are written as they come. */
const TABLE_WIDTH_ROWS = 10_000;

/** Output text gathered up to this size before one write (one write per entry costs a syscall each). */
const OUT_BATCH_CHARS = 64 * 1024;

function batchedOut(out: (s: string) => void): { out: (s: string) => void; flush(): void } {
  let buf = '';
  const flush = (): void => {
    if (buf !== '') out(buf);
    buf = '';
  };
  return {
    out: (s) => {
      buf += s;
      if (buf.length >= OUT_BATCH_CHARS) flush();
    },
    flush,
  };
}

interface LsSink {
  entry(e: FsLsEntry): void;
  end(issues: Issue[]): void;
}

/** The JSON form, written entry by entry: the same bytes as JSON.stringify(doc, null, 2). */
function jsonSink(out: (s: string) => void, volume: string | null, filesystem: string): LsSink {
  let count = 0;
  const indent = (text: string): string => text.replace(/\n/g, '\n    ');
  out(`{\n  "volume": ${JSON.stringify(volume)},\n  "filesystem": ${JSON.stringify(filesystem)},\n  "entries": [`);
  return {
    entry(e) {
      out(`${count++ === 0 ? '' : ','}\n    ${indent(JSON.stringify(e, null, 2))}`);
    },
    end(issues) {
      const list = JSON.stringify(issues, null, 2).replace(/\n/g, '\n  ');
      out(`${count === 0 ? ']' : '\n  ]'},\n  "issues": ${list}\n}\n`);
    },
  };
}

/**
 * The table form: column widths come from the first TABLE_WIDTH_ROWS rows (all of them for any
 * listing that short, so its output is the whole table at once); longer listings stream the
 * rest with those widths, a wider cell only pushing its own line's columns.
 */
function tableSink(out: (s: string) => void, hash: boolean): LsSink {
  const headers = ['MODE', 'UID', 'GID', 'SIZE', 'MTIME', ...(hash ? ['SHA256'] : []), 'PATH'];
  const row = (e: FsLsEntry): string[] => [
    modeString({ type: e.type, mode: parseInt(e.mode, 8) } as Stat),
    String(e.uid),
    String(e.gid),
    e.rdev ?? String(e.size),
    e.mtime.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    ...(hash ? [e.sha256 ?? ''] : []),
    e.linkTarget !== undefined ? `${e.path} -> ${e.linkTarget}` : e.path,
  ];
  let pending: string[][] | undefined = [];
  let widths: number[] = [];
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return {
    entry(e) {
      if (!pending) {
        out(line(row(e)));
        return;
      }
      pending.push(row(e));
      if (pending.length < TABLE_WIDTH_ROWS) return;
      const table = renderTable(headers, pending);
      widths = headers.map((h, i) => Math.max(h.length, ...pending!.map((r) => (r[i] ?? '').length)));
      pending = undefined;
      out(table);
    },
    end(issues) {
      if (pending) out(renderTable(headers, pending));
      for (const i of issues) out(`${i.severity}: ${i.code}: ${i.message}${i.location ? ` (${i.location})` : ''}\n`);
    },
  };
}

export async function fsLs(args: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseOptions({
    args,
    allowPositionals: true,
    options: {
      recursive: { type: 'boolean', short: 'r' },
      hash: { type: 'boolean' },
      volume: { type: 'string' },
      format: { type: 'string', default: 'table' },
      help: { type: 'boolean', short: 'h' },
      ...ALLOW_PRIVATE_URLS_SPEC,
    },
  });
  if (values.help) {
    out(FS_LS_HELP);
    return 0;
  }
  if (positionals.length < 1 || positionals.length > 2) throw new ArgumentError('fs ls takes a target and an optional path');
  if (values.format !== 'table' && values.format !== 'json') throw new UsageError(`unknown --format '${values.format}' (table or json)`);
  await assertTargetExists(positionals[0]!);
  // The engine is loaded only now: `--help` and usage errors need none of it.
  const { openTargetFilesystem } = await import('../../scan/target.ts');
  const opened = await openTargetFilesystem(positionals[0]!, { ...targetHttpOptions(values['allow-private-urls']), ...(values.volume !== undefined && { volume: values.volume }) });
  const issues: Issue[] = [...opened.issues];
  try {
    const fs = opened.fs as PathFileSystem;
    const path = positionals[1] ?? '/';
    const hashBuffer = values.hash ? new Uint8Array(HASH_READ_BYTES) : undefined;
    // Entries are written as they are found, never collected: a recursive listing of a huge tree
    // holds only the walk's open directories and (for a table) the rows that set column widths.
    const batched = batchedOut(out);
    const sink = values.format === 'json' ? jsonSink(batched.out, opened.volume?.id ?? null, fs.type) : tableSink(batched.out, values.hash === true);
    const st = await fs.lstat(path);
    if (values.recursive && st.type !== 'symlink') {
      for await (const w of walk(fs, { root: path, issues })) sink.entry(await describe(fs, w.path, w.stat, hashBuffer, issues));
    } else if (st.type === 'dir') {
      const base = await fs.realpath(path);
      for (const d of (await fs.readdir(path)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        const p = base === '/' ? `/${d.name}` : `${base}/${d.name}`;
        sink.entry(await describe(fs, p, await fs.reader.stat(d.ino), hashBuffer, issues));
      }
    } else {
      sink.entry(await describe(fs, path, st, hashBuffer, issues));
    }
    issues.push(...fs.issues);
    sink.end(issues);
    batched.flush();
  } finally {
    await opened.close();
  }
  return 0;
}

export async function fsCat(args: string[], write: (chunk: Uint8Array) => Promise<void>, out: (s: string) => void): Promise<number> {
  const { values, positionals } = parseOptions({ args, allowPositionals: true, options: { volume: { type: 'string' }, help: { type: 'boolean', short: 'h' }, ...ALLOW_PRIVATE_URLS_SPEC } });
  if (values.help) {
    out(FS_CAT_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new ArgumentError('fs cat takes a target and a path');
  await assertTargetExists(positionals[0]!);
  // The engine is loaded only now: `--help` and usage errors need none of it.
  const { openTargetFilesystem } = await import('../../scan/target.ts');
  const opened = await openTargetFilesystem(positionals[0]!, { ...targetHttpOptions(values['allow-private-urls']), ...(values.volume !== undefined && { volume: values.volume }) });
  try {
    const f = await opened.fs.open(positionals[1]!);
    for await (const chunk of f.stream()) await write(chunk);
  } finally {
    await opened.close();
  }
  return 0;
}
