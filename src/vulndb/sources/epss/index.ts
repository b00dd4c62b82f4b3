/**
 * FIRST EPSS daily scores, CSV (usually gzip): https://www.first.org/epss/data_stats
 *
 *   #model_version:v2025.03.14,score_date:2025-03-20T00:00:00+0000
 *   cve,epss,percentile
 *   CVE-1999-0001,0.01167,0.78340
 *
 * The score date comes from the `score_date:` comment. Files without it (re-rendered API dumps)
 * take the date from an `epss_scores-YYYY-MM-DD` (or `epss-YYYY-MM-DD`) file name; with neither, the file is corrupt
 * (a score without a date cannot be judged for age). A row that is not `CVE id, number in
 * [0,1], number in [0,1]` is malformed and counted.
 */
import { CorruptError } from '../../../util/errors.ts';
import type { NormalizeReport, NormalizeSink, VulnSource } from '../../index.ts';
import { lines, maybeGunzip, Tally } from '../common.ts';

export const EPSS_SOURCE_ID = 'epss';

const CVE_PATTERN = /^CVE-\d{4}-\d{4,19}$/;
const NUMBER = /^(?:0(?:\.\d{1,20})?|1(?:\.0{1,20})?|\.\d{1,20}|\d(?:\.\d{1,20})?e-\d{1,3})$/i;

function headerDate(line: string): string | undefined {
  const m = /score_date:(\d{4}-\d{2}-\d{2})/.exec(line);
  return m ? m[1] : undefined;
}

export const epssSource: VulnSource = {
  id: EPSS_SOURCE_ID,

  detect(_name: string, head: Uint8Array): boolean {
    const t = new TextDecoder().decode(head.subarray(0, 512)).replace(/^\uFEFF/, '');
    return /^#model_version:[^\n]*score_date:/.test(t) || /^cve,epss,percentile\r?\n/.test(t);
  },

  // async: a broken feed rejects the promise (never throws synchronously at the caller).
  async normalize(name: string, raw: Uint8Array, sink: NormalizeSink): Promise<NormalizeReport> {
    const tally = new Tally();
    const data = maybeGunzip(raw, name);
    let date: string | undefined;
    let sawHeader = false;
    for (const { line, number } of lines(data, name)) {
      if (line.startsWith('#')) {
        date ??= headerDate(line);
        continue;
      }
      if (!sawHeader) {
        if (!/^\uFEFF?cve,epss,percentile$/.test(line.trim())) throw new CorruptError(`${name}: line ${number}: expected the header "cve,epss,percentile"`);
        sawHeader = true;
        date ??= /epss(?:_scores)?[-_](\d{4}-\d{2}-\d{2})/.exec(name)?.[1];
        if (date === undefined) throw new CorruptError(`${name}: no score_date comment and no date in the file name`);
        continue;
      }
      const cols = line.split(',');
      if (cols.length !== 3) {
        tally.bad(`${name}:${number}`, 'expected 3 columns');
        continue;
      }
      const [cve, epss, percentile] = cols as [string, string, string];
      if (!CVE_PATTERN.test(cve) || !NUMBER.test(epss) || !NUMBER.test(percentile)) {
        tally.bad(`${name}:${number}`, `not "CVE id,score,percentile": ${line.slice(0, 80)}`);
        continue;
      }
      const score = Number(epss);
      const pct = Number(percentile);
      if (!(score >= 0 && score <= 1 && pct >= 0 && pct <= 1)) {
        tally.bad(`${name}:${number}`, 'score or percentile outside [0,1]');
        continue;
      }
      sink.epss({ cve, score, percentile: pct, date: date! });
      tally.advisories++;
    }
    if (!sawHeader) throw new CorruptError(`${name}: no "cve,epss,percentile" header`);
    return tally.report();
  },
};
