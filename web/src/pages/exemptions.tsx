/** Exemptions: a vulnerability or package pattern in a scope, with a reason, an owner and an expiry. */
import { Badge, Button, Checkbox, Dropdown, Field, Input, Option, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import { useState, type ReactNode } from 'react';
import type { Session } from '../App';
import { allPages, api, ok } from '../api/client';
import { Empty, ErrorBar, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { dateTime } from '../components/severity';

const REASONS = ['mitigated', 'risk-accepted', 'false-positive'] as const;
const useStyles = makeStyles({
  wrap: { overflowX: 'auto' },
  form: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'flex-end' },
});

export function ExemptionsPage({ session }: { session: Session }): ReactNode {
  const s = useStyles();
  const [all, setAll] = useState(false);
  const q = useQuery(() => allPages((cursor) => ok(api.GET('/api/v1/exemptions', { params: { query: { limit: 500, ...(all && { all: 'true' as const }), ...(cursor !== undefined && { cursor }) } } }))), [all]);
  const accounts = useQuery(() => ok(api.GET('/api/v1/accounts', { params: { query: { limit: 500 } } })).then((p) => p.items), []);
  const [form, setForm] = useState({ account: '', vulnerability: '', package: '', reason: 'risk-accepted' as (typeof REASONS)[number], owner: '', expires: '' });
  const [error, setError] = useState<Error | undefined>();
  const add = async () => {
    setError(undefined);
    try {
      await ok(api.POST('/api/v1/exemptions', { body: { account: form.account, reason: form.reason, owner: form.owner, ...(form.vulnerability && { vulnerability: form.vulnerability }), ...(form.package && { package: form.package }), ...(form.expires && { expires: form.expires }) } }));
      setForm({ ...form, vulnerability: '', package: '' });
      q.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  const remove = async (id: string) => {
    setError(undefined);
    try {
      const r = await api.GET('/api/v1/exemptions/{id}', { params: { path: { id } } });
      await ok(Promise.resolve(r));
      await ok(api.DELETE('/api/v1/exemptions/{id}', { params: { path: { id }, header: { 'if-match': r.response.headers.get('etag') ?? '' } } }));
      q.reload();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  return (
    <Page title="Exemptions">
      {error && <ErrorBar error={error} what="That did not work" />}
      <Section>
        <Checkbox label="Show expired and removed" checked={all} onChange={(_, d) => setAll(d.checked === true)} />
        <Loaded q={q} what="exemptions">
          {(list) =>
            list.length === 0 ? (
              <Empty title="No exemptions"><Text>An exemption takes a vulnerability (or package) out of the recommendation in a scope, with a reason, an owner and an expiry.</Text></Empty>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Exemptions" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Scope</TableHeaderCell><TableHeaderCell>Vulnerability</TableHeaderCell><TableHeaderCell>Package</TableHeaderCell><TableHeaderCell>Reason</TableHeaderCell>
                      <TableHeaderCell>Owner</TableHeaderCell><TableHeaderCell>Expires</TableHeaderCell><TableHeaderCell>Status</TableHeaderCell><TableHeaderCell>Actions</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {list.map((e) => (
                      <TableRow key={e.id}>
                        <TableCell>{e.scope.label}</TableCell><TableCell>{e.vulnerability ?? '*'}</TableCell><TableCell>{e.package ?? '*'}</TableCell><TableCell>{e.reason}{e.note && ` — ${e.note}`}</TableCell>
                        <TableCell>{e.owner}</TableCell><TableCell>{dateTime(e.expiresAt)}</TableCell>
                        <TableCell><Badge appearance="tint" color={e.status === 'active' ? 'brand' : 'subtle'}>{e.status}</Badge></TableCell>
                        <TableCell>{session.canAdmin && e.status === 'active' && <Button size="small" onClick={() => void remove(e.id)}>Remove</Button>}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </div>
            )
          }
        </Loaded>
      </Section>
      {session.canAdmin && (
        <Section title="Add an exemption" id="add-exemption">
          <form className={s.form} onSubmit={(e) => { e.preventDefault(); void add(); }}>
            <Field label="Account" required>
              <Dropdown value={form.account} selectedOptions={[form.account]} onOptionSelect={(_, d) => setForm({ ...form, account: d.optionValue ?? '' })} placeholder="Choose an account">
                {(accounts.data ?? []).map((a) => <Option key={a.id} value={a.id}>{a.id}</Option>)}
              </Dropdown>
            </Field>
            <Field label="Vulnerability (glob)"><Input value={form.vulnerability} onChange={(_, d) => setForm({ ...form, vulnerability: d.value })} placeholder="CVE-2024-*" /></Field>
            <Field label="Package (glob)"><Input value={form.package} onChange={(_, d) => setForm({ ...form, package: d.value })} /></Field>
            <Field label="Reason" required>
              <Dropdown value={form.reason} selectedOptions={[form.reason]} onOptionSelect={(_, d) => setForm({ ...form, reason: (d.optionValue ?? 'risk-accepted') as (typeof REASONS)[number] })}>
                {REASONS.map((r) => <Option key={r} value={r}>{r}</Option>)}
              </Dropdown>
            </Field>
            <Field label="Owner" required><Input value={form.owner} onChange={(_, d) => setForm({ ...form, owner: d.value })} /></Field>
            <Field label="Expires (YYYY-MM-DD or 30d)"><Input value={form.expires} onChange={(_, d) => setForm({ ...form, expires: d.value })} /></Field>
            <Button type="submit" appearance="primary" disabled={form.account === '' || form.owner.trim() === '' || (form.vulnerability === '' && form.package === '')}>Add exemption</Button>
          </form>
        </Section>
      )}
    </Page>
  );
}
