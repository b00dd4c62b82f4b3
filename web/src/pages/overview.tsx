/**
 * Overview: coverage (nodes scanned, and why the others are not), open vulnerabilities by
 * severity, malware alerts, the trend of open findings per severity, and the oldest unresolved
 * critical CVEs.
 */
import { Badge, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, Tooltip, makeStyles, tokens } from '@fluentui/react-components';
import { useEffect, type ReactNode } from 'react';
import { allPages, api, ok, type Schemas } from '../api/client';
import { Empty, Loaded, useQuery } from '../components/data';
import { Page, Section } from '../components/layout';
import { KevBadge, SEVERITIES, SeverityBadge, ageDays, date, plural, severityLabel, type Severity } from '../components/severity';
import { Link } from '../router';

const useStyles = makeStyles({
  grid: { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(300px, 1fr))', gap: tokens.spacingHorizontalL },
  big: { fontSize: tokens.fontSizeHero800, lineHeight: tokens.lineHeightHero800, fontWeight: tokens.fontWeightSemibold },
  row: { display: 'flex', justifyContent: 'space-between', gap: tokens.spacingHorizontalM, padding: `${tokens.spacingVerticalXXS} 0` },
  list: { margin: 0, padding: 0, listStyleType: 'none' },
  hint: { color: tokens.colorNeutralForeground2 },
  wrap: { overflowX: 'auto' },
  legend: { display: 'flex', gap: tokens.spacingHorizontalM, flexWrap: 'wrap', fontSize: tokens.fontSizeBase200 },
  swatch: { display: 'inline-block', width: '10px', height: '10px', borderRadius: '2px', marginRight: tokens.spacingHorizontalXS },
  svg: { width: '100%', height: 'auto', overflow: 'visible' },
});

const COVERAGE_COLOR = { scanned: 'success', 'not-scanned': 'subtle', scanning: 'brand', failed: 'danger', skipped: 'warning', gone: 'subtle' } as const;

export function CoverageBadge({ c }: { c: Schemas['Coverage'] }): ReactNode {
  const label = c.state === 'not-scanned' ? 'Not scanned' : c.state.charAt(0).toUpperCase() + c.state.slice(1);
  const why = [c.reason, c.detail].filter((x) => x !== null && x !== '').join(': ');
  const badge = <Badge appearance="tint" color={COVERAGE_COLOR[c.state]}>{label}{c.reason ? ` · ${c.reason}` : ''}</Badge>;
  return why ? <Tooltip content={why} relationship="description">{badge}</Tooltip> : badge;
}

const TREND_COLORS: Record<Severity, string> = { critical: '#c50f1f', high: '#da3b01', medium: '#8a6d00', low: '#0f6cbd', negligible: '#616161', unknown: '#8a8886' };

function Trend({ items }: { items: Schemas['ClusterHistory'][] }): ReactNode {
  const s = useStyles();
  const byDay = new Map<string, Record<string, number>>();
  for (const c of items) for (const d of c.days) {
    const acc = byDay.get(d.date) ?? {};
    for (const [k, v] of Object.entries(d.open)) acc[k] = (acc[k] ?? 0) + (v ?? 0);
    byDay.set(d.date, acc);
  }
  const sorted = [...byDay.keys()].sort();
  const firstData = sorted.findIndex((d) => Object.values(byDay.get(d)!).some((v) => v > 0));
  // Days before the first scan are not zero findings: they are no data.
  const days = firstData < 0 ? [] : sorted.slice(Math.max(0, firstData - 1));
  if (days.length === 0) return <Empty title="No history yet"><Text>The trend starts with the first published scan.</Text></Empty>;
  const sev = SEVERITIES.filter((k) => days.some((d) => (byDay.get(d)![k] ?? 0) > 0));
  const max = Math.max(1, ...days.flatMap((d) => sev.map((k) => byDay.get(d)![k] ?? 0)));
  const W = 1000, H = 220, L = 56, B = 24;
  const x = (i: number) => L + (days.length === 1 ? (W - L) / 2 : (i * (W - L - 8)) / (days.length - 1));
  const y = (v: number) => H - B - (v * (H - B - 8)) / max;
  const last = byDay.get(days[days.length - 1]!)!;
  const summary = sev.map((k) => `${last[k] ?? 0} ${k}`).join(', ');
  return (
    <figure style={{ margin: 0 }}>
      <svg className={s.svg} viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Open findings per severity over ${plural(days.length, 'day')}, from ${days[0]} to ${days[days.length - 1]}; now ${summary}`}>
        <line x1={L} x2={W} y1={H - B} y2={H - B} stroke="currentColor" strokeOpacity="0.4" />
        <text x={L - 4} y={y(max) + 4} textAnchor="end" fontSize="11" fill="currentColor">{max}</text>
        <text x={L - 4} y={H - B + 4} textAnchor="end" fontSize="11" fill="currentColor">0</text>
        <text x={L} y={H - 4} fontSize="11" fill="currentColor">{days[0]}</text>
        <text x={W} y={H - 4} textAnchor="end" fontSize="11" fill="currentColor">{days[days.length - 1]}</text>
        {sev.map((k) => {
          const pts = days.map((d, i) => `${x(i)},${y(byDay.get(d)![k] ?? 0)}`).join(' ');
          return days.length === 1 ? <circle key={k} cx={x(0)} cy={y(last[k] ?? 0)} r="4" fill={TREND_COLORS[k]} /> : <polyline key={k} points={pts} fill="none" stroke={TREND_COLORS[k]} strokeWidth="2" />;
        })}
      </svg>
      <figcaption className={s.legend}>
        {sev.map((k) => <span key={k}><span className={s.swatch} style={{ backgroundColor: TREND_COLORS[k] }} />{severityLabel(k)} ({last[k] ?? 0})</span>)}
      </figcaption>
    </figure>
  );
}

export function OverviewPage(): ReactNode {
  const s = useStyles();
  const nodes = useQuery(() => allPages((cursor) => ok(api.GET('/api/v1/nodes', { params: { query: { limit: 500, ...(cursor !== undefined && { cursor }) } } }))), []);
  const bySeverity = useQuery(async () => {
    const totals = await Promise.all(SEVERITIES.map((sv) => ok(api.GET('/api/v1/findings', { params: { query: { severity: sv, limit: 1 } } })).then((p) => [sv, p.total] as const)));
    return totals;
  }, []);
  const alerts = useQuery(() => allPages((cursor) => ok(api.GET('/api/v1/alerts', { params: { query: { limit: 500, status: 'active', ...(cursor !== undefined && { cursor }) } } }))), []);
  const history = useQuery(() => ok(api.GET('/api/v1/history', { params: { query: { days: 90 } } })).then((r) => r.items), []);
  const oldest = useQuery(() => ok(api.GET('/api/v1/findings', { params: { query: { severity: 'critical', sort: 'first-seen', order: 'asc', limit: 5 } } })), []);
  useEffect(() => {
    if (nodes.data && bySeverity.data) performance.mark('hullscan:overview-rendered');
  }, [nodes.data, bySeverity.data]);
  return (
    <Page title="Overview">
      <div className={s.grid}>
        <Section title="Coverage" id="ov-coverage">
          <Loaded q={nodes} what="coverage">
            {(list) => {
              if (list.length === 0) return <Empty title="No nodes yet"><Text>Turn on Agentless scanning for machines under <Link to="/settings">Environment settings</Link>; nodes appear after discovery.</Text></Empty>;
              const scanned = list.filter((n) => n.coverage.state === 'scanned').length;
              const why = new Map<string, number>();
              for (const n of list) if (n.coverage.state !== 'scanned') {
                const k = n.coverage.state === 'not-scanned' && n.coverage.reason === 'scanning-off' ? 'scanning off for the account' : `${n.coverage.state}${n.coverage.reason ? `: ${n.coverage.reason}` : ''}`;
                why.set(k, (why.get(k) ?? 0) + 1);
              }
              return (
                <>
                  <Text className={s.big} block>{scanned} / {list.length}</Text>
                  <Text block>nodes scanned</Text>
                  {why.size > 0 && (
                    <ul className={s.list} aria-label="Nodes not scanned, by reason">
                      {[...why.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => <li key={k} className={s.row}><span>{k}</span><span>{v}</span></li>)}
                    </ul>
                  )}
                  {why.has('scanning off for the account') && <Text className={s.hint} size={200}>Scanning is off for some subscriptions — turn on Agentless scanning for machines under <Link to="/settings">Environment settings</Link>.</Text>}
                </>
              );
            }}
          </Loaded>
        </Section>
        <Section title="Open vulnerabilities by severity" id="ov-severity">
          <Loaded q={bySeverity} what="findings">
            {(rows) => (
              <>
                <ul className={s.list}>
                  {rows.map(([k, n]) => <li key={k} className={s.row}><SeverityBadge severity={k} /><span>{n.toLocaleString('en-US')}</span></li>)}
                </ul>
                <Link to="/recommendations/aks-node-vulnerabilities?tab=findings">Open the Findings</Link>
              </>
            )}
          </Loaded>
        </Section>
        <Section title="Security alerts" id="ov-alerts">
          <Loaded q={alerts} what="alerts">
            {(list) => (
              <>
                <Text className={s.big} block>{list.length}</Text>
                <Text block>active malware alerts on {plural(new Set(list.map((a) => a.nodeId)).size, 'node')}</Text>
                <Link to="/alerts">Review alerts</Link>
              </>
            )}
          </Loaded>
        </Section>
      </div>
      <Section title="Open findings per severity over time (finding rows: node × vulnerability × package)" id="ov-trend">
        <Loaded q={history} what="history">{(items) => <Trend items={items} />}</Loaded>
      </Section>
      <Section title="Oldest unresolved critical vulnerabilities" id="ov-oldest">
        <Loaded q={oldest} what="critical vulnerabilities">
          {(page) =>
            page.items.length === 0 ? (
              <Text>No open critical vulnerability on the assessed nodes.</Text>
            ) : (
              <div className={s.wrap}>
                <Table aria-label="Oldest unresolved critical vulnerabilities" size="small">
                  <TableHeader>
                    <TableRow>
                      <TableHeaderCell>Vulnerability</TableHeaderCell>
                      <TableHeaderCell>First seen</TableHeaderCell>
                      <TableHeaderCell>Open for</TableHeaderCell>
                      <TableHeaderCell>Nodes</TableHeaderCell>
                      <TableHeaderCell>KEV</TableHeaderCell>
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {page.items.map((i) => (
                      <TableRow key={i.vulnerabilityId}>
                        <TableCell><Link to={`/recommendations/aks-node-vulnerabilities?tab=findings&cve=${encodeURIComponent(i.vulnerabilityId)}`}>{i.vulnerabilityId}</Link></TableCell>
                        <TableCell>{date(i.firstSeen)}</TableCell>
                        <TableCell>{plural(ageDays(i.firstSeen), 'day')}</TableCell>
                        <TableCell>{i.nodes}</TableCell>
                        <TableCell><KevBadge kev={i.kev} dateAdded={i.kevDateAdded} /></TableCell>
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
