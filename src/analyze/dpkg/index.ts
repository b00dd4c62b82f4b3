/**
 * dpkg: /var/lib/dpkg/status (and status.d/*, one control file per package, as distroless
 * images write them) plus /var/lib/dpkg/info/<package>[:<arch>].md5sums for the files each
 * package owns. Follows dpkg 1.21 lib/dpkg/parse.c / parsehelp.c and man 5 dpkg-query fields.
 */
import type { Stat } from '../../fs/index.ts';
import { packageId, type FileDigest, type Package } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import { readTextFile } from '../text.ts';
import { ANALYZER_READ_CONCURRENCY, mapBounded } from '../bounded.ts';
import { parseControl } from './control.ts';

export const DPKG_DIR = '/var/lib/dpkg';
export const STATUS_PATH = '/var/lib/dpkg/status';
export const STATUS_D_DIR = '/var/lib/dpkg/status.d';
export const INFO_DIR = '/var/lib/dpkg/info';
/** Real status files are 0.1–10 MB; a larger one is refused as hostile. */
export const MAX_STATUS_BYTES = 64 * 1024 * 1024;
/** One status.d control file describes one package. */
export const MAX_STATUS_D_FILE_BYTES = 4 * 1024 * 1024;
/** The largest real md5sums (firmware, kernel modules) are a few MB. */
export const MAX_MD5SUMS_BYTES = 32 * 1024 * 1024;

/**
 * dpkg's package states in its own order (lib/dpkg/dpkg-db.h enum pkgstatus). A package counts
 * as installed when its state is half-installed or later: from then on its files are (at least
 * partly) unpacked on disk and can be vulnerable. not-installed and config-files (removed, only
 * conffiles left) are not installed.
 */
export const DPKG_STATES = ['not-installed', 'config-files', 'half-installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending', 'installed'] as const;
export type DpkgState = (typeof DPKG_STATES)[number];
export const INSTALLED_STATES: ReadonlySet<DpkgState> = new Set(['half-installed', 'unpacked', 'half-configured', 'triggers-awaited', 'triggers-pending', 'installed']);
const WANTS = new Set(['unknown', 'install', 'hold', 'deinstall', 'purge']);
const ERROR_FLAGS = new Set(['ok', 'reinstreq', 'hold', 'hold-reinstreq']);

const KEEP = new Set(['package', 'status', 'version', 'architecture', 'multi-arch', 'source']);

export interface DpkgStatus {
  want: string;
  flag: string;
  state: DpkgState;
}

/** Parses `Status: <want> <flag> <state>`; the THIRD word is the state. */
export function parseStatusField(value: string): DpkgStatus | undefined {
  const words = value.trim().split(/\s+/);
  if (words.length !== 3) return undefined;
  const [want, flag, state] = words as [string, string, string];
  if (!WANTS.has(want) || !ERROR_FLAGS.has(flag) || !(DPKG_STATES as readonly string[]).includes(state)) return undefined;
  return { want, flag, state: state as DpkgState };
}

/** `Source: pam (1.4.0-9)` → name and version; without a version the binary version applies. */
export function parseSourceField(value: string | undefined, binaryName: string, binaryVersion: string): { name: string; version: string } | undefined {
  if (value === undefined || value.trim() === '') return { name: binaryName, version: binaryVersion };
  const m = /^(\S+)(?:\s+\(([^()\s]+)\))?\s*$/.exec(value.trim());
  if (!m) return undefined;
  return { name: m[1]!, version: m[2] ?? binaryVersion };
}

export interface ParsedDpkgDb {
  packages: Package[];
  issues: Issue[];
}

/**
 * Parses one dpkg database text. `implicitInstalled` is for status.d files, which are plain
 * control files without a Status field (a record there is installed unless it says otherwise).
 */
export function parseDpkgDatabase(text: string, path: string, options: { implicitInstalled?: boolean } = {}): ParsedDpkgDb {
  const issues: Issue[] = [];
  const packages: Package[] = [];
  const { paragraphs, truncated } = parseControl(text, KEEP);
  const seen = new Map<string, number>();
  if (truncated) issues.push({ severity: 'error', code: 'dpkg.budget', message: `more paragraphs than the parser reads; the rest were not read`, location: path });
  for (const p of paragraphs) {
    const where = `${path}:${p.line}`;
    const invalid = (message: string) => issues.push({ severity: 'error', code: 'dpkg.record-invalid', message, location: where });
    for (const e of p.errors) issues.push({ severity: 'warning', code: 'dpkg.syntax', message: e.message, location: `${path}:${e.line}` });
    const name = p.fields.get('package');
    if (!name || !/^[a-z0-9][a-z0-9+.-]*$/i.test(name)) {
      invalid(name ? `invalid package name '${name.slice(0, 80)}'` : 'record without a Package field');
      continue;
    }
    const statusValue = p.fields.get('status');
    let status: DpkgStatus | undefined;
    if (statusValue === undefined) {
      if (!options.implicitInstalled) {
        invalid(`package ${name}: no Status field`);
        continue;
      }
    } else {
      status = parseStatusField(statusValue);
      if (!status) {
        invalid(`package ${name}: malformed Status '${statusValue.slice(0, 80)}'`);
        continue;
      }
      if (!INSTALLED_STATES.has(status.state)) continue;
    }
    const version = p.fields.get('version');
    if (!version || /\s/.test(version)) {
      invalid(`package ${name}: ${version ? 'malformed' : 'no'} Version`);
      continue;
    }
    const source = parseSourceField(p.fields.get('source'), name, version);
    if (!source) {
      invalid(`package ${name}: malformed Source '${(p.fields.get('source') ?? '').slice(0, 80)}'`);
      continue;
    }
    const arch = p.fields.get('architecture');
    const pkg: Package = {
      type: 'deb',
      name,
      version,
      versionScheme: 'deb',
      source,
      foundBy: 'dpkg',
      evidence: [{ path, line: p.line, ...(status && status.state !== 'installed' ? { note: `dpkg state ${status.state} (${status.want} ${status.flag} ${status.state})` } : {}) }],
      id: '',
    };
    if (arch) pkg.arch = arch;
    else issues.push({ severity: 'warning', code: 'dpkg.no-architecture', message: `package ${name}: no Architecture field`, location: where });
    // dpkg keeps one record per name:arch; a second one means a corrupt or hand-edited database.
    const key = `${name}:${arch ?? ''}`;
    const first = seen.get(key);
    if (first !== undefined) issues.push({ severity: 'warning', code: 'dpkg.duplicate-package', message: `package ${key} also recorded at line ${first}`, location: where });
    else seen.set(key, p.line);
    const ma = p.fields.get('multi-arch');
    if (ma) pkg.multiArch = ma;
    pkg.id = packageId(pkg);
    packages.push(pkg);
  }
  return { packages, issues };
}

/** Length of an md5 digest in hex characters, the first field of an md5sums line. */
const MD5_HEX_CHARS = 32;

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

/** A character JavaScript's regex `.` does not match (\n is the line break itself): \r, U+2028, U+2029. */
function isLineTerminatorCode(c: number): boolean {
  return c === 13 || c === 0x2028 || c === 0x2029;
}

/**
 * Parses an md5sums file ("<32 hex>  <path relative to />" per line, as dpkg-deb writes it;
 * md5sum(1)'s "<hex> *<path>" binary-mode form too). Bad lines are counted into one issue.
 * A hand-written scanner over the text (one pass, no per-line array or regex: this runs over
 * every package's list, ~7k lines on a small Debian node), accepting exactly what the line
 * pattern /^([0-9a-fA-F]{32}) [ *]?(.+)$/ over LF/CRLF lines accepts.
 */
export function parseMd5sums(text: string, path: string, issues: Issue[]): FileDigest[] {
  const out: FileDigest[] = [];
  let bad = 0;
  let firstBad = 0;
  let lineNo = 0;
  let start = 0;
  const n = text.length;
  // Real lists have no \r, U+2028 or U+2029 at all: three native scans spare the per-character one.
  const terminators = text.includes('\r') || text.includes('\u2028') || text.includes('\u2029');
  while (start < n) {
    lineNo++;
    const nl = text.indexOf('\n', start);
    let end = nl === -1 ? n : nl;
    const next = nl === -1 ? n : nl + 1;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    const ok = parseMd5sumsLine(text, start, end, terminators, out);
    if (!ok && text.slice(start, end).trim() !== '') {
      if (bad++ === 0) firstBad = lineNo;
    }
    start = next;
  }
  if (bad > 0) issues.push({ severity: 'warning', code: 'dpkg.md5sums-syntax', message: `${bad} malformed line(s)`, location: `${path}:${firstBad}` });
  return out;
}

/**
 * One line text[start, end) (line break removed); pushes its digest and returns true when
 * well-formed. `terminators`: whether the text has a character the pattern's `.` rejects.
 */
function parseMd5sumsLine(text: string, start: number, end: number, terminators: boolean, out: FileDigest[]): boolean {
  if (end - start < MD5_HEX_CHARS + 2) return false;
  let lower = true;
  for (let i = start; i < start + MD5_HEX_CHARS; i++) {
    const c = text.charCodeAt(i);
    if (!isHexCode(c)) return false;
    if (c >= 65 && c <= 70) lower = false;
  }
  if (text.charCodeAt(start + MD5_HEX_CHARS) !== 32) return false;
  // `[ *]?` then `(.+)`: the separator's second character is taken only when a path follows it.
  let p = start + MD5_HEX_CHARS + 1;
  const sep = text.charCodeAt(p);
  if ((sep === 32 || sep === 42) && end - p > 1) p++;
  if (terminators) for (let i = p; i < end; i++) if (isLineTerminatorCode(text.charCodeAt(i))) return false;
  const rel = text.slice(p, end);
  const digest = text.slice(start, start + MD5_HEX_CHARS);
  out.push({ path: rel.charCodeAt(0) === 47 ? rel : `/${rel}`, algorithm: 'md5', digest: lower ? digest : digest.toLowerCase() });
  return true;
}

export const dpkgAnalyzer: Analyzer = {
  id: 'dpkg',
  version: 1,
  roots: [STATUS_PATH, STATUS_D_DIR, INFO_DIR],
  wants(path: string, stat: Stat): boolean {
    if (path === STATUS_PATH || path === INFO_DIR) return true;
    if (path.startsWith(STATUS_D_DIR + '/')) return stat.type !== 'dir' && !path.slice(STATUS_D_DIR.length + 1).includes('/');
    return path.startsWith(INFO_DIR + '/') && path.endsWith('.md5sums') && !path.slice(INFO_DIR.length + 1).includes('/');
  },
  async analyze({ fs, files }: AnalyzerInput): Promise<PartialInventory> {
    const issues: Issue[] = [];
    const packages: Package[] = [];
    const md5sums = new Set<string>();
    let sawInfo = false;
    let sawStatus = false;
    for (const f of files) {
      if (f.path === INFO_DIR) sawInfo = true;
      else if (f.path.endsWith('.md5sums')) md5sums.add(f.path);
    }
    const statusFile = files.find((f) => f.path === STATUS_PATH);
    if (statusFile) {
      sawStatus = true;
      const text = await readTextFile(fs, STATUS_PATH, MAX_STATUS_BYTES, 'dpkg.status-unreadable', issues);
      if (text !== undefined) {
        const r = parseDpkgDatabase(text, STATUS_PATH);
        packages.push(...r.packages);
        issues.push(...r.issues);
        if (r.packages.length === 0 && md5sums.size > 0) {
          issues.push({ severity: 'error', code: 'dpkg.status-empty', message: `no installed package in the status file, yet ${md5sums.size} md5sums files exist`, location: STATUS_PATH });
        }
      }
    }
    for (const f of files) {
      if (!f.path.startsWith(STATUS_D_DIR + '/') || f.path.endsWith('.md5sums')) continue;
      sawStatus = true;
      const text = await readTextFile(fs, f.path, MAX_STATUS_D_FILE_BYTES, 'dpkg.status-unreadable', issues);
      if (text === undefined) continue;
      const r = parseDpkgDatabase(text, f.path, { implicitInstalled: true });
      packages.push(...r.packages);
      issues.push(...r.issues);
    }
    if (!sawStatus) {
      if (sawInfo) issues.push({ severity: 'error', code: 'dpkg.status-missing', message: `${INFO_DIR} exists but there is no ${STATUS_PATH}: the dpkg database cannot be read`, location: DPKG_DIR });
      return { issues };
    }
    // The md5sums lists are read a few at a time (they are most of the analyzer's reads); each
    // package's issues are kept apart and appended in package order, as a sequential loop would.
    const perPackage = await mapBounded(packages, ANALYZER_READ_CONCURRENCY, async (pkg) => {
      const own: Issue[] = [];
      const dir = pkg.evidence[0]!.path.startsWith(STATUS_D_DIR + '/') ? STATUS_D_DIR : INFO_DIR;
      const candidates = [`${dir}/${pkg.name}:${pkg.arch ?? ''}.md5sums`, `${dir}/${pkg.name}.md5sums`];
      const found = candidates.find((c) => md5sums.has(c));
      if (!found) return own;
      const text = await readTextFile(fs, found, MAX_MD5SUMS_BYTES, 'dpkg.md5sums-unreadable', own);
      if (text === undefined) return own;
      pkg.files = parseMd5sums(text, found, own);
      pkg.evidence.push({ path: found, note: `${pkg.files.length} file digests` });
      return own;
    });
    for (const own of perPackage) issues.push(...own);
    return { packages, issues };
  },
};
