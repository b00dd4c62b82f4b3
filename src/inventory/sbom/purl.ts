/**
 * Package URLs (purl), built and parsed per the purl specification:
 * https://github.com/package-url/purl-spec (docs/standard/components.md and
 * characters-and-encoding.md; type rules in types/{deb,rpm,apk,golang}-definition.json). Checked
 * against the spec's own test vectors in test/data/sbom/purl-spec-tests.json.
 *
 * Two layers: `formatPurl` / `parsePurl` are the generic, type-agnostic codec; `packagePurl` maps
 * an inventory {@link Package} to the purl other tools (Trivy, Syft, Grype, OSV) expect, and
 * `packageFromPurl` goes back. docs/sbom.md lists the per-type rules.
 */
import { CorruptError } from '../../util/errors.ts';
import type { OsInfo, Package, PackageType } from '../index.ts';

/** Longest purl we parse; real ones are under 300 characters (Go module paths are the longest). */
export const MAX_PURL_LENGTH_CHARS = 4096;
/** Most qualifiers we accept on one purl (the registered types define at most a handful). */
export const MAX_PURL_QUALIFIERS = 32;

/** A purl that does not follow the specification. */
export class PurlError extends CorruptError {}

/** The seven purl components, decoded. `qualifiers` is empty (never undefined) when there are none. */
export interface PackageUrl {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers: Record<string, string>;
  subpath?: string;
}

const TYPE_RE = /^[A-Za-z][A-Za-z0-9.-]*$/;
const QUALIFIER_KEY_RE = /^[A-Za-z][A-Za-z0-9._-]*$/;
/**
 * Characters never percent-encoded: alphanumerics, the punctuation `.-_~` and the colon (the
 * spec says ':' MUST NOT be encoded, whether separator or not; so Debian epochs stay `1:2.4`).
 */
const UNENCODED_RE = /[A-Za-z0-9.\-_~:]/;

/** Types whose namespace the spec folds to lowercase (the "vendor" of OS package types). */
const LOWERCASE_NAMESPACE_TYPES: ReadonlySet<string> = new Set(['deb', 'rpm', 'apk', 'alpm', 'bitbucket', 'github', 'composer']);
/** Types whose name the spec folds to lowercase. */
const LOWERCASE_NAME_TYPES: ReadonlySet<string> = new Set(['deb', 'apk', 'alpm', 'bitbucket', 'github', 'composer']);

/** Percent-encodes one component per RFC 3986 §2.1 with the purl spec's allowed set. */
export function encodeComponent(s: string): string {
  let out = '';
  for (const ch of s) {
    if (UNENCODED_RE.test(ch)) {
      out += ch;
      continue;
    }
    for (const byte of new TextEncoder().encode(ch)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Strict percent-decoding: a '%' not followed by two hex digits, or bytes that are not UTF-8, are errors. */
export function decodeComponent(s: string, what: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new PurlError(`purl ${what} has a bad percent-escape '%${hex}'`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Non-ASCII in a purl is not canonical, but decode it as its UTF-8 bytes rather than refuse.
      const cp = s.codePointAt(i)!;
      for (const b of new TextEncoder().encode(String.fromCodePoint(cp))) bytes.push(b);
      if (cp > 0xffff) i++;
    }
  }
  try {
    return UTF8.decode(new Uint8Array(bytes));
  } catch (err) {
    throw new PurlError(`purl ${what} is not UTF-8 after percent-decoding`, { cause: err });
  }
}

function segments(s: string): string[] {
  return s.split('/').filter((seg) => seg !== '');
}

/**
 * The canonical string of a purl (spec "How to build purl string from its components"):
 * lowercase type, namespace and subpath segments encoded one by one, qualifiers sorted by key
 * with empty values dropped, type-specific case folding.
 */
export function formatPurl(p: PackageUrl): string {
  if (typeof p.type !== 'string' || !TYPE_RE.test(p.type)) throw new PurlError(`purl type '${String(p.type)}' must start with a letter and hold only letters, digits, '.' and '-'`);
  const type = p.type.toLowerCase();
  if (typeof p.name !== 'string' || p.name === '') throw new PurlError('purl name is required');
  let out = `pkg:${type}/`;
  if (p.namespace !== undefined && p.namespace !== '') {
    const ns = LOWERCASE_NAMESPACE_TYPES.has(type) ? p.namespace.toLowerCase() : p.namespace;
    const segs = segments(ns);
    if (segs.length > 0) out += segs.map(encodeComponent).join('/') + '/';
  }
  out += encodeComponent(LOWERCASE_NAME_TYPES.has(type) ? p.name.toLowerCase() : p.name);
  if (p.version !== undefined && p.version !== '') out += `@${encodeComponent(p.version)}`;
  const keys = Object.keys(p.qualifiers).filter((k) => p.qualifiers[k] !== '');
  for (const k of keys) if (!QUALIFIER_KEY_RE.test(k)) throw new PurlError(`purl qualifier key '${k}' must start with a letter and hold only letters, digits, '.', '-' and '_'`);
  const sorted = keys.map((k) => [k.toLowerCase(), p.qualifiers[k]!] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (sorted.length > 0) out += '?' + sorted.map(([k, v]) => `${k}=${encodeComponent(v)}`).join('&');
  if (p.subpath !== undefined) {
    const segs = segments(p.subpath).filter((s) => s !== '.' && s !== '..');
    if (segs.length > 0) out += '#' + segs.map(encodeComponent).join('/');
  }
  return out;
}

/** Parses a purl string (spec "How to parse a purl string in its components"). Throws {@link PurlError}. */
export function parsePurl(input: string): PackageUrl {
  if (typeof input !== 'string') throw new PurlError('purl must be a string');
  if (input.length > MAX_PURL_LENGTH_CHARS) throw new PurlError(`purl is ${input.length} characters, over the limit of ${MAX_PURL_LENGTH_CHARS}`);
  const colon = input.indexOf(':');
  if (colon < 0 || input.slice(0, colon).toLowerCase() !== 'pkg') throw new PurlError(`'${input.slice(0, 80)}' is not a purl: it must start with 'pkg:'`);
  let rest = input.slice(colon + 1);
  // Parsers MUST accept and drop slashes after the scheme ("pkg://deb/...").
  rest = rest.replace(/^\/+/, '');

  let subpath: string | undefined;
  const hash = rest.lastIndexOf('#');
  if (hash >= 0) {
    const segs = segments(rest.slice(hash + 1))
      .map((s) => decodeComponent(s, 'subpath'))
      .filter((s) => s !== '.' && s !== '..');
    if (segs.length > 0) subpath = segs.join('/');
    rest = rest.slice(0, hash);
  }

  const qualifiers: Record<string, string> = {};
  const q = rest.lastIndexOf('?');
  if (q >= 0) {
    const pairs = rest.slice(q + 1).split('&').filter((s) => s !== '');
    if (pairs.length > MAX_PURL_QUALIFIERS) throw new PurlError(`purl has ${pairs.length} qualifiers, over the limit of ${MAX_PURL_QUALIFIERS}`);
    for (const pair of pairs) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new PurlError(`purl qualifier '${pair.slice(0, 80)}' is not key=value`);
      const key = pair.slice(0, eq).toLowerCase();
      if (!QUALIFIER_KEY_RE.test(key)) throw new PurlError(`purl qualifier key '${key.slice(0, 80)}' must start with a letter and hold only letters, digits, '.', '-' and '_'`);
      if (Object.hasOwn(qualifiers, key)) throw new PurlError(`purl qualifier '${key}' appears twice`);
      const value = decodeComponent(pair.slice(eq + 1), `qualifier ${key}`);
      if (value !== '') qualifiers[key] = value;
    }
    rest = rest.slice(0, q);
  }

  const slash = rest.indexOf('/');
  if (slash <= 0) throw new PurlError(`purl '${input.slice(0, 80)}' has no type/name`);
  const rawType = rest.slice(0, slash);
  if (!TYPE_RE.test(rawType)) throw new PurlError(`purl type '${rawType.slice(0, 80)}' must start with a letter and hold only letters, digits, '.' and '-'`);
  const type = rawType.toLowerCase();
  rest = rest.slice(slash + 1).replace(/\/+$/, '');

  let version: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const v = decodeComponent(rest.slice(at + 1), 'version');
    if (v !== '') version = v;
    rest = rest.slice(0, at);
  }

  const nameSlash = rest.lastIndexOf('/');
  const rawName = nameSlash >= 0 ? rest.slice(nameSlash + 1) : rest;
  if (rawName === '') throw new PurlError(`purl '${input.slice(0, 80)}' has no name`);
  let name = decodeComponent(rawName, 'name');
  if (LOWERCASE_NAME_TYPES.has(type)) name = name.toLowerCase();
  const nsSegs = nameSlash >= 0 ? segments(rest.slice(0, nameSlash)).map((s) => decodeComponent(s, 'namespace')) : [];
  for (const s of nsSegs) if (s.includes('/')) throw new PurlError('purl namespace segment holds an encoded slash');
  let namespace = nsSegs.length > 0 ? nsSegs.join('/') : undefined;
  if (namespace !== undefined && LOWERCASE_NAMESPACE_TYPES.has(type)) namespace = namespace.toLowerCase();

  const out: PackageUrl = { type, name, qualifiers };
  if (namespace !== undefined) out.namespace = namespace;
  if (version !== undefined) out.version = version;
  if (subpath !== undefined) out.subpath = subpath;
  return out;
}

/**
 * purl namespace (vendor) of OS packages: the normalized OS family ("ubuntu", "azurelinux",
 * "mariner", "amazon"); the os-release ID when the family is unknown.
 */
export function osNamespace(os: OsInfo | undefined): string | undefined {
  if (os === undefined || os.family === 'unknown') return os?.id || undefined;
  return os.family;
}

/** The `distro=` qualifier: `<family>-<versionId>` ("ubuntu-22.04", "azurelinux-3.0", "alpine-3.21"). */
export function distroQualifier(os: OsInfo | undefined): string | undefined {
  const ns = osNamespace(os);
  if (ns === undefined || os === undefined || os.versionId === '') return undefined;
  return `${ns}-${os.versionId}`;
}

/** Splits rpm "[epoch:]version-release" into the epoch and the rest (purl keeps the epoch as a qualifier). */
export function splitRpmEpoch(version: string, epoch: number | undefined): { epoch?: number; rest: string } {
  const m = /^(\d+):(.*)$/.exec(version);
  if (m) return { epoch: Number(m[1]), rest: m[2]! };
  return epoch === undefined ? { rest: version } : { epoch, rest: version };
}

/** The version a Go stdlib purl carries: "1.22.5" for "go1.22.5" (Syft's form and OSV's Go ecosystem's). */
export function goStdlibPurlVersion(version: string): string {
  return version.replace(/^go/, '').replace(/^v/, '');
}

/**
 * The purl of an inventory package. deb/apk: `pkg:<type>/<vendor>/<name>@<version>?arch&distro`
 * (+ `upstream=` when the source package differs); rpm: the epoch moves from the version into
 * `epoch=`; golang: the module path splits at its last '/' into namespace and name, case kept
 * (Go module paths are case-sensitive and OSV keys on the exact path; the spec's lowercase rule
 * predates modules and its own tests only warn about upper case); Go stdlib is
 * `pkg:golang/stdlib@1.22.5`; `binary` is `pkg:generic/...`.
 */
export function packagePurl(pkg: Package, os?: OsInfo): string {
  const qualifiers: Record<string, string> = {};
  switch (pkg.type) {
    case 'deb':
    case 'apk':
    case 'rpm': {
      if (pkg.arch) qualifiers.arch = pkg.arch;
      const distro = distroQualifier(os);
      if (distro !== undefined) qualifiers.distro = distro;
      // Syft's convention: `upstream=<source>` when the name differs, `<source>@<version>` when
      // the version differs too (binNMU "+b1" builds, kernel signed/meta packages).
      if (pkg.source && (pkg.source.name !== pkg.name || pkg.source.version !== pkg.version)) {
        qualifiers.upstream = pkg.source.version === pkg.version ? pkg.source.name : `${pkg.source.name}@${pkg.source.version}`;
      }
      let version = pkg.version;
      if (pkg.type === 'rpm') {
        const split = splitRpmEpoch(pkg.version, pkg.epoch);
        version = split.rest;
        // epoch=0 is omitted (as Trivy does): rpm treats a missing epoch as 0.
        if (split.epoch !== undefined && split.epoch !== 0) qualifiers.epoch = String(split.epoch);
      }
      const namespace = osNamespace(os);
      return formatPurl({ type: pkg.type, ...(namespace === undefined ? {} : { namespace }), name: pkg.name, version, qualifiers });
    }
    case 'golang': {
      if (pkg.name === 'stdlib') return formatPurl({ type: 'golang', name: 'stdlib', version: goStdlibPurlVersion(pkg.version), qualifiers });
      const cut = pkg.name.lastIndexOf('/');
      const namespace = cut > 0 ? pkg.name.slice(0, cut) : undefined;
      const name = cut > 0 ? pkg.name.slice(cut + 1) : pkg.name;
      return formatPurl({ type: 'golang', ...(namespace === undefined ? {} : { namespace }), name, version: pkg.version, qualifiers });
    }
    case 'binary':
      return formatPurl({ type: 'generic', name: pkg.name, version: pkg.version, qualifiers });
  }
}

/** The package facts a purl carries, for third-party SBOMs whose only identity is the purl. */
export interface PurlPackageFacts {
  type: PackageType;
  name: string;
  version: string;
  epoch?: number;
  arch?: string;
  /** From `upstream=<name>` or `upstream=<name>@<version>`. */
  sourceName?: string;
  sourceVersion?: string;
  /** From `distro=`, split at the last '-' ("ubuntu-22.04" → ubuntu, 22.04). */
  distro?: { id: string; versionId: string };
  /** The namespace (vendor). */
  vendor?: string;
}

const PURL_TYPE_TO_PACKAGE: Record<string, PackageType> = { deb: 'deb', rpm: 'rpm', apk: 'apk', golang: 'golang', generic: 'binary' };

/** Maps a parsed purl to package facts; undefined for purl types we do not inventory (npm, maven, …). */
export function packageFromPurl(p: PackageUrl): PurlPackageFacts | undefined {
  const type = PURL_TYPE_TO_PACKAGE[p.type];
  if (type === undefined) return undefined;
  const facts: PurlPackageFacts = { type, name: p.name, version: p.version ?? '' };
  if (p.qualifiers.arch) facts.arch = p.qualifiers.arch;
  const upstream = p.qualifiers.upstream;
  if (upstream) {
    const at = upstream.indexOf('@');
    if (at > 0 && at < upstream.length - 1) {
      facts.sourceName = upstream.slice(0, at);
      facts.sourceVersion = upstream.slice(at + 1);
    } else facts.sourceName = upstream;
  }
  if (p.namespace !== undefined) facts.vendor = p.namespace;
  const distro = p.qualifiers.distro;
  if (distro) {
    const dash = distro.lastIndexOf('-');
    if (dash > 0 && /\d/.test(distro.slice(dash + 1))) facts.distro = { id: distro.slice(0, dash), versionId: distro.slice(dash + 1) };
  }
  if (type === 'golang') {
    if (p.namespace === undefined && p.name === 'stdlib') facts.version = p.version === undefined ? '' : `go${goStdlibPurlVersion(p.version)}`;
    else if (p.namespace !== undefined) facts.name = `${p.namespace}/${p.name}`;
  }
  if (type === 'rpm' && p.qualifiers.epoch !== undefined) {
    if (!/^\d{1,10}$/.test(p.qualifiers.epoch)) throw new PurlError(`rpm purl epoch '${p.qualifiers.epoch.slice(0, 20)}' is not a number`);
    facts.epoch = Number(p.qualifiers.epoch);
    if (facts.epoch !== 0) facts.version = `${facts.epoch}:${facts.version}`;
  }
  return facts;
}
