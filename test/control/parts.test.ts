/**
 * The control plane's parts on their own: the environment file (the contract example loads as
 * written), settings assignments and schedules, the local snapshot provider (frozen by a hard
 * link, tagged, deleted) and the sweeper (leftovers found by ledger and by tag).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LocalSnapshotProvider } from '../../src/cloud/local/snapshots.ts';
import { SnapshotError } from '../../src/cloud/index.ts';
import { loadEnvironment, parseEnvironment } from '../../src/control/environment.ts';
import { silentLogger } from '../../src/control/log.ts';
import { ownerId, ownerIsDead } from '../../src/control/owner.ts';
import { reasonOf } from '../../src/control/node-scan.ts';
import { describeSchedule, exclusionMatch, nextDue, parseAssignments, parseSchedule } from '../../src/control/settings.ts';
import { sweepSnapshots } from '../../src/control/sweeper.ts';
import { openStore, type Node } from '../../src/store/index.ts';
import { BudgetError, CorruptError, SourceError, UsageError } from '../../src/util/errors.ts';

const work = mkdtempSync(join(tmpdir(), 'hullscan-parts-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The environment file of issue #11, byte for byte: a contract that must load as written. */
const CONTRACT_EXAMPLE = `accounts:
  - id: sub-dev
    provider: local
    name: Development
    settings: { agentlessScanning: true, malware: true, exclusionTags: { hullscan-exclude: "true" } }
    clusters:
      - name: aks-dev
        pools:
          - name: np1
            nodeImage: AKSUbuntu-2204gen2containerd-202309.06.0
            nodes: [ { name: aks-np1-0, disk: images/np1-0.qcow2 }, { name: aks-np1-1, disk: images/np1-1.vhdx } ]
          - name: np2
            tags: { hullscan-exclude: "true" }
            nodes: [ { name: aks-np2-0, disk: images/np2-0.raw } ]
  - id: sub-prod
    provider: local
    settings: { agentlessScanning: false }
    clusters: [ { name: aks-prod, pools: [ { name: sys, nodes: [ { name: aks-sys-0, disk: images/sys-0.vhd } ] } ] } ]
`;

describe('environment file', () => {
  test('the contract example loads as written; relative disks resolve against the file', () => {
    const dir = join(work, 'env');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'environment.yaml'), CONTRACT_EXAMPLE);
    const env = loadEnvironment(join(dir, 'environment.yaml'));
    assert.deepEqual(env.accounts.map((a) => [a.id, a.provider, a.name, a.settings]), [
      ['sub-dev', 'local', 'Development', { agentlessScanning: true, malware: true, exclusionTags: { 'hullscan-exclude': 'true' } }],
      ['sub-prod', 'local', undefined, { agentlessScanning: false }],
    ]);
    const dev = env.accounts[0]!.clusters![0]!;
    assert.equal(dev.name, 'aks-dev');
    const [np1, np2] = dev.pools;
    assert.equal(np1!.imageFamily, 'AKSUbuntu-2204gen2containerd');
    assert.equal(np1!.imageVersion, '202309.06.0');
    assert.deepEqual(np1!.nodes.map((n) => [n.name, n.diskRef, n.ephemeralOsDisk]), [
      ['aks-np1-0', join(dir, 'images/np1-0.qcow2'), false],
      ['aks-np1-1', join(dir, 'images/np1-1.vhdx'), false],
    ]);
    assert.deepEqual(np2!.tags, { 'hullscan-exclude': 'true' });
    assert.equal(env.accounts[1]!.clusters![0]!.pools[0]!.nodes[0]!.diskRef, join(dir, 'images/sys-0.vhd'));
  });

  test('documented extra fields: schedules, on/off, ephemeral disks, URLs and absolute paths kept', () => {
    const env = parseEnvironment(
      `accounts:
  - id: a
    provider: local
    externalId: 00000000-0000-0000-0000-000000000001
    settings: { agentlessScanning: on, malware: off, schedule: { cron: "0 3 * * *", timezone: Europe/Berlin }, retentionDays: 30 }
    clusters:
      - name: c
        region: westeurope
        pools:
          - name: p
            nodeImage: AKSUbuntu-2204gen2containerd-202608.20.0
            latestNodeImage: AKSUbuntu-2204gen2containerd-202611.03.0
            nodes:
              - { name: e, ephemeralOsDisk: true, kernel: 5.15.0-1118-azure, osImage: Ubuntu 22.04.5 LTS }
              - { name: u, disk: "https://example.blob.core.windows.net/c/d.vhd" }
              - { name: f, disk: /abs/disk.raw, tags: { team: x } }
  - id: b
    provider: local
    settings: { schedule: 12h }
`,
      '/base',
    );
    const [a, b] = env.accounts;
    assert.deepEqual(a!.settings, { agentlessScanning: true, malware: false, retentionDays: 30, schedule: { kind: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' } });
    assert.equal(a!.externalId, '00000000-0000-0000-0000-000000000001');
    const pool = a!.clusters![0]!.pools[0]!;
    assert.equal(pool.latestImageVersion, '202611.03.0');
    assert.deepEqual(pool.nodes.map((n) => n.diskRef), [undefined, 'https://example.blob.core.windows.net/c/d.vhd', '/abs/disk.raw']);
    assert.equal(pool.nodes[0]!.ephemeralOsDisk, true);
    assert.equal(pool.nodes[0]!.kernel, '5.15.0-1118-azure');
    assert.deepEqual(b!.settings, { schedule: { kind: 'interval', hours: 12 } });
  });

  test('mistakes are refused with where they are: unknown fields, duplicates, bad YAML, clusters on a cloud account', () => {
    const cases: [string, RegExp][] = [
      ['accounts: [ { id: a, provider: local, setings: {} } ]', /setings|Unrecognized/i],
      ['accounts: [ { id: a, provider: local, settings: { agentlessScaning: true } } ]', /agentlessScaning|Unrecognized/i],
      ['accounts: [ { id: a, provider: local }, { id: a, provider: local } ]', /listed twice/],
      ['accounts: [ { id: a, provider: local, clusters: [ { name: c, pools: [ { name: p }, { name: p } ] } ] } ]', /pool 'p' twice/],
      ['accounts: [ { id: a, provider: azure, clusters: [] } ]', /only local accounts list clusters/],
      ['accounts: [ { id: a, provider: moon } ]', /provider/],
      ['accounts: [ { id: a, provider: local, settings: { schedule: "every tuesday" } } ]', /schedule/],
      ['accounts: [ { id: "a b", provider: local } ]', /accounts\.0\.id/],
      ['accounts: [ {', /not valid YAML/],
    ];
    for (const [text, why] of cases) assert.throws(() => parseEnvironment(text, '/'), (err: unknown) => err instanceof UsageError && why.test((err as Error).message), text);
    assert.throws(() => loadEnvironment(join(work, 'missing.yaml')), /does not exist/);
  });
});

describe('settings', () => {
  test('assignments as people type them', () => {
    assert.deepEqual(parseAssignments(['agentlessScanning=on', 'malware=off', 'exclusionTags=hullscan-exclude:true,env=test', 'schedule=weekly', 'retentionDays=30']), {
      agentlessScanning: true,
      malware: false,
      exclusionTags: { 'hullscan-exclude': 'true', env: 'test' },
      schedule: { kind: 'interval', hours: 168 },
      retentionDays: 30,
    });
    assert.deepEqual(parseAssignments(['exclusionTags=']), { exclusionTags: {} });
    for (const bad of ['agentlessScanning=maybe', 'frob=1', 'retentionDays=0', 'schedule=10m', 'noequals']) assert.throws(() => parseAssignments([bad]), UsageError, bad);
  });

  test('schedules: named, intervals, cron; when the next run is due', () => {
    assert.deepEqual(parseSchedule('daily'), { kind: 'interval', hours: 24 });
    assert.deepEqual(parseSchedule('90m'), { kind: 'interval', hours: 1.5 });
    assert.deepEqual(parseSchedule('2d'), { kind: 'interval', hours: 48 });
    assert.equal(describeSchedule(parseSchedule('daily')), 'daily');
    assert.equal(describeSchedule(parseSchedule('90m')), '90m');
    assert.equal(describeSchedule(parseSchedule('cron:0 3 * * *')), 'cron:0 3 * * *');
    assert.throws(() => parseSchedule('cron:61 * * * *'), /not a cron expression/);
    const now = new Date('2026-12-07T12:00:00.000Z');
    assert.equal(nextDue({ kind: 'interval', hours: 24 }, undefined, now).toISOString(), now.toISOString(), 'never ran: due now');
    assert.equal(nextDue({ kind: 'interval', hours: 24 }, new Date('2026-12-07T02:00:00.000Z'), now).toISOString(), '2026-12-08T02:00:00.000Z');
    assert.equal(nextDue({ kind: 'cron', expression: '0 3 * * *' }, new Date('2026-12-07T02:00:00.000Z'), now).toISOString(), '2026-12-07T03:00:00.000Z');
    assert.equal(nextDue({ kind: 'cron', expression: '0 3 * * *', timezone: 'Europe/Berlin' }, new Date('2026-12-07T02:30:00.000Z'), now).toISOString(), '2026-12-08T02:00:00.000Z');
  });

  test('exclusion tags match key and value', () => {
    assert.equal(exclusionMatch({ 'hullscan-exclude': 'true' }, { 'hullscan-exclude': 'true' }), 'hullscan-exclude: true');
    assert.equal(exclusionMatch({ 'hullscan-exclude': 'false' }, { 'hullscan-exclude': 'true' }), undefined);
    assert.equal(exclusionMatch({}, { 'hullscan-exclude': 'true' }), undefined);
  });

  test('failure reasons from what the engine and the providers throw', () => {
    assert.equal(reasonOf(new SnapshotError('snapshot-denied', 'x')), 'snapshot-denied');
    assert.equal(reasonOf(new CorruptError('bad superblock')), 'unreadable-disk');
    assert.equal(reasonOf(new BudgetError('too long')), 'budget-exceeded');
    assert.equal(reasonOf(new SourceError('https://h/d.vhd: range GET: HTTP 404 Not Found')), 'snapshot-lost');
    assert.equal(reasonOf(new SourceError('https://h/d.vhd: snapshot changed while reading (etag)')), 'snapshot-lost');
    assert.equal(reasonOf(new SourceError('https://h/d.vhd: range GET: HTTP 403 Forbidden')), 'snapshot-denied');
    assert.equal(reasonOf(Object.assign(new Error('gone'), { code: 'ENOENT' })), 'snapshot-lost');
    assert.equal(reasonOf(new TypeError('x is undefined')), 'internal-error');
  });
});

function node(disk: string | undefined): Node {
  return { id: 'n', account: 'a', cluster: 'c', pool: 'p', name: 'n0', ephemeralOsDisk: false, tags: {}, firstSeen: '', lastSeen: '', ...(disk !== undefined && { diskRef: disk }) };
}

describe('local snapshots and the sweeper', () => {
  const LEASE = '6f1b1b7e-0000-4000-8000-000000000001';
  const tags = (lease: string, expires = '2099-01-01T00:00:00.000Z') => ({ owner: 'hullscan' as const, lease, expires });

  test('a file is frozen by a hard link: replacing the original mid-scan does not change what is read; delete removes only the snapshot', async () => {
    const dir = join(work, 'snap1');
    mkdirSync(dir, { recursive: true });
    const disk = join(dir, 'disk.raw');
    writeFileSync(disk, 'version-1');
    const p = new LocalSnapshotProvider(join(dir, 'snapshots'));
    const snap = await p.create(node(disk), tags(LEASE));
    assert.equal(snap.inPlace, undefined);
    assert.equal(statSync(snap.ref).ino, statSync(disk).ino, 'same inode');
    // The node's disk is replaced (a new file renamed over it): the snapshot still reads the old bytes.
    writeFileSync(join(dir, 'new.raw'), 'version-2');
    const { renameSync, readFileSync } = await import('node:fs');
    renameSync(join(dir, 'new.raw'), disk);
    assert.equal(readFileSync((await p.open(snap)).spec, 'utf8'), 'version-1');
    assert.deepEqual((await p.listOurs()).map((s) => s.tags.lease), [LEASE]);
    await p.delete(snap);
    await p.delete(snap); // idempotent
    assert.deepEqual(await p.listOurs(), []);
    assert.equal(readFileSync(disk, 'utf8'), 'version-2', 'the original is never touched');
  });

  test('a VMDK descriptor is frozen with its extents; directories are read in place; missing disks are typed', async () => {
    const dir = join(work, 'snap2');
    mkdirSync(join(dir, 'root'), { recursive: true });
    writeFileSync(join(dir, 'd.vmdk'), '# Disk DescriptorFile\nversion=1\nRW 2048 FLAT "d-flat.vmdk" 0\n');
    writeFileSync(join(dir, 'd-flat.vmdk'), Buffer.alloc(2048 * 512));
    const p = new LocalSnapshotProvider(join(dir, 'snapshots'));
    const snap = await p.create(node(join(dir, 'd.vmdk')), tags('6f1b1b7e-0000-4000-8000-000000000002'));
    assert.ok(existsSync(join(dir, 'snapshots', '6f1b1b7e-0000-4000-8000-000000000002', 'd-flat.vmdk')));
    await p.delete(snap);
    const inPlace = await p.create(node(join(dir, 'root')), tags('6f1b1b7e-0000-4000-8000-000000000003'));
    assert.equal(inPlace.inPlace, true);
    assert.equal(inPlace.ref, join(dir, 'root'));
    await p.delete(inPlace);
    await assert.rejects(p.create(node(join(dir, 'nope.raw')), tags('6f1b1b7e-0000-4000-8000-000000000004')), (e: unknown) => e instanceof SnapshotError && e.reason === 'disk-not-found');
    await assert.rejects(p.create(node(undefined), tags('6f1b1b7e-0000-4000-8000-000000000005')), (e: unknown) => e instanceof SnapshotError && e.reason === 'no-disk');
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [], 'failed creates leave nothing');
  });

  test('the sweeper deletes what a crash left: an expired lease, a dead owner\'s lease, a tag-only leftover, a delete that failed; it keeps a live one', async () => {
    const dir = join(work, 'sweep');
    mkdirSync(dir, { recursive: true });
    const disk = join(dir, 'disk.raw');
    writeFileSync(disk, 'x');
    const p = new LocalSnapshotProvider(join(dir, 'snapshots'));
    const store = await openStore(join(dir, 'hullscan.db'));
    try {
      await store.upsertAccount({ id: 'a', provider: 'local' }, '2026-12-07T00:00:00.000Z');
      const self = ownerId();
      const now = new Date('2026-12-07T12:00:00.000Z');
      const mk = async (owner: string, expiresAt: string, state: 'created' | 'delete-failed' | 'intent' = 'created') => {
        const l = await store.recordLeaseIntent({ provider: 'local', account: 'a', diskRef: disk, owner, at: '2026-12-07T10:00:00.000Z', expiresAt });
        if (state !== 'intent') {
          const s = await p.create(node(disk), tags(l.id, expiresAt));
          await store.confirmLease(l.id, s.id);
        }
        if (state === 'delete-failed') await store.markLeaseDeleteFailed(l.id, 'throttled');
        return l.id;
      };
      const expired = await mk(self, '2026-12-07T11:00:00.000Z');
      const dead = await mk('some-host-that-is-not-this-one:1:1', '2099-01-01T00:00:00.000Z'); // other host: only its expiry counts
      const deadHere = await mk(`${(await import('node:os')).hostname()}:2147483646:1`, '2099-01-01T00:00:00.000Z');
      const failed = await mk(self, '2099-01-01T00:00:00.000Z', 'delete-failed');
      const live = await mk(self, '2099-01-01T00:00:00.000Z');
      const intentOnly = await mk(`${(await import('node:os')).hostname()}:2147483645:1`, '2099-01-01T00:00:00.000Z', 'intent');
      // Created, but the ledger never heard of it (crash between create and record), with an expired tag.
      await p.create(node(disk), tags('6f1b1b7e-0000-4000-8000-0000000000aa', '2026-12-07T09:00:00.000Z'));
      assert.equal(ownerIsDead(`${(await import('node:os')).hostname()}:2147483646:1`, self), true);
      assert.equal(ownerIsDead(self, self), false);

      const r = await sweepSnapshots(store, [p], self, silentLogger(), now);
      assert.deepEqual(r, { deleted: 4, failed: 0 });
      const left = (await p.listOurs()).map((s) => s.tags.lease).sort();
      assert.deepEqual(left, [dead, live].sort(), 'a live lease and another host\'s unexpired one stay');
      const open = (await store.openLeases()).map((l) => l.id).sort();
      assert.deepEqual(open, [dead, live].sort(), 'the ledger agrees (the dead intent-only lease is closed too)');
      for (const id of [expired, deadHere, failed, intentOnly]) assert.equal((await store.getLease(id))?.state, 'deleted');
    } finally {
      await store.close();
    }
  });
});

describe('scheduler', () => {
  test('a due schedule fires once; not again until the next due time; a new vulnerability database triggers one re-match', async () => {
    const { ControlPlane } = await import('../../src/control/control-plane.ts');
    const { importFeeds } = await import('../../src/vulndb/store.ts');
    const { renameSync, copyFileSync } = await import('node:fs');
    const dir = join(work, 'sched');
    mkdirSync(dir, { recursive: true });
    const kev = join(import.meta.dirname, '..', '..', 'data', 'vulndb', 'known_exploited_vulnerabilities.json.gz');
    const db = join(dir, 'vuln.db');
    await importFeeds(db, [kev]);
    // One account, no clusters: its runs complete at once, so only the scheduling is under test.
    writeFileSync(join(dir, 'env.yaml'), 'accounts: [ { id: s, provider: local, settings: { agentlessScanning: true, schedule: daily } }, { id: off, provider: local } ]\n');
    let clock = new Date('2026-12-07T10:00:00.000Z');
    const cp = await ControlPlane.open({ dataDir: join(dir, 'data'), config: join(dir, 'env.yaml'), dbPath: db, now: () => clock });
    try {
      const first = await cp.schedulerTick();
      assert.deepEqual(first.map((r) => [r.account, r.trigger, r.state]), [['s', 'schedule', 'completed']], 'never ran: due now; the account with scanning off gets none');
      clock = new Date('2026-12-07T20:00:00.000Z');
      assert.deepEqual(await cp.schedulerTick(), [], 'not due again for 24 h');
      clock = new Date('2026-12-08T10:00:01.000Z');
      assert.equal((await cp.schedulerTick()).length, 1, 'due again a day later');
      // A data update renames a new database file in: the next tick re-matches (one data-update run), once.
      const next = join(dir, 'vuln-next.db');
      await importFeeds(next, [kev]);
      copyFileSync(next, join(dir, 'vuln-tmp.db'));
      renameSync(join(dir, 'vuln-tmp.db'), db);
      clock = new Date('2026-12-08T11:00:00.000Z');
      const update = await cp.schedulerTick();
      assert.deepEqual(update.map((r) => [r.account, r.trigger]), [['s', 'data-update']]);
      assert.deepEqual(await cp.schedulerTick(), [], 'the same data is not re-matched twice');
      assert.equal((await cp.store.getAccount('s'))?.settingsVersion, 1, 're-applying an unchanged environment file changes nothing');
    } finally {
      await cp.close();
    }
  });
});
