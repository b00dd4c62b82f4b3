/** Security alerts: malware and package-integrity alerts, their detail and review (dismiss / resolve), and suppression rules. */
import {
  Badge, Button, Dialog, DialogActions, DialogBody, DialogContent, DialogSurface, DialogTitle, Dropdown, Field, Input, Option, Table, TableBody, TableCell, TableHeader,
  TableHeaderCell, TableRow, Text, Textarea, makeStyles, tokens,
} from '@fluentui/react-components';
import { useState, type ReactNode } from 'react';
import type { Session } from '../App';
import { allPages, api, ok, type Schemas } from '../api/client';
import { Empty, ErrorBar, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { SeverityBadge, dateTime, isObject, isString } from '../components/severity';
import { Link, navigate, useLocation, withQuery } from '../router';

type Alert = Schemas['Alert'];
type Status = 'active' | 'dismissed' | 'resolved' | 'all';

const useStyles = makeStyles({
  wrap: { overflowX: 'auto' },
  bar: { display: 'flex', gap: tokens.spacingHorizontalM, alignItems: 'flex-end', flexWrap: 'wrap', marginBottom: tokens.spacingVerticalM },
  facts: { display: 'grid', gridTemplateColumns: 'max-content 1fr', columnGap: tokens.spacingHorizontalL, rowGap: tokens.spacingVerticalXS, margin: `0 0 ${tokens.spacingVerticalM} 0` },
  dt: { color: tokens.colorNeutralForeground2 },
  dd: { margin: 0, minWidth: 0, overflowWrap: 'anywhere' },
  mono: { fontFamily: tokens.fontFamilyMonospace, overflowWrap: 'anywhere' },
  actions: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap' },
  form: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'flex-end' },
});

function text(a: Alert, k: string): string {
  const v = a.alert[k];
  return isString(v) ? v : v === undefined || v === null ? '—' : JSON.stringify(v);
}

function StatusBadge({ status }: { status: Alert['status'] }): ReactNode {
  return <Badge appearance="tint" color={status === 'active' ? 'danger' : status === 'dismissed' ? 'subtle' : 'success'}>{status}</Badge>;
}

export function AlertsPage({ session }: { session: Session }): ReactNode {
  const s = useStyles();
  const loc = useLocation();
  const selected = loc.query.get('alert');
  const [status, setStatus] = useState<Status>('active');
  const q = useQuery(() => allPages((cursor) => ok(api.GET('/api/v1/alerts', { params: { query: { limit: 500, status, ...(cursor !== undefined && { cursor }) } } }))), [status]);
  return (
    <Page title="Security alerts">
      <Section>
        <div className={s.bar}>
          <Field label="Status">
            <Dropdown value={status === 'all' ? 'All' : status.charAt(0).toUpperCase() + status.slice(1)} selectedOptions={[status]} onOptionSelect={(_, d) => setStatus(d.optionValue as Status)}>
              <Option value="active">Active</Option>
              <Option value="dismissed">Dismissed</Option>
              <Option value="resolved">Resolved</Option>
              <Option value="all">All</Option>
            </Dropdown>
          </Field>
        </div>
        <Loaded q={q} what="alerts">
          {(list) =>
            list.length === 0 ? (
              <Empty title={status === 'active' ? 'No active alerts' : `No ${status === 'all' ? '' : `${status} `}alerts`}>
                <Text>Malware scanning runs on accounts with Malware scanning on (<Link to="/settings">Environment settings</Link>); alerts appear here after a scan.</Text>
              </Empty>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Alerts" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Alert</TableHeaderCell>
                      <TableHeaderCell>Severity</TableHeaderCell>
                      <TableHeaderCell>Node</TableHeaderCell>
                      <TableHeaderCell>Path</TableHeaderCell>
                      <TableHeaderCell>Status</TableHeaderCell>
                      <TableHeaderCell>Last seen</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {list.map((a) => (
                      <TableRow key={a.id} aria-selected={a.id === selected}>
                        <TableCell><Link to={withQuery(loc, { alert: a.id })}>{text(a, 'rule') !== '—' ? text(a, 'rule') : text(a, 'kind')}</Link></TableCell>
                        <TableCell><SeverityBadge severity={text(a, 'severity')} /></TableCell>
                        <TableCell>{a.cluster} / {a.nodePool} / {a.node}</TableCell>
                        <TableCell><span className={s.mono}>{text(a, 'path')}</span></TableCell>
                        <TableCell><StatusBadge status={a.status} /></TableCell>
                        <TableCell>{dateTime(a.lastSeen)}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </div>
            )
          }
        </Loaded>
      </Section>
      {selected !== null && <AlertDetail id={selected} session={session} onChanged={q.reload} onClose={() => navigate(withQuery(loc, { alert: undefined }))} />}
      <Suppressions session={session} />
    </Page>
  );
}

function AlertDetail({ id, session, onChanged, onClose }: { id: string; session: Session; onChanged: () => void; onClose: () => void }): ReactNode {
  const s = useStyles();
  const q = useQuery(() => ok(api.GET('/api/v1/alerts/{id}', { params: { path: { id } } })), [id]);
  const [dialog, setDialog] = useState<'dismiss' | 'resolve' | undefined>();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const act = async (action: 'dismiss' | 'resolve' | 'reactivate') => {
    setBusy(true);
    setError(undefined);
    try {
      if (action === 'dismiss') await ok(api.POST('/api/v1/alerts/{id}/dismiss', { params: { path: { id } }, body: { reason } }));
      else if (action === 'resolve') await ok(api.POST('/api/v1/alerts/{id}/resolve', { params: { path: { id } }, body: reason.trim() === '' ? {} : { reason } }));
      else await ok(api.POST('/api/v1/alerts/{id}/reactivate', { params: { path: { id } } }));
      setDialog(undefined);
      setReason('');
      q.reload();
      onChanged();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Alert details" id="alert-detail">
      <Loaded q={q} what="the alert">
        {(a) => {
          const evidence = a.alert['evidence'];
          return (
            <>
              <dl className={s.facts}>
                <dt className={s.dt}>Status</dt><dd className={s.dd}><StatusBadge status={a.status} />{a.statusReason && ` — ${a.statusReason}`}{a.statusBy && ` (by ${a.statusBy}, ${dateTime(a.statusAt)})`}</dd>
                <dt className={s.dt}>Kind</dt><dd className={s.dd}>{text(a, 'kind')}</dd>
                <dt className={s.dt}>Node</dt><dd className={s.dd}>{a.account} / {a.cluster} / {a.nodePool} / {a.node}</dd>
                <dt className={s.dt}>Path</dt><dd className={`${s.dd} ${s.mono}`}>{text(a, 'path')}</dd>
                <dt className={s.dt}>SHA-256</dt><dd className={`${s.dd} ${s.mono}`}>{text(a, 'sha256')}</dd>
                <dt className={s.dt}>Engine</dt><dd className={s.dd}>{text(a, 'engine')}</dd>
                <dt className={s.dt}>Rule</dt><dd className={s.dd}>{text(a, 'rule')}</dd>
                <dt className={s.dt}>Evidence</dt><dd className={`${s.dd} ${s.mono}`}>{evidence === undefined ? '—' : isObject(evidence) || Array.isArray(evidence) ? JSON.stringify(evidence) : String(evidence)}</dd>
                <dt className={s.dt}>First / last seen</dt><dd className={s.dd}>{dateTime(a.firstSeen)} / {dateTime(a.lastSeen)}</dd>
                {a.history.length > 0 && (<><dt className={s.dt}>History</dt><dd className={s.dd}>{a.history.map((h, i) => <div key={i}>{dateTime(h.at)}: {h.status} by {h.by}</div>)}</dd></>)}
              </dl>
              {error && <ErrorBar error={error} what="The review was not saved" />}
              <div className={s.actions}>
                {session.canAdmin && a.status === 'active' && <Button appearance="primary" onClick={() => setDialog('dismiss')}>Dismiss</Button>}
                {session.canAdmin && a.status !== 'resolved' && <Button onClick={() => setDialog('resolve')}>Resolve</Button>}
                {session.canAdmin && a.status === 'dismissed' && <Button disabled={busy} onClick={() => void act('reactivate')}>Reactivate</Button>}
                <Button appearance="subtle" onClick={onClose}>Close details</Button>
                {!session.canAdmin && <Text>Reviewing alerts needs the security admin role.</Text>}
              </div>
              <Dialog open={dialog !== undefined} onOpenChange={(_, d) => !d.open && setDialog(undefined)}>
                <DialogSurface>
                  <form onSubmit={(e) => { e.preventDefault(); if (dialog) void act(dialog); }}>
                    <DialogBody>
                      <DialogTitle>{dialog === 'dismiss' ? 'Dismiss this alert' : 'Resolve this alert'}</DialogTitle>
                      <DialogContent>
                        <Field label={dialog === 'dismiss' ? 'Reason (required: kept in the audit log)' : 'Reason (optional)'} required={dialog === 'dismiss'}>
                          <Textarea value={reason} onChange={(_, d) => setReason(d.value)} />
                        </Field>
                      </DialogContent>
                      <DialogActions>
                        <Button appearance="secondary" onClick={() => setDialog(undefined)}>Cancel</Button>
                        <Button type="submit" appearance="primary" disabled={busy || (dialog === 'dismiss' && reason.trim() === '')}>{dialog === 'dismiss' ? 'Dismiss alert' : 'Resolve alert'}</Button>
                      </DialogActions>
                    </DialogBody>
                  </form>
                </DialogSurface>
              </Dialog>
            </>
          );
        }}
      </Loaded>
    </Section>
  );
}

function Suppressions({ session }: { session: Session }): ReactNode {
  const s = useStyles();
  const q = useQuery(() => ok(api.GET('/api/v1/suppressions')).then((r) => r.items), []);
  const accounts = useQuery(() => ok(api.GET('/api/v1/accounts', { params: { query: { limit: 500 } } })).then((p) => p.items), []);
  const [form, setForm] = useState({ account: '', path: '', rule: '', reason: '' });
  const [error, setError] = useState<Error | undefined>();
  const add = async () => {
    setError(undefined);
    try {
      await ok(api.POST('/api/v1/suppressions', { body: { account: form.account, reason: form.reason, ...(form.path && { path: form.path }), ...(form.rule && { rule: form.rule }) } }));
      setForm({ ...form, path: '', rule: '', reason: '' });
      q.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const remove = async (id: string) => {
    try {
      await ok(api.DELETE('/api/v1/suppressions/{id}', { params: { path: { id } } }));
      q.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <Section title="Suppression rules" id="suppressions">
      <Text block>New alerts matching a rule are dismissed as they arrive, with the rule's reason.</Text>
      {error && <ErrorBar error={error} what="That did not work" />}
      <Loaded q={q} what="suppression rules">
        {(list) =>
          list.length === 0 ? (
            <Text>No suppression rules.</Text>
          ) : (
            <div className={s.wrap}>
              <Table aria-label="Suppression rules" size="small">
                <TableHeader>
                  <TableRow>
                    <TableHeaderCell>Scope</TableHeaderCell>
                    <TableHeaderCell>Matches</TableHeaderCell>
                    <TableHeaderCell>Reason</TableHeaderCell>
                    <TableHeaderCell>Expires</TableHeaderCell>
                    <TableHeaderCell>Actions</TableHeaderCell>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {list.map((r) => (
                    <TableRow key={r.id}>
                      <TableCell>{r.scope.label}</TableCell>
                      <TableCell><span className={s.mono}>{['path', 'rule', 'sha256'].map((k) => (isString(r[k]) ? `${k}=${r[k]}` : '')).filter(Boolean).join(' ') || 'everything'}</span></TableCell>
                      <TableCell>{r.reason}</TableCell>
                      <TableCell>{dateTime(r.expiresAt)}</TableCell>
                      <TableCell>{session.canAdmin && <Button size="small" onClick={() => void remove(r.id)}>Remove</Button>}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )
        }
      </Loaded>
      {session.canAdmin && (
        <form className={s.form} onSubmit={(e) => { e.preventDefault(); void add(); }}>
          <Field label="Account" required>
            <Dropdown value={form.account} selectedOptions={[form.account]} onOptionSelect={(_, d) => setForm({ ...form, account: d.optionValue ?? '' })} placeholder="Choose an account">
              {(accounts.data ?? []).map((a) => <Option key={a.id} value={a.id}>{a.id}</Option>)}
            </Dropdown>
          </Field>
          <Field label="Path (glob)"><Input value={form.path} onChange={(_, d) => setForm({ ...form, path: d.value })} /></Field>
          <Field label="Rule"><Input value={form.rule} onChange={(_, d) => setForm({ ...form, rule: d.value })} /></Field>
          <Field label="Reason" required><Input value={form.reason} onChange={(_, d) => setForm({ ...form, reason: d.value })} /></Field>
          <Button type="submit" disabled={form.account === '' || form.reason.trim() === '' || (form.path === '' && form.rule === '')}>Add rule</Button>
        </form>
      )}
    </Section>
  );
}
