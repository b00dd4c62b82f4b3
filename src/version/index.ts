/**
 * Version schemes: how each ecosystem orders its version strings. The matcher asks the scheme of
 * a package's ecosystem whether an installed version is below an advisory's fixed version, so
 * each scheme re-implements its distribution's own comparison exactly (cited in each module and
 * checked against the real tools in test/version/; see docs/versions.md).
 *
 * The registry is an explicit list; nothing registers itself on import.
 */
import { apkScheme } from './apk.ts';
import { InvalidVersionError, type Ordering } from './common.ts';
import { debScheme } from './deb.ts';
import { goScheme } from './go.ts';
import { rpmScheme } from './rpm.ts';
import { semverScheme } from './semver.ts';
import { UsageError } from '../util/errors.ts';

export { InvalidVersionError, MAX_VERSION_LENGTH } from './common.ts';

export const VERSION_SCHEME_IDS = ['deb', 'rpm', 'apk', 'semver', 'go'] as const;
export type VersionSchemeId = (typeof VERSION_SCHEME_IDS)[number];

/** What every scheme's `parse` returns on success; each scheme adds its own fields. */
export interface ParsedVersion {
  readonly scheme: VersionSchemeId;
  /** The string that was parsed, unchanged. */
  readonly input: string;
  /**
   * Problems the reference tool only warns about (dpkg: "version number does not start with
   * digit"); the version is still usable and compares as the tool compares it.
   */
  readonly warnings: readonly string[];
}

export interface VersionScheme<P extends ParsedVersion = ParsedVersion> {
  readonly id: VersionSchemeId;
  /** The reference implementation this scheme follows, with its version. */
  readonly reference: string;
  /**
   * -1, 0 or 1 as a is older than, the same as or newer than b. Total on every input (strings
   * `parse` rejects still get a consistent place, described per scheme); never throws; time
   * linear in the input lengths.
   */
  compare(a: string, b: string): Ordering;
  /** The parts of a version, or the reason the reference tool would reject it (returned, not thrown). */
  parse(v: string): P | InvalidVersionError;
  /** Whether `parse` succeeds. */
  valid(v: string): boolean;
}

/** Every scheme, in one list: add a scheme here and to the conformance suite. */
export const VERSION_SCHEMES: readonly VersionScheme[] = [debScheme, rpmScheme, apkScheme, semverScheme, goScheme];

export function isVersionSchemeId(id: string): id is VersionSchemeId {
  return (VERSION_SCHEME_IDS as readonly string[]).includes(id);
}

/** The scheme for an id; a UsageError names the known ids when there is none. */
export function schemeFor(id: VersionSchemeId): VersionScheme {
  const scheme = VERSION_SCHEMES.find((s) => s.id === id);
  if (scheme === undefined) throw new UsageError(`unknown version scheme '${String(id)}': known schemes are ${VERSION_SCHEME_IDS.join(', ')}`);
  return scheme;
}
