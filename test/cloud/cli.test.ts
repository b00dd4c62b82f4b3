/**
 * `hullscan run --once` against an account of each provider, end to end, as an operator runs it:
 * the real bin/hullscan.js in a child process, one environment file with an azure and an aws
 * account (endpoint overrides and caFile pointing at the tests' servers), credentials only from
 * the environment (HULLSCAN_AZURE_ACCESS_TOKEN; the standard AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY). The official SDKs in that process talk to local servers speaking the
 * documented wire protocols — ARM (test/cloud/servers/arm.ts) with the snapshot read through a
 * real SAS from Azurite, and EC2 Query / EKS / EBS direct REST-JSON (test/cloud/servers/aws.ts)
 * — no mock of our own interfaces. Findings from `hullscan findings --format json` must equal a
 * local scan of the same image; no snapshot may be left on either side.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AZURE_TOKEN_ENV } from '../../src/cloud/azure/credential.ts';
import { scanTarget } from '../../src/scan/scan.ts';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { azuriteOrSkip, type RunningAzurite } from '../helpers/azurite.ts';
import { ARM_TOKEN, startArmServer } from './servers/arm.ts';
import { startAwsServer } from './servers/aws.ts';
import { AWS_NODE, AWS_TEST_KEYS, awsAccount, awsFleet, awsVolume } from './servers/aws-env.ts';
import { azureAccount, SUBSCRIPTION } from './servers/azure-env.ts';

const REPO = join(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'hullscan.js');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const FEEDS = ['data/vulndb/ubuntu-22.04.osv.aks-slice.jsonl.gz'].map((f) => join(REPO, f));
const AZURE_NODE = 'aks-nodepool1-25481572-vmss000000';
const CHILD_TIMEOUT_MS = 600_000;

let work: string;
let dbPath: string;
let azurite: RunningAzurite | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-cloud-cli-'));
  dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, FEEDS);
});

after(async () => {
  await azurite?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The CLI in a child process, asynchronously: the protocol servers answer from this process's event loop. */
function hs(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    // Only what the CLI needs: no AWS profile or Azure login of the machine running the tests leaks in.
    const base = { PATH: process.env['PATH'] ?? '', HOME: work, ...(process.env['HULLSCAN_COMPILE_CACHE'] !== undefined && { HULLSCAN_COMPILE_CACHE: process.env['HULLSCAN_COMPILE_CACHE'] }) };
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: CHILD_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : -1), out, err }));
  });
}

function key(f: { vulnerabilityId: string; package: { name: string; version: string } }): string {
  return `${f.vulnerabilityId}|${f.package.name}|${f.package.version}`;
}

describe('hullscan run --once against an azure and an aws account', () => {
  test('one environment file, credentials from the environment: both accounts scanned, findings = a local scan, 0 snapshots left', async (t) => {
    const vhd = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'vhd-fixed'));
    const raw = await fixtureOrSkip(t, aksNodeImage(UBUNTU, '202608.20.0', 'raw'));
    if (!vhd || !raw) return;
    azurite = await azuriteOrSkip(t);
    if (!azurite) return;
    const volume = awsVolume(raw, work);
    const arm = await startArmServer({ subscription: SUBSCRIPTION, azurite, clusters: [{ name: 'aks-prod', resourceGroup: 'rg-prod', location: 'westeurope', kubernetesVersion: '1.30.4', pools: [{ name: 'nodepool1', nodeImageVersion: `${UBUNTU}-202608.20.0`, nodes: [{ instanceId: '0', computerName: AZURE_NODE, vhd }] }] }] });
    const aws = await startAwsServer({ region: 'eu-west-1', accountId: '111122223333', clusters: awsFleet(volume) });
    try {
      const config = join(work, 'env.json');
      writeFileSync(config, JSON.stringify({ accounts: [azureAccount(arm), awsAccount(aws)] }, null, 2));
      const data = join(work, 'data');
      const env = { [AZURE_TOKEN_ENV]: ARM_TOKEN, ...AWS_TEST_KEYS };

      const run = await hs(['run', '--once', '--data', data, '--config', config, '--db', dbPath, '--allow-private-urls', '--format', 'json'], env);
      assert.equal(run.code, 0, `exit code (stderr: ${run.err.slice(-2000)})`);
      const result = JSON.parse(run.out) as { runs: Array<{ account: string; state: string; counts: Record<string, number> }>; failed: number };
      assert.deepEqual(result.runs.map((r) => [r.account, r.state, r.counts]).sort(), [
        ['aws-prod', 'completed', { total: 1, published: 1, failed: 0, skipped: 0 }],
        ['sub-prod', 'completed', { total: 1, published: 1, failed: 0, skipped: 0 }],
      ]);
      assert.equal(result.failed, 0);
      assert.doesNotMatch(run.out + run.err, /sig=|AKIDEXAMPLE|wJalrXUtnFEMI|test-arm-token/, 'no SAS, key or token in the output');

      for (const [node, image] of [[AZURE_NODE, vhd], [AWS_NODE, volume]] as const) {
        const listed = await hs(['findings', '--data', data, '--node', node, '--format', 'json'], {});
        assert.equal(listed.code, 0, listed.err);
        const got = new Set((JSON.parse(listed.out) as Array<{ vulnerabilityId: string; package: { name: string; version: string } }>).map(key));
        const expected = new Set((await scanTarget(image, { dbPath })).findings.map(key));
        assert.ok(expected.size > 100, `${node}: a real package list`);
        assert.deepEqual(got, expected, `${node}: findings of the remote read = a local scan of the same image`);
      }

      assert.equal(arm.snapshots.size, 0, 'no Azure snapshot left');
      assert.equal(aws.snapshots.size, 0, 'no EBS snapshot left');
      assert.ok(arm.requests.some((r) => r.endsWith('/endGetAccess')) && aws.requests.includes('EC2 DeleteSnapshot'));
      assert.ok(aws.blockReads > 0, 'the AWS volume was read through EBS direct');
    } finally {
      await arm.close();
      await aws.close();
    }
  });
});
