/** Scans: runs newest first, and one run's per-node progress, live while it runs. */
import { Badge, ProgressBar, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import { allPages, api, ok, type Schemas } from '../api/client';
import { Empty, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { dateTime, plural } from '../components/severity';
import { Link } from '../router';

const DONE = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 1000;

export function isDone(scan: Schemas['Scan']): boolean {
  return DONE.has(scan.state);
}

function StateBadge({ state }: { state: string }): ReactNode {
  const color = state === 'completed' || state === 'published' ? 'success' : state === 'failed' ? 'danger' : state === 'skipped' || state === 'cancelled' ? 'subtle' : 'brand';
  return <Badge appearance="tint" color={color}>{state}</Badge>;
}

const useStyles = makeStyles({
  progress: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalXS, maxWidth: '520px' },
  wrap: { overflowX: 'auto' },
});

/** One scan's progress line; polls while the scan runs. */
export function ScanProgress({ id, onDone }: { id: string; onDone?: (scan: Schemas['Scan']) => void }): ReactNode {
  const s = useStyles();
  const q = useQuery(async () => {
    const scan = await ok(api.GET('/api/v1/scans/{id}', { params: { path: { id } } }));
    if (isDone(scan)) onDone?.(scan);
    return scan;
  }, [id], { pollMs: POLL_MS });
  return (
    <Loaded q={q} what="the scan">
      {(scan) => {
        const c = scan.counts;
        const finished = c.published + c.failed + c.skipped;
        const value = c.total === 0 ? (isDone(scan) ? 1 : undefined) : finished / c.total;
        return (
          <div className={s.progress} role="status" aria-live="polite">
            <Text>
              Scan <Link to={`/scans/${encodeURIComponent(scan.id)}`}>{scan.id.slice(0, 12)}</Link> <StateBadge state={scan.state} /> — {finished} of {plural(c.total, 'node')} done: {c.published} published, {c.failed} failed, {c.skipped} skipped
            </Text>
            <ProgressBar value={value} thickness="large" color={scan.state === 'failed' ? 'error' : isDone(scan) ? 'success' : 'brand'} aria-label="Scan progress" />
            {scan.error && <Text>{scan.error}</Text>}
          </div>
        );
      }}
    </Loaded>
  );
}

export function ScansPage(): ReactNode {
  const s = useStyles();
  const q = useQuery(() => ok(api.GET('/api/v1/scans', { params: { query: { limit: 100 } } })), [], { pollMs: 5000 });
  return (
    <Page title="Scans">
      <Section>
        <Loaded q={q} what="scans">
          {(page) =>
            page.items.length === 0 ? (
              <Empty title="No scans yet">
                <Text>Turn on Agentless scanning for machines for an account under <Link to="/settings">Environment settings</Link>, then Scan now (or wait for the daily schedule).</Text>
              </Empty>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Scans" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Scan</TableHeaderCell>
                      <TableHeaderCell>Account</TableHeaderCell>
                      <TableHeaderCell>Trigger</TableHeaderCell>
                      <TableHeaderCell>State</TableHeaderCell>
                      <TableHeaderCell>Nodes</TableHeaderCell>
                      <TableHeaderCell>Requested by</TableHeaderCell>
                      <TableHeaderCell>Started</TableHeaderCell>
                      <TableHeaderCell>Finished</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {page.items.map((r) => (
                      <TableRow key={r.id}>
                        <TableCell><Link to={`/scans/${encodeURIComponent(r.id)}`}>{r.id.slice(0, 12)}</Link></TableCell>
                        <TableCell>{r.account}</TableCell>
                        <TableCell>{r.trigger}</TableCell>
                        <TableCell><StateBadge state={r.state} /></TableCell>
                        <TableCell>{r.counts.published} / {r.counts.total} published{r.counts.failed ? `, ${r.counts.failed} failed` : ''}{r.counts.skipped ? `, ${r.counts.skipped} skipped` : ''}</TableCell>
                        <TableCell>{r.requestedBy}</TableCell>
                        <TableCell>{dateTime(r.startedAt ?? r.createdAt)}</TableCell>
                        <TableCell>{dateTime(r.finishedAt)}</TableCell>
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

export function ScanPage({ id }: { id: string }): ReactNode {
  const s = useStyles();
  const scan = useQuery(() => ok(api.GET('/api/v1/scans/{id}', { params: { path: { id } } })), [id], { pollMs: POLL_MS });
  const running = scan.data !== undefined && !isDone(scan.data);
  const nodes = useQuery(
    async () => {
      const [list, all] = await Promise.all([
        allPages((cursor) => ok(api.GET('/api/v1/scans/{id}/nodes', { params: { path: { id }, query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))),
        allPages((cursor) => ok(api.GET('/api/v1/nodes', { params: { query: { limit: 500, includeGone: 'true', ...(cursor !== undefined && { cursor }) } } }))),
      ]);
      const byId = new Map(all.map((n) => [n.id, n]));
      return list.filter((ns): ns is NonNullable<typeof ns> => ns !== null).map((ns) => ({ ns, node: byId.get(ns.node) }));
    },
    [id],
    { pollMs: running ? POLL_MS : false },
  );
  return (
    <Page title={`Scan ${id.slice(0, 12)}`} crumbs={<Link to="/scans">Scans</Link>}>
      <Section>
        <ScanProgress id={id} />
      </Section>
      <Section title="Node scans" id="node-scans">
        <Loaded q={nodes} what="node scans">
          {(rows) =>
            rows.length === 0 ? (
              <Empty title="No node scans yet">{running ? <Text>Discovery is running; node scans appear here as they are planned.</Text> : <Text>This scan planned no node scans (no nodes found in scope).</Text>}</Empty>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Node scans" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Node</TableHeaderCell>
                      <TableHeaderCell>Cluster / pool</TableHeaderCell>
                      <TableHeaderCell>State</TableHeaderCell>
                      <TableHeaderCell>Reason</TableHeaderCell>
                      <TableHeaderCell>Inventory</TableHeaderCell>
                      <TableHeaderCell>Findings</TableHeaderCell>
                      <TableHeaderCell>Alerts</TableHeaderCell>
                      <TableHeaderCell>Read</TableHeaderCell>
                      <TableHeaderCell>Time</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {rows.map(({ ns, node }) => (
                      <TableRow key={ns.id}>
                        <TableCell>{node?.name ?? ns.node}</TableCell>
                        <TableCell>{node ? `${node.clusterName} / ${node.poolName}` : '—'}</TableCell>
                        <TableCell><StateBadge state={ns.state} /></TableCell>
                        <TableCell>{ns.reason ? `${ns.reason}${ns.reasonDetail ? `: ${ns.reasonDetail}` : ''}` : '—'}</TableCell>
                        <TableCell>{ns.inventorySource ?? '—'}</TableCell>
                        <TableCell>{ns.findings ?? '—'}</TableCell>
                        <TableCell>{ns.alerts ?? '—'}</TableCell>
                        <TableCell>{(ns.bytesRead / 1048576).toFixed(1)} MiB</TableCell>
                        <TableCell>{ns.durationMs !== undefined ? `${(ns.durationMs / 1000).toFixed(1)} s` : '—'}</TableCell>
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
