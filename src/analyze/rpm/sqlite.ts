/**
 * rpm's SQLite backend (`rpmdb.sqlite`; Fedora ≥ 33, RHEL 9, Azure Linux, Amazon Linux 2023):
 * table `Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)` holds one header
 * blob per installed package (rpm lib/backend/sqlite.c at rpm-4.18.0, `sqlite_init` and
 * `sqlite_pkgdbGet`).
 *
 * SQLite needs a host file, and the database lives in the image: its bytes (and the `-wal` file
 * beside it, which holds committed transactions not yet checkpointed) are copied, bounded by
 * MAX_RPMDB_BYTES, into a private temporary directory (mode 0700, files 0600), opened read-only
 * with node:sqlite, and removed in `finally`. The `-shm` file is not copied: it is an index of
 * the WAL that SQLite rebuilds.
 */
import { DatabaseSync } from 'node:sqlite';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileSystem } from '../../fs/index.ts';
import { FsPathError } from '../../fs/errors.ts';
import { BudgetError, CorruptError, NotThisFormatError } from '../../util/errors.ts';
import { ascii } from '../../util/bytes.ts';
import { MAX_RPM_PACKAGES, MAX_RPMDB_BYTES, type BackendItem } from './backend.ts';

const SQLITE_MAGIC = 'SQLite format 3\u0000';
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** Copies an in-image file to a host path (created 0600, never overwritten), refusing more than `maxBytes`. */
async function copyOut(fs: FileSystem, path: string, hostPath: string, maxBytes: number): Promise<void> {
  const file = await fs.open(path);
  if (file.stat.type !== 'file') throw new CorruptError(`${path} is a ${file.stat.type}, not a file`, { location: path });
  if (file.stat.size > maxBytes) throw new BudgetError(`${path} is ${file.stat.size} bytes, more than MAX_RPMDB_BYTES (${maxBytes})`, { location: path });
  const out = await open(hostPath, 'wx', 0o600);
  try {
    let written = 0;
    for await (const chunk of file.stream({ chunkBytes: COPY_CHUNK_BYTES })) {
      written += chunk.length;
      if (written > maxBytes) throw new BudgetError(`${path} grew past MAX_RPMDB_BYTES (${maxBytes}) while copying`, { location: path });
      await out.write(chunk);
    }
  } finally {
    await out.close();
  }
}

/** Whether an in-image path exists; only "no such file" counts as absent. */
async function exists(fs: FileSystem, path: string): Promise<boolean> {
  try {
    await fs.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof FsPathError && err.code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Yields every header blob of an `rpmdb.sqlite` in hnum order. A file that is not SQLite is
 * NotThisFormatError; SQLite errors (garbage pages, no Packages table) become CorruptError.
 */
export async function* readSqliteRpmdb(fs: FileSystem, path: string): AsyncGenerator<BackendItem> {
  const head = await (await fs.open(path)).read(0, 16);
  if (head.length < 16 || ascii(head) !== SQLITE_MAGIC) throw new NotThisFormatError(`${path} is not an SQLite database`, { location: path });
  const dir = await mkdtemp(join(tmpdir(), 'hullscan-rpmdb-'));
  let db: DatabaseSync | undefined;
  try {
    const hostDb = join(dir, 'rpmdb.sqlite');
    await copyOut(fs, path, hostDb, MAX_RPMDB_BYTES);
    if (await exists(fs, `${path}-wal`)) await copyOut(fs, `${path}-wal`, `${hostDb}-wal`, MAX_RPMDB_BYTES);
    try {
      db = new DatabaseSync(hostDb, { readOnly: true });
      const stmt = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum');
      let n = 0;
      for (const row of stmt.iterate()) {
        if (++n > MAX_RPM_PACKAGES) throw new BudgetError(`${path}: more than MAX_RPM_PACKAGES (${MAX_RPM_PACKAGES}) rows`, { location: path });
        const record = `rpmdb.sqlite Packages hnum ${String(row['hnum'])}`;
        const blob = row['blob'];
        if (!(blob instanceof Uint8Array)) {
          yield { kind: 'problem', record, error: new CorruptError(`${record}: blob is ${typeof blob}, not a BLOB`, { location: record }) };
          continue;
        }
        yield { kind: 'header', record, blob };
      }
    } catch (err) {
      if (err instanceof BudgetError) throw err;
      // node:sqlite throws plain Errors (code ERR_SQLITE_ERROR) for malformed files.
      if ((err as { code?: string }).code === 'ERR_SQLITE_ERROR') throw new CorruptError(`${path}: ${(err as Error).message}`, { cause: err, location: path });
      throw err;
    }
  } finally {
    db?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
