/**
 * Recommendations: the list, and "Kubernetes nodes should have vulnerability findings resolved"
 * with its details (description, remediation steps, affected clusters and node pools) and the
 * Findings tab (one row per CVE) whose rows open the CVE pane (?cve=ID, deep-linkable).
 */
import { Badge, Tab, TabList, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, makeStyles, tokens } from '@fluentui/react-components';
import type { ReactNode } from 'react';
import { api, ok, type Schemas } from '../api/client';
import { Empty, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { SEVERITIES, SeverityBadge, dateTime, field, isArray, isString, plural } from '../components/severity';
import { Link, navigate, useLocation, withQuery } from '../router';
import { CvePane } from './cve-pane';
import { FindingsTab } from './findings';

export const RECOMMENDATION_ID = 'aks-node-vulnerabilities';
export const RECOMMENDATION_TITLE = 'Kubernetes nodes should have vulnerability findings resolved';
type Rec = Schemas['ClusterRecommendation'];

const STATUS_COLOR = { unhealthy: 'danger', healthy: 'success', 'not-applicable': 'subtle', 'not-assessed': 'warning' } as const;
const STATUS_LABEL = { unhealthy: 'Unhealthy', healthy: 'Healthy', 'not-applicable': 'Not applicable', 'not-assessed': 'Not assessed' } as const;

export function StatusBadge({ status }: { status: Rec['status'] }): ReactNode {
  return <Badge appearance="tint" color={STATUS_COLOR[status]}>{STATUS_LABEL[status]}</Badge>;
}

const useStyles = makeStyles({
  wrap: { overflowX: 'auto' },
  counts: { display: 'flex', gap: tokens.spacingHorizontalS, flexWrap: 'wrap', alignItems: 'center' },
  hint: { color: tokens.colorNeutralForeground2 },
  steps: { margin: 0, paddingLeft: tokens.spacingHorizontalXL, display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalXS },
  tabs: { marginBottom: tokens.spacingVerticalS },
});

export function SeverityCounts({ counts }: { counts: Record<string, number> }): ReactNode {
  const s = useStyles();
  const shown = SEVERITIES.filter((k) => (counts[k] ?? 0) > 0);
  if (shown.length === 0) return <Text>none</Text>;
  return (
    <span className={s.counts}>
      {shown.map((k) => (
        <span key={k}><SeverityBadge severity={k} /> {counts[k]}</span>
      ))}
    </span>
  );
}

function useRecommendations() {
  return useQuery(() => ok(api.GET('/api/v1/recommendations')).then((r) => r.items), []);
}

export function RecommendationsPage(): ReactNode {
  const s = useStyles();
  const q = useRecommendations();
  return (
    <Page title="Recommendations">
      <Section>
        <Loaded q={q} what="recommendations">
          {(items) => {
            if (items.length === 0) {
              return (
                <Empty title="No clusters to assess yet">
                  <Text>Turn on Agentless scanning for machines for an account under <Link to="/settings">Environment settings</Link>; its clusters appear here after discovery.</Text>
                </Empty>
              );
            }
            const by = (st: Rec['status']) => items.filter((r) => r.status === st).length;
            const total: Record<string, number> = {};
            for (const r of items) for (const [k, v] of Object.entries(r.counts)) total[k] = (total[k] ?? 0) + (v ?? 0);
            const worst = by('unhealthy') > 0 ? 'unhealthy' : by('not-assessed') > 0 ? 'not-assessed' : by('healthy') > 0 ? 'healthy' : 'not-applicable';
            return (
              <div className={s.wrap}>
                <Table aria-label="Recommendations" size="medium">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Recommendation</TableHeaderCell>
                      <TableHeaderCell>Status</TableHeaderCell>
                      <TableHeaderCell>Clusters</TableHeaderCell>
                      <TableHeaderCell>Open vulnerabilities (per cluster, summed)</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    <TableRow>
                      <TableCell><Link to={`/recommendations/${RECOMMENDATION_ID}`}>{RECOMMENDATION_TITLE}</Link></TableCell>
                      <TableCell><StatusBadge status={worst} /></TableCell>
                      <TableCell>{by('unhealthy')} unhealthy, {by('healthy')} healthy, {by('not-assessed')} not assessed, {by('not-applicable')} not applicable</TableCell>
                      <TableCell><SeverityCounts counts={total} /></TableCell>
                    </TableRow>
                  </TableBody>
                </Table>
              </div>
            );
          }}
        </Loaded>
      </Section>
    </Page>
  );
}

export function RecommendationPage({ id }: { id: string }): ReactNode {
  const s = useStyles();
  const loc = useLocation();
  const tab = loc.query.get('tab') === 'findings' ? 'findings' : 'details';
  const cve = loc.query.get('cve');
  const q = useRecommendations();
  if (id !== RECOMMENDATION_ID) return <Page title="Recommendation not found"><Empty title={`There is no recommendation ${id}.`}><Link to="/recommendations">All recommendations</Link></Empty></Page>;
  return (
    <Page title={RECOMMENDATION_TITLE} crumbs={<Link to="/recommendations">Recommendations</Link>}>
      <TabList className={s.tabs} selectedValue={tab} onTabSelect={(_, d) => navigate(withQuery(loc, { tab: d.value === 'findings' ? 'findings' : undefined }))}>
        <Tab value="details">Details</Tab>
        <Tab value="findings">Findings</Tab>
      </TabList>
      {tab === 'details' ? <Details q={q} /> : <FindingsTab />}
      {cve !== null && <CvePane id={cve} onClose={() => navigate(withQuery(loc, { cve: undefined }))} />}
    </Page>
  );
}

function Details({ q }: { q: ReturnType<typeof useRecommendations> }): ReactNode {
  const s = useStyles();
  return (
    <Loaded q={q} what="the recommendation">
      {(items) => {
        const first = items[0];
        const description = field(first, 'description', isString);
        const steps = (field(first, 'remediation', isArray) ?? []).filter(isString);
        return (
          <>
            <Section title="Description" id="rec-description">
              <Text>{description ?? 'Agentless scanning of the nodes\' OS disks found packages with known vulnerabilities.'}</Text>
            </Section>
            {steps.length > 0 && (
              <Section title="Remediation steps" id="rec-remediation">
                <ol className={s.steps}>{steps.map((x) => <li key={x}>{x}</li>)}</ol>
                <Text className={s.hint}>What each node-image upgrade fixes, pool by pool: <Link to="/node-pools">Node pools</Link>.</Text>
              </Section>
            )}
            <Section title="Affected resources" id="rec-affected">
              {items.length === 0 ? (
                <Empty title="No clusters yet"><Text>Turn on Agentless scanning for machines under <Link to="/settings">Environment settings</Link>.</Text></Empty>
              ) : (
                <div className={s.wrap}>
                  <Table aria-label="Clusters assessed" size="small" style={{ tableLayout: 'auto', minWidth: '900px' }}>
                    <TableHeader>
                      <TableRow>
                        <TableHeaderCell>Cluster</TableHeaderCell>
                        <TableHeaderCell>Account</TableHeaderCell>
                        <TableHeaderCell>Status</TableHeaderCell>
                        <TableHeaderCell>Affected node pools</TableHeaderCell>
                        <TableHeaderCell>Affected nodes</TableHeaderCell>
                        <TableHeaderCell>Open vulnerabilities</TableHeaderCell>
                        <TableHeaderCell>Last scanned</TableHeaderCell>
                      </TableRow>
                    </TableHeader>
                    <TableBody>
                      {items.map((r) => (
                        <TableRow key={`${r.account}/${r.cluster}`}>
                          <TableCell>{r.cluster}</TableCell>
                          <TableCell>{r.account}</TableCell>
                          <TableCell>
                            <StatusBadge status={r.status} />
                            {r.reason && <><br /><Text size={200} className={s.hint}>{r.reason}</Text></>}
                          </TableCell>
                          <TableCell>{r.affectedPools.length === 0 ? '—' : r.affectedPools.map((p, i) => <span key={p}>{i > 0 && ', '}<Link to={`/node-pools?cluster=${encodeURIComponent(r.clusterId)}&pool=${encodeURIComponent(p)}`}>{p}</Link></span>)}</TableCell>
                          <TableCell>{plural(r.affectedNodes, 'node')}</TableCell>
                          <TableCell><SeverityCounts counts={r.counts} /></TableCell>
                          <TableCell>{dateTime(r.lastScanned)}</TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                </div>
              )}
            </Section>
          </>
        );
      }}
    </Loaded>
  );
}
