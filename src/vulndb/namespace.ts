/**
 * Namespaces: the key that scopes an advisory's affected package to one distro release (or one
 * language ecosystem), and the version scheme that orders versions there.
 *
 * Two directions meet here:
 * - `osNamespace(os)`: the namespace a scanned node's OS packages are matched in.
 * - `ecosystemNamespace(ecosystem)`: the namespace of an OSV `affected[].package.ecosystem`
 *   string. Ecosystem names follow the OSV schema's ecosystem list
 *   (ossf/osv-schema `ecosystems.json`, 2026-03; the entries used are quoted in
 *   {@link OSV_ECOSYSTEMS}).
 *
 * Ubuntu Pro (ESM) ecosystems ("Ubuntu:Pro:22.04:LTS") get their own namespace
 * ("ubuntu-pro:22.04"): Pro fixes are only installable with a Pro subscription, so a node
 * without Pro must not be told that a Pro-only version fixes it. The matcher decides whether a
 * node uses Pro; by default it matches "ubuntu:<release>" only.
 */
import type { OsInfo } from '../inventory/index.ts';
import type { VersionSchemeId } from '../version/index.ts';
import type { Namespace } from './index.ts';

/**
 * The OSV ecosystems this database maps, with how the schema defines their package names
 * (quoted from ossf/osv-schema ecosystems.json): all distro ones name the SOURCE package.
 */
export const OSV_ECOSYSTEMS = {
  /** "The Ubuntu package ecosystem; the `name` field is the name of the source package." */
  Ubuntu: { scheme: 'deb', nameKind: 'source' },
  /** "The Debian package ecosystem; the `name` is the name of the source package." */
  Debian: { scheme: 'deb', nameKind: 'source' },
  /** "The Alpine package ecosystem; the `name` is the name of the source package." (the origin) */
  Alpine: { scheme: 'apk', nameKind: 'source' },
  /** "The Azure Linux package ecosystem; the `name` is the name of the source package." */
  'Azure Linux': { scheme: 'rpm', nameKind: 'source' },
  /** "The Go ecosystem; the `name` field is a Go module path." */
  Go: { scheme: 'go', nameKind: 'module' },
} as const satisfies Record<string, { scheme: VersionSchemeId; nameKind: 'source' | 'binary' | 'module' }>;

export interface NamespaceInfo {
  namespace: Namespace;
  scheme: VersionSchemeId;
  nameKind: 'source' | 'binary' | 'module';
}

/** Longest ecosystem string considered; longer ones are not an ecosystem we map. */
const MAX_ECOSYSTEM_CHARS = 128;

const NUMERIC_RELEASE = /^\d{1,4}(?:\.\d{1,4}){0,2}$/;

/**
 * The namespace of an OSV ecosystem string, or undefined when we have no version scheme for it
 * (the caller counts such entries as unsupported, not malformed).
 *
 * "Ubuntu:22.04:LTS" → ubuntu:22.04; "Ubuntu:24.10" → ubuntu:24.10;
 * "Ubuntu:Pro:22.04:LTS" → ubuntu-pro:22.04; "Ubuntu:Pro:FIPS-updates:22.04:LTS" →
 * ubuntu-pro-fips-updates:22.04; "Debian:12" → debian:12; "Alpine:v3.21" → alpine:3.21;
 * "Azure Linux:3" → azurelinux:3.0; "Go" → go.
 */
export function ecosystemNamespace(ecosystem: string): NamespaceInfo | undefined {
  if (ecosystem.length === 0 || ecosystem.length > MAX_ECOSYSTEM_CHARS) return undefined;
  const parts = ecosystem.split(':');
  const base = parts[0]!;
  const rest = parts.slice(1);
  switch (base) {
    case 'Go':
      return rest.length === 0 ? info('go', base) : undefined;
    case 'Debian': {
      const release = rest[0];
      if (rest.length !== 1 || release === undefined || !/^(\d{1,3}|[a-z]{2,16})$/.test(release)) return undefined;
      return info(`debian:${release}`, base);
    }
    case 'Alpine': {
      const release = rest[0];
      if (rest.length !== 1 || release === undefined) return undefined;
      const m = /^v(\d{1,2}\.\d{1,3})$/.exec(release);
      if (m) return info(`alpine:${m[1]!}`, base);
      if (release === 'edge') return info('alpine:edge', base);
      return undefined;
    }
    case 'Ubuntu': {
      let words = rest;
      let prefix = 'ubuntu';
      if (words[0] === 'Pro') {
        prefix = 'ubuntu-pro';
        words = words.slice(1);
        // A Pro channel before the release ("FIPS-updates", "Realtime"): its own namespace.
        if (words.length > 0 && !NUMERIC_RELEASE.test(words[0]!)) {
          if (!/^[A-Za-z0-9-]{1,32}$/.test(words[0]!)) return undefined;
          prefix = `ubuntu-pro-${words[0]!.toLowerCase()}`;
          words = words.slice(1);
        }
      }
      const release = words[0];
      if (release === undefined || !/^\d{2}\.\d{2}$/.test(release)) return undefined;
      if (words.length > 2 || (words.length === 2 && words[1] !== 'LTS')) return undefined;
      return info(`${prefix}:${release}`, base);
    }
    case 'Azure Linux': {
      const release = rest[0];
      if (rest.length !== 1 || release === undefined || !NUMERIC_RELEASE.test(release)) return undefined;
      return info(`azurelinux:${majorMinor(release)}`, base);
    }
    default:
      return undefined;
  }
}

function info(namespace: Namespace, ecosystem: keyof typeof OSV_ECOSYSTEMS): NamespaceInfo {
  const e = OSV_ECOSYSTEMS[ecosystem];
  return { namespace, scheme: e.scheme, nameKind: e.nameKind };
}

/** "3" → "3.0", "3.0.20240101" → "3.0", "2.0" → "2.0". */
function majorMinor(release: string): string {
  const [major, minor] = release.split('.');
  return `${major!}.${minor ?? '0'}`;
}

/**
 * Namespace of an Azure Linux / CBL-Mariner OVAL file, from the OVAL product name or the file
 * name: Azure Linux 3.0 → azurelinux:3.0, CBL-Mariner 2.0 → mariner:2.0.
 */
export function ovalNamespace(product: string): NamespaceInfo | undefined {
  const azl = /azure\s*linux[\s_-]*(\d{1,2}(?:\.\d{1,2})?)/i.exec(product);
  if (azl) return { namespace: `azurelinux:${majorMinor(azl[1]!)}`, scheme: 'rpm', nameKind: 'source' };
  const mariner = /(?:cbl[\s_-]*)?mariner[\s_-]*(\d{1,2}(?:\.\d{1,2})?)/i.exec(product);
  if (mariner) return { namespace: `mariner:${majorMinor(mariner[1]!)}`, scheme: 'rpm', nameKind: 'source' };
  return undefined;
}

/** The version scheme of a namespace we create, by its family prefix. */
export function namespaceScheme(namespace: Namespace): VersionSchemeId | undefined {
  const family = namespace.split(':')[0]!;
  if (family === 'ubuntu' || family.startsWith('ubuntu-pro') || family === 'debian') return 'deb';
  if (family === 'alpine') return 'apk';
  if (family === 'azurelinux' || family === 'mariner') return 'rpm';
  if (family === 'go') return 'go';
  return undefined;
}

/**
 * The namespace a node's OS packages are matched in, or undefined when no feed we import covers
 * that OS family (a coverage gap for the matcher to report).
 *
 * Release rules follow each feed's keys: Ubuntu "YY.MM"; Debian the major number (os-release
 * VERSION_ID is "12"; a point release "12.5" keys as 12); Alpine "major.minor" (VERSION_ID
 * "3.21.2" → 3.21, the secdb / OSV branch); Azure Linux and CBL-Mariner "major.minor"
 * ("3.0", "2.0").
 */
export function osNamespace(os: Pick<OsInfo, 'family' | 'versionId'>): Namespace | undefined {
  const v = os.versionId.trim();
  switch (os.family) {
    case 'ubuntu': {
      const m = /^(\d{2}\.\d{2})/.exec(v);
      return m ? `ubuntu:${m[1]!}` : undefined;
    }
    case 'debian': {
      const m = /^(\d{1,3})/.exec(v);
      return m ? `debian:${m[1]!}` : undefined;
    }
    case 'alpine': {
      const m = /^(\d{1,2}\.\d{1,3})/.exec(v);
      if (m) return `alpine:${m[1]!}`;
      return v === 'edge' ? 'alpine:edge' : undefined;
    }
    case 'azurelinux':
    case 'mariner': {
      const m = /^(\d{1,2})(?:\.(\d{1,2}))?/.exec(v);
      return m ? `${os.family}:${m[1]!}.${m[2] ?? '0'}` : undefined;
    }
    default:
      return undefined;
  }
}
