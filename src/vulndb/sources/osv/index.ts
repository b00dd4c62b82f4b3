/**
 * OSV (Open Source Vulnerability format): one source for every OSV feed: osv.dev's Debian,
 * Alpine and Go exports, Canonical's Ubuntu records, any other ecosystem we have a version
 * scheme for.
 *
 * Accepted containers (detected by content): one JSON record, a JSON array of records, JSONL,
 * any of these gzip-compressed, and a zip archive of JSON records (osv.dev's per-ecosystem
 * `all.zip`; the store also packs a directory of JSON files into one).
 *
 * Normalization follows the OSV schema 1.6 (ossf/osv-schema `docs/schema.md`, v1.6.3):
 * - `affected[].package.ecosystem` → namespace (namespace.ts); `name` is the source package for
 *   the distro ecosystems.
 * - `ranges[]` of type ECOSYSTEM and SEMVER become VersionRanges by walking `events` in order
 *   (introduced opens, fixed / last_affected closes; `limit` only bounds GIT ranges and is
 *   ignored with a count); GIT ranges are ignored with a count (commit hashes mean nothing to an
 *   installed package).
 * - Placeholders are normalized (STYLE.md "Don't" #4): `introduced: "0"` means "from the start"
 *   and is dropped; a `fixed` of "0" / "0:0" / "" means the feed says no version is vulnerable
 *   (Debian tracker `<not-affected>`), so the entry becomes `not-affected`; an entry with no
 *   usable range and no `versions[]` is malformed.
 * - State: `fixed` when every range has a fixed version, `affected` otherwise. OSV has no
 *   "won't fix" (Canonical folds needed / deferred / ignored into "no fixed event", see
 *   canonical/ubuntu-security-notices#7), so OSV never yields `wont-fix`; the Ubuntu CVE
 *   Tracker source (sources/ubuntu-uct) has those states. One exception: a Debian entry with no
 *   fix whose `ecosystem_specific.urgency` is "unimportant" becomes `unimportant`.
 * - Vendor severity: Ubuntu `ecosystem_specific.ubuntu_priority` or a record `severity[]` of
 *   type "Ubuntu" (schema 1.7 records); Debian `ecosystem_specific.urgency`.
 * - `severity[]` CVSS_V2 / CVSS_V3 / CVSS_V4 vectors: 2.0 / 3.x scores computed (cvss.ts).
 * - `withdrawn` records are skipped with a count.
 */
import { CorruptError } from '../../../util/errors.ts';
import { parseCvssVector } from '../../cvss.ts';
import type { Advisory, AffectedPackage, Cvss, NormalizeReport, NormalizeSink, Severity, VersionRange, VulnSource } from '../../index.ts';
import { ecosystemNamespace } from '../../namespace.ts';
import {
  isGzip,
  isObject,
  isoDate,
  isZip,
  lines,
  MalformedRecord,
  maybeGunzip,
  MAX_ID_CHARS,
  optArray,
  optText,
  reqId,
  Tally,
  unzipEntries,
  type JsonObject,
} from '../common.ts';

export const OSV_SOURCE_ID = 'osv';

/** Most affected[] entries read from one record (osv.dev's largest Linux kernel records have ~100). */
export const MAX_AFFECTED_PER_RECORD = 10_000;
/** Most ranges per affected entry, and events per range. */
export const MAX_RANGES_PER_AFFECTED = 1_000;
export const MAX_EVENTS_PER_RANGE = 10_000;
/** Most enumerated versions kept per affected entry (Canonical lists every published version). */
export const MAX_VERSIONS_PER_AFFECTED = 20_000;
/** Most references and aliases kept per record. */
export const MAX_REFERENCES_PER_RECORD = 2_000;
export const MAX_ALIASES_PER_RECORD = 5_000;

/** Fixed-version placeholders meaning "never vulnerable" (Debian tracker `<not-affected>` → "0"). */
const NOT_AFFECTED_FIXED = new Set(['0', '0:0', '']);

const UBUNTU_PRIORITIES: Record<string, Severity> = {
  negligible: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
  critical: 'critical',
  untriaged: 'unknown',
};

/** Debian security tracker urgencies (https://security-team.debian.org/security_tracker.html). */
const DEBIAN_URGENCIES: Record<string, Severity> = {
  unimportant: 'negligible',
  low: 'low',
  medium: 'medium',
  high: 'high',
  'not yet assigned': 'unknown',
  'end-of-life': 'unknown',
};

const CVE_ID = /^CVE-\d{4}-\d{4,}$/;

function textHead(head: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, 4096)).replace(/^\uFEFF/, '').trimStart();
}

export const osvSource: VulnSource = {
  id: OSV_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    // osv.dev ships whole ecosystems as all.zip; no other source uses zip.
    if (isZip(head)) return true;
    if (isGzip(head)) return false;
    const t = textHead(head);
    if (!(t.startsWith('{') || t.startsWith('['))) return false;
    // An OSV record has "id" plus "affected"/"modified"/"schema_version"; KEV and others don't.
    if (/"catalogVersion"|"oval_definitions"/.test(t)) return false;
    return /"(schema_version|affected|modified)"\s*:/.test(t) && /"id"\s*:/.test(t);
  },

  // async: a broken feed rejects the promise (never throws synchronously at the caller).
  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const onRecord = (value: unknown, where: string): void => {
      normalizeRecord(value, where, name, sink, tally);
    };
    if (isZip(raw)) {
      unzipEntries(
        raw,
        name,
        (entry) => {
          if (!/\.json$/i.test(entry.name)) {
            tally.skip('non-json-zip-entry');
            return;
          }
          parseJsonDocument(entry.data, `${name}!${entry.name}`, onRecord, tally);
        },
        (entryName, reason) => tally.bad(`${name}!${entryName}`, reason),
      );
      return tally.report();
    }
    const data = maybeGunzip(raw, name);
    parseJsonDocument(data, name, onRecord, tally);
    return tally.report();
  },
};

/** Bytes skipped before a document: whitespace and a UTF-8 byte-order mark. */
const LEADING_BYTES = new Set([0x20, 0x0a, 0x0d, 0x09, 0xef, 0xbb, 0xbf]);

/**
 * One JSON value (record or array of records) or JSONL. A first line that is a whole JSON value
 * means JSONL, read line by line without decoding the whole file at once; otherwise the file is
 * one (pretty-printed) document, and if that does not parse either, JSONL with a broken line.
 */
function parseJsonDocument(data: Uint8Array, where: string, onRecord: (v: unknown, where: string) => void, tally: Tally): void {
  let start = 0;
  while (start < data.length && LEADING_BYTES.has(data[start]!)) start++;
  if (start >= data.length) return;
  const decoder = new TextDecoder('utf-8');
  if (data[start] === 0x5b /* [ */) {
    let doc: unknown;
    try {
      doc = JSON.parse(decoder.decode(data.subarray(start)));
    } catch (err) {
      throw new CorruptError(`${where}: JSON array does not parse: ${(err as Error).message}`, { cause: err });
    }
    if (!Array.isArray(doc)) throw new CorruptError(`${where}: not a JSON array`);
    doc.forEach((v, i) => onRecord(v, `${where}[${i}]`));
    return;
  }
  const nl = data.indexOf(0x0a, start);
  if (!parses(decoder.decode(data.subarray(start, nl < 0 ? data.length : nl)))) {
    let doc: unknown;
    let whole = false;
    try {
      doc = JSON.parse(decoder.decode(data.subarray(start)));
      whole = true;
    } catch {
      // not one document: JSONL whose first line is broken
    }
    if (whole) {
      onRecord(doc, where);
      return;
    }
  }
  // JSONL: one record per line; a line that does not parse is one malformed record.
  for (const { line, number } of lines(data, where)) {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      tally.bad(`${where}:${number}`, `JSON does not parse: ${(err as Error).message}`);
      continue;
    }
    onRecord(v, `${where}:${number}`);
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function normalizeRecord(value: unknown, where: string, feed: string, sink: NormalizeSink, tally: Tally): void {
  try {
    if (!isObject(value)) throw new MalformedRecord('record is not a JSON object');
    const id = reqId(value, 'id', 'record');
    if (value['withdrawn'] !== undefined && value['withdrawn'] !== null) {
      tally.skip('withdrawn');
      return;
    }
    const recordSeverity = recordVendorSeverity(value);
    const affected: AffectedPackage[] = [];
    const entries = optArray(value, 'affected', 'record');
    let badEntries = 0;
    if (entries.length > MAX_AFFECTED_PER_RECORD) throw new MalformedRecord(`more than ${MAX_AFFECTED_PER_RECORD} affected entries`);
    entries.forEach((entry, i) => {
      try {
        const a = normalizeAffected(entry, `affected[${i}]`, tally, recordSeverity);
        if (a) affected.push(a);
      } catch (err) {
        if (!(err instanceof MalformedRecord)) throw err;
        tally.bad(`${where} ${id}`, err.message);
        badEntries++;
      }
    });
    if (affected.length === 0) {
      // Only malformed entries: already counted once each.
      if (badEntries === 0) tally.skip('no-supported-affected');
      return;
    }
    const advisory: Advisory = {
      id,
      aliases: aliasesOf(value, id),
      source: OSV_SOURCE_ID,
      feed,
      cvss: cvssOf(value),
      references: referencesOf(value),
      affected,
    };
    const published = isoDate(value['published']);
    const modified = isoDate(value['modified']);
    const summary = optText(value, 'summary') ?? firstLine(optText(value, 'details'));
    if (published !== undefined) advisory.published = published;
    if (modified !== undefined) advisory.modified = modified;
    if (summary !== undefined) advisory.summary = summary;
    sink.advisory(advisory);
    tally.advisories++;
  } catch (err) {
    if (!(err instanceof MalformedRecord)) throw err;
    tally.bad(where, err.message);
  }
}

/** Details are often long prose: the first line (cut) stands in for a missing summary. */
function firstLine(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line || undefined;
}

function normalizeAffected(entry: unknown, where: string, tally: Tally, recordSeverity: AffectedPackage['vendorSeverity']): AffectedPackage | undefined {
  if (!isObject(entry)) throw new MalformedRecord(`${where} is not an object`);
  const pkg = entry['package'];
  if (!isObject(pkg)) throw new MalformedRecord(`${where}.package is missing`);
  const ecosystem = reqId(pkg, 'ecosystem', `${where}.package`);
  const name = reqId(pkg, 'name', `${where}.package`);
  const ns = ecosystemNamespace(ecosystem);
  if (!ns) {
    tally.skip(`unsupported-ecosystem:${ecosystem.split(':')[0]!.slice(0, 40)}`);
    return undefined;
  }
  const ranges: VersionRange[] = [];
  let notAffected = false;
  let open = false;
  let usableRanges = 0;
  const rawRanges = optArray(entry, 'ranges', where);
  if (rawRanges.length > MAX_RANGES_PER_AFFECTED) throw new MalformedRecord(`${where}: more than ${MAX_RANGES_PER_AFFECTED} ranges`);
  for (const [ri, r] of rawRanges.entries()) {
    if (!isObject(r)) throw new MalformedRecord(`${where}.ranges[${ri}] is not an object`);
    const type = r['type'];
    if (type === 'GIT') {
      tally.skip('git-range');
      continue;
    }
    if (type !== 'ECOSYSTEM' && type !== 'SEMVER') throw new MalformedRecord(`${where}.ranges[${ri}].type ${JSON.stringify(type)?.slice(0, 40)} is not ECOSYSTEM, SEMVER or GIT`);
    const events = optArray(r, 'events', `${where}.ranges[${ri}]`);
    if (events.length === 0) throw new MalformedRecord(`${where}.ranges[${ri}] has no events`);
    if (events.length > MAX_EVENTS_PER_RANGE) throw new MalformedRecord(`${where}.ranges[${ri}]: more than ${MAX_EVENTS_PER_RANGE} events`);
    usableRanges++;
    let current: VersionRange | undefined;
    for (const ev of events) {
      if (!isObject(ev)) throw new MalformedRecord(`${where}.ranges[${ri}] has a non-object event`);
      const [kind, v] = eventOf(ev, `${where}.ranges[${ri}]`);
      if (kind === 'introduced') {
        if (current) {
          ranges.push(current);
          open = true;
        }
        current = v === '0' ? {} : { introduced: v };
      } else if (kind === 'fixed') {
        if (NOT_AFFECTED_FIXED.has(v.trim())) {
          notAffected = true;
          current = undefined;
          continue;
        }
        ranges.push({ ...(current ?? {}), fixed: v });
        current = undefined;
      } else if (kind === 'last_affected') {
        ranges.push({ ...(current ?? {}), lastAffected: v });
        current = undefined;
        open = true;
      } else {
        tally.skip('limit-event');
      }
    }
    if (current) {
      ranges.push(current);
      open = true;
    }
  }
  const versions = optArray(entry, 'versions', where).filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_ID_CHARS);
  if (versions.length > MAX_VERSIONS_PER_AFFECTED) {
    tally.skip('versions-truncated');
    versions.length = MAX_VERSIONS_PER_AFFECTED;
  }
  if (usableRanges === 0 && versions.length === 0) {
    if (rawRanges.length > 0) return undefined; // only GIT ranges: already counted
    throw new MalformedRecord(`${where} (${ecosystem} ${name}) has no ranges and no versions`);
  }
  let state: AffectedPackage['state'];
  if (notAffected && ranges.length === 0 && versions.length === 0) state = 'not-affected';
  else if (ranges.length > 0 && !open && ranges.every((r) => r.fixed !== undefined)) state = 'fixed';
  else state = 'affected';
  const out: AffectedPackage = { namespace: ns.namespace, name, nameKind: ns.nameKind, versionScheme: ns.scheme, state, ranges };
  if (versions.length > 0) out.versions = versions;
  const vendor = entryVendorSeverity(entry, ecosystem) ?? (ecosystem.startsWith('Ubuntu') ? recordSeverity : undefined);
  if (vendor) out.vendorSeverity = vendor;
  // Debian's tracker rates some open issues "unimportant": vulnerable, no fix planned. Only an
  // entry without a fix says so; a fixed range stays fixed.
  if (vendor?.source === 'debian' && state === 'affected' && vendor.level.replace(/\*+$/, '').trim().toLowerCase() === 'unimportant') {
    out.state = 'unimportant';
    out.vendorStatus = { source: 'debian', status: 'unimportant', note: 'Debian security tracker urgency: unimportant' };
  }
  return out;
}

function eventOf(ev: JsonObject, where: string): ['introduced' | 'fixed' | 'last_affected' | 'limit', string] {
  const keys = Object.keys(ev);
  if (keys.length !== 1) throw new MalformedRecord(`${where}: an event must have exactly one key`);
  const kind = keys[0]!;
  if (kind !== 'introduced' && kind !== 'fixed' && kind !== 'last_affected' && kind !== 'limit') throw new MalformedRecord(`${where}: unknown event ${JSON.stringify(kind).slice(0, 40)}`);
  const v = ev[kind];
  if (typeof v !== 'string') throw new MalformedRecord(`${where}: ${kind} is not a string`);
  if (v.length > MAX_ID_CHARS) throw new MalformedRecord(`${where}: ${kind} version longer than ${MAX_ID_CHARS}`);
  return [kind, v];
}

function entryVendorSeverity(entry: JsonObject, ecosystem: string): AffectedPackage['vendorSeverity'] {
  const es = entry['ecosystem_specific'];
  if (!isObject(es)) return undefined;
  const priority = es['ubuntu_priority'];
  if (typeof priority === 'string' && ecosystem.startsWith('Ubuntu')) {
    return { source: 'ubuntu', level: priority.slice(0, 40), severity: UBUNTU_PRIORITIES[priority.toLowerCase()] ?? 'unknown' };
  }
  const urgency = es['urgency'];
  if (typeof urgency === 'string' && ecosystem.startsWith('Debian')) {
    // The tracker marks unconfirmed urgencies with a trailing "*" / "**".
    const level = urgency.replace(/\*+$/, '').trim().toLowerCase();
    return { source: 'debian', level: urgency.slice(0, 40), severity: DEBIAN_URGENCIES[level] ?? 'unknown' };
  }
  return undefined;
}

/** Schema 1.7 Ubuntu records carry the priority as `severity: [{type: "Ubuntu", score: "medium"}]`. */
function recordVendorSeverity(record: JsonObject): AffectedPackage['vendorSeverity'] {
  const sev = record['severity'];
  if (!Array.isArray(sev)) return undefined;
  for (const s of sev) {
    if (isObject(s) && s['type'] === 'Ubuntu' && typeof s['score'] === 'string') {
      const level = s['score'];
      return { source: 'ubuntu', level: level.slice(0, 40), severity: UBUNTU_PRIORITIES[level.toLowerCase()] ?? 'unknown' };
    }
  }
  return undefined;
}

function cvssOf(record: JsonObject): Cvss[] {
  const out: Cvss[] = [];
  const sev = record['severity'];
  if (!Array.isArray(sev)) return out;
  for (const s of sev.slice(0, 16)) {
    if (!isObject(s) || typeof s['score'] !== 'string') continue;
    const type = s['type'];
    if (type !== 'CVSS_V2' && type !== 'CVSS_V3' && type !== 'CVSS_V4') continue;
    const c = parseCvssVector(s['score']);
    if (c && !out.some((o) => o.vector === c.vector)) out.push(c);
  }
  return out;
}

/** CVE ids first (from the id itself, UBUNTU-CVE-/DEBIAN-CVE- prefixes, upstream, aliases, related), then other aliases. */
function aliasesOf(record: JsonObject, id: string): string[] {
  const cves = new Set<string>();
  const others = new Set<string>();
  const add = (v: unknown, includeOthers: boolean): void => {
    if (typeof v !== 'string' || v.length > MAX_ID_CHARS || cves.size + others.size >= MAX_ALIASES_PER_RECORD) return;
    const stripped = v.replace(/^(UBUNTU|DEBIAN)-(?=CVE-)/, '');
    if (CVE_ID.test(stripped)) cves.add(stripped);
    else if (includeOthers && v !== id) others.add(v);
  };
  add(id, false);
  for (const key of ['upstream', 'aliases']) for (const v of optArray(record, key, 'record')) add(v, true);
  // `related` also names other advisories (DSA/USN); only the CVEs in it are what this is about.
  for (const v of optArray(record, 'related', 'record')) add(v, false);
  return [...cves, ...others];
}

function referencesOf(record: JsonObject): string[] {
  const out: string[] = [];
  for (const r of optArray(record, 'references', 'record')) {
    if (out.length >= MAX_REFERENCES_PER_RECORD) break;
    if (isObject(r) && typeof r['url'] === 'string' && r['url'].length <= 2048) out.push(r['url']);
  }
  return out;
}
