/**
 * A deterministic ScanResult for the report tests: real package records and advisory strings
 * (the same as test/match/distro.test.ts) matched by the real matcher, one malware alert, one
 * suppressed finding and a coverage issue. Goldens are compared byte-wise; UPDATE_GOLDENS=1
 * rewrites them, and only then: review the diff before committing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert } from '../../src/malware/index.ts';
import { matchInventory } from '../../src/match/run.ts';
import { applyPolicy } from '../../src/scan/policy.ts';
import { SCAN_RESULT_SCHEMA_VERSION, type ScanResult } from '../../src/scan/result.ts';
import { advisory, deb, inventory, os } from '../match/helpers/build.ts';
import { memoryDb } from '../match/helpers/memory-db.ts';

export const DATA = new URL('../data/report/', import.meta.url).pathname;

const U = 'ubuntu:22.04';

export function sampleResult(): ScanResult {
  const inv = inventory(os('ubuntu', '22.04'), [
    deb('libssl3', '3.0.2-0ubuntu1.15', ['openssl', '3.0.2-0ubuntu1.15']),
    deb('openssh-server', '1:8.9p1-3ubuntu0.6', ['openssh', '1:8.9p1-3ubuntu0.6']),
    deb('ovmf', '2022.02-3ubuntu0.22.04.2', ['edk2', '2022.02-3ubuntu0.22.04.2']),
    // A hostile package name: a formula for spreadsheets, a comma and a quote for CSV.
    deb('=HYPERLINK("http://x"),evil', '1.0-1', ['evil', '1.0-1']),
    deb('linux-image-5.15.0-1068-azure', '5.15.0-1068.77', ['linux-signed-azure', '5.15.0-1068.77']),
  ], { installed: [{ release: '5.15.0-1068-azure', packageName: 'linux-image-5.15.0-1068-azure', hasModules: true, evidence: [] }], bootDefault: '5.15.0-1068-azure' });
  inv.node = { cluster: 'prod-eu', nodePool: 'np1', node: 'aks-np1-0' };
  const db = memoryDb({
    advisories: [
      advisory({ id: 'UBUNTU-CVE-2024-2511', aliases: ['CVE-2024-2511'], affected: [{ namespace: U, name: 'openssl', ranges: [{ introduced: '0', fixed: '3.0.2-0ubuntu1.17' }], vendorSeverity: { source: 'ubuntu', level: 'low', severity: 'low' } }] }),
      advisory({ id: 'UBUNTU-CVE-2024-6387', aliases: ['CVE-2024-6387'], cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H', source: 'nvd' }], affected: [{ namespace: U, name: 'openssh', ranges: [{ introduced: '0', fixed: '1:8.9p1-3ubuntu0.10' }], vendorSeverity: { source: 'ubuntu', level: 'high', severity: 'high' } }] }),
      advisory({ id: 'UBUNTU-CVE-2023-5678', aliases: ['CVE-2023-5678'], cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', source: 'nvd' }], affected: [{ namespace: U, name: 'edk2', state: 'affected', ranges: [{ introduced: '0' }] }] }),
      advisory({ id: 'UBUNTU-CVE-2099-0001', aliases: ['CVE-2099-0001'], affected: [{ namespace: U, name: 'evil', state: 'affected', ranges: [{ introduced: '0' }] }] }),
      advisory({ id: 'UBUNTU-CVE-2024-26925', aliases: ['CVE-2024-26925'], affected: [{ namespace: U, name: 'linux-azure', ranges: [{ introduced: '0', fixed: '5.15.0-1069.78' }], vendorSeverity: { source: 'ubuntu', level: 'medium', severity: 'medium' } }] }),
    ],
    kev: [{ cve: 'CVE-2024-6387', dateAdded: '2024-07-01' }],
    epss: [{ cve: 'CVE-2024-6387', score: 0.94387, percentile: 0.99941, date: '2026-08-16' }],
  });
  const match = matchInventory(inv, db);
  const alert: Alert = {
    id: 'malware|yara|EICAR_Test_File|/usr/local/bin/eicar.com',
    kind: 'malware', severity: 'high', engine: 'yara', rule: 'EICAR_Test_File', description: 'EICAR anti-malware test file',
    path: '/usr/local/bin/eicar.com', sha256: '275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f', size: 68, mtimeMs: 1_700_000_000_000,
    node: inv.node,
  };
  const result: ScanResult = {
    schemaVersion: SCAN_RESULT_SCHEMA_VERSION,
    target: '/images/aks-np1-0.vhd',
    node: inv.node,
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:00:05.000Z',
    scanners: ['vuln', 'malware'],
    inventory: inv,
    findings: match.findings,
    alerts: [alert],
    coverage: {
      vuln: { assessed: true, namespaces: match.assessed, db: { path: '/var/lib/hullscan/vuln.db', builtAt: '2026-11-30T00:00:00.000Z' }, issues: match.issues },
      malware: { assessed: true, engines: [{ id: 'yara', version: '0.3.0', signatures: 12 }], filesScanned: 1000, bytesScanned: 50_000_000, filesVerifiedByManifest: 900, skipped: [], issues: [] },
      target: [{ severity: 'warning', code: 'gpt.backup-header', message: 'backup GPT header missing', location: 'disk' }],
    },
  };
  return applyPolicy(result, { ignore: [{ id: 'CVE-2099-0001', reason: 'test package, never deployed', expires: '2027-01-31', where: '.hullscanignore:1' }], now: new Date('2026-12-01T00:00:00Z') });
}

export function assertGolden(name: string, actual: string): void {
  const path = join(DATA, 'golden', name);
  if (process.env.UPDATE_GOLDENS === '1') {
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden ${name} is missing: run with UPDATE_GOLDENS=1 to create it, then review it`);
  assert.equal(actual, readFileSync(path, 'utf8'), `output differs from golden ${name} (UPDATE_GOLDENS=1 rewrites it after review)`);
}
