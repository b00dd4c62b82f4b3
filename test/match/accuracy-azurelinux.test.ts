/**
 * Accuracy against real data, time-matched: the AKS Azure Linux 3.0 image 202502.26.0 package
 * list (built 2025-02-26) matched through the REAL database (importFeeds over Microsoft's Azure
 * Linux 3.0 OVAL of 2025-02-24, unmodified) versus an oracle evaluating the raw OVAL XML here:
 * each definition's rpminfo tests (object name, state EVR and operation, criteria AND) with
 * the real rpm's EVR comparison (`rpm --eval '%{lua: rpm.vercmp(a, b)}'`).
 *
 * The package list has binary names only (rpm -qa); test/data/match/README.md says how the
 * source RPM names in the TSV were derived (approximate, used by both sides alike).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Package } from '../../src/inventory/index.ts';
import { matchInventory } from '../../src/match/run.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { agreement, type Expected } from './helpers/accuracy.ts';
import { inventory, os, pkg } from './helpers/build.ts';

const DATA = new URL('../data/match/', import.meta.url).pathname;
const hasRpm = spawnSync('rpm', ['--eval', '%{lua: print(rpm.vercmp("1", "2"))}']).stdout?.toString().trim() === '-1';

function packagesFromTsv(path: string): Package[] {
  const out: Package[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, version, source, sourceVersion, , arch] = line.split('\t');
    out.push(pkg({ type: 'rpm', name: name!, version: version!, versionScheme: 'rpm', arch: arch!, source: { name: source!, version: sourceVersion! } }));
  }
  return out;
}

/** rpm.vercmp for many pairs in one rpm process. */
function rpmVercmp(pairs: [string, string][]): Map<string, number> {
  const uniq = [...new Map(pairs.map((p) => [`${p[0]}\0${p[1]}`, p])).values()];
  const q = (s: string): string => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const lua = uniq.map(([a, b]) => `r[#r+1] = rpm.vercmp(${q(a)}, ${q(b)})`).join(' ');
  const r = spawnSync('rpm', ['--eval', `%{lua: local r = {} ${lua} print(table.concat(r, ","))}`]);
  const lines = r.stdout.toString().trim().split(',');
  assert.equal(lines.length, uniq.length, `rpm --eval printed ${lines.length} results for ${uniq.length} pairs: ${r.stderr.toString()}`);
  return new Map(uniq.map(([a, b], i) => [`${a}\0${b}`, Number(lines[i])]));
}

function ovalOracle(xml: string, packages: Package[]): Expected[] {
  const objects = new Map([...xml.matchAll(/<linux-def:rpminfo_object id="([^"]+)"[^>]*>\s*<linux-def:name>([^<]+)<\/linux-def:name>/g)].map((m) => [m[1]!, m[2]!]));
  const states = new Map([...xml.matchAll(/<linux-def:rpminfo_state id="([^"]+)"[^>]*>\s*<linux-def:evr datatype="evr_string" operation="([^"]+)">([^<]+)<\/linux-def:evr>/g)].map((m) => [m[1]!, { op: m[2]!, evr: m[3]! }]));
  const tests = new Map([...xml.matchAll(/<linux-def:rpminfo_test [^>]*id="([^"]+)"[^>]*>\s*<linux-def:object object_ref="([^"]+)"\/>\s*<linux-def:state state_ref="([^"]+)"\/>/g)].map((m) => [m[1]!, { name: objects.get(m[2]!)!, state: states.get(m[3]!)! }]));
  const defs = [...xml.matchAll(/<definition class="vulnerability" id="([^"]+)"[\s\S]*?<reference ref_id="([^"]+)"[\s\S]*?<criteria operator="(AND|OR)">([\s\S]*?)<\/criteria>/g)].map((m) => ({ id: m[1]!, cve: m[2]!, op: m[3]!, tests: [...m[4]!.matchAll(/test_ref="([^"]+)"/g)].map((t) => tests.get(t[1]!)!) }));
  const bySource = new Map<string, Package[]>();
  for (const p of packages) bySource.set(p.source!.name, [...(bySource.get(p.source!.name) ?? []), p]);
  const evr = (p: Package): string => `0:${p.source!.version}`;
  const pairs: [string, string][] = [];
  for (const d of defs) for (const t of d.tests) for (const p of bySource.get(t.name) ?? []) pairs.push([evr(p), t.state.evr]);
  const cmp = rpmVercmp(pairs);
  const holds = (p: Package, t: { state: { op: string; evr: string } }): boolean => {
    const c = cmp.get(`${evr(p)}\0${t.state.evr}`)!;
    switch (t.state.op) {
      case 'less than': return c < 0;
      case 'less than or equal': return c <= 0;
      case 'greater than': return c > 0;
      case 'greater than or equal': return c >= 0;
      case 'equals': return c === 0;
      default: throw new Error(`operation ${t.state.op}`);
    }
  };
  const out = new Map<string, Expected>();
  for (const d of defs) {
    const names = new Set(d.tests.map((t) => t.name));
    for (const name of names) {
      for (const p of bySource.get(name) ?? []) {
        const results = d.tests.filter((t) => t.name === name).map((t) => holds(p, t));
        const vulnerable = d.op === 'AND' ? results.every(Boolean) : results.some(Boolean);
        if (!vulnerable) continue;
        const fixed = d.tests.find((t) => t.name === name && t.state.op === 'less than')?.state.evr;
        out.set(`${d.cve}|${p.id}`, { key: `${d.cve}|${p.id}`, ...(fixed !== undefined && { fixedVersion: fixed }), why: d.id });
      }
    }
  }
  return [...out.values()];
}

describe('accuracy: AKS Azure Linux 3.0 202502.26.0 vs OVAL 2025-02-24 (real DB, rpm oracle)', { skip: hasRpm ? false : 'rpm (with its lua rpm.vercmp) is not installed: it is the version oracle' }, () => {
  it('findings agree with the OVAL evaluated by rpm; kernel findings are marked as booting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-acc-azl-'));
    try {
      const oval = join(DATA, 'azurelinux-3.0-oval.xml.gz');
      await importFeeds(join(dir, 'vuln.db'), [oval]);
      const db = openVulnDb(join(dir, 'vuln.db'));
      try {
        const packages = packagesFromTsv(join(DATA, 'aks-azurelinux3-202502.26.0.packages.tsv'));
        const kernel = { installed: [{ release: '6.6.64.2-9.azl3', packageName: 'kernel', hasModules: true, evidence: [] }], bootDefault: '6.6.64.2-9.azl3' };
        const result = matchInventory(inventory(os('azurelinux', '3.0'), packages, kernel), db);
        const expected = ovalOracle(gunzipSync(readFileSync(oval)).toString('utf8'), packages);
        const a = agreement(result.findings, expected);
        console.log(`azurelinux 3.0 accuracy: packages ${packages.length}, findings ${result.findings.length}, oracle ${expected.length}, TP ${a.truePositives}, FP ${a.falsePositives.length}, FN ${a.falseNegatives.length}, fixed-version mismatches ${a.fixedVersionMismatches.length}, precision ${a.precision.toFixed(4)}, recall ${a.recall.toFixed(4)}`);
        // The image is two days newer than the OVAL and nearly fully patched: the oracle finds only a few.
        assert.ok(expected.length >= 1, `expected at least one finding, got ${expected.length}`);
        assert.ok(result.assessed[0]!.packages === packages.length);
        assert.deepEqual(a.falsePositives, []);
        assert.deepEqual(a.falseNegatives, []);
        console.log(`azurelinux 3.0 findings: ${result.findings.map((f) => `${f.vulnerabilityId} ${f.package.name} ${f.package.version} < ${f.fixedVersion}`).join('; ')}`);
        for (const f of result.findings.filter((x) => x.package.name === 'kernel')) assert.deepEqual(f.kernel, { release: '6.6.64.2-9.azl3', bootsByDefault: true });
        for (const f of result.findings) assert.equal(f.vendorSeverity?.source !== undefined, true, `${f.id} carries the OVAL severity`);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
