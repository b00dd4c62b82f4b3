/**
 * Node pools: per pool its node image and the newest one, the remediation by node-image upgrade
 * ("upgrade to X: fixes N of M, K remain") with the residual list, drifted nodes, and each
 * node's coverage with an SBOM download.
 */
import {
  Accordion, AccordionHeader, AccordionItem, AccordionPanel, Badge, Button, Menu, MenuItem, MenuList, MenuPopover, MenuTrigger, Table, TableBody, TableCell, TableHeader,
  TableHeaderCell, TableRow, Text, makeStyles, tokens,
} from '@fluentui/react-components';
import { useState, type ReactNode } from 'react';
import { allPages, api, download, ok, type Schemas } from '../api/client';
import { Empty, ErrorBar, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { SeverityBadge, dateTime, field, isArray, isObject, isString, plural } from '../components/severity';
import { Link, useLocation } from '../router';
import { CoverageBadge } from './overview';

type Remediation = Schemas['PoolRemediation'];

const useStyles = makeStyles({
  grid: { display: 'flex', flexDirection: 'column', gap: tokens.spacingVerticalL },
  facts: { display: 'flex', gap: tokens.spacingHorizontalXXL, flexWrap: 'wrap', margin: `0 0 ${tokens.spacingVerticalM} 0` },
  fact: { display: 'flex', flexDirection: 'column' },
  dt: { color: tokens.colorNeutralForeground2, fontSize: tokens.fontSizeBase200 },
  summary: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold, display: 'block', marginBottom: tokens.spacingVerticalS },
  wrap: { overflowX: 'auto' },
  mono: { fontFamily: tokens.fontFamilyMonospace },
  list: { margin: 0, paddingLeft: tokens.spacingHorizontalXL },
  hint: { color: tokens.colorNeutralForeground2 },
});

interface PoolView {
  pool: Schemas['NodePool'];
  cluster: Schemas['Cluster'] | undefined;
  remediation: Remediation | undefined;
  nodes: Schemas['Node'][];
}

export function NodePoolsPage(): ReactNode {
  const s = useStyles();
  const loc = useLocation();
  const onlyCluster = loc.query.get('cluster');
  const onlyPool = loc.query.get('pool');
  const q = useQuery(async (): Promise<{ views: PoolView[]; remediationError?: Error }> => {
    const page = <T,>(f: (c: string | undefined) => Promise<{ items: T[]; next: string | null }>) => allPages(f);
    const [pools, clusters, nodes] = await Promise.all([
      page((cursor) => ok(api.GET('/api/v1/pools', { params: { query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))),
      page((cursor) => ok(api.GET('/api/v1/clusters', { params: { query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))),
      page((cursor) => ok(api.GET('/api/v1/nodes', { params: { query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))),
    ]);
    let remediation: Remediation[] = [];
    let remediationError: Error | undefined;
    try {
      remediation = (await ok(api.GET('/api/v1/remediation'))).items;
    } catch (err) {
      remediationError = err instanceof Error ? err : new Error(String(err));
    }
    const clusterById = new Map(clusters.map((c) => [c.id, c]));
    const views = pools.map((pool) => {
      const cluster = clusterById.get(pool.cluster);
      return {
        pool, cluster,
        remediation: remediation.find((r) => r.account === pool.account && r.cluster === cluster?.name && r.nodePool === pool.name),
        nodes: nodes.filter((n) => n.pool === pool.id),
      };
    });
    return { views, ...(remediationError && { remediationError }) };
  }, []);
  return (
    <Page title="Node pools">
      <Text className={s.hint}>What upgrading each pool's node image fixes, what stays, and which nodes differ from their image.</Text>
      <Loaded q={q} what="node pools">
        {({ views, remediationError }) => {
          const shown = views.filter((v) => (onlyCluster === null || v.pool.cluster === onlyCluster) && (onlyPool === null || v.pool.name === onlyPool));
          return (
            <div className={s.grid}>
              {remediationError && <ErrorBar error={remediationError} what="Remediation is not available" />}
              {(onlyCluster !== null || onlyPool !== null) && <Text>Showing {plural(shown.length, 'pool')} · <Link to="/node-pools">show all node pools</Link></Text>}
              {shown.length === 0 && <Empty title="No node pools"><Text>Node pools appear after discovery of an account with Agentless scanning for machines on (<Link to="/settings">Environment settings</Link>).</Text></Empty>}
              {shown.map((v) => <PoolCard key={v.pool.id} v={v} />)}
            </div>
          );
        }}
      </Loaded>
    </Page>
  );
}

function VulnList({ items }: { items: Remediation['fixed'] }): ReactNode {
  const s = useStyles();
  if (items.length === 0) return <Text>None.</Text>;
  return (
    <ul className={s.list}>
      {items.map((x) => (
        <li key={x.vulnerabilityId}>
          <Link to={`/recommendations/aks-node-vulnerabilities?tab=findings&cve=${encodeURIComponent(x.vulnerabilityId)}`}>{x.vulnerabilityId}</Link> <SeverityBadge severity={x.severity} /> <span className={s.mono}>{x.packages.join(', ')}</span>
        </li>
      ))}
    </ul>
  );
}

function PoolCard({ v }: { v: PoolView }): ReactNode {
  const s = useStyles();
  const r = v.remediation;
  const [error, setError] = useState<Error | undefined>();
  const drift = (field(r, 'drift', isArray) ?? []).filter(isObject);
  const title = `${v.cluster?.name ?? v.pool.cluster} / ${v.pool.name}`;
  const upToDate = v.pool.imageVersion !== undefined && v.pool.latestImageVersion !== undefined && v.pool.imageVersion === v.pool.latestImageVersion;
  return (
    <Section title={`Node pool ${title}`} id={`pool-${v.pool.id}`}>
      <div className={s.facts}>
        <div className={s.fact}><span className={s.dt}>Node image</span><span className={s.mono}>{v.pool.imageFamily ?? '—'} {v.pool.imageVersion ?? ''}</span></div>
        <div className={s.fact}><span className={s.dt}>Latest image</span><span className={s.mono}>{v.pool.latestImageVersion ?? r?.targetImage ?? '—'} {upToDate && <Badge appearance="tint" color="success">current</Badge>}</span></div>
        <div className={s.fact}><span className={s.dt}>Nodes</span><span>{v.nodes.length}</span></div>
        <div className={s.fact}><span className={s.dt}>Account</span><span>{v.pool.account}</span></div>
      </div>
      {r === undefined ? (
        <Text className={s.hint}>No remediation for this pool: scanning is off for its account, or it has no assessed node.</Text>
      ) : (
        <>
          <Text className={s.summary} role="note" aria-label="Remediation">{r.summary}</Text>
          {r.note && <Text className={s.hint} block>{r.note}</Text>}
          <Accordion collapsible multiple>
            <AccordionItem value="fixed">
              <AccordionHeader>Fixed by the upgrade ({r.fixed.length})</AccordionHeader>
              <AccordionPanel><VulnList items={r.fixed} /></AccordionPanel>
            </AccordionItem>
            <AccordionItem value="remaining">
              <AccordionHeader>Remain after the upgrade ({r.remaining.length})</AccordionHeader>
              <AccordionPanel>
                <Text className={s.hint} block>No released image fixes these yet: mitigate them, or record an <Link to="/exemptions">exemption</Link> with an owner and an expiry.</Text>
                <VulnList items={r.remaining} />
              </AccordionPanel>
            </AccordionItem>
            {r.introduced.length > 0 && (
              <AccordionItem value="introduced">
                <AccordionHeader>Introduced by the target image ({r.introduced.length})</AccordionHeader>
                <AccordionPanel><VulnList items={r.introduced} /></AccordionPanel>
              </AccordionItem>
            )}
          </Accordion>
          {drift.length > 0 && (
            <div>
              <Text weight="semibold" block>Drifted nodes ({drift.length}): different from the pool's image</Text>
              <ul className={s.list}>
                {drift.map((d, i) => {
                  const count = (k: string) => (isArray(d[k]) ? (d[k] as unknown[]).length : 0);
                  return <li key={i}>{isString(d['node']) ? d['node'] : '?'}: {count('changed')} changed, {count('added')} added, {count('removed')} removed packages</li>;
                })}
              </ul>
            </div>
          )}
        </>
      )}
      {error && <ErrorBar error={error} what="Download failed" />}
      <div className={s.wrap}>
        <Table aria-label={`Nodes of ${title}`} size="small">
          <TableHeader>
            <TableRow>
              <TableHeaderCell>Node</TableHeaderCell>
              <TableHeaderCell>Coverage</TableHeaderCell>
              <TableHeaderCell>Last scan</TableHeaderCell>
              <TableHeaderCell>Findings</TableHeaderCell>
              <TableHeaderCell>Kernel</TableHeaderCell>
              <TableHeaderCell>SBOM</TableHeaderCell>
            </TableRow>
          </TableHeader>
          <TableBody>
            {v.nodes.map((n) => (
              <TableRow key={n.id}>
                <TableCell>{n.name}</TableCell>
                <TableCell><CoverageBadge c={n.coverage} /></TableCell>
                <TableCell>{dateTime(n.coverage.scannedAt ?? n.lastScan?.finishedAt)}</TableCell>
                <TableCell>{n.lastScan?.findings ?? '—'}</TableCell>
                <TableCell><span className={s.mono}>{n.kernel ?? '—'}</span></TableCell>
                <TableCell>
                  {n.hasInventory ? (
                    <Menu>
                      <MenuTrigger disableButtonEnhancement>
                        <Button size="small" aria-label={`Download the SBOM of ${n.name}`}>SBOM</Button>
                      </MenuTrigger>
                      <MenuPopover>
                        <MenuList>
                          <MenuItem onClick={() => void download(`/api/v1/nodes/${encodeURIComponent(n.id)}/sbom?format=cyclonedx`, `${n.name}.cdx.json`).catch(setError)}>CycloneDX 1.6</MenuItem>
                          <MenuItem onClick={() => void download(`/api/v1/nodes/${encodeURIComponent(n.id)}/sbom?format=spdx`, `${n.name}.spdx.json`).catch(setError)}>SPDX 2.3</MenuItem>
                        </MenuList>
                      </MenuPopover>
                    </Menu>
                  ) : (
                    <Text size={200}>no inventory</Text>
                  )}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </div>
    </Section>
  );
}
