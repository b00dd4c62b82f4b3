/** Access (owners): API tokens (shown once at creation) and role assignments of people. */
import { Button, Dropdown, Field, Input, MessageBar, MessageBarBody, MessageBarTitle, Option, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import { useState, type ReactNode } from 'react';
import type { Session } from '../App';
import { api, ok } from '../api/client';
import { Empty, ErrorBar, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { dateTime } from '../components/severity';

const ROLES = ['reader', 'security-admin', 'owner'] as const;
type Role = (typeof ROLES)[number];
const useStyles = makeStyles({
  wrap: { overflowX: 'auto' },
  form: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', alignItems: 'flex-end', marginTop: tokens.spacingVerticalM },
  mono: { fontFamily: tokens.fontFamilyMonospace, overflowWrap: 'anywhere' },
});

function RolePicker({ value, onChange }: { value: Role; onChange: (r: Role) => void }): ReactNode {
  return (
    <Field label="Role">
      <Dropdown value={value} selectedOptions={[value]} onOptionSelect={(_, d) => onChange((d.optionValue ?? 'reader') as Role)}>
        {ROLES.map((r) => <Option key={r} value={r}>{r}</Option>)}
      </Dropdown>
    </Field>
  );
}

export function AccessPage({ session }: { session: Session }): ReactNode {
  const s = useStyles();
  const tokensQ = useQuery(() => ok(api.GET('/api/v1/tokens')).then((r) => r.items), []);
  const assignQ = useQuery(() => ok(api.GET('/api/v1/role-assignments')).then((r) => r.items), []);
  const [tok, setTok] = useState({ name: '', role: 'reader' as Role, accounts: '' });
  const [asg, setAsg] = useState({ subject: '', role: 'reader' as Role, accounts: '' });
  const [created, setCreated] = useState<string | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const accountsOf = (t: string) => t.split(',').map((x) => x.trim()).filter(Boolean);
  const run = async (f: () => Promise<void>) => {
    setError(undefined);
    try {
      await f();
    } catch (err) {
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };
  if (!session.isOwner) return <Page title="Access"><Empty title="Access is managed by owners"><Text>Ask an owner for a token or a role.</Text></Empty></Page>;
  return (
    <Page title="Access">
      {error && <ErrorBar error={error} what="That did not work" />}
      {created && (
        <MessageBar intent="success" layout="multiline">
          <MessageBarBody><MessageBarTitle>Token created: copy it now, it is not shown again</MessageBarTitle><span className={s.mono}>{created}</span></MessageBarBody>
        </MessageBar>
      )}
      <Section title="API tokens" id="tokens">
        <Loaded q={tokensQ} what="tokens">
          {(list) => list.length === 0 ? <Text>No tokens.</Text> : (
            <div className={s.wrap}>
              <Table aria-label="API tokens" size="small">
                <TableHeader><TableRow><TableHeaderCell>Name</TableHeaderCell><TableHeaderCell>Role</TableHeaderCell><TableHeaderCell>Accounts</TableHeaderCell><TableHeaderCell>Created</TableHeaderCell><TableHeaderCell>Expires</TableHeaderCell><TableHeaderCell>Last used</TableHeaderCell><TableHeaderCell>Actions</TableHeaderCell></TableRow></TableHeader>
                <TableBody>
                  {list.map((t) => (
                    <TableRow key={t.id}>
                      <TableCell>{t.name}</TableCell><TableCell>{t.role}</TableCell><TableCell>{t.accounts?.join(', ') ?? 'all (tenant)'}</TableCell><TableCell>{dateTime(t.createdAt)} by {t.createdBy}</TableCell>
                      <TableCell>{t.revokedAt ? `revoked ${dateTime(t.revokedAt)}` : dateTime(t.expiresAt)}</TableCell><TableCell>{dateTime(t.lastUsedAt)}</TableCell>
                      <TableCell>{!t.revokedAt && <Button size="small" onClick={() => void run(async () => { await ok(api.DELETE('/api/v1/tokens/{id}', { params: { path: { id: t.id } } })); tokensQ.reload(); })}>Revoke</Button>}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )}
        </Loaded>
        <form className={s.form} onSubmit={(e) => { e.preventDefault(); void run(async () => { const r = await ok(api.POST('/api/v1/tokens', { body: { name: tok.name, role: tok.role, ...(accountsOf(tok.accounts).length > 0 && { accounts: accountsOf(tok.accounts) }) } })); setCreated(r.token); setTok({ ...tok, name: '' }); tokensQ.reload(); }); }}>
          <Field label="Token name" required><Input value={tok.name} onChange={(_, d) => setTok({ ...tok, name: d.value })} /></Field>
          <RolePicker value={tok.role} onChange={(role) => setTok({ ...tok, role })} />
          <Field label="Accounts (comma-separated; empty: all)"><Input value={tok.accounts} onChange={(_, d) => setTok({ ...tok, accounts: d.value })} /></Field>
          <Button type="submit" appearance="primary" disabled={tok.name.trim() === ''}>Create token</Button>
        </form>
      </Section>
      <Section title="Role assignments" id="assignments">
        <Loaded q={assignQ} what="role assignments">
          {(list) => list.length === 0 ? <Text>No role assignments: people signing in with OIDC get no access until an owner assigns a role.</Text> : (
            <div className={s.wrap}>
              <Table aria-label="Role assignments" size="small">
                <TableHeader><TableRow><TableHeaderCell>Person</TableHeaderCell><TableHeaderCell>Role</TableHeaderCell><TableHeaderCell>Accounts</TableHeaderCell><TableHeaderCell>Created</TableHeaderCell><TableHeaderCell>Actions</TableHeaderCell></TableRow></TableHeader>
                <TableBody>
                  {list.map((a) => (
                    <TableRow key={a.id}>
                      <TableCell>{a.subject}</TableCell><TableCell>{a.role}</TableCell><TableCell>{a.accounts?.join(', ') ?? 'all (tenant)'}</TableCell><TableCell>{dateTime(a.createdAt)} by {a.createdBy}</TableCell>
                      <TableCell><Button size="small" onClick={() => void run(async () => { await ok(api.DELETE('/api/v1/role-assignments/{id}', { params: { path: { id: a.id } } })); assignQ.reload(); })}>Remove</Button></TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )}
        </Loaded>
        <form className={s.form} onSubmit={(e) => { e.preventDefault(); void run(async () => { await ok(api.POST('/api/v1/role-assignments', { body: { subject: asg.subject, role: asg.role, ...(accountsOf(asg.accounts).length > 0 && { accounts: accountsOf(asg.accounts) }) } })); setAsg({ ...asg, subject: '' }); assignQ.reload(); }); }}>
          <Field label="Person (OIDC subject or e-mail)" required><Input value={asg.subject} onChange={(_, d) => setAsg({ ...asg, subject: d.value })} /></Field>
          <RolePicker value={asg.role} onChange={(role) => setAsg({ ...asg, role })} />
          <Field label="Accounts (comma-separated; empty: all)"><Input value={asg.accounts} onChange={(_, d) => setAsg({ ...asg, accounts: d.value })} /></Field>
          <Button type="submit" appearance="primary" disabled={asg.subject.trim() === ''}>Assign role</Button>
        </form>
      </Section>
    </Page>
  );
}
