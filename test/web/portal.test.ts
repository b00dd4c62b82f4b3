/**
 * The portal in a real browser (Debian's chromium through playwright-core) against the real
 * `hullscan serve` on a loopback port, over a small fleet of real AKS node disks
 * (test/fixtures/aks-node.ts): an account with scanning off → "Agentless scanning for machines"
 * on → Save (and a 412 conflict) → Scan now → the recommendation → Findings tab → a CVE's pane →
 * the pool's remediation → dismiss a malware alert; every page screenshotted to
 * .cache/screenshots/ and checked by axe-core (no serious or critical violation). What the page
 * shows is compared with the API's answers. Prints first-page and Findings-tab timings.
 * Needs web/dist (npm run build:web; `npm test` builds it first). With CI=true a missing
 * chromium fails the test instead of skipping it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { importFeeds } from '../../src/vulndb/store.ts';
import { aksNodeImage } from '../fixtures/aks-node.ts';
import { fixtureOrSkip } from '../fixtures/node-image.ts';
import { DEMO_FEEDS } from '../../scripts/demo-env.ts';
import { axeSerious, chromiumAvailable, CHROMIUM, launch, type Browser } from './browser.ts';

const REPO = join(import.meta.dirname, '..', '..');
const SHOTS = join(REPO, '.cache', 'screenshots');
const UBUNTU = 'AKSUbuntu-2204gen2containerd';
const TOKEN = 'hs_portal-test-0123456789abcdefghijklmnopqrstuvwxyz';
const ACCOUNT = 'sub-web';
const SCAN_TIMEOUT_MS = 6 * 60_000;
const strict = ['1', 'true'].includes((process.env['CI'] ?? '').toLowerCase());

let work: string;
let server: ChildProcess | undefined;
let base = '';
let browser: Browser | undefined;

async function apiGet<T>(path: string): Promise<T> {
  const r = await fetch(base + path, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200, `${path}: ${r.status} ${await r.clone().text()}`);
  return (await r.json()) as T;
}

function startServe(data: string, config: string, db: string): Promise<string> {
  // HULLSCAN_PORTAL_SERVE_SCRIPT: a stand-in for bin/hullscan.js while developing (same arguments).
  const script = process.env['HULLSCAN_PORTAL_SERVE_SCRIPT'];
  const args = script ? [script, data, config, db, '0'] : [join(REPO, 'bin', 'hullscan.js'), 'serve', '--data', data, '--config', config, '--db', db, '--listen', '127.0.0.1:0'];
  const child = spawn(process.execPath, args, { cwd: REPO, env: { ...process.env, HULLSCAN_BOOTSTRAP_TOKEN: TOKEN, HULLSCAN_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  server = child;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hullscan serve did not report its address:\n${out.slice(-3000)}`)), 60_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`hullscan serve exited (${code}):\n${out.slice(-3000)}`)));
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'hullscan-portal-'));
  mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => server!.once('exit', r));
  }
  rmSync(work, { recursive: true, force: true });
});

function nav(page: Page, label: string) {
  return page.getByRole('navigation', { name: 'Portal' }).getByRole('link', { name: label, exact: true });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const v = await axeSerious(page);
  assert.deepEqual(v, [], `axe-core on ${name}: ${JSON.stringify(v, null, 1)}`);
}

test('the security flow in a real browser: toggle on, scan now, recommendation, Findings, CVE pane, remediation, alert dismissed', { timeout: 15 * 60_000 }, async (t) => {
  if (!chromiumAvailable()) {
    if (strict) assert.fail(`chromium is missing at ${CHROMIUM}: apt-get install -y chromium (scripts/apt-packages.txt)`);
    t.skip(`chromium is missing at ${CHROMIUM}`);
    return;
  }
  assert.ok(existsSync(join(REPO, 'web', 'dist', 'index.html')), 'web/dist is not built: npm run build:web');
  const images = await fixtureOrSkip(t, Promise.all([
    aksNodeImage(UBUNTU, '202309.06.0', 'qcow2'),
    aksNodeImage(UBUNTU, '202309.06.0', 'vhdx', { drift: 'hotpatch' }),
    aksNodeImage(UBUNTU, '202408.05.0', 'vhdx', { malware: true }),
  ]));
  if (!images) return;
  const [a, hot, infected] = images;
  const db = join(work, 'vuln.db');
  await importFeeds(db, DEMO_FEEDS.map((f) => join(REPO, f)));
  const config = join(work, 'environment.json');
  writeFileSync(config, JSON.stringify({
    accounts: [{
      id: ACCOUNT, provider: 'local', name: 'Web portal test',
      settings: { agentlessScanning: false, malware: false },
      clusters: [{
        name: 'aks-portal',
        pools: [
          { name: 'np1', nodeImage: `${UBUNTU}-202309.06.0`, latestNodeImage: `${UBUNTU}-202608.20.0`, nodes: [{ name: 'aks-np1-0', disk: a }, { name: 'aks-np1-1', disk: hot }] },
          { name: 'np2', nodeImage: `${UBUNTU}-202408.05.0`, nodes: [{ name: 'aks-np2-0', disk: infected }] },
        ],
      }],
    }],
  }));
  base = await startServe(join(work, 'data'), config, db);
  const portal = await fetch(`${base}/`);
  assert.equal(portal.status, 200, `hullscan serve does not serve the portal at / (mount src/api/static.ts staticPortal): ${portal.status}`);
  assert.match(portal.headers.get('content-type') ?? '', /text\/html/);
  const apiMiss = await fetch(`${base}/api/v1/no-such-route`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(apiMiss.status, 404);
  assert.match(apiMiss.headers.get('content-type') ?? '', /problem\+json/, 'the SPA fallback must not answer /api paths');

  browser = await launch({ token: TOKEN });
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Overview: first page interactive.
  const t0 = performance.now();
  await page.goto(`${base}/`);
  await page.getByText('nodes scanned').waitFor();
  const firstPageMs = performance.now() - t0;
  await page.getByText('scanning off for the account').waitFor();
  await shot(page, '01-overview-scanning-off');

  // Environment settings → the account → toggle → Save.
  await nav(page, 'Environment settings').click();
  await page.getByRole('link', { name: 'Web portal test' }).click();
  await page.getByText('Scanning is off for this subscription').waitFor();
  await shot(page, '02-settings-off');
  await page.getByRole('switch', { name: 'Agentless scanning for machines' }).check();
  await page.getByRole('switch', { name: 'Malware scanning' }).check();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/Saved: settings version/).waitFor();
  const settings = await apiGet<{ settings: { agentlessScanning: boolean; malware: boolean } }>(`/api/v1/accounts/${ACCOUNT}/settings`);
  assert.equal(settings.settings.agentlessScanning, true);
  assert.equal(settings.settings.malware, true);

  // A concurrent change (another client) → Save answers 412 → the page says who changed what.
  const cur = await fetch(`${base}/api/v1/accounts/${ACCOUNT}/settings`, { headers: { authorization: `Bearer ${TOKEN}` } });
  const other = await fetch(`${base}/api/v1/accounts/${ACCOUNT}/settings`, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', 'if-match': cur.headers.get('etag')! }, body: JSON.stringify({ retentionDays: 30 }) });
  assert.equal(other.status, 200);
  await page.getByRole('button', { name: 'Add tag' }).isVisible();
  await page.getByLabel('Tag key').fill('portal-skip');
  await page.getByLabel('Tag value').fill('true');
  await page.getByRole('button', { name: 'Add tag' }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('someone else changed these settings').waitFor();
  await page.getByText(/Retention \(days\): 90 → 30/).waitFor();
  await shot(page, '03-settings-conflict');
  await page.getByRole('button', { name: 'Reload and keep my changes' }).click();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/Saved: settings version/).waitFor();

  // Scan now → live progress → completed.
  await page.getByRole('button', { name: 'Scan now' }).click();
  await page.getByRole('progressbar', { name: 'Scan progress' }).waitFor();
  await shot(page, '04-scan-running');
  await page.getByText(/Scan completed/).waitFor({ timeout: SCAN_TIMEOUT_MS });
  await shot(page, '05-scan-completed');

  // Recommendations → the recommendation → details.
  await nav(page, 'Recommendations').click();
  await page.getByRole('link', { name: 'Kubernetes nodes should have vulnerability findings resolved' }).click();
  await page.getByText('Affected resources').waitFor();
  await page.getByRole('cell', { name: 'aks-portal' }).waitFor();
  await shot(page, '06-recommendation-details');

  // Findings tab: the total the API reports; a CVE → its pane with every affected node.
  const api = await apiGet<{ items: { vulnerabilityId: string; nodes: number }[]; total: number }>(`/api/v1/findings?limit=50`);
  assert.ok(api.total > 0, 'the scan found vulnerabilities');
  const t1 = performance.now();
  await page.getByRole('tab', { name: 'Findings' }).click();
  await page.getByRole('table', { name: 'Findings' }).waitFor();
  const findingsTabMs = performance.now() - t1;
  await page.getByText(`${api.total.toLocaleString('en-US')} vulnerabilities`).waitFor();
  const firstRow = api.items[0]!;
  await page.getByRole('table', { name: 'Findings' }).getByRole('link', { name: firstRow.vulnerabilityId, exact: true }).waitFor();
  await shot(page, '07-findings');
  // A CVE on more than one node, to see the tree.
  const multi = api.items.find((i) => i.nodes > 1) ?? firstRow;
  const pane = await apiGet<{ affected: { node: string; package: string; installedVersion: string }[] }>(`/api/v1/vulnerabilities/${encodeURIComponent(multi.vulnerabilityId)}`);
  await page.getByRole('table', { name: 'Findings' }).getByRole('link', { name: multi.vulnerabilityId, exact: true }).click();
  assert.match(page.url(), new RegExp(`cve=${multi.vulnerabilityId}`));
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('tree', { name: /Affected clusters/ }).waitFor();
  for (const r of pane.affected) await dialog.getByText(r.node, { exact: true }).first().waitFor();
  await dialog.getByText(`${pane.affected[0]!.package} ${pane.affected[0]!.installedVersion}`, { exact: false }).first().waitFor();
  await shot(page, '08-cve-pane');
  // The pane is deep-linkable.
  const deep = await browser.context.newPage();
  await deep.goto(page.url());
  await deep.getByRole('dialog').getByRole('tree').waitFor();
  await deep.close();
  await dialog.getByRole('button', { name: 'Close' }).click();

  // Node pools: the remediation sentence the API computes.
  const rem = await apiGet<{ items: { nodePool: string; summary: string }[] }>('/api/v1/remediation');
  const np1 = rem.items.find((r) => r.nodePool === 'np1');
  assert.ok(np1, 'remediation for np1');
  await nav(page, 'Node pools').click();
  await page.getByText(np1.summary, { exact: true }).waitFor();
  await shot(page, '09-node-pools');

  // Security alerts: open one, dismiss it with a reason.
  const alerts = await apiGet<{ items: { id: string; status: string }[] }>('/api/v1/alerts?status=active');
  assert.ok(alerts.items.length > 0, 'the infected node raised alerts');
  await nav(page, 'Security alerts').click();
  await page.getByRole('table', { name: 'Alerts' }).waitFor();
  await shot(page, '10-alerts');
  await page.getByRole('table', { name: 'Alerts' }).getByRole('link').first().click();
  await page.getByRole('button', { name: 'Dismiss' }).click();
  await page.getByRole('dialog').getByRole('textbox').fill('test file planted by the portal test');
  await shot(page, '11-alert-dismiss');
  await page.getByRole('button', { name: 'Dismiss alert' }).click();
  await page.getByText(/dismissed — test file planted/).waitFor();
  const after = await apiGet<{ items: { id: string }[] }>('/api/v1/alerts?status=dismissed');
  assert.equal(after.items.length, 1);

  for (const [name, label] of [['12-exemptions', 'Exemptions'], ['13-scans', 'Scans'], ['14-audit', 'Audit log'], ['15-access', 'Access']] as const) {
    await nav(page, label).click();
    await page.getByRole('heading', { level: 1, name: label }).waitFor();
    await shot(page, name);
  }
  await nav(page, 'Audit log').click();
  await page.getByRole('cell', { name: 'settings.update' }).first().waitFor();

  // Dark theme, and a narrow window.
  await nav(page, 'Overview').click();
  await page.getByRole('button', { name: 'Switch to the dark theme' }).click();
  await page.getByText('nodes scanned').waitFor();
  await shot(page, '16-overview-dark');
  await page.setViewportSize({ width: 400, height: 800 });
  await page.getByRole('button', { name: 'Menu' }).click();
  await shot(page, '17-narrow-menu');

  // A browser without the header: the token sign-in form.
  const anon = await launch();
  try {
    const p2 = await anon.context.newPage();
    await p2.goto(`${base}/`);
    await p2.getByLabel('API token').fill(TOKEN);
    await p2.getByRole('button', { name: 'Sign in with token' }).click();
    await p2.getByText('nodes scanned').waitFor();
  } finally {
    await anon.close();
  }

  assert.deepEqual(errors, [], 'no script errors in the page');
  console.log(`portal timings: first page interactive ${firstPageMs.toFixed(0)} ms; Findings tab (${api.total} vulnerabilities, first page of 50) rendered ${findingsTabMs.toFixed(0)} ms`);
});
