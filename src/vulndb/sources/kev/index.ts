/**
 * CISA Known Exploited Vulnerabilities catalog (JSON), schema
 * `known_exploited_vulnerabilities_schema.json` of cisagov/kev-data:
 * `{title, catalogVersion, dateReleased, count, vulnerabilities: [{cveID, vendorProject, product,
 * vulnerabilityName, dateAdded, shortDescription, requiredAction, dueDate,
 * knownRansomwareCampaignUse, notes, cwes}]}`. Plain or gzip-compressed.
 *
 * An entry without a valid `cveID` (schema pattern `^CVE-[0-9]{4}-[0-9]{4,19}$`) or `dateAdded`
 * (YYYY-MM-DD) is malformed and counted; a file that is not the catalogue shape is corrupt.
 */
import { CorruptError } from '../../../util/errors.ts';
import type { NormalizeReport, NormalizeSink, VulnSource } from '../../index.ts';
import { isObject, parseJsonFeed, Tally } from '../common.ts';

export const KEV_SOURCE_ID = 'kev';
/** Most catalogue entries read (1,404 in 2025-08). */
export const MAX_KEV_ENTRIES = 1_000_000;

const CVE_PATTERN = /^CVE-[0-9]{4}-[0-9]{4,19}$/;
const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export const kevSource: VulnSource = {
  id: KEV_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    const t = new TextDecoder().decode(head.subarray(0, 4096));
    return /^\s*\{/.test(t) && /"catalogVersion"\s*:/.test(t) && /Known Exploited Vulnerabilities|"vulnerabilities"\s*:/.test(t);
  },

  // async: a broken feed rejects the promise (never throws synchronously at the caller).
  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const doc = parseJsonFeed(raw, name, 'KEV catalogue');
    if (!isObject(doc) || !Array.isArray(doc['vulnerabilities'])) throw new CorruptError(`${name}: not a KEV catalogue (no vulnerabilities array)`);
    const entries = doc['vulnerabilities'];
    if (entries.length > MAX_KEV_ENTRIES) throw new CorruptError(`${name}: more than ${MAX_KEV_ENTRIES} KEV entries`);
    entries.forEach((e, i) => {
      const where = `${name} vulnerabilities[${i}]`;
      if (!isObject(e)) return tally.bad(where, 'entry is not an object');
      const cve = e['cveID'];
      const dateAdded = e['dateAdded'];
      if (typeof cve !== 'string' || !CVE_PATTERN.test(cve)) return tally.bad(where, 'cveID is not a CVE id');
      if (typeof dateAdded !== 'string' || !DATE_PATTERN.test(dateAdded)) return tally.bad(where, `${cve}: dateAdded is not YYYY-MM-DD`);
      const entry: Parameters<NormalizeSink['kev']>[0] = { cve, dateAdded };
      const str = (k: string): string | undefined => (typeof e[k] === 'string' && e[k].length > 0 && e[k].length <= 512 ? e[k] : undefined);
      const due = str('dueDate');
      if (due !== undefined && DATE_PATTERN.test(due)) entry.dueDate = due;
      const ransomware = str('knownRansomwareCampaignUse');
      if (ransomware !== undefined) entry.knownRansomwareCampaignUse = ransomware;
      const vendor = str('vendorProject');
      if (vendor !== undefined) entry.vendorProject = vendor;
      const product = str('product');
      if (product !== undefined) entry.product = product;
      sink.kev(entry);
      tally.advisories++;
    });
    return tally.report();
  },
};
