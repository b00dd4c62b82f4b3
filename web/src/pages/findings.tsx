/**
 * The Findings tab: one row per vulnerability over the counted nodes, from GET /api/v1/findings —
 * sorted, filtered and searched by the server, paged by cursor; severity chips, KEV and EPSS;
 * export CSV of every page. A row opens the CVE pane (?cve=ID).
 */
import {
  Button, Checkbox, Dropdown, Field, Option, SearchBox, Table, TableBody, TableCell, TableHeader, TableHeaderCell, TableRow, Text, ToggleButton, makeStyles, tokens,
} from '@fluentui/react-components';
import { useEffect, useState, type ReactNode } from 'react';
import { api, ok, saveBlob, type Schemas } from '../api/client';
import { ErrorBar, Empty, Loaded, useQuery } from '../components/data';
import { Section } from '../components/layout';
import { KevBadge, SEVERITIES, SeverityBadge, date, pct, severityLabel } from '../components/severity';
import { Link, useDebounced, useLocation, withQuery } from '../router';

type Item = Schemas['VulnerabilityListItem'];
type Sort = 'severity' | 'cvss' | 'epss' | 'nodes' | 'first-seen' | 'id';
const PAGE_SIZES = [50, 100, 500] as const;
const EXPORT_PAGE = 500;

const useStyles = makeStyles({
  bar: { display: 'flex', flexWrap: 'wrap', gap: tokens.spacingHorizontalM, alignItems: 'flex-end', marginBottom: tokens.spacingVerticalM },
  chips: { display: 'flex', gap: tokens.spacingHorizontalXS, flexWrap: 'wrap' },
  wrap: { overflowX: 'auto' },
  pager: { display: 'flex', gap: tokens.spacingHorizontalM, alignItems: 'center', marginTop: tokens.spacingVerticalM, flexWrap: 'wrap' },
  id: { fontFamily: tokens.fontFamilyMonospace, whiteSpace: 'nowrap' },
  title: { color: tokens.colorNeutralForeground2, display: 'block', maxWidth: '36ch', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  num: { textAlign: 'right', fontVariantNumeric: 'tabular-nums' },
});

function fixText(i: Item): string {
  if (i.fixState === 'fixed') return i.fixedVersions.length ? `Fixed in ${i.fixedVersions.slice(0, 2).join(', ')}${i.fixedVersions.length > 2 ? ` +${i.fixedVersions.length - 2}` : ''}` : 'Fix available';
  return { 'no-fix': 'No fix yet', 'wont-fix': "Won't fix", deferred: 'Deferred', unimportant: 'Unimportant' }[i.fixState];
}

/** CSV with cells a spreadsheet would run as a formula prefixed by ' (as the CLI's export). */
export function toCsv(items: Item[]): string {
  const cell = (v: unknown): string => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const head = ['vulnerability', 'title', 'severity', 'cvss', 'cvss_vector', 'epss', 'epss_percentile', 'kev', 'fix_state', 'fixed_versions', 'packages', 'nodes', 'pools', 'clusters', 'findings', 'exempt_findings', 'status', 'first_seen'];
  const rows = items.map((i) => [i.vulnerabilityId, i.title, i.severity, i.cvss?.score, i.cvss?.vector, i.epss?.score, i.epss?.percentile, i.kev, i.fixState, i.fixedVersions.join(' '), i.packages.join(' '), i.nodes, i.pools, i.clusters, i.findings, i.exemptFindings, i.status, i.firstSeen].map(cell).join(','));
  return [head.join(','), ...rows].join('\r\n') + '\r\n';
}

export function FindingsTab(): ReactNode {
  const s = useStyles();
  const loc = useLocation();
  const [severities, setSeverities] = useState<string[]>([]);
  const [kev, setKev] = useState(false);
  const [fixable, setFixable] = useState(false);
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<{ by: Sort; desc: boolean }>({ by: 'severity', desc: false });
  const [pageSize, setPageSize] = useState<number>(50);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [exporting, setExporting] = useState<Error | 'busy' | undefined>();
  const term = useDebounced(search.trim(), 250);
  const filters = { severities: severities.join(','), kev, fixable, term, sort: sort.by, desc: sort.desc, pageSize };
  const key = JSON.stringify(filters);
  useEffect(() => setCursors([undefined]), [key]);
  const cursor = cursors[cursors.length - 1];
  const query = (c: string | undefined, limit: number) => ({
    limit, sort: sort.by, order: sort.desc ? ('desc' as const) : ('asc' as const),
    ...(severities.length > 0 && { severity: severities.join(',') }), ...(kev && { kev: 'true' as const }), ...(fixable && { fixAvailable: 'true' as const }),
    ...(term !== '' && { search: term }), ...(c !== undefined && { cursor: c }),
  });
  const q = useQuery(() => ok(api.GET('/api/v1/findings', { params: { query: query(cursor, pageSize) } })), [key, cursor]);

  useEffect(() => {
    if (q.data) performance.mark('hullscan:findings-rendered');
  }, [q.data]);

  const header = (by: Sort, label: string, defaultDesc: boolean) => (
    <TableHeaderCell
      sortable
      sortDirection={sort.by === by ? (sort.desc ? 'descending' : 'ascending') : undefined}
      onClick={() => setSort(sort.by === by ? { by, desc: !sort.desc } : { by, desc: defaultDesc })}
    >
      {label}
    </TableHeaderCell>
  );

  const exportCsv = async () => {
    setExporting('busy');
    try {
      const all: Item[] = [];
      let c: string | undefined;
      do {
        const page = await ok(api.GET('/api/v1/findings', { params: { query: query(c, EXPORT_PAGE) } }));
        all.push(...page.items);
        c = page.next ?? undefined;
      } while (c !== undefined);
      saveBlob(new Blob([toCsv(all)], { type: 'text/csv;charset=utf-8' }), 'hullscan-findings.csv');
      setExporting(undefined);
    } catch (err) {
      setExporting(err instanceof Error ? err : new Error(String(err)));
    }
  };

  const page = cursors.length;
  return (
    <Section>
      <div className={s.bar} role="search" aria-label="Filter findings">
        <Field label="Search">
          <SearchBox placeholder="CVE, title or package" value={search} onChange={(_, d) => setSearch(d.value)} aria-label="Search findings" />
        </Field>
        <div role="group" aria-label="Severity">
          <Text size={200} block>Severity</Text>
          <div className={s.chips}>
            {SEVERITIES.map((sv) => (
              <ToggleButton key={sv} size="small" shape="circular" checked={severities.includes(sv)} onClick={() => setSeverities(severities.includes(sv) ? severities.filter((x) => x !== sv) : [...severities, sv])}>
                {severityLabel(sv)}
              </ToggleButton>
            ))}
          </div>
        </div>
        <Checkbox label="Known exploited (KEV)" checked={kev} onChange={(_, d) => setKev(d.checked === true)} />
        <Checkbox label="Fix available" checked={fixable} onChange={(_, d) => setFixable(d.checked === true)} />
        <Button onClick={() => void exportCsv()} disabled={exporting === 'busy'}>{exporting === 'busy' ? 'Exporting…' : 'Export CSV'}</Button>
      </div>
      {exporting instanceof Error && <ErrorBar error={exporting} what="Export failed" />}
      <Loaded q={q} what="findings">
        {(data) =>
          data.items.length === 0 ? (
            <Empty title={severities.length || kev || fixable || term ? 'No vulnerability matches these filters' : 'No open vulnerability findings'}>
              <Text>
                {severities.length || kev || fixable || term
                  ? 'Clear a filter or the search to see more.'
                  : <>Either every assessed node is clean, or nothing was assessed yet: check coverage on the <Link to="/">Overview</Link> and turn on Agentless scanning for machines under <Link to="/settings">Environment settings</Link>.</>}
              </Text>
            </Empty>
          ) : (
            <>
              <Text role="status">{data.total.toLocaleString('en-US')} vulnerabilities{q.loading ? ' · updating…' : ''}</Text>
              <div className={s.wrap}>
                <Table aria-label="Findings" size="small" style={{ tableLayout: 'auto', minWidth: '1080px' }}>
                  <TableHeader>
                    <TableRow>
                      {header('id', 'Vulnerability', false)}
                      {header('severity', 'Severity', false)}
                      {header('cvss', 'CVSS', true)}
                      {header('epss', 'EPSS', true)}
                      <TableHeaderCell>KEV</TableHeaderCell>
                      <TableHeaderCell>Fix</TableHeaderCell>
                      <TableHeaderCell>Packages</TableHeaderCell>
                      {header('nodes', 'Nodes', true)}
                      <TableHeaderCell>Pools</TableHeaderCell>
                      <TableHeaderCell>Clusters</TableHeaderCell>
                      {header('first-seen', 'First seen', false)}
                    </TableRow>
                  </TableHeader>
                  <TableBody>
                    {data.items.map((i) => (
                      <TableRow key={i.vulnerabilityId}>
                        <TableCell>
                          <Link className={s.id} to={withQuery(loc, { cve: i.vulnerabilityId })}>{i.vulnerabilityId}</Link>
                          {i.title && <span className={s.title} title={i.title}>{i.title}</span>}
                        </TableCell>
                        <TableCell><SeverityBadge severity={i.severity} />{i.status === 'exempt' && ' exempt'}</TableCell>
                        <TableCell className={s.num}>{i.cvss?.score?.toFixed(1) ?? '—'}</TableCell>
                        <TableCell className={s.num}>{pct(i.epss?.score)}</TableCell>
                        <TableCell><KevBadge kev={i.kev} dateAdded={i.kevDateAdded} /></TableCell>
                        <TableCell>{fixText(i)}</TableCell>
                        <TableCell>{i.packages.slice(0, 3).join(', ')}{i.packages.length > 3 ? ` +${i.packages.length - 3}` : ''}</TableCell>
                        <TableCell className={s.num}>{i.nodes}</TableCell>
                        <TableCell className={s.num}>{i.pools}</TableCell>
                        <TableCell className={s.num}>{i.clusters}</TableCell>
                        <TableCell>{date(i.firstSeen)}</TableCell>
                      </TableRow>
                    ))}
                  </TableBody>
                </Table>
              </div>
              <nav className={s.pager} aria-label="Findings pages">
                <Button disabled={page === 1} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</Button>
                <Text>Page {page} of {Math.max(1, Math.ceil(data.total / pageSize))}</Text>
                <Button disabled={data.next === null} onClick={() => setCursors([...cursors, data.next ?? undefined])}>Next</Button>
                <Field label="Rows per page" orientation="horizontal">
                  <Dropdown value={String(pageSize)} selectedOptions={[String(pageSize)]} onOptionSelect={(_, d) => setPageSize(Number(d.optionValue))} style={{ minWidth: '90px' }}>
                    {PAGE_SIZES.map((n) => <Option key={n} value={String(n)}>{String(n)}</Option>)}
                  </Dropdown>
                </Field>
              </nav>
            </>
          )
        }
      </Loaded>
    </Section>
  );
}
