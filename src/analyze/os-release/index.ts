/**
 * OS identification: /etc/os-release, then /usr/lib/os-release (the spec's fallback), then the
 * distro release files older or minimal systems carry. An OS we do not recognise is still
 * reported (family "unknown", its id and name) with an "os.unsupported" issue naming it, so a
 * node is never shown as assessed when its advisories are unknown.
 */
import type { Stat } from '../../fs/index.ts';
import type { Evidence, OsFamily, OsInfo } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import { readTextFile, splitLines } from '../text.ts';
import { parseOsRelease } from './parse.ts';
import codenames from '../../../data/os-codenames.json' with { type: 'json' };

/** os-release and release files are a few hundred bytes; anything past this is not one. */
export const MAX_OS_RELEASE_BYTES = 64 * 1024;
/** The first line of a release file ("Rocky Linux release 9.3 (Blue Onyx)") is read up to this. */
export const MAX_RELEASE_LINE_CHARS = 256;

export const OS_RELEASE_PATHS = ['/etc/os-release', '/usr/lib/os-release'] as const;
/** Fallback files in the order tried when no os-release names the OS. */
export const RELEASE_FILE_PATHS = [
  '/etc/lsb-release',
  '/etc/azurelinux-release',
  '/etc/mariner-release',
  '/etc/alpine-release',
  '/etc/redhat-release',
  '/etc/system-release',
  '/etc/debian_version',
] as const;
const ALL_PATHS: readonly string[] = [...OS_RELEASE_PATHS, ...RELEASE_FILE_PATHS];

/** os-release ID → family. */
const FAMILY_BY_ID: Record<string, OsFamily> = {
  ubuntu: 'ubuntu',
  debian: 'debian',
  azurelinux: 'azurelinux',
  mariner: 'mariner',
  amzn: 'amazon',
  bottlerocket: 'bottlerocket',
  flatcar: 'flatcar',
  cos: 'cos',
  rhel: 'rhel',
  rocky: 'rocky',
  almalinux: 'alma',
  centos: 'centos',
  fedora: 'fedora',
  sles: 'sles',
  sles_sap: 'sles',
  sled: 'sles',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  'opensuse-microos': 'opensuse',
  opensuse: 'opensuse',
  alpine: 'alpine',
};

/** Families whose advisory feeds key on the major release only (RHEL OVAL, Rocky/Alma OSV "…:9"). */
const MAJOR_ONLY: ReadonlySet<OsFamily> = new Set(['rhel', 'rocky', 'alma', 'centos']);

/** Release-file distro names (as in "Rocky Linux release 9.3 (Blue Onyx)") → os-release ID. */
const ID_BY_RELEASE_NAME: ReadonlyArray<[RegExp, string]> = [
  [/^Red Hat Enterprise Linux/i, 'rhel'],
  [/^Rocky Linux/i, 'rocky'],
  [/^AlmaLinux/i, 'almalinux'],
  [/^CentOS/i, 'centos'],
  [/^Fedora/i, 'fedora'],
  [/^Amazon Linux/i, 'amzn'],
];

/** Normalizes the release the feeds key on from an os-release VERSION_ID. */
export function normalizeVersionId(family: OsFamily, versionId: string): string {
  if (family === 'alpine') return versionId.split('.').slice(0, 2).join('.');
  if (MAJOR_ONLY.has(family)) return versionId.split('.')[0] ?? versionId;
  return versionId;
}

function codenameFor(family: OsFamily, versionId: string): string | undefined {
  const table: Record<string, string> | undefined = family === 'debian' ? codenames.debian : family === 'ubuntu' ? codenames.ubuntu : undefined;
  return table?.[versionId];
}

function familyOf(id: string): OsFamily {
  return FAMILY_BY_ID[id.toLowerCase()] ?? 'unknown';
}

function build(family: OsFamily, id: string, versionIdRaw: string, evidence: Evidence[], extra: Partial<OsInfo> = {}): OsInfo {
  const versionId = normalizeVersionId(family, versionIdRaw);
  const os: OsInfo = { family, id, versionId, evidence };
  const codename = extra.codename ?? codenameFor(family, versionId);
  if (codename) os.codename = codename;
  if (extra.prettyName) os.prettyName = extra.prettyName;
  if (extra.idLike && extra.idLike.length > 0) os.idLike = extra.idLike;
  if (extra.cpe) os.cpe = extra.cpe;
  return os;
}

/** OsInfo from an os-release text, or undefined when it names no ID. */
export function osFromOsRelease(text: string, path: string): OsInfo | undefined {
  const kv = parseOsRelease(text);
  const id = kv.get('ID')?.value;
  if (!id) return undefined;
  const family = familyOf(id);
  let versionId = kv.get('VERSION_ID')?.value ?? '';
  const extra: Partial<OsInfo> = {};
  const codename = kv.get('VERSION_CODENAME')?.value || kv.get('UBUNTU_CODENAME')?.value;
  if (codename) extra.codename = codename;
  // Debian testing/sid omit VERSION_ID; the codename is then the only release name.
  if (versionId === '' && codename) versionId = codename;
  const pretty = kv.get('PRETTY_NAME')?.value || kv.get('NAME')?.value;
  if (pretty) extra.prettyName = pretty;
  const like = kv.get('ID_LIKE')?.value;
  if (like) extra.idLike = like.split(/\s+/).filter(Boolean);
  const cpe = kv.get('CPE_NAME')?.value;
  if (cpe) extra.cpe = cpe;
  return build(family, id, versionId, [{ path, line: kv.get('ID')!.line }], extra);
}

/** OsInfo from one of the fallback release files. */
export function osFromReleaseFile(path: string, text: string): OsInfo | undefined {
  // Release files are one short line; the cap keeps every pattern below cheap on hostile input.
  const first = (splitLines(text).find((l) => l.trim() !== '')?.trim() ?? '').slice(0, MAX_RELEASE_LINE_CHARS);
  const ev: Evidence[] = [{ path, line: 1 }];
  switch (path) {
    case '/etc/lsb-release': {
      const kv = parseOsRelease(text);
      const id = kv.get('DISTRIB_ID')?.value;
      const rel = kv.get('DISTRIB_RELEASE')?.value;
      if (!id || !rel) return undefined;
      const extra: Partial<OsInfo> = {};
      const cn = kv.get('DISTRIB_CODENAME')?.value;
      if (cn) extra.codename = cn;
      const desc = kv.get('DISTRIB_DESCRIPTION')?.value;
      if (desc) extra.prettyName = desc;
      return build(familyOf(id), id.toLowerCase(), rel, [{ path, line: kv.get('DISTRIB_ID')!.line }], extra);
    }
    case '/etc/azurelinux-release':
    case '/etc/mariner-release': {
      // "Microsoft Azure Linux 3.0.20240824" / "CBL-Mariner 2.0.20240123": major.minor.build-date.
      const token = first.split(/\s+/).find((w) => /^\d/.test(w)) ?? '';
      const m = /^(\d+)\.(\d+)/.exec(token);
      if (!m) return undefined;
      const id = path === '/etc/azurelinux-release' ? 'azurelinux' : 'mariner';
      return build(id, id, `${m[1]}.${m[2]}`, ev, { prettyName: first });
    }
    case '/etc/alpine-release': {
      if (!/^\d+\.\d+/.test(first)) return undefined;
      return build('alpine', 'alpine', first, ev, { prettyName: `Alpine Linux v${first}` });
    }
    case '/etc/redhat-release':
    case '/etc/system-release': {
      // "<name> release <version> (<codename>)"
      const at = first.search(/\srelease\s/i);
      const ver = at > 0 ? /^\s*release\s+(\d[\w.]*)/i.exec(first.slice(at)) : null;
      if (!ver) return undefined;
      const name = first.slice(0, at).trim();
      const id = ID_BY_RELEASE_NAME.find(([re]) => re.test(name))?.[1] ?? name.toLowerCase().replace(/\s+/g, '-');
      return build(familyOf(id), id, ver[1]!, ev, { prettyName: first });
    }
    case '/etc/debian_version': {
      // "12.5" on a release; "trixie/sid" on testing.
      const m = /^(\d+)(?:\.\d+)*$/.exec(first);
      return build('debian', 'debian', m ? m[1]! : first.split('/')[0] ?? first, ev, m ? {} : { codename: first.split('/')[0] ?? first });
    }
    default:
      return undefined;
  }
}

export const osReleaseAnalyzer: Analyzer = {
  id: 'os-release',
  version: 1,
  roots: ALL_PATHS,
  wants(path: string, _stat: Stat): boolean {
    return ALL_PATHS.includes(path);
  },
  async analyze({ fs, files }: AnalyzerInput): Promise<PartialInventory> {
    const issues: Issue[] = [];
    const present = new Set(files.map((f) => f.path));
    let os: OsInfo | undefined;
    for (const path of ALL_PATHS) {
      if (!present.has(path)) continue;
      const text = await readTextFile(fs, path, MAX_OS_RELEASE_BYTES, 'os.read', issues);
      if (text === undefined) continue;
      os = (OS_RELEASE_PATHS as readonly string[]).includes(path) ? osFromOsRelease(text, path) : osFromReleaseFile(path, text);
      if (os) break;
      issues.push({ severity: 'warning', code: 'os.unparsable', message: 'file names no OS', location: path });
    }
    if (!os) {
      issues.push({ severity: 'error', code: 'os.not-found', message: `no OS identification found (looked for ${ALL_PATHS.join(', ')})` });
      return { issues };
    }
    // A broken first candidate is only a warning once a later file identified the OS.
    for (const i of issues) if (i.code === 'os.read') i.severity = 'warning';
    if (os.family === 'unknown') {
      issues.push({ severity: 'error', code: 'os.unsupported', message: `unsupported OS '${os.id}' ${os.versionId}${os.prettyName ? ` (${os.prettyName})` : ''}: no advisories are matched for its packages`, location: os.evidence[0]?.path });
    }
    return { os, issues };
  },
};
