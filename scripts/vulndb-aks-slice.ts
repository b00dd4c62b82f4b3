/**
 * Makes the demo's bundled Ubuntu 22.04 vulnerability slice (data/vulndb/README.md):
 *
 *   node scripts/vulndb-aks-slice.ts <shared-data-dir>
 *
 * - ubuntu-22.04.osv.aks-slice.jsonl.gz: the derived Ubuntu 22.04 OSV records
 *   (<shared>/osv/ubuntu/ubuntu-22.04.osv.jsonl.gz) whose affected[] names a source package of
 *   any AKSUbuntu-2204gen2containerd image in the node-image catalogue (data/node-images/), plus
 *   the sources the demo fleet's drifted node adds (EXTRA_SOURCES); affected[] cut to those
 *   sources, every other field unmodified, input order kept.
 * - epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz: the FIRST EPSS rows
 *   (<shared>/epss/epss_scores-2026-08-16.first-api-dump.csv.gz) of the slice's CVEs.
 *
 * Deterministic: same input, same bytes (gzip mtime 0). Run scripts/node-image-catalog.ts first.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import { loadCatalog } from '../src/catalog/index.ts';
import { HOTPATCH } from '../test/fixtures/aks-node.ts';

const REPO = join(import.meta.dirname, '..');
const FAMILY = 'AKSUbuntu-2204gen2containerd';
const OUT = join(REPO, 'data', 'vulndb');
/** Sources on demo nodes that no catalogue image has: the package the hotpatched node installed (gdb). */
const EXTRA_SOURCES = [HOTPATCH.installed.source.name];

interface OsvRecord {
  id: string;
  aliases?: string[];
  related?: string[];
  affected: { package: { name: string } }[];
}

function gzip(text: string): Buffer {
  const gz = gzipSync(text, { level: zlibConstants.Z_BEST_COMPRESSION });
  // Bytes 4-7 of a gzip header are the mtime: zero so the output does not change with the clock.
  gz.writeUInt32LE(0, 4);
  return gz;
}

const shared = process.argv[2];
if (shared === undefined) {
  process.stderr.write('usage: node scripts/vulndb-aks-slice.ts <shared-data-dir>\n');
  process.exit(2);
}
const catalog = loadCatalog();
const sources = new Set<string>(EXTRA_SOURCES);
for (const v of catalog.versions(FAMILY)) for (const p of catalog.get(FAMILY, v)!.packages) sources.add(p.source.name);

const kept: string[] = [];
const cves = new Set<string>();
for (const line of gunzipSync(readFileSync(join(shared, 'osv', 'ubuntu', 'ubuntu-22.04.osv.jsonl.gz'))).toString('utf8').split('\n')) {
  if (line === '') continue;
  const r = JSON.parse(line) as OsvRecord;
  const affected = r.affected.filter((a) => sources.has(a.package.name));
  if (affected.length === 0) continue;
  r.affected = affected;
  kept.push(JSON.stringify(r));
  cves.add(r.id.replace(/^UBUNTU-/, ''));
  for (const id of [...(r.aliases ?? []), ...(r.related ?? [])]) if (id.startsWith('CVE-')) cves.add(id);
}
const osv = gzip(`${kept.join('\n')}\n`);
writeFileSync(join(OUT, 'ubuntu-22.04.osv.aks-slice.jsonl.gz'), osv);

const epssRows: string[] = [];
for (const line of gunzipSync(readFileSync(join(shared, 'epss', 'epss_scores-2026-08-16.first-api-dump.csv.gz'))).toString('utf8').split('\n')) {
  if (line === '') continue;
  if (line.startsWith('cve,') || line.startsWith('#') || cves.has(line.slice(0, line.indexOf(',')))) epssRows.push(line);
}
const epss = gzip(`${epssRows.join('\n')}\n`);
writeFileSync(join(OUT, 'epss-2026-08-16.ubuntu-22.04-aks-slice.csv.gz'), epss);
process.stderr.write(`${sources.size} source packages; OSV: ${kept.length} records, ${osv.length} bytes; EPSS: ${epssRows.length - 1} rows, ${epss.length} bytes\n`);
