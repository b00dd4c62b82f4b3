/** Go matcher: modules and stdlib from build info against the OSV Go ecosystem (real GO- records). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { matchInventory } from '../../src/match/run.ts';
import { importFeeds, openVulnDb } from '../../src/vulndb/store.ts';
import { advisory, inventory, os, pkg } from './helpers/build.ts';
import { memoryDb } from './helpers/memory-db.ts';

// GO-2024-2963 (CVE-2024-24791): net/http in stdlib, fixed 1.21.12 and 1.22.5 (OSV Go export).
const stdlib = advisory({ id: 'GO-2024-2963', aliases: ['CVE-2024-24791'], affected: [{ namespace: 'go', name: 'stdlib', nameKind: 'module', versionScheme: 'semver', ranges: [{ introduced: '0', fixed: '1.21.12' }, { introduced: '1.22.0-0', fixed: '1.22.5' }] }] });
// GO-2024-2687 (CVE-2023-45288): golang.org/x/net HTTP/2 CONTINUATION flood, fixed 0.23.0.
const xnet = advisory({ id: 'GO-2024-2687', aliases: ['CVE-2023-45288', 'GHSA-4v7x-pqxf-cx7m'], affected: [{ namespace: 'go', name: 'golang.org/x/net', nameKind: 'module', versionScheme: 'semver', ranges: [{ introduced: '0', fixed: '0.23.0' }] }] });

const gomod = (name: string, version: string): ReturnType<typeof pkg> => pkg({ type: 'golang', name, version, versionScheme: 'go', binaryPath: '/usr/local/bin/kubelet' });

describe('go matcher', () => {
  it('stdlib go1.22.4 is below 1.22.5 (toolchain tag compared as semver); go1.21.12 and go1.22.5 are fixed', () => {
    const db = memoryDb({ advisories: [stdlib, xnet] });
    const at = (v: string) => matchInventory(inventory(os('ubuntu', '22.04'), [gomod('stdlib', v)]), db).findings;
    const [f] = at('go1.22.4');
    assert.equal(f?.fixedVersion, '1.22.5');
    assert.equal(f?.evidence.comparedVersion, 'v1.22.4');
    assert.equal(f?.evidence.matchedOn, 'module');
    assert.equal(at('go1.22.5').length, 0);
    assert.equal(at('go1.21.12').length, 0);
    assert.equal(at('go1.21.11')[0]?.fixedVersion, '1.21.12');
  });
  it('module v0.17.0 ("v" prefix) < OSV 0.23.0; v0.23.0 is fixed; pseudo-versions order as pre-releases', () => {
    const db = memoryDb({ advisories: [stdlib, xnet] });
    const at = (v: string) => matchInventory(inventory(undefined, [gomod('golang.org/x/net', v)]), db).findings.map((f) => f.vulnerabilityId);
    assert.deepEqual(at('v0.17.0'), ['CVE-2023-45288']);
    assert.deepEqual(at('v0.23.0'), []);
    assert.deepEqual(at('v0.23.1-0.20240401000000-abcdefabcdef'), []);
    assert.deepEqual(at('v0.22.1-0.20240101000000-abcdefabcdef'), ['CVE-2023-45288']);
  });
  it('"(devel)" builds are counted as not assessed', () => {
    const r = matchInventory(inventory(undefined, [gomod('example.com/tool', '(devel)')]), memoryDb({ advisories: [xnet] }));
    assert.equal(r.issues.find((i) => i.code === 'match.version-unparseable')?.message.includes('example.com/tool (devel)'), true);
  });
  it('no Go data imported: a coverage issue naming the module and binary counts, no findings', () => {
    const r = matchInventory(inventory(undefined, [gomod('stdlib', 'go1.22.4'), gomod('golang.org/x/net', 'v0.17.0')]), memoryDb({ advisories: [], namespaces: ['ubuntu:22.04'] }));
    assert.equal(r.findings.length, 0);
    assert.match(r.issues.find((i) => i.code === 'match.no-data')?.message ?? '', /no vulnerability data for Go modules .*2 modules in 1 binaries/);
  });
});

describe('go matcher through the real database (importFeeds over real golang/vulndb OSV records)', () => {
  it('stdlib multi-pair ranges and x/net module versions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hullscan-go-'));
    try {
      await importFeeds(join(dir, 'v.db'), [new URL('../data/match/go.osv.slice.jsonl', import.meta.url).pathname]);
      const db = openVulnDb(join(dir, 'v.db'));
      try {
        const at = (name: string, v: string): string[] => matchInventory(inventory(os('ubuntu', '22.04'), [gomod(name, v)]), db).findings.map((f) => `${f.vulnerabilityId}<${f.fixedVersion}`).sort();
        assert.deepEqual(at('stdlib', 'go1.22.4'), ['CVE-2024-24791<1.22.5']);
        assert.deepEqual(at('stdlib', 'go1.21.11'), ['CVE-2024-24791<1.21.12'], 'the first pair of a multi-pair range');
        assert.deepEqual(at('stdlib', 'go1.21.8'), ['CVE-2023-45288<1.21.9', 'CVE-2024-24791<1.21.12']);
        assert.deepEqual(at('stdlib', 'go1.22.5'), []);
        assert.deepEqual(at('stdlib', 'go1.22rc1'), ['CVE-2023-45288<1.22.2', 'CVE-2024-24791<1.22.5'], 'a release candidate is inside [1.22.0-0, 1.22.2)');
        assert.deepEqual(at('golang.org/x/net', 'v0.17.0'), ['CVE-2023-45288<0.23.0']);
        assert.deepEqual(at('golang.org/x/net', 'v0.23.0'), []);
        const [f] = matchInventory(inventory(undefined, [gomod('golang.org/x/net', 'v0.17.0')]), db).findings;
        assert.equal(f?.evidence.advisory.id, 'GO-2024-2687');
        assert.ok(f?.aliases.includes('GHSA-4v7x-pqxf-cx7m'));
        assert.deepEqual(f?.evidence.package, [{ path: '/usr/local/bin/kubelet', line: 1 }]);
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
