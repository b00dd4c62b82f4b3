/**
 * Ubuntu CVE Tracker (UCT): Canonical's per-CVE triage, from which its OSV `UBUNTU-CVE-*`
 * records and OVAL feeds are generated. Imported as JSON Lines (plain or gzip), one CVE per line,
 * in the shape of the vulsio/vuls-data-raw-ubuntu-cve-tracker rendering of the UCT files
 * (launchpad.net/ubuntu-cve-tracker, `active/CVE-*`):
 *
 *   {"candidate": "CVE-2024-1234", "priority": "medium", "public_date": "2024-01-02 03:04:05 UTC",
 *    "cvss": {"nvd": " CVSS:3.1/AV:N/… [7.5 HIGH]"}, "description": "…", "references": ["…"],
 *    "packages": {"jammy": {"openssl": {"name": "openssl", "status": "released", "note": "3.0.2-0ubuntu1.17"}},
 *                 "esm-apps/jammy": {…}}}
 *
 * Why a second Ubuntu source next to OSV: OSV cannot say "won't fix" (Canonical renders needed,
 * deferred and ignored alike as "no fixed event", canonical/ubuntu-security-notices#7); UCT can.
 * Status rules (UCT README "status", https://git.launchpad.net/ubuntu-cve-tracker/tree/README):
 * - `released` with a version note → `fixed` below that source version; without one → `affected`
 *   (no version to compare: the triage says released but names nothing to install);
 * - `needed`, `active`, `pending`, `needs-triage` → `affected`;
 * - `deferred` → `deferred` (the note is often a date);
 * - `ignored`, `end-of-life` → `wont-fix` (the note says why: "end of kernel support",
 *   "superseded by linux-azure-6.5");
 * - `not-affected` → `not-affected`; `DNE` (not in this release) → no entry.
 * The UCT word and note are kept as `vendorStatus`, the priority as vendor severity (a package's
 * own `priority` over the CVE's). Release keys name Ubuntu codenames (data/os-codenames.json):
 * `jammy` → ubuntu:22.04; `esm-apps/jammy`, `esm-infra/jammy` → ubuntu-pro:22.04 (Pro-only
 * fixes, docs/vulndb.md); other keys (`upstream`, `devel`, `fips*`, unknown codenames) are counted
 * in `skipped`. Keys are SOURCE package names. The advisory id is the CVE id (UCT's own key).
 */
import codenames from '../../../../data/os-codenames.json' with { type: 'json' };
import { schemeFor } from '../../../version/index.ts';
import { parseCvssVector } from '../../cvss.ts';
import type { Advisory, AffectedPackage, Cvss, FixState, NormalizeReport, NormalizeSink, Severity, VulnSource } from '../../index.ts';
import { isObject, lines, MalformedRecord, maybeGunzip, MAX_ID_CHARS, optArray, optText, reqId, Tally, type JsonObject } from '../common.ts';

export const UBUNTU_UCT_SOURCE_ID = 'ubuntu-uct';

/** Most release keys, and packages per release, read from one CVE (jammy's largest: ~1,000 kernel flavours × releases). */
export const MAX_UCT_RELEASES_PER_CVE = 256;
export const MAX_UCT_PACKAGES_PER_RELEASE = 10_000;
/** Longest UCT note kept ("superseded by linux-oem-6.1, was needed"). */
export const MAX_UCT_NOTE_CHARS = 512;

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

const PRIORITIES: Record<string, Severity> = {
  negligible: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
  untriaged: 'unknown',
};

/** UCT status → our state; `released` is decided by its note. */
const STATUS_STATES: Record<string, Exclude<FixState, 'fixed'>> = {
  needed: 'affected',
  active: 'affected',
  pending: 'affected',
  'needs-triage': 'affected',
  deferred: 'deferred',
  ignored: 'wont-fix',
  'end-of-life': 'wont-fix',
  'not-affected': 'not-affected',
};

/** Ubuntu codename → "YY.MM", from the shared codename table. */
const UBUNTU_RELEASES = new Map(Object.entries(codenames.ubuntu).map(([version, name]) => [name, version]));

/** The namespace of a UCT release key, or undefined for keys that are no Ubuntu release we map. */
export function uctReleaseNamespace(key: string): string | undefined {
  const pro = /^esm-(?:apps|infra)\/([a-z]+)$/.exec(key);
  const version = UBUNTU_RELEASES.get(pro ? pro[1]! : key);
  if (version === undefined) return undefined;
  return `${pro ? 'ubuntu-pro' : 'ubuntu'}:${version}`;
}

/** "2019-12-03 15:15:00 UTC" (UCT's form) or RFC 3339 → ISO-8601 UTC. */
function uctDate(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) return undefined;
  const iso = v.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}(?::\d{2})?)(?: UTC)?$/, '$1T$2Z');
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

function textHead(head: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 8192)).replace(/^\uFEFF/, '').trimStart();
}

export const ubuntuUctSource: VulnSource = {
  id: UBUNTU_UCT_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    const t = textHead(head);
    if (!t.startsWith('{')) return false;
    // One UCT record per line: a CVE "candidate" and its "packages" per release, no OSV "affected".
    const first = t.split('\n', 1)[0]!;
    return /"candidate"\s*:\s*"CVE-/.test(first) && /"packages"\s*:/.test(t) && !/"affected"\s*:/.test(first);
  },

  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const data = maybeGunzip(raw, name);
    const deb = schemeFor('deb');
    for (const { line, number } of lines(data, name)) {
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (err) {
        tally.bad(`${name}:${number}`, `JSON does not parse: ${(err as Error).message}`);
        continue;
      }
      try {
        // dpkg requires a version to start with a digit (deb-version(7)); UCT notes sometimes hold prose.
        const advisory = normalizeRecord(record, name, tally, (v) => /^(?:\d+:)?\d/.test(v) && deb.valid(v));
        if (advisory === undefined) continue;
        sink.advisory(advisory);
        tally.advisories++;
      } catch (err) {
        if (!(err instanceof MalformedRecord)) throw err;
        tally.bad(`${name}:${number}`, err.message);
      }
    }
    return tally.report();
  },
};

function priorityOf(v: unknown): AffectedPackage['vendorSeverity'] {
  if (typeof v !== 'string' || v === '') return undefined;
  const level = v.slice(0, 40);
  return { source: 'ubuntu', level, severity: PRIORITIES[level.toLowerCase()] ?? 'unknown' };
}

/** `{"nvd": " CVSS:3.1/… [7.5 HIGH]"}`: the vector before the bracketed score, scored by cvss.ts. */
function cvssOf(record: JsonObject): Cvss[] {
  const out: Cvss[] = [];
  const c = record['cvss'];
  if (!isObject(c)) return out;
  for (const [source, value] of Object.entries(c).slice(0, 16)) {
    if (typeof value !== 'string') continue;
    const vector = value.trim().split(/\s+/, 1)[0] ?? '';
    const parsed = parseCvssVector(vector, source.slice(0, 40));
    if (parsed && !out.some((o) => o.vector === parsed.vector && o.source === parsed.source)) out.push(parsed);
  }
  return out;
}

function normalizeRecord(value: unknown, feed: string, tally: Tally, validVersion: (v: string) => boolean): Advisory | undefined {
  if (!isObject(value)) throw new MalformedRecord('record is not a JSON object');
  const cve = reqId(value, 'candidate', 'record');
  if (!CVE_ID.test(cve)) throw new MalformedRecord(`candidate ${JSON.stringify(cve.slice(0, 40))} is not a CVE id`);
  const packages = value['packages'];
  if (!isObject(packages)) throw new MalformedRecord(`${cve}: packages is not an object`);
  const releases = Object.entries(packages);
  if (releases.length > MAX_UCT_RELEASES_PER_CVE) throw new MalformedRecord(`${cve}: more than ${MAX_UCT_RELEASES_PER_CVE} releases`);
  const cvePriority = priorityOf(value['priority']);
  const affected: AffectedPackage[] = [];
  for (const [release, entries] of releases) {
    const namespace = uctReleaseNamespace(release);
    if (namespace === undefined) {
      tally.skip(`release:${release.slice(0, 40)}`);
      continue;
    }
    if (!isObject(entries)) throw new MalformedRecord(`${cve}: packages.${release.slice(0, 40)} is not an object`);
    const list = Object.entries(entries);
    if (list.length > MAX_UCT_PACKAGES_PER_RELEASE) throw new MalformedRecord(`${cve}: more than ${MAX_UCT_PACKAGES_PER_RELEASE} packages in ${release.slice(0, 40)}`);
    for (const [pkgName, entry] of list) {
      const where = `${cve} ${release.slice(0, 40)}/${pkgName.slice(0, 60)}`;
      if (pkgName.length === 0 || pkgName.length > MAX_ID_CHARS || !isObject(entry)) {
        tally.bad(feed, `${where}: not a package entry`);
        continue;
      }
      const status = entry['status'];
      if (typeof status !== 'string') {
        tally.bad(feed, `${where}: status is not a string`);
        continue;
      }
      if (status === 'DNE') {
        tally.skip('status:DNE');
        continue;
      }
      const rawNote = typeof entry['note'] === 'string' ? entry['note'].trim() : '';
      const note = rawNote.slice(0, MAX_UCT_NOTE_CHARS);
      let state: FixState;
      let ranges: AffectedPackage['ranges'];
      if (status === 'released') {
        if (note === '') {
          state = 'affected';
          ranges = [{}];
        } else if (validVersion(note)) {
          state = 'fixed';
          ranges = [{ fixed: note }];
        } else {
          tally.bad(feed, `${where}: released version ${JSON.stringify(note.slice(0, 40))} is not a Debian version`);
          continue;
        }
      } else {
        const mapped = STATUS_STATES[status];
        if (mapped === undefined) {
          tally.bad(feed, `${where}: unknown status ${JSON.stringify(status.slice(0, 40))}`);
          continue;
        }
        state = mapped;
        ranges = mapped === 'not-affected' ? [] : [{}];
      }
      const out: AffectedPackage = { namespace, name: pkgName, nameKind: 'source', versionScheme: 'deb', state, ranges, vendorStatus: { source: 'ubuntu', status: status.slice(0, 40), ...(note !== '' && { note }) } };
      const vendor = priorityOf(entry['priority']) ?? cvePriority;
      if (vendor !== undefined) out.vendorSeverity = vendor;
      affected.push(out);
    }
  }
  if (affected.length === 0) {
    tally.skip('no-supported-release');
    return undefined;
  }
  const advisory: Advisory = {
    id: cve,
    aliases: [cve],
    source: UBUNTU_UCT_SOURCE_ID,
    feed,
    cvss: cvssOf(value),
    references: optArray(value, 'references', 'record').filter((r): r is string => typeof r === 'string' && r.length <= 2048).slice(0, 2000),
    affected,
  };
  const published = uctDate(value['public_date']);
  if (published !== undefined) advisory.published = published;
  const summary = firstLine(optText(value, 'ubuntu_description') ?? optText(value, 'description'));
  if (summary !== undefined) advisory.summary = summary;
  return advisory;
}

function firstLine(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const line = text.trim().split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line || undefined;
}
