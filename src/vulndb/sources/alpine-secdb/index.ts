/**
 * Alpine secdb (https://secdb.alpinelinux.org/<branch>/<repo>.json; the format of
 * alpinelinux/alpine-secdb, generated from the `secfixes` comments of aports APKBUILDs):
 *
 *   {"distroversion": "v3.21", "reponame": "main", "packages": [
 *     {"pkg": {"name": "openssl", "secfixes": {"3.3.2-r0": ["CVE-2024-6119"], "0": ["CVE-2022-1292"]}}}]}
 *
 * `name` is the origin (source) package; each key of `secfixes` is the apk version that fixes
 * the ids listed under it. secdb has no "unfixed" state and no dates. Rules:
 * - version `"0"` means "never affected in this branch" → `not-affected` (aports secfixes
 *   convention);
 * - an id entry may carry extra words ("CVE-2021-27219 GHSL-2021-045"): the first word is the
 *   id, the rest are aliases; an entry starting "CVE-" that is not a CVE id is malformed;
 * - one advisory per id and file, one affected package per package name; a CVE fixed at two
 *   versions of one package (a re-fix) keeps the higher one: versions below the incomplete
 *   first fix are still vulnerable below the second.
 * Namespace from `distroversion` ("v3.21" → alpine:3.21, "edge" → alpine:edge).
 */
import { CorruptError } from '../../../util/errors.ts';
import { schemeFor } from '../../../version/index.ts';
import type { Advisory, AffectedPackage, NormalizeReport, NormalizeSink, VulnSource } from '../../index.ts';
import { ecosystemNamespace } from '../../namespace.ts';
import { isObject, MAX_ID_CHARS, parseJsonFeed, Tally } from '../common.ts';

export const ALPINE_SECDB_SOURCE_ID = 'alpine-secdb';
/** Most packages, and fix versions per package, read from one secdb file (v3.21 community: 414 packages). */
export const MAX_SECDB_PACKAGES = 100_000;
export const MAX_SECFIXES_PER_PACKAGE = 10_000;

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const OTHER_ID = /^[A-Z][A-Z0-9]{1,15}-[A-Za-z0-9][A-Za-z0-9.:_-]{0,63}$/;

export const alpineSecdbSource: VulnSource = {
  id: ALPINE_SECDB_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    const t = new TextDecoder().decode(head.subarray(0, 4096));
    return /^\s*\{/.test(t) && /"distroversion"\s*:/.test(t) && /"(packages|reponame|apkurl)"\s*:/.test(t);
  },

  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const doc = parseJsonFeed(raw, name, 'secdb file');
    if (!isObject(doc) || !Array.isArray(doc['packages'])) throw new CorruptError(`${name}: not a secdb file (no packages array)`);
    const branch = typeof doc['distroversion'] === 'string' ? doc['distroversion'] : '';
    const ns = ecosystemNamespace(`Alpine:${branch === 'edge' || branch === 'vedge' ? 'edge' : branch}`);
    if (!ns) throw new CorruptError(`${name}: distroversion "${branch.slice(0, 20)}" is not an Alpine branch`);
    const packages = doc['packages'];
    if (packages.length > MAX_SECDB_PACKAGES) throw new CorruptError(`${name}: more than ${MAX_SECDB_PACKAGES} packages`);
    const apk = schemeFor('apk');
    // id → { aliases, package name → fixed version or "0" }
    const byId = new Map<string, { aliases: Set<string>; fixes: Map<string, string> }>();
    packages.forEach((p, i) => {
      const where = `${name} packages[${i}]`;
      const pkg = isObject(p) ? p['pkg'] : undefined;
      if (!isObject(pkg) || typeof pkg['name'] !== 'string' || pkg['name'].length === 0 || pkg['name'].length > MAX_ID_CHARS) {
        tally.bad(where, 'pkg.name is missing');
        return;
      }
      const pkgName = pkg['name'];
      const secfixes = pkg['secfixes'];
      if (secfixes === undefined) return;
      if (!isObject(secfixes)) {
        tally.bad(where, `${pkgName}: secfixes is not an object`);
        return;
      }
      const entries = Object.entries(secfixes);
      if (entries.length > MAX_SECFIXES_PER_PACKAGE) {
        tally.bad(where, `${pkgName}: more than ${MAX_SECFIXES_PER_PACKAGE} secfixes`);
        return;
      }
      for (const [version, ids] of entries) {
        if (version.length === 0 || version.length > MAX_ID_CHARS || !Array.isArray(ids)) {
          tally.bad(where, `${pkgName}: secfixes entry "${version.slice(0, 40)}" is not a version with a list of ids`);
          continue;
        }
        if (version !== '0' && !apk.valid(version)) {
          tally.bad(where, `${pkgName}: "${version.slice(0, 40)}" is not an apk version`);
          continue;
        }
        for (const entry of ids) {
          const words = typeof entry === 'string' ? entry.trim().split(/\s+/) : [];
          const id = words[0] ?? '';
          if (!(CVE_ID.test(id) || (!id.startsWith('CVE-') && OTHER_ID.test(id)))) {
            tally.bad(where, `${pkgName} ${version}: "${String(entry).slice(0, 40)}" is not an advisory id`);
            continue;
          }
          let rec = byId.get(id);
          if (!rec) {
            rec = { aliases: new Set(), fixes: new Map() };
            byId.set(id, rec);
          }
          for (const w of words.slice(1)) if (OTHER_ID.test(w) || CVE_ID.test(w)) rec.aliases.add(w);
          const prev = rec.fixes.get(pkgName);
          // "0" (never affected) yields to any real fix; among real fixes the higher one wins.
          if (prev === undefined || prev === '0' || (version !== '0' && apk.compare(version, prev) > 0)) rec.fixes.set(pkgName, version);
        }
      }
    });
    for (const [id, rec] of byId) {
      const affected: AffectedPackage[] = [...rec.fixes].map(([pkgName, version]) => ({
        namespace: ns.namespace,
        name: pkgName,
        nameKind: 'source',
        versionScheme: 'apk',
        state: version === '0' ? 'not-affected' : 'fixed',
        ranges: version === '0' ? [] : [{ fixed: version }],
      }));
      const aliases = [...rec.aliases].filter((a) => a !== id);
      const advisory: Advisory = {
        id,
        aliases: CVE_ID.test(id) ? [id, ...aliases] : [...aliases.filter((a) => CVE_ID.test(a)), ...aliases.filter((a) => !CVE_ID.test(a))],
        source: ALPINE_SECDB_SOURCE_ID,
        feed: name,
        cvss: [],
        references: [],
        affected,
      };
      sink.advisory(advisory);
      tally.advisories++;
    }
    return tally.report();
  },
};
