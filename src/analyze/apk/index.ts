/**
 * apk: /lib/apk/db/installed, the apk-tools installed database (format in apk-tools
 * src/database.c apk_db_index_read and https://wiki.alpinelinux.org/wiki/Apk_spec): paragraphs
 * of `X:value` lines separated by empty lines. P name, V version, A arch, L license, o origin
 * (the source package, which Alpine's secdb is keyed by), F directory, R file in that directory,
 * Z the preceding R's checksum ("Q1" + base64 SHA-1; "Q2" + base64 SHA-256).
 */
import type { Stat } from '../../fs/index.ts';
import { packageId, type FileDigest, type Package } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import { readTextFile, splitLines } from '../text.ts';

/** apk-tools v2 keeps the db here; merged-/usr systems may reach it through /usr/lib. */
export const APK_DB_PATHS = ['/lib/apk/db/installed', '/usr/lib/apk/db/installed'] as const;
/** A real installed db is 0.1–5 MB. */
export const MAX_APK_DB_BYTES = 64 * 1024 * 1024;
/** Records one database may hold. */
export const MAX_APK_PACKAGES = 200_000;

/** Decodes an apk checksum ("Q1…" SHA-1, "Q2…" SHA-256 in base64; bare hex is MD5). */
export function decodeApkChecksum(value: string): Pick<FileDigest, 'algorithm' | 'digest'> | undefined {
  const tagged = /^Q([12])([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (tagged) {
    const bytes = Buffer.from(tagged[2]!, 'base64');
    const want = tagged[1] === '1' ? 20 : 32;
    if (bytes.length !== want) return undefined;
    return { algorithm: tagged[1] === '1' ? 'sha1' : 'sha256', digest: bytes.toString('hex') };
  }
  if (/^[0-9a-fA-F]{32}$/.test(value)) return { algorithm: 'md5', digest: value.toLowerCase() };
  return undefined;
}

export function parseApkInstalled(text: string, path: string): { packages: Package[]; issues: Issue[] } {
  const packages: Package[] = [];
  const issues: Issue[] = [];
  interface Rec { line: number; f: Map<string, string>; files: FileDigest[]; dir: string; lastFile?: string; badDigests: number }
  let cur: Rec | undefined;
  const flush = () => {
    if (!cur) return;
    const r = cur;
    cur = undefined;
    const name = r.f.get('P');
    const version = r.f.get('V');
    const where = `${path}:${r.line}`;
    if (!name || !version) {
      issues.push({ severity: 'error', code: 'apk.record-invalid', message: `record without ${name ? 'V (version)' : 'P (name)'}`, location: where });
      return;
    }
    if (r.badDigests > 0) issues.push({ severity: 'warning', code: 'apk.checksum-invalid', message: `package ${name}: ${r.badDigests} undecodable Z: checksum(s)`, location: where });
    const pkg: Package = {
      type: 'apk',
      name,
      version,
      versionScheme: 'apk',
      source: { name: r.f.get('o') || name, version },
      files: r.files,
      foundBy: 'apk',
      evidence: [{ path, line: r.line }],
      id: '',
    };
    const arch = r.f.get('A');
    if (arch) pkg.arch = arch;
    const license = r.f.get('L');
    if (license) pkg.license = license;
    const maint = r.f.get('m');
    if (maint) pkg.vendor = maint;
    pkg.id = packageId(pkg);
    packages.push(pkg);
  };
  for (const [i, line] of splitLines(text).entries()) {
    if (line === '') {
      flush();
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      issues.push({ severity: 'warning', code: 'apk.syntax', message: 'line is not "X:value"', location: `${path}:${i + 1}` });
      continue;
    }
    if (!cur) {
      if (packages.length >= MAX_APK_PACKAGES) {
        issues.push({ severity: 'error', code: 'apk.budget', message: `more than ${MAX_APK_PACKAGES} packages; the rest were not read`, location: path });
        return { packages, issues };
      }
      cur = { line: i + 1, f: new Map(), files: [], dir: '', badDigests: 0 };
    }
    const key = line[0]!;
    const value = line.slice(2);
    switch (key) {
      case 'F':
        cur.dir = value;
        cur.lastFile = undefined;
        break;
      case 'R':
        cur.lastFile = cur.dir === '' ? `/${value}` : `/${cur.dir}/${value}`;
        break;
      case 'Z': {
        const d = decodeApkChecksum(value);
        if (cur.lastFile !== undefined && d) cur.files.push({ path: cur.lastFile, ...d });
        else cur.badDigests++;
        break;
      }
      default:
        if (!cur.f.has(key)) cur.f.set(key, value);
    }
  }
  flush();
  return { packages, issues };
}

export const apkAnalyzer: Analyzer = {
  id: 'apk',
  version: 1,
  roots: APK_DB_PATHS,
  wants(path: string, _stat: Stat): boolean {
    return (APK_DB_PATHS as readonly string[]).includes(path);
  },
  async analyze({ fs, files }: AnalyzerInput): Promise<PartialInventory> {
    const issues: Issue[] = [];
    // On a merged-/usr tree both names are one file: read the first present only.
    const file = files[0];
    if (!file) return {};
    const text = await readTextFile(fs, file.path, MAX_APK_DB_BYTES, 'apk.db-unreadable', issues);
    if (text === undefined) return { issues };
    const r = parseApkInstalled(text, file.path);
    return { packages: r.packages, issues: [...issues, ...r.issues] };
  },
};
