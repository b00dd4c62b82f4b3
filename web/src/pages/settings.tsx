/**
 * Environment settings: the accounts, and per account the plan settings — "Agentless scanning
 * for machines", malware scanning, exclusion tags, schedule — saved with If-Match (a conflict
 * shows who changed what since), and "Scan now".
 */
import {
  Badge, Button, Dropdown, Field, Input, MessageBar, MessageBarActions, MessageBarBody, MessageBarTitle, Option, SpinButton, Switch, Table, TableBody, TableCell,
  TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens,
} from '@fluentui/react-components';
import { useEffect, useState, type ReactNode } from 'react';
import type { Session } from '../App';
import { ApiError, allPages, api, ok, type Schemas } from '../api/client';
import { Empty, ErrorBar, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { dateTime } from '../components/severity';
import { Link } from '../router';
import { ScanProgress } from './scans';

type Settings = Schemas['AccountSettings'];
type Schedule = Schemas['Schedule'];

const PRESETS: { key: string; label: string; hours: number }[] = [
  { key: '24', label: 'Daily', hours: 24 },
  { key: '12', label: 'Every 12 hours', hours: 12 },
  { key: '1', label: 'Hourly', hours: 1 },
  { key: '168', label: 'Weekly', hours: 168 },
];

export function scheduleText(s: Schedule): string {
  if (s.kind === 'cron') return `cron ${s.expression}${s.timezone ? ` (${s.timezone})` : ''}`;
  return PRESETS.find((p) => p.hours === s.hours)?.label ?? `every ${s.hours} hours`;
}

function tagsText(t: Record<string, string>): string {
  const e = Object.entries(t);
  return e.length === 0 ? 'none' : e.map(([k, v]) => `${k}=${v}`).join(', ');
}

function OnOff({ on }: { on: boolean }): ReactNode {
  return <Badge appearance="tint" color={on ? 'success' : 'subtle'}>{on ? 'On' : 'Off'}</Badge>;
}

const useStyles = makeStyles({
  wrap: { overflowX: 'auto' },
  form: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalL, maxWidth: '640px' },
  row: { display: 'flex', gap: tokens.spacingHorizontalS, alignItems: 'flex-end', flexWrap: 'wrap' },
  actions: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'center' },
  hint: { color: tokens.colorNeutralForeground2 },
  list: { margin: 0, paddingLeft: tokens.spacingHorizontalXL },
});

export function SettingsPage(): ReactNode {
  const s = useStyles();
  const q = useQuery(() => allPages((cursor) => ok(api.GET('/api/v1/accounts', { params: { query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))), []);
  return (
    <Page title="Environment settings">
      <Text className={s.hint}>Subscriptions and accounts Hullscan knows. Open one to turn on <b>Agentless scanning for machines</b>, malware scanning, exclusion tags and the schedule.</Text>
      <Section>
        <Loaded q={q} what="accounts">
          {(accounts) =>
            accounts.length === 0 ? (
              <Empty title="No accounts yet">
                <Text>Accounts come from the environment file given to <code>hullscan serve --config</code>. None of them is granted to you, or the file lists none.</Text>
              </Empty>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Accounts" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Name</TableHeaderCell>
                      <TableHeaderCell>Account</TableHeaderCell>
                      <TableHeaderCell>Provider</TableHeaderCell>
                      <TableHeaderCell>Agentless scanning for machines</TableHeaderCell>
                      <TableHeaderCell>Malware</TableHeaderCell>
                      <TableHeaderCell>Schedule</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {accounts.map((a) => (
                      <TableRow key={a.id}>
                        <TableCell><Link to={`/settings/${encodeURIComponent(a.id)}`}>{a.name}</Link></TableCell>
                        <TableCell>{a.externalId}</TableCell>
                        <TableCell>{a.provider}</TableCell>
                        <TableCell><OnOff on={a.settings.agentlessScanning} /></TableCell>
                        <TableCell><OnOff on={a.settings.malware} /></TableCell>
                        <TableCell>{scheduleText(a.settings.schedule)}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </div>
            )
          }
        </Loaded>
      </Section>
    </Page>
  );
}

interface Loadedsettings {
  account: Schemas['Account'];
  version: number;
  etag: string;
  settings: Settings;
}

interface Conflict {
  mine: Settings;
  theirs: { version: number; settings: Settings; changedBy: string; changedAt: string } | undefined;
}

const LABELS: Record<keyof Settings, string> = {
  agentlessScanning: 'Agentless scanning for machines', malware: 'Malware scanning', exclusionTags: 'Exclusion tags', schedule: 'Schedule', retentionDays: 'Retention (days)',
};

function show(k: keyof Settings, v: Settings[keyof Settings]): string {
  if (k === 'agentlessScanning' || k === 'malware') return v ? 'on' : 'off';
  if (k === 'exclusionTags') return tagsText(v as Record<string, string>);
  if (k === 'schedule') return scheduleText(v as Schedule);
  return String(v);
}

function changed(a: Settings, b: Settings): (keyof Settings)[] {
  return (Object.keys(LABELS) as (keyof Settings)[]).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

export function AccountSettingsPage({ id, session }: { id: string; session: Session }): ReactNode {
  const s = useStyles();
  const q = useQuery(async (): Promise<Loadedsettings> => {
    const [account, r] = await Promise.all([ok(api.GET('/api/v1/accounts/{id}', { params: { path: { id } } })), api.GET('/api/v1/accounts/{id}/settings', { params: { path: { id } } })]);
    const data = await ok(Promise.resolve(r));
    return { account, version: data.version, etag: r.response.headers.get('etag') ?? '', settings: data.settings };
  }, [id]);
  const [form, setForm] = useState<Settings | undefined>();
  const [base, setBase] = useState<Loadedsettings | undefined>();
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [conflict, setConflict] = useState<Conflict | undefined>();
  const [scanId, setScanId] = useState<string | undefined>();
  const [scanDone, setScanDone] = useState<Schemas['Scan'] | undefined>();
  const [starting, setStarting] = useState(false);
  const [newTag, setNewTag] = useState({ key: '', value: '' });
  const [cron, setCron] = useState('');

  useEffect(() => {
    if (q.data) {
      setBase(q.data);
      setForm(q.data.settings);
      setCron(q.data.settings.schedule.kind === 'cron' ? q.data.settings.schedule.expression : '0 3 * * *');
    }
  }, [q.data]);

  const canEdit = session.isOwner || session.me.grants.some((g) => g.role === 'owner' && (g.accounts === undefined || g.accounts.includes(id)));
  const canScan = session.me.grants.some((g) => (g.role === 'owner' || g.role === 'security-admin') && (g.accounts === undefined || g.accounts.includes(id)));

  const save = async () => {
    if (!form || !base) return;
    setSaving(true);
    setSaved(undefined);
    setError(undefined);
    setConflict(undefined);
    const patch: Partial<Settings> = {};
    for (const k of changed(base.settings, form)) (patch as Record<string, unknown>)[k] = form[k];
    try {
      const r = await api.PATCH('/api/v1/accounts/{id}/settings', { params: { path: { id }, header: { 'if-match': base.etag } }, body: patch });
      if (r.response.status === 412) {
        const history = await ok(api.GET('/api/v1/accounts/{id}/settings/history', { params: { path: { id } } }));
        const last = history.items[history.items.length - 1];
        setConflict({ mine: form, theirs: last });
        return;
      }
      const data = await ok(Promise.resolve(r));
      const next = { ...base, version: data.version, etag: r.response.headers.get('etag') ?? '', settings: data.settings };
      setBase(next);
      setForm(data.settings);
      setSaved(`Saved: settings version ${data.version}.`);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setSaving(false);
    }
  };

  const takeTheirs = (keepMine: boolean) => {
    if (!conflict?.theirs || !base) return;
    const theirs = conflict.theirs;
    void (async () => {
      const r = await api.GET('/api/v1/accounts/{id}/settings', { params: { path: { id } } });
      const data = await ok(Promise.resolve(r));
      const next = { ...base, version: data.version, etag: r.response.headers.get('etag') ?? '', settings: data.settings };
      setBase(next);
      if (keepMine) {
        // Re-apply only what I changed from the version I had read.
        const mine: Settings = { ...data.settings };
        for (const k of changed(base.settings, conflict.mine)) (mine as Record<string, unknown>)[k] = conflict.mine[k];
        setForm(mine);
      } else setForm(data.settings);
      setConflict(undefined);
      setSaved(`Loaded version ${theirs.version}${keepMine ? ' with your changes on top: review and Save' : ''}.`);
    })().catch((err: unknown) => setError(err instanceof Error ? err : new Error(String(err))));
  };

  const scanNow = async () => {
    setStarting(true);
    setError(undefined);
    setScanDone(undefined);
    try {
      const scan = await ok(api.POST('/api/v1/scans', { params: { header: { 'idempotency-key': crypto.randomUUID() } }, body: { account: id } }));
      setScanId(scan.id);
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setStarting(false);
    }
  };

  const dirty = form !== undefined && base !== undefined && changed(base.settings, form).length > 0;
  const sched = form?.schedule;
  const presetKey = sched?.kind === 'interval' ? (PRESETS.find((p) => p.hours === sched.hours)?.key ?? 'custom-hours') : 'cron';

  return (
    <Page title={q.data ? `Settings: ${q.data.account.name}` : 'Account settings'} crumbs={<Link to="/settings">Environment settings</Link>}>
      <Loaded q={q} what="the account's settings">
        {(d) =>
          form === undefined || base === undefined ? null : (
            <>
              {!base.settings.agentlessScanning && (
                <MessageBar intent="warning" layout="multiline">
                  <MessageBarBody>
                    <MessageBarTitle>Scanning is off for this subscription</MessageBarTitle>
                    Turn on Agentless scanning for machines and Save: Hullscan then snapshots each node's OS disk, reads it out of band and deletes the snapshot — nothing runs on the nodes.
                  </MessageBarBody>
                </MessageBar>
              )}
              {conflict && (
                <MessageBar intent="error" layout="multiline">
                  <MessageBarBody>
                    <MessageBarTitle>Not saved: someone else changed these settings since you opened them</MessageBarTitle>
                    {conflict.theirs ? (
                      <>
                        Version {conflict.theirs.version} by <b>{conflict.theirs.changedBy}</b> at {dateTime(conflict.theirs.changedAt)} changed:
                        <ul className={s.list}>
                          {changed(base.settings, conflict.theirs.settings).map((k) => (
                            <li key={k}>{LABELS[k]}: {show(k, base.settings[k])} → {show(k, conflict.theirs!.settings[k])}</li>
                          ))}
                        </ul>
                        You changed: {changed(base.settings, conflict.mine).map((k) => `${LABELS[k]} → ${show(k, conflict.mine[k])}`).join('; ') || 'nothing'}.
                      </>
                    ) : (
                      'Their version could not be read.'
                    )}
                  </MessageBarBody>
                  <MessageBarActions>
                    <Button onClick={() => takeTheirs(true)}>Reload and keep my changes</Button>
                    <Button onClick={() => takeTheirs(false)}>Discard mine</Button>
                  </MessageBarActions>
                </MessageBar>
              )}
              {error && <ErrorBar error={error} what={error instanceof ApiError && error.status === 403 ? 'Not allowed' : 'That did not work'} />}
              {saved && <MessageBar intent="success"><MessageBarBody>{saved}</MessageBarBody></MessageBar>}
              <Section title="Defender plan: Kubernetes node protection" id="plan">
                <form className={s.form} onSubmit={(e) => { e.preventDefault(); void save(); }}>
                  <Text className={s.hint}>
                    {d.account.provider} account {d.account.externalId} · settings version {base.version}
                    {!canEdit && ' · read only: changing settings needs the owner role on this account'}
                  </Text>
                  <Field hint="Snapshots each node's OS disk and assesses its packages and kernel; nothing is installed on the nodes.">
                    <Switch label="Agentless scanning for machines" checked={form.agentlessScanning} disabled={!canEdit} onChange={(_, v) => setForm({ ...form, agentlessScanning: v.checked })} />
                  </Field>
                  <Field hint="Hashes every file against the package manifests and runs the malware engines on the rest.">
                    <Switch label="Malware scanning" checked={form.malware} disabled={!canEdit} onChange={(_, v) => setForm({ ...form, malware: v.checked })} />
                  </Field>
                  <fieldset style={{ border: 'none', padding: 0, margin: 0 }}>
                    <legend><Text weight="semibold">Exclusion tags</Text></legend>
                    <Text className={s.hint} size={200}>Clusters, node pools and nodes carrying one of these tags are never snapshotted.</Text>
                    <ul className={s.list}>
                      {Object.entries(form.exclusionTags).map(([k, v]) => (
                        <li key={k}>
                          <code>{k}={v}</code>{' '}
                          {canEdit && (
                            <Button size="small" appearance="subtle" aria-label={`Remove exclusion tag ${k}`} onClick={() => { const t = { ...form.exclusionTags }; delete t[k]; setForm({ ...form, exclusionTags: t }); }}>Remove</Button>
                          )}
                        </li>
                      ))}
                      {Object.keys(form.exclusionTags).length === 0 && <li>No exclusion tags: every node is scanned.</li>}
                    </ul>
                    {canEdit && (
                      <div className={s.row}>
                        <Field label="Tag key"><Input value={newTag.key} onChange={(_, v) => setNewTag({ ...newTag, key: v.value })} /></Field>
                        <Field label="Tag value"><Input value={newTag.value} onChange={(_, v) => setNewTag({ ...newTag, value: v.value })} /></Field>
                        <Button disabled={newTag.key.trim() === ''} onClick={() => { setForm({ ...form, exclusionTags: { ...form.exclusionTags, [newTag.key.trim()]: newTag.value.trim() } }); setNewTag({ key: '', value: '' }); }}>Add tag</Button>
                      </div>
                    )}
                  </fieldset>
                  <div className={s.row}>
                    <Field label="Schedule">
                      <Dropdown
                        disabled={!canEdit}
                        value={presetKey === 'cron' ? 'Cron expression' : presetKey === 'custom-hours' ? scheduleText(form.schedule) : PRESETS.find((p) => p.key === presetKey)!.label}
                        selectedOptions={[presetKey]}
                        onOptionSelect={(_, d2) => {
                          const k = d2.optionValue;
                          if (k === 'cron') setForm({ ...form, schedule: { kind: 'cron', expression: cron } });
                          else if (k !== undefined && k !== 'custom-hours') setForm({ ...form, schedule: { kind: 'interval', hours: Number(k) } });
                        }}
                      >
                        {PRESETS.map((p) => <Option key={p.key} value={p.key}>{p.label}</Option>)}
                        <Option value="cron">Cron expression</Option>
                      </Dropdown>
                    </Field>
                    {form.schedule.kind === 'cron' && (
                      <Field label="Cron (UTC unless a time zone is set)">
                        <Input value={cron} disabled={!canEdit} onChange={(_, v) => { setCron(v.value); setForm({ ...form, schedule: { kind: 'cron', expression: v.value } }); }} />
                      </Field>
                    )}
                    <Field label="Keep history (days)">
                      <SpinButton value={form.retentionDays} min={1} max={3650} disabled={!canEdit} onChange={(_, v) => { const n = v.value ?? Number(v.displayValue); if (Number.isInteger(n) && n >= 1) setForm({ ...form, retentionDays: n }); }} />
                    </Field>
                  </div>
                  <div className={s.actions}>
                    <Button type="submit" appearance="primary" disabled={!canEdit || !dirty || saving}>{saving ? 'Saving…' : 'Save'}</Button>
                    <Button disabled={!dirty || saving} onClick={() => setForm(base.settings)}>Discard changes</Button>
                  </div>
                </form>
              </Section>
              <Section title="On-demand scan" id="scan-now">
                <div className={s.actions}>
                  <Button appearance="primary" disabled={!canScan || !base.settings.agentlessScanning || starting || dirty} onClick={() => void scanNow()}>Scan now</Button>
                  <Text className={s.hint}>
                    {!base.settings.agentlessScanning
                      ? 'Turn on Agentless scanning for machines (and Save) to scan this account.'
                      : dirty
                        ? 'Save your changes first.'
                        : !canScan
                          ? 'Starting a scan needs the security admin or owner role.'
                          : `Scans every node of ${d.account.name} now, besides the ${scheduleText(base.settings.schedule).toLowerCase()} schedule.`}
                  </Text>
                </div>
                {scanId && <ScanProgress id={scanId} onDone={(sc) => setScanDone((prev) => prev ?? sc)} />}
                {scanDone && (
                  <MessageBar intent={scanDone.state === 'completed' ? 'success' : 'warning'}>
                    <MessageBarBody>
                      Scan {scanDone.state}. See the results under <Link to="/recommendations">Recommendations</Link> and coverage on the <Link to="/">Overview</Link>.
                    </MessageBarBody>
                  </MessageBar>
                )}
              </Section>
            </>
          )
        }
      </Loaded>
    </Page>
  );
}
