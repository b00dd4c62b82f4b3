/**
 * Generates the node-image catalogue in data/node-images/ (docs/node-images.md) from the
 * project's real-data snapshot:
 *
 *   node scripts/node-image-catalog.ts <shared-data-dir> [--out DIR]
 *
 * <shared-data-dir> holds aks-node-images/ (AKS release-notes package lists, the 24-image Ubuntu
 * 22.04 catalogue, the approximate binary → source map) and azurelinux/ (the Azure Linux 3.0 OVAL,
 * whose package names are source RPM names). Deterministic: same input, same bytes.
 *
 * Source names are DERIVED (the AKS lists name binaries only) by src/catalog/sources.ts, which the
 * refresh (`hullscan db update --catalog`, src/catalog/refresh.ts) uses too; this script also
 * writes that module's two lookup tables to source-names.json. None of the rules' extensions
 * changes 202408.05.0's list, which test/catalog/catalog.test.ts checks equal to
 * test/data/match/aks-ubuntu2204-202408.05.0.packages.tsv. Every release-notes file used is also
 * parsed with src/catalog/release-notes.ts and its package list checked equal to its TSV.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { parseReleaseNotes } from '../src/catalog/release-notes.ts';
import { azureLinuxImage, sourceNamesFile, ubuntuImage, type ImageRecord, type SourceNameRules } from '../src/catalog/sources.ts';
import { writeFamilyFile, type FamilyRecord } from '../src/catalog/write.ts';

const REPO = join(import.meta.dirname, '..');

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
const shared = positionals[0];
if (shared === undefined) {
  process.stderr.write('usage: node scripts/node-image-catalog.ts <shared-data-dir> [--out DIR]\n');
  process.exit(2);
}
const outDir = values.out ?? join(REPO, 'data', 'node-images');
const AKS = join(shared, 'aks-node-images');

function readTsv(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const head = lines[0]!.split('\t');
  return lines.slice(1).map((l) => Object.fromEntries(l.split('\t').map((v, i) => [head[i]!, v])));
}

// --- source-name rules (data/node-images/source-names.json, read by src/catalog/sources.ts) ---

const approx = new Map<string, string>();
for (const r of readTsv(join(AKS, 'ubuntu-binary-to-source.approx-from-debian12.tsv'))) if (r['source_in_debian_bookworm']) approx.set(r['binary']!, r['source_in_debian_bookworm']!);
const ovalNames = new Set([...gunzipSync(readFileSync(join(shared, 'azurelinux', 'azurelinux-3.0-oval.xml.gz'))).toString('utf8').matchAll(/<linux-def:name>([^<]+)<\/linux-def:name>/g)].map((m) => m[1]!));
const rules: SourceNameRules = { ubuntuApprox: approx, azurelinuxOvalNames: ovalNames };

// --- Ubuntu ---------------------------------------------------------------------------------

/** name → arch from the release-notes TSVs of a release, newest list first (arch of a name does not change between images). */
/** Fails unless the refresh's parser reads the same list from the notes as the shared TSV holds. */
function checkNotesEqualTsv(notesPath: string, tsv: Record<string, string>[]): void {
  const got = parseReleaseNotes(readFileSync(notesPath, 'utf8'), notesPath).packages.map((p) => `${p.name} ${p.version} ${p.arch}`);
  const want = tsv.map((r) => (r['nvra'] !== undefined ? `${r['name']} ${r['version']}-${r['release']} ${r['arch']}` : `${r['name']} ${r['version']} ${r['arch']}`));
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${notesPath}: the parsed package list differs from the TSV`);
}

function archLists(paths: string[]): Map<string, string>[] {
  return paths.map((p) => new Map(readTsv(p).map((r) => [r['name']!, r['arch']!])));
}

function ubuntu2204(): FamilyRecord {
  const tsvs = ['202608.20.0', '202508.20.0', '202309.06.0'];
  const arch = new Map(tsvs.map((v) => [v, archLists([join(AKS, `ubuntu2204-gen2-containerd-${v}.packages.tsv`)])[0]!]));
  const others = tsvs.map((v) => arch.get(v)!);
  const images: ImageRecord[] = [];
  for (const line of gunzipSync(readFileSync(join(AKS, 'catalog-ubuntu2204-gen2containerd.jsonl.gz'))).toString('utf8').split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { image: string; version: string; packages: Record<string, string> };
    if (r.image !== 'AKSUbuntu-2204gen2containerd') throw new Error(`unexpected image ${r.image}`);
    const notesPath = join(AKS, `ubuntu2204-gen2-containerd-${r.version}.release-notes.txt`);
    if (tsvs.includes(r.version)) checkNotesEqualTsv(notesPath, readTsv(join(AKS, `ubuntu2204-gen2-containerd-${r.version}.packages.tsv`)));
    const notes = tsvs.includes(r.version) ? readFileSync(notesPath, 'utf8') : undefined;
    const exactArch = arch.get(r.version);
    images.push(ubuntuImage(rules, { release: '22.04', version: r.version, packages: r.packages, ...(exactArch !== undefined && { exactArch }), otherArch: others, ...(notes !== undefined && { notes }) }));
  }
  return {
    family: 'AKSUbuntu-2204gen2containerd',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSUbuntu/gen2/2204containerd/<version>.txt @ 06836ee2 (2026-08-21), 24 versions via the shared catalogue catalog-ubuntu2204-gen2containerd.jsonl.gz',
    images,
  };
}

function ubuntu2404(): FamilyRecord {
  const v = '202608.20.0';
  const rows = readTsv(join(AKS, `ubuntu2404-gen2-containerd-${v}.packages.tsv`));
  const pkgs = Object.fromEntries(rows.map((r) => [r['name']!, r['version']!]));
  const arch = new Map(rows.map((r) => [r['name']!, r['arch']!]));
  checkNotesEqualTsv(join(AKS, `ubuntu2404-gen2-containerd-${v}.release-notes.txt`), rows);
  const notes = readFileSync(join(AKS, `ubuntu2404-gen2-containerd-${v}.release-notes.txt`), 'utf8');
  return {
    family: 'AKSUbuntu-2404gen2containerd',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSUbuntu/gen2/2404containerd/202608.20.0.txt @ 768b94b0',
    images: [ubuntuImage(rules, { release: '24.04', version: v, packages: pkgs, exactArch: arch, notes })],
  };
}

// --- Azure Linux ----------------------------------------------------------------------------

function azureLinux3(): FamilyRecord {
  const images: ImageRecord[] = [];
  for (const v of ['202502.26.0', '202608.20.0']) {
    // The TSV is the release notes' rpm list split into columns; the notes give os-release and the kernel.
    const tsv = readTsv(join(AKS, `azurelinux3-gen2-${v}.packages.tsv`));
    checkNotesEqualTsv(join(AKS, `azurelinux3-gen2-${v}.release-notes.txt`), tsv);
    const packages = tsv.map((r) => ({ name: r['name']!, version: `${r['version']}-${r['release']}`, arch: r['arch']! }));
    images.push(azureLinuxImage(rules, v, packages, readFileSync(join(AKS, `azurelinux3-gen2-${v}.release-notes.txt`), 'utf8')));
  }
  return {
    family: 'AKSAzureLinuxV3-gen2',
    provenance: 'Azure/AgentBaker vhdbuilder/release-notes/AKSAzureLinuxV3/gen2/<version>.txt (202502.26.0 @ 9385977b, 202608.20.0 @ 768b94b0)',
    images,
  };
}

// --- write ----------------------------------------------------------------------------------

mkdirSync(outDir, { recursive: true });
const namesPath = join(outDir, 'source-names.json');
writeFileSync(namesPath, `${JSON.stringify(sourceNamesFile(rules, { ubuntuApprox: 'shared aks-node-images/ubuntu-binary-to-source.approx-from-debian12.tsv (apt-cache show on Debian 12 metadata: approximate)', azurelinuxOvalNames: 'the <linux-def:name> values of the Azure Linux 3.0 OVAL, microsoft/AzureLinuxVulnerabilityData azurelinux-3.0-oval.xml (= data/vulndb/azurelinux-3.0-oval.xml.gz)' }), null, 1)}\n`);
process.stderr.write(`${namesPath}: ${approx.size} Ubuntu binary → source names, ${ovalNames.size} Azure Linux OVAL names\n`);
for (const f of [ubuntu2204(), ubuntu2404(), azureLinux3()]) {
  const { path, bytes } = writeFamilyFile(outDir, f, 'scripts/node-image-catalog.ts');
  const how = new Map<string, number>();
  for (const i of f.images) for (const p of i.packages) how.set(p[5], (how.get(p[5]) ?? 0) + 1);
  process.stderr.write(`${path}: ${f.images.length} images, ${bytes} bytes; sources: ${[...how].map(([k, n]) => `${k} ${n}`).join(', ')}\n`);
}
