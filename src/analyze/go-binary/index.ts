/**
 * The go-binary analyzer: Kubernetes node components installed outside the package manager
 * (AKS puts kubelet, kubectl, containerd, runc, crictl under /usr/local/bin and the CNI plugins
 * under /opt/cni/bin) reported from the Go build information in their ELF files (buildinfo.ts):
 * the Go standard library as `stdlib` at the toolchain version ("go1.22.5"), the main module,
 * and every dependency, each a `golang` package with `binaryPath` set, so Go advisories match.
 *
 * Executables an OS package owns (a path in an earlier analyzer's `files`, dpkg md5sums or rpm
 * file lists) are not opened at all (issue #4: "skip binaries an OS package already owns, say
 * so in evidence"): the OS package is what gets updated, and its advisories already cover it.
 * Reading them was half of a Debian node's inventory time (444 executables, all dpkg-owned).
 * ONE info issue `go-binary.owned` counts them and names a few with their owners, so the skip
 * is visible without an issue per binary.
 *
 * Only headers, section tables and the build-info bytes are read (open().read), never a whole
 * binary.
 */
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import type { Stat } from '../../fs/index.ts';
import { packageId, type Package } from '../../inventory/index.ts';
import { NotThisFormatError } from '../../util/errors.ts';
import { issueFromError, type Issue } from '../../util/issues.ts';
import { MiB } from '../../util/units.ts';
import { readGoBuildInfo, type GoBuildInfo, type GoModule } from './buildinfo.ts';
import { InvalidVersionError } from '../../version/index.ts';
import { parseGo } from '../../version/go.ts';

/** 2: owned executables are no longer opened; one `go-binary.owned` summary instead of one per owned Go binary. */
export const GO_BINARY_ANALYZER_VERSION = 2;
/** Executables larger than this are not inspected (an info issue says so); kubelet is ~100 MiB. */
export const MAX_GO_BINARY_BYTES = 512 * MiB;
/** Executables inspected per node; more is a budget issue. */
export const MAX_GO_BINARY_CANDIDATES = 50_000;

/** Owned executables named (with their owner) in the `go-binary.owned` summary issue. */
export const OWNED_EXAMPLES_COUNT = 5;

/** Directories whose direct children are inspected; plus /opt/<name>/bin (e.g. /opt/cni/bin). */
export const GO_BINARY_DIRS = ['/usr/local/bin', '/usr/local/sbin', '/usr/bin', '/usr/sbin', '/bin', '/sbin'] as const;
const DIR_SET = new Set<string>(GO_BINARY_DIRS);
const OPT_BIN = /^\/opt\/[^/]+\/bin$/;
const OPT_NAME = /^\/opt\/[^/]+$/;

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * Paths that name the same file on a merged-/usr system (/bin → usr/bin, /sbin → usr/sbin):
 * dpkg may list /bin/foo while the walk, which does not follow the /bin symlink, sees /usr/bin/foo.
 */
export function pathAliases(path: string): string[] {
  for (const [a, b] of [['/usr/bin/', '/bin/'], ['/usr/sbin/', '/sbin/'], ['/usr/lib/', '/lib/']] as const) {
    if (path.startsWith(a)) return [path, b + path.slice(a.length)];
    if (path.startsWith(b)) return [path, a + path.slice(b.length)];
  }
  return [path];
}

/** The Go toolchain version as a Go vulnerability database writes it: "go1.22.5" from "go1.22.5 X:boringcrypto". */
export function stdlibVersion(goVersion: string): string | undefined {
  const first = goVersion.trim().split(/\s+/)[0] ?? '';
  return /^go\d+(\.\d+)*([a-z]+\d+)?$/.test(first) ? first : undefined;
}

/** A replacement by a local directory: `go` records version "" (or "(devel)", Go ≥ 1.19). */
function isLocal(r: GoModule): boolean {
  return r.version === '' || r.version === '(devel)';
}

/**
 * A module as it was built: a module replacement's path and version (what govulncheck checks);
 * undefined for a local-directory replacement, whose code has no module version at all.
 */
function effective(m: GoModule): { path: string; version: string; note?: string } | undefined {
  if (m.replace === undefined) return { path: m.path, version: m.version };
  if (isLocal(m.replace)) return undefined;
  return { path: m.replace.path, version: m.replace.version, note: `replaces ${m.path}@${m.version}` };
}

/** cmd/internal/quoted.Split: fields separated by spaces, single or double quotes grouping. */
export function splitQuoted(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote = '';
  let has = false;
  for (const c of s) {
    if (quote !== '') {
      if (c === quote) quote = '';
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      has = true;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (has || cur !== '') out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has || cur !== '') out.push(cur);
  return out;
}

/** `-X importpath.name=value` assignments of a `-ldflags` build setting (cmd/link's flag syntax). */
export function ldflagsAssignments(ldflags: string): { key: string; value: string }[] {
  const args = splitQuoted(ldflags);
  const out: { key: string; value: string }[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let kv: string | undefined;
    if (a === '-X' || a === '--X') kv = args[++i];
    else if (a.startsWith('-X=')) kv = a.slice(3);
    else if (a.startsWith('--X=')) kv = a.slice(4);
    if (kv === undefined) continue;
    const eq = kv.indexOf('=');
    if (eq > 0) out.push({ key: kv.slice(0, eq), value: kv.slice(eq + 1) });
  }
  return out;
}

/**
 * The main module's version stamped with the linker, for builds whose build info says "(devel)"
 * (every Go before 1.24 builds the main module so): a `-X` assignment to a variable named
 * version / Version / gitVersion in package `main`, in the main module, or in a package named
 * `version` (k8s.io/component-base/version.gitVersion for kubelet, .../containerd/version.Version),
 * whose value is a full semantic version. Trivy and Syft read the same flags. Several different
 * candidate values are ambiguous and yield nothing.
 */
export function ldflagsVersion(info: GoBuildInfo): { version: string; key: string } | 'ambiguous' | undefined {
  const ldflags = info.settings.find((s) => s.key === '-ldflags')?.value;
  if (ldflags === undefined) return undefined;
  const main = info.main?.path;
  const found = new Map<string, string>();
  for (const { key, value } of ldflagsAssignments(ldflags)) {
    const dot = key.lastIndexOf('.');
    if (dot <= 0) continue;
    const pkg = key.slice(0, dot);
    const name = key.slice(dot + 1).toLowerCase();
    if (name !== 'version' && name !== 'gitversion') continue;
    const pkgOk = pkg === 'main' || pkg.endsWith('/version') || (main !== undefined && (pkg === main || pkg.startsWith(`${main}/`)));
    if (!pkgOk) continue;
    const v = /^\d/.test(value) ? `v${value}` : value;
    if (!/^v\d+\.\d+\.\d+/.test(v)) continue;
    const parsed = parseGo(v);
    if (parsed instanceof InvalidVersionError || parsed.kind !== 'module') continue;
    if (!found.has(v)) found.set(v, key);
  }
  if (found.size > 1) return 'ambiguous';
  const [first] = found;
  return first === undefined ? undefined : { version: first[0], key: first[1] };
}

function goPackages(info: GoBuildInfo, binaryPath: string, issues: Issue[]): Package[] {
  const out: Package[] = [];
  const record = `${info.foundIn} (${info.format} build info)`;
  const add = (name: string, version: string, note: string): void => {
    const p: Package = { type: 'golang', name, version, versionScheme: 'go', binaryPath, foundBy: 'go-binary', evidence: [{ path: binaryPath, record, note }], id: '' };
    p.id = packageId(p);
    out.push(p);
  };
  const std = stdlibVersion(info.goVersion);
  if (std === undefined) {
    issues.push({ severity: 'warning', code: 'go-binary.toolchain-version', message: `Go toolchain version '${info.goVersion.slice(0, 64)}' is not a release version; stdlib not reported`, location: binaryPath });
  } else {
    add('stdlib', std, `Go toolchain ${info.goVersion}`);
  }
  const modules: [GoModule, string][] = [];
  if (info.main !== undefined) modules.push([info.main, 'main module']);
  else {
    issues.push({ severity: 'info', code: 'go-binary.no-module-info', message: `built without module information (GOPATH mode or -buildvcs details absent): only the Go standard library is known${info.path === undefined ? '' : ` for ${info.path}`}`, location: binaryPath });
  }
  for (const d of info.deps) modules.push([d, 'dependency']);
  for (const [m, role] of modules) {
    if (m === info.main && m.replace === undefined && m.version === '(devel)') {
      const stamped = ldflagsVersion(info);
      if (stamped === 'ambiguous') {
        issues.push({ severity: 'info', code: 'go-binary.module-version-unknown', message: `main module ${m.path}: version '(devel)', and -ldflags sets several different version values; not reported`, location: binaryPath });
        continue;
      }
      if (stamped !== undefined) {
        add(m.path, stamped.version, `main module; version from -ldflags -X ${stamped.key}`);
        continue;
      }
    }
    const e = effective(m);
    if (e === undefined || e.version === '' || e.version === '(devel)') {
      const why = e === undefined ? `replaced by local directory ${m.replace?.path ?? ''}` : `version '${e.version}'`;
      issues.push({ severity: 'info', code: 'go-binary.module-version-unknown', message: `${role} ${m.path}: ${why}; not reported`, location: binaryPath });
      continue;
    }
    add(e.path, e.version, e.note === undefined ? role : `${role}; ${e.note}`);
  }
  for (const w of info.warnings) issues.push({ severity: 'warning', code: 'go-binary.modinfo', message: w, location: binaryPath });
  return out;
}

/**
 * The one summary of the owned executables that were not opened: their count and the first
 * OWNED_EXAMPLES_COUNT paths (sorted, so the message is stable) with their owners.
 */
export function ownedIssue(skipped: readonly { path: string; owner: string }[]): Issue {
  const examples = [...skipped].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).slice(0, OWNED_EXAMPLES_COUNT);
  const named = examples.map((e) => `${e.path} (${e.owner})`).join(', ');
  const more = skipped.length > examples.length ? `, and ${skipped.length - examples.length} more` : '';
  return {
    severity: 'info',
    code: 'go-binary.owned',
    message: `${skipped.length} executable(s) in component directories are owned by OS packages and were not inspected; their packages are matched instead: ${named}${more}`,
    location: examples[0]!.path,
  };
}

export const goBinaryAnalyzer: Analyzer = {
  id: 'go-binary',
  version: GO_BINARY_ANALYZER_VERSION,
  roots: [...GO_BINARY_DIRS, '/opt'],
  descend(path: string): boolean {
    // Only /opt/<name>/bin below /opt, and nothing below the bin directories themselves.
    return DIR_SET.has(path) || path === '/opt' || OPT_NAME.test(path) || OPT_BIN.test(path);
  },
  wants(path: string, stat: Stat): boolean {
    if (stat.type !== 'file' || (stat.mode & 0o111) === 0) return false;
    const dir = parentOf(path);
    return DIR_SET.has(dir) || OPT_BIN.test(dir);
  },
  async analyze(input: AnalyzerInput): Promise<PartialInventory> {
    // Path → owning package (its description is made only for the executables skipped).
    const owners = new Map<string, Package>();
    for (const p of input.previous.packages ?? []) {
      for (const f of p.files ?? []) owners.set(f.path, p);
    }
    const packages: Package[] = [];
    const issues: Issue[] = [];
    const skipped: { path: string; owner: string }[] = [];
    let inspected = 0;
    for (const { path, stat } of input.files) {
      let pkg: Package | undefined;
      for (const alias of pathAliases(path)) pkg ??= owners.get(alias);
      if (pkg !== undefined) {
        skipped.push({ path, owner: `${pkg.type} package ${pkg.name}` });
        continue;
      }
      if (stat.size > MAX_GO_BINARY_BYTES) {
        issues.push({ severity: 'info', code: 'go-binary.too-large', message: `executable of ${stat.size} bytes not inspected (limit MAX_GO_BINARY_BYTES ${MAX_GO_BINARY_BYTES})`, location: path });
        continue;
      }
      if (++inspected > MAX_GO_BINARY_CANDIDATES) {
        issues.push({ severity: 'warning', code: 'go-binary.budget', message: `stopped after ${MAX_GO_BINARY_CANDIDATES} executables`, location: path });
        break;
      }
      let info: GoBuildInfo;
      try {
        const file = await input.fs.open(path);
        info = await readGoBuildInfo((o, n) => file.read(o, n), file.stat.size);
      } catch (err) {
        // Scripts, C binaries and other non-Go files are the common case, not a problem.
        if (err instanceof NotThisFormatError) continue;
        // Anything else (a corrupt ELF, an I/O error) leaves this executable unassessed.
        issues.push(issueFromError(err, 'go-binary.unreadable', path));
        continue;
      }
      packages.push(...goPackages(info, path, issues));
    }
    if (skipped.length > 0) issues.push(ownedIssue(skipped));
    return { packages, issues };
  },
};
