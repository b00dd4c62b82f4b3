/**
 * AKS node-image release notes: the text file each VHD build commits to Azure/AgentBaker as
 * `vhdbuilder/release-notes/<family>/<gen>/<sku>/<version>.txt`. What the catalogue takes from it:
 * - the block between `=== Installed Packages Begin` and `=== Installed Packages End`: on Ubuntu
 *   `apt list --installed` lines (`name/suite[,suite…] version arch [flags]`, after a
 *   "Listing..." line), on Azure Linux `rpm -qa` lines (`name-version-release.arch`);
 * - the block between `=== os-release Begin` and `=== os-release End` (/etc/os-release);
 * - "Using kernel:\nLinux version <release> (…)".
 * The text comes from the network (`hullscan db update`): sizes and counts are bounded and the
 * regexes are anchored per line, without nested quantifiers.
 */
import { CorruptError } from '../util/errors.ts';
import { MiB } from '../util/units.ts';

/** Largest release-notes file parsed (the largest published today is ~70 KiB). */
export const MAX_RELEASE_NOTES_BYTES = 4 * MiB;
/** Most packages accepted in one image (today 387–749). */
export const MAX_IMAGE_PACKAGES = 20_000;

export interface NotesPackage {
  name: string;
  /** Debian version (epoch included), or RPM version-release. */
  version: string;
  /** "amd64", "all", "x86_64", "noarch"; "" when the line has none (rpm's gpg-pubkey). */
  arch: string;
}

export interface ReleaseNotes {
  kind: 'apt' | 'rpm';
  packages: NotesPackage[];
  /** /etc/os-release, quotes removed. */
  osRelease: Record<string, string>;
  /** The "Using kernel" release. */
  kernel: string;
}

const APT_LINE = /^([a-z0-9][a-z0-9+.-]*)\/(\S+) (\S+) (\S+)(?: \[([^\]]*)\])?$/;
const OS_RELEASE_LINE = /^([A-Z_]+)=(.*)$/;
/** rpm arches seen in Azure Linux lists; a suffix not among them is part of the release (gpg-pubkey). */
const RPM_ARCHES = new Set(['x86_64', 'aarch64', 'noarch', 'i686']);

/** "202408.05.0" → "2024-08-05": AKS node-image versions are named after their build date. */
export function builtAtOf(version: string): string {
  const m = /^(\d{4})(\d{2})\.(\d{2})\.\d+$/.exec(version);
  if (!m) throw new CorruptError(`not an AKS node-image version: ${version.slice(0, 40)}`);
  return `${m[1]}-${m[2]}-${m[3]}`;
}

/** The lines between `=== <name> Begin` and `=== <name> End`. */
function block(lines: readonly string[], name: string, where: string): string[] {
  const begin = lines.indexOf(`=== ${name} Begin`);
  const end = lines.indexOf(`=== ${name} End`, begin + 1);
  if (begin < 0 || end < 0) throw new CorruptError(`release notes: no "=== ${name} Begin … End" block`, { location: where });
  return lines.slice(begin + 1, end);
}

/** /etc/os-release of the release notes' os-release block. */
export function osReleaseOf(notes: string, where = 'release notes'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block(notes.split('\n'), 'os-release', where)) {
    const kv = OS_RELEASE_LINE.exec(line);
    if (kv) out[kv[1]!] = kv[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/** The kernel release of "Using kernel:\nLinux version 5.15.0-1041-azure (...)". */
export function usingKernelOf(notes: string, where = 'release notes'): string {
  const m = /Using kernel:\nLinux version (\S+)/.exec(notes);
  if (!m) throw new CorruptError('release notes: no "Using kernel" line', { location: where });
  return m[1]!;
}

/** `name-version-release.arch`, parsed from the right (names hold dashes, versions do not). */
function rpmLine(line: string, where: string): NotesPackage {
  let rest = line;
  let arch = '';
  const dot = rest.lastIndexOf('.');
  if (dot > 0 && RPM_ARCHES.has(rest.slice(dot + 1))) {
    arch = rest.slice(dot + 1);
    rest = rest.slice(0, dot);
  }
  const r = rest.lastIndexOf('-');
  const v = r > 0 ? rest.lastIndexOf('-', r - 1) : -1;
  if (v <= 0 || /\s/.test(rest)) throw new CorruptError(`release notes: not an rpm name-version-release.arch line: ${line.slice(0, 120)}`, { location: where });
  return { name: rest.slice(0, v), version: `${rest.slice(v + 1, r)}-${rest.slice(r + 1)}`, arch };
}

/**
 * The package list, os-release and kernel of one release-notes file. A CorruptError (with
 * `where` as location) when a block is missing, a package line is of neither shape, a name occurs
 * twice, or a limit is passed.
 */
export function parseReleaseNotes(text: string, where = 'release notes'): ReleaseNotes {
  if (text.length > MAX_RELEASE_NOTES_BYTES) throw new CorruptError(`release notes: larger than ${MAX_RELEASE_NOTES_BYTES} bytes`, { location: where });
  const lines = text.replaceAll('\r\n', '\n').split('\n');
  const rows = block(lines, 'Installed Packages', where).filter((l) => l.trim() !== '' && l !== 'Listing...');
  if (rows.length === 0) throw new CorruptError('release notes: the installed-packages block is empty', { location: where });
  if (rows.length > MAX_IMAGE_PACKAGES) throw new CorruptError(`release notes: more than ${MAX_IMAGE_PACKAGES} packages`, { location: where });
  const kind = APT_LINE.test(rows[0]!) ? 'apt' : 'rpm';
  const packages: NotesPackage[] = [];
  const seen = new Set<string>();
  for (const line of rows) {
    let p: NotesPackage;
    if (kind === 'apt') {
      const m = APT_LINE.exec(line);
      if (!m) throw new CorruptError(`release notes: not an "apt list" line: ${line.slice(0, 120)}`, { location: where });
      p = { name: m[1]!, version: m[3]!, arch: m[4]! };
    } else {
      p = rpmLine(line, where);
    }
    const key = `${p.name}\0${p.arch}\0${kind === 'rpm' ? p.version : ''}`;
    if (seen.has(key)) throw new CorruptError(`release notes: ${p.name} is listed twice`, { location: where });
    seen.add(key);
    packages.push(p);
  }
  return { kind, packages, osRelease: osReleaseOf(text, where), kernel: usingKernelOf(text, where) };
}
