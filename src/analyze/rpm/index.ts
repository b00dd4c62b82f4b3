/**
 * The rpm analyzer: installed packages from the rpm database, in whichever of rpm's three
 * on-disk formats the node uses —
 *
 * - SQLite `rpmdb.sqlite` (sqlite.ts): Fedora ≥ 33, RHEL 9, Azure Linux 2/3, Amazon Linux 2023;
 * - NDB `Packages.db` (ndb.ts): SUSE / openSUSE;
 * - Berkeley DB hash `Packages` (bdb.ts): RHEL / CentOS 7–8, Amazon Linux 2.
 *
 * in /var/lib/rpm (rpm's historical %_dbpath) or /usr/lib/sysimage/rpm (Fedora and SUSE, with
 * /var/lib/rpm a symlink to it). One database is read: the first readable one in
 * DATABASE_CANDIDATES order (SQLite before NDB before BDB, as rpm ≥ 4.16 prefers them, and
 * /var/lib/rpm first); any other database present is named in an info issue, so a leftover
 * BDB `Packages` after a migration does not double the package list. Each header blob is
 * parsed by header.ts; `gpg-pubkey` records are rpm's pseudo-packages for imported signing keys
 * (`rpm --import`), not software, and are left out.
 */
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import type { FileSystem, Stat } from '../../fs/index.ts';
import { packageId, type FileDigest, type Package } from '../../inventory/index.ts';
import { HullscanError } from '../../util/errors.ts';
import { issueFromError, type Issue } from '../../util/issues.ts';
import type { BackendItem } from './backend.ts';
import { readBdbPackages } from './bdb.ts';
import { evr, parseHeader, parseSourceRpm, type RpmHeader } from './header.ts';
import { readNdbPackages } from './ndb.ts';
import { readSqliteRpmdb } from './sqlite.ts';

export const RPM_ANALYZER_VERSION = 1;

/** rpm's pseudo-package for an imported OpenPGP key (lib/rpmts.c `rpmtsImportPubkey`). */
export const GPG_PUBKEY_NAME = 'gpg-pubkey';

export interface DatabaseCandidate {
  path: string;
  backend: 'sqlite' | 'ndb' | 'bdb';
  read(fs: FileSystem, path: string): AsyncGenerator<BackendItem>;
}

const DB_DIRS = ['/var/lib/rpm', '/usr/lib/sysimage/rpm'] as const;

/** In order of preference. */
export const DATABASE_CANDIDATES: readonly DatabaseCandidate[] = [
  ...DB_DIRS.map((d) => ({ path: `${d}/rpmdb.sqlite`, backend: 'sqlite' as const, read: readSqliteRpmdb })),
  ...DB_DIRS.map((d) => ({ path: `${d}/Packages.db`, backend: 'ndb' as const, read: readNdbPackages })),
  ...DB_DIRS.map((d) => ({ path: `${d}/Packages`, backend: 'bdb' as const, read: readBdbPackages })),
];
const CANDIDATE_PATHS = new Set(DATABASE_CANDIDATES.map((c) => c.path));

/** A header turned into an inventory package (exported for the tests' oracle comparison). */
export function rpmPackage(h: RpmHeader, dbPath: string, record: string, issues: Issue[]): Package {
  const version = evr(h);
  const where = `${dbPath} ${record}`;
  let source: Package['source'];
  if (h.sourceRpm === undefined || h.sourceRpm === '') {
    source = { name: h.name, version };
  } else {
    const s = parseSourceRpm(h.sourceRpm);
    if (s === undefined) {
      issues.push({ severity: 'warning', code: 'rpm.sourcerpm-unparsed', message: `${h.name}: SOURCERPM '${h.sourceRpm}' is not name-version-release.src.rpm`, location: where });
    } else {
      // The SRPM file name carries no epoch; the source package has the binary's (as rpmbuild makes them).
      source = { name: s.name, version: h.epoch === undefined ? s.version : `${h.epoch}:${s.version}` };
    }
  }
  const files: FileDigest[] = [];
  const algorithm = h.digestAlgorithm;
  if (algorithm === undefined) {
    if (h.files.some((f) => f.digest !== '')) {
      issues.push({ severity: 'warning', code: 'rpm.digest-algorithm-unknown', message: `${h.name}: FILEDIGESTALGO ${h.digestAlgorithmId} is not a known hash; file digests not kept`, location: where });
    }
  } else {
    for (const f of h.files) if (f.digest !== '') files.push({ path: f.path, algorithm, digest: f.digest });
  }
  const p: Package = {
    type: 'rpm',
    name: h.name,
    version,
    versionScheme: 'rpm',
    foundBy: 'rpm',
    evidence: [{ path: dbPath, record }],
    id: '',
  };
  if (h.epoch !== undefined) p.epoch = h.epoch;
  if (h.arch !== undefined && h.arch !== '') p.arch = h.arch;
  if (source !== undefined) p.source = source;
  if (h.vendor !== undefined && h.vendor !== '') p.vendor = h.vendor;
  if (h.license !== undefined && h.license !== '') p.license = h.license;
  if (files.length > 0) p.files = files;
  p.id = packageId(p);
  return p;
}

/** Reads one database; throws when the database as a whole cannot be read. */
export async function readDatabase(fs: FileSystem, c: DatabaseCandidate, issues: Issue[]): Promise<Package[]> {
  const packages: Package[] = [];
  for await (const item of c.read(fs, c.path)) {
    if (item.kind === 'problem') {
      const issue = issueFromError(item.error, 'rpm.record-unreadable', `${c.path} ${item.record}`);
      if (item.severity === 'warning') issue.severity = 'warning';
      issues.push(issue);
      continue;
    }
    let h: RpmHeader;
    try {
      h = parseHeader(item.blob);
    } catch (err) {
      if (!(err instanceof HullscanError)) throw err;
      issues.push(issueFromError(err, 'rpm.header-corrupt', `${c.path} ${item.record}`));
      continue;
    }
    if (h.name === GPG_PUBKEY_NAME) continue;
    packages.push(rpmPackage(h, c.path, item.record, issues));
  }
  return packages;
}

export const rpmAnalyzer: Analyzer = {
  id: 'rpm',
  version: RPM_ANALYZER_VERSION,
  roots: DB_DIRS,
  wants(path: string, stat: Stat): boolean {
    return (stat.type === 'file' || stat.type === 'symlink') && CANDIDATE_PATHS.has(path);
  },
  async analyze(input: AnalyzerInput): Promise<PartialInventory> {
    const present = new Set(input.files.map((f) => f.path));
    const candidates = DATABASE_CANDIDATES.filter((c) => present.has(c.path));
    const issues: Issue[] = [];
    if (candidates.length === 0) return {};
    for (const [i, c] of candidates.entries()) {
      const issuesHere: Issue[] = [];
      let packages: Package[];
      try {
        packages = await readDatabase(input.fs, c, issuesHere);
      } catch (err) {
        // Any failure (typed or an I/O error from the source) leaves this database unread: a gap.
        issues.push(issueFromError(err, 'rpm.db-unreadable', c.path));
        continue;
      }
      issues.push(...issuesHere);
      for (const other of candidates.slice(i + 1)) {
        issues.push({ severity: 'info', code: 'rpm.db-not-read', message: `${other.backend} database ${other.path} not read: ${c.backend} database ${c.path} takes precedence`, location: other.path });
      }
      if (packages.length === 0) {
        issues.push({ severity: 'info', code: 'rpm.db-empty', message: `${c.backend} database ${c.path} lists no installed packages`, location: c.path });
      }
      return { packages, issues };
    }
    // Every database present failed: a coverage gap, already located in `issues`.
    return { issues };
  },
};
