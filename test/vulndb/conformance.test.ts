/**
 * One conformance suite run over every registered VulnSource (STYLE.md: one interface, several
 * implementations, one suite): each detects its own real samples and rejects every other
 * source's; each normalizes its samples without malformed records into well-typed output; and
 * seeded mutations of its samples never make normalize throw anything but a typed HullscanError
 * (test/helpers/fuzz.ts), nor emit ill-typed records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FIX_STATES, SEVERITIES, type Advisory, type EpssScore, type KevEntry, type NormalizeSink } from '../../src/vulndb/index.ts';
import { detectHead } from '../../src/vulndb/store.ts';
import { detectSource, VULN_SOURCES } from '../../src/vulndb/sources/registry.ts';
import { VERSION_SCHEME_IDS } from '../../src/version/index.ts';
import { fuzz, fuzzCases } from '../helpers/fuzz.ts';
import { SLICES } from './helpers.ts';

const SAMPLES: Record<string, string[]> = {
  osv: [SLICES.debian, SLICES.ubuntu, SLICES.ubuntuSamples, SLICES.alpine],
  'azurelinux-oval': [SLICES.oval],
  kev: [SLICES.kev],
  epss: [SLICES.epss],
  'alpine-secdb': [SLICES.secdb, SLICES.secdbEdge],
  'ubuntu-uct': [SLICES.uct, SLICES.uctSlice],
};

/** Malformed records the real raw files do contain (each checked by hand, see store.test.ts). */
const KNOWN_MALFORMED: Record<string, number> = { 'v3.21-main.json.gz': 1, 'vedge-community.json.gz': 4 };

/** A sink that checks every emitted record against the seam types. */
function checkingSink(): NormalizeSink & { counts: { advisories: number; kev: number; epss: number } } {
  const counts = { advisories: 0, kev: 0, epss: 0 };
  return {
    counts,
    advisory(a: Advisory): void {
      assert.ok(typeof a.id === 'string' && a.id.length > 0 && a.id.length <= 512);
      assert.ok(a.affected.length > 0, `${a.id}: an advisory without affected packages is not emitted`);
      assert.ok(a.aliases.every((x) => typeof x === 'string'));
      assert.ok(a.cvss.every((c) => c.score === undefined || (c.score >= 0 && c.score <= 10)));
      for (const p of a.affected) {
        assert.ok(p.namespace.length > 0 && p.name.length > 0);
        assert.ok((FIX_STATES as readonly string[]).includes(p.state));
        assert.ok((VERSION_SCHEME_IDS as readonly string[]).includes(p.versionScheme));
        assert.ok(Array.isArray(p.ranges));
        if (p.state === 'fixed') assert.ok(p.ranges.length > 0 && p.ranges.every((r) => typeof r.fixed === 'string' && r.fixed !== '0'), `${a.id}: fixed needs real fixed versions`);
        if (p.vendorSeverity) assert.ok((SEVERITIES as readonly string[]).includes(p.vendorSeverity.severity));
      }
      if (a.published !== undefined) assert.ok(!Number.isNaN(Date.parse(a.published)));
      counts.advisories++;
    },
    kev(e: KevEntry): void {
      assert.match(e.cve, /^CVE-\d{4}-\d{4,}$/);
      assert.match(e.dateAdded, /^\d{4}-\d{2}-\d{2}$/);
      counts.kev++;
    },
    epss(s: EpssScore): void {
      assert.ok(s.score >= 0 && s.score <= 1 && s.percentile >= 0 && s.percentile <= 1);
      assert.match(s.date, /^\d{4}-\d{2}-\d{2}$/);
      counts.epss++;
    },
  };
}

test('the registry lists every source once, with a sample set for each', () => {
  assert.deepEqual(VULN_SOURCES.map((s) => s.id).sort(), Object.keys(SAMPLES).sort());
});

for (const source of VULN_SOURCES) {
  test(`${source.id}: detects its own samples and no other source's`, () => {
    for (const [owner, files] of Object.entries(SAMPLES)) {
      for (const f of files) {
        const bytes = readFileSync(f);
        const head = detectHead(bytes);
        assert.equal(source.detect(basename(f), head), owner === source.id, `${source.id}.detect(${basename(f)})`);
        if (owner === source.id) assert.equal(detectSource(basename(f), head)?.id, source.id);
      }
    }
    assert.equal(source.detect('empty', new Uint8Array(0)), false);
    assert.equal(source.detect('x.json', new TextEncoder().encode('{"hello": "world"}')), false);
  });

  test(`${source.id}: normalizes its samples into well-typed records, malformed only where the raw data is`, async () => {
    for (const f of SAMPLES[source.id]!) {
      const sink = checkingSink();
      const report = await source.normalize(basename(f), readFileSync(f), sink);
      assert.equal(report.malformed, KNOWN_MALFORMED[basename(f)] ?? 0, `${basename(f)}: ${report.malformedExamples.join('; ')}`);
      assert.ok(report.advisories > 0);
      assert.equal(report.advisories, sink.counts.advisories + sink.counts.kev + sink.counts.epss);
    }
  });

  test(`${source.id}: mutated samples never throw an untyped error nor emit ill-typed records`, async () => {
    const f = SAMPLES[source.id]![0]!;
    let base: Uint8Array = readFileSync(f);
    // Fuzz the parser, not zlib: mutate the decompressed bytes (zip stays zip: its parser is ours to bound).
    if (f.endsWith('.gz')) base = gunzipSync(base);
    const name = basename(f).replace(/\.gz$/, '');
    const outcome = await fuzz(base, async (bytes) => source.normalize(name, bytes, checkingSink()), {
      cases: fuzzCases(40),
      seed: 1000,
      regions: [[0, base.length]],
      maxMutations: 8,
      allowTruncate: true,
      caseTimeoutMs: 10_000,
    });
    assert.equal(outcome.cases, fuzzCases(40));
  });
}
