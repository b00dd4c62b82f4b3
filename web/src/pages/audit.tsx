/** The audit log (owners): who changed what, when, before and after. */
import { Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import type { Session } from '../App';
import { api, ok } from '../api/client';
import { Empty, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { dateTime } from '../components/severity';

const useStyles = makeStyles({ wrap: { overflowX: 'auto' }, mono: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200, overflowWrap: 'anywhere' } });

export function AuditPage({ session }: { session: Session }): ReactNode {
  const s = useStyles();
  const q = useQuery(() => ok(api.GET('/api/v1/audit', { params: { query: { limit: 200 } } })), []);
  if (!session.isOwner) return <Page title="Audit log"><Empty title="The audit log is for owners"><Text>Ask an owner for access.</Text></Empty></Page>;
  return (
    <Page title="Audit log">
      <Section>
        <Loaded q={q} what="the audit log">
          {(page) =>
            page.items.length === 0 ? <Empty title="Nothing changed yet" /> : (
              <div className={s.wrap}>
                <Table aria-label="Audit log" size="small">
                  <TableHeader>
                    <TableRow><TableHeaderCell>When</TableHeaderCell><TableHeaderCell>Who</TableHeaderCell><TableHeaderCell>Action</TableHeaderCell><TableHeaderCell>Target</TableHeaderCell><TableHeaderCell>Before</TableHeaderCell><TableHeaderCell>After</TableHeaderCell></TableRow>
                  </TableHeader>
                  <TableBody>
                    {page.items.map((e) => (
                      <TableRow key={e.id}>
                        <TableCell>{dateTime(e.at)}</TableCell><TableCell>{e.actor}</TableCell><TableCell>{e.action}</TableCell><TableCell>{e.targetType} {e.targetId ?? ''}</TableCell>
                        <TableCell><span className={s.mono}>{e.before === undefined ? '—' : JSON.stringify(e.before)}</span></TableCell>
                        <TableCell><span className={s.mono}>{e.after === undefined ? '—' : JSON.stringify(e.after)}</span></TableCell>
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
