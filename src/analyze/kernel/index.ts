/**
 * Kernel: which kernels are installed (kernel packages from `previous.packages`, /boot images,
 * /lib/modules/<release>) and which one boots by default, so that a patched kernel that will not
 * run until a reboot or a GRUB default change is visible. Order of evidence for the default:
 * GRUB (grubenv next_entry / saved_entry and grub.cfg `set default`, resolved against the
 * menuentry tree, BLS entries where grub.cfg runs `blscfg`), then systemd-boot (loader.conf and
 * sorted BLS entries), then the /boot/vmlinuz or /vmlinuz link, then the only installed kernel.
 * The running kernel is not on the disk: `running` is filled from the Kubernetes API later.
 */
import type { FileSystem, Stat } from '../../fs/index.ts';
import type { Evidence, KernelImage, KernelInfo, OsInfo, Package } from '../../inventory/index.ts';
import type { Issue } from '../../util/issues.ts';
import { schemeFor } from '../../version/index.ts';
import type { Analyzer, AnalyzerInput, PartialInventory } from '../index.ts';
import { readTextFile, splitLines } from '../text.ts';
import { BLS_ENTRIES_DIR, globMatch, keyValue, LOADER_CONF_PATH, MAX_BLS_ENTRIES, MAX_BLS_ENTRY_BYTES, parseBlsEntry, sortBlsEntries, type BlsEntry } from './bls.ts';
import { expandVars, firstBootable, MAX_GRUB_CFG_BYTES, MAX_GRUBENV_BYTES, parseGrubCfg, parseGrubEnv, resolveMenuPath, type MenuEntry } from './grub.ts';

export const MODULES_DIRS = ['/lib/modules', '/usr/lib/modules'] as const;
export const GRUB_DIRS = ['/boot/grub', '/boot/grub2'] as const;
/** Kernel release strings are < 100 characters (uname's field is 65 bytes). */
export const MAX_RELEASE_CHARS = 256;
/** Files named by `load_env -f` that are read (Azure Linux reads /boot/mariner.cfg). */
export const MAX_LOAD_ENV_FILES = 8;
const BOOT_DIRS_DESCENDED = new Set(['/boot', ...GRUB_DIRS, '/boot/loader', BLS_ENTRIES_DIR]);
const IMAGE_PREFIXES = ['vmlinuz-', 'vmlinux-'] as const;
/** Debian/Ubuntu kernel image and module packages name the release ("linux-image-6.8.0-1017-azure"). */
const DEB_KERNEL_PACKAGE = /^linux-(?:image|modules)-(?:unsigned-)?(\d[^\s/]*)$/;
/**
 * rpm kernel packages: Fedora/RHEL kernel-core, SUSE kernel-default/-azure, Azure Linux kernel,
 * kernel-hwe, kernel-mshv, kernel-uvm, Oracle kernel-uek, Amazon Linux 2023 kernel6.12.
 */
const RPM_KERNEL_PACKAGE = /^kernel(?:\d+\.\d+)?(?:-(?:core|default|azure|rt|64k|uek|uek-core|modules|modules-core|mshv|hci|hwe|uvm))?$/;
/** Of the packages providing one release, these own the image and name the kernel. */
const IMAGE_PACKAGE = /^linux-image-|^linux-(?:lts|virt|edge|stable|rpi\d*)$|^kernel(?:\d+\.\d+)?(?:-(?:core|default|azure|rt|64k|uek|uek-core|mshv|hwe|uvm))?$/;
/** Alpine kernel packages, one per flavor (linux-lts owns /boot/vmlinuz-lts and /lib/modules/<release>-lts). */
const APK_KERNEL_PACKAGE = /^linux-(?:lts|virt|edge|stable|rpi\d*)$/;
/** Families whose `uname -r` ends in ".<arch>" (RHEL-like, Amazon Linux, Fedora). */
const ARCH_SUFFIXED: ReadonlySet<OsInfo['family']> = new Set(['rhel', 'rocky', 'alma', 'centos', 'fedora', 'amazon']);

const rpm = schemeFor('rpm');

/** Orders kernel releases: rpmvercmp splits at every non-alphanumeric, which fits "6.8.0-1017-azure" and "6.6.57.1-7.azl3" alike. */
export function compareReleases(a: string, b: string): number {
  return rpm.compare(a, b);
}

/** The suffix after "vmlinuz-": a release ("6.1.0-50-cloud-amd64") or, on Alpine, a flavor ("lts", "virt"). */
function imageSuffix(p: string): string | undefined {
  const base = p.slice(p.lastIndexOf('/') + 1);
  for (const pre of IMAGE_PREFIXES) {
    if (base.startsWith(pre) && base.length > pre.length && base.length - pre.length <= MAX_RELEASE_CHARS) return base.slice(pre.length);
  }
  return undefined;
}

/**
 * The kernel release an image path names. Releases start with a digit; Alpine names images by
 * flavor (/boot/vmlinuz-lts, matched to the modules release "6.6.58-0-lts" later), and
 * Fedora's rescue image ("vmlinuz-0-rescue-<machine-id>") is a copy, not another kernel.
 */
function releaseFromImagePath(p: string): string | undefined {
  const s = imageSuffix(p);
  return s !== undefined && /^\d/.test(s) && !/^0-rescue-/.test(s) ? s : undefined;
}

/** An Alpine flavor image ("lts" from /boot/vmlinuz-lts). */
function flavorFromImagePath(p: string): string | undefined {
  const s = imageSuffix(p);
  return s !== undefined && /^[a-z][a-z0-9]*$/.test(s) ? s : undefined;
}

function modulesRelease(p: string): string | undefined {
  for (const d of MODULES_DIRS) {
    if (p.startsWith(d + '/')) {
      const rest = p.slice(d.length + 1);
      if (rest !== '' && !rest.includes('/') && rest.length <= MAX_RELEASE_CHARS) return rest;
    }
  }
  return undefined;
}

interface Found {
  images: Map<string, string>;
  /** Alpine flavor → image path. */
  flavorImages: Map<string, string>;
  modules: Map<string, string>;
  links: { path: string }[];
  grubCfg?: string;
  grubEnv?: string;
  blsEntries: string[];
  loaderConf?: string;
}

function collect(files: AnalyzerInput['files']): Found {
  const found: Found = { images: new Map(), flavorImages: new Map(), modules: new Map(), links: [], blsEntries: [] };
  for (const { path, stat } of files) {
    if (path === '/boot/vmlinuz' || path === '/vmlinuz') {
      if (stat.type === 'symlink') found.links.push({ path });
      continue;
    }
    const mod = modulesRelease(path);
    if (mod !== undefined) {
      if (stat.type === 'dir' && !found.modules.has(mod)) found.modules.set(mod, path);
      continue;
    }
    if (path.startsWith('/boot/') && !path.slice(6).includes('/')) {
      const rel = releaseFromImagePath(path);
      if (rel !== undefined && stat.type === 'file' && !found.images.has(rel)) found.images.set(rel, path);
      const flavor = flavorFromImagePath(path);
      if (flavor !== undefined && stat.type === 'file') found.flavorImages.set(flavor, path);
      if (rel !== undefined || flavor !== undefined) continue;
    }
    for (const d of GRUB_DIRS) {
      if (path === `${d}/grub.cfg` && found.grubCfg === undefined) found.grubCfg = path;
      if (path === `${d}/grubenv` && found.grubEnv === undefined) found.grubEnv = path;
    }
    if (path.startsWith(BLS_ENTRIES_DIR + '/') && path.endsWith('.conf')) found.blsEntries.push(path);
    if (path === LOADER_CONF_PATH) found.loaderConf = path;
  }
  return found;
}

/** Kernel releases a package provides: from the files it owns, else from its name or version. */
function packageReleases(p: Package, os: OsInfo | undefined, known: ReadonlySet<string>): { releases: string[]; derived: boolean } {
  const out = new Set<string>();
  for (const f of p.files ?? []) {
    const rel = releaseFromImagePath(f.path.startsWith('/boot/') && !f.path.slice(6).includes('/') ? f.path : '') ?? moduleFileRelease(f.path);
    if (rel !== undefined) out.add(rel);
  }
  if (out.size > 0) return { releases: [...out], derived: false };
  if (p.type === 'deb') {
    const m = DEB_KERNEL_PACKAGE.exec(p.name);
    return { releases: m ? [m[1]!] : [], derived: false };
  }
  if (p.type === 'rpm') {
    const v = p.version.includes(':') ? p.version.slice(p.version.indexOf(':') + 1) : p.version;
    const candidates = [v, p.arch ? `${v}.${p.arch}` : v];
    const hit = candidates.find((c) => known.has(c));
    if (hit) return { releases: [hit], derived: false };
    return { releases: [os && ARCH_SUFFIXED.has(os.family) && p.arch ? `${v}.${p.arch}` : v], derived: true };
  }
  return { releases: [], derived: false };
}

function moduleFileRelease(path: string): string | undefined {
  for (const d of MODULES_DIRS) {
    if (!path.startsWith(d + '/')) continue;
    const rest = path.slice(d.length + 1);
    const slash = rest.indexOf('/');
    if (slash > 0 && slash <= MAX_RELEASE_CHARS) return rest.slice(0, slash);
  }
  return undefined;
}

function isKernelPackage(p: Package): boolean {
  if (p.type === 'deb') return DEB_KERNEL_PACKAGE.test(p.name);
  if (p.type === 'rpm') return RPM_KERNEL_PACKAGE.test(p.name);
  if (p.type === 'apk') return APK_KERNEL_PACKAGE.test(p.name);
  return false;
}

interface BootDecision {
  release: string;
  method: string;
}

async function readLinkRelease(fs: FileSystem, path: string, issues: Issue[]): Promise<string | undefined> {
  try {
    return releaseFromImagePath(await fs.readlink(path));
  } catch (err) {
    issues.push({ severity: 'warning', code: 'kernel.link-unreadable', message: (err as Error).message, location: path });
    return undefined;
  }
}

/** The release a menu entry boots: its `linux` image (variables expanded; a bare "vmlinuz" link is followed) or BLS version. */
async function entryRelease(fs: FileSystem, e: MenuEntry, vars: ReadonlyMap<string, string>, issues: Issue[]): Promise<string | undefined> {
  if (e.kind === 'bls' && e.version) return e.version;
  if (e.linux === undefined) return undefined;
  const path = expandVars(e.linux, vars).replace(/^\([^)]*\)/, '');
  const rel = releaseFromImagePath(path);
  if (rel !== undefined) return rel;
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (base === 'vmlinuz' || base === 'vmlinux') {
    for (const candidate of [path, `/boot/${base}`]) {
      try {
        const target = await fs.readlink(candidate);
        const r = releaseFromImagePath(target);
        if (r) return r;
      } catch {
        // not a link at this spelling (a separate /boot partition is mounted at /boot)
      }
    }
  }
  issues.push({ severity: 'warning', code: 'kernel.entry-image-unknown', message: `menu entry '${e.title}' boots '${path}', which names no kernel release`, location: `line ${e.line}` });
  return undefined;
}

async function readBls(fs: FileSystem, paths: string[], issues: Issue[]): Promise<BlsEntry[]> {
  const entries: BlsEntry[] = [];
  if (paths.length > MAX_BLS_ENTRIES) issues.push({ severity: 'warning', code: 'kernel.bls-budget', message: `more than ${MAX_BLS_ENTRIES} BLS entries; the rest were not read`, location: BLS_ENTRIES_DIR });
  for (const p of paths.slice(0, MAX_BLS_ENTRIES)) {
    const text = await readTextFile(fs, p, MAX_BLS_ENTRY_BYTES, 'kernel.bls-unreadable', issues);
    if (text !== undefined) entries.push(parseBlsEntry(p, text));
  }
  return sortBlsEntries(entries);
}

function blsAsMenu(entries: BlsEntry[]): MenuEntry[] {
  return entries.map((b) => {
    const m: MenuEntry = { kind: 'bls', title: b.title ?? b.id, id: b.id, line: 0, children: [] };
    if (b.version !== undefined) m.version = b.version;
    else if (b.linux !== undefined) {
      const r = releaseFromImagePath(b.linux);
      if (r !== undefined) m.version = r;
    }
    if (b.linux !== undefined) m.linux = b.linux;
    return m;
  });
}

async function decideGrub(fs: FileSystem, found: Found, evidence: Evidence[], issues: Issue[]): Promise<BootDecision | undefined> {
  const env = found.grubEnv ? parseGrubEnv((await readTextFile(fs, found.grubEnv, MAX_GRUBENV_BYTES, 'kernel.grubenv-unreadable', issues)) ?? '') : new Map<string, string>();
  if (!found.grubCfg) {
    // RHEL/Fedora on EFI keep grub.cfg on the ESP (another filesystem): grubenv + BLS still decide.
    if (!found.grubEnv || found.blsEntries.length === 0) return undefined;
    const bls = await readBls(fs, found.blsEntries, issues);
    const saved = env.get('saved_entry');
    const hit = saved ? bls.find((b) => b.id === saved) : undefined;
    const chosen = hit ?? bls[0];
    const rel = chosen ? (blsAsMenu([chosen])[0]!.version) : undefined;
    if (!rel) return undefined;
    evidence.push({ path: found.grubEnv, ...(saved ? { note: `saved_entry=${saved}` } : {}) }, { path: chosen!.path });
    return { release: rel, method: hit ? 'grubenv saved_entry (BLS)' : 'BLS first entry' };
  }
  const text = await readTextFile(fs, found.grubCfg, MAX_GRUB_CFG_BYTES, 'kernel.grub-cfg-unreadable', issues);
  if (text === undefined) return undefined;
  const cfg = parseGrubCfg(text);
  for (const p of cfg.problems) issues.push({ severity: 'warning', code: 'kernel.grub-cfg-syntax', message: p.message, location: `${found.grubCfg}:${p.line}` });
  // grub sets $prefix and $config_directory to the directory grub.cfg was loaded from.
  const grubDir = found.grubCfg.slice(0, found.grubCfg.lastIndexOf('/'));
  const vars = new Map<string, string>([['prefix', grubDir], ['config_directory', grubDir], ...env, ...cfg.vars]);
  for (const f of cfg.loadEnvFiles.slice(0, MAX_LOAD_ENV_FILES)) {
    const path = expandVars(f, vars).replace(/^\([^)]*\)/, '');
    if (!path.startsWith('/')) continue;
    // grub.cfg guards optional env files with `if [ -f … ]`: a missing one is informational.
    const readIssues: Issue[] = [];
    const t = await readTextFile(fs, path, MAX_GRUBENV_BYTES, 'kernel.load-env-unreadable', readIssues);
    for (const i of readIssues) issues.push({ ...i, severity: 'info' });
    if (t === undefined) continue;
    for (const [k, v] of parseGrubEnv(t)) vars.set(k, v);
    evidence.push({ path, note: 'load_env' });
  }
  const menu = [...cfg.menu];
  if (cfg.blscfgAt >= 0) menu.splice(cfg.blscfgAt, 0, ...blsAsMenu(await readBls(fs, found.blsEntries, issues)));
  if (menu.length === 0) return undefined;
  let spec: string | undefined;
  let method: string;
  const next = env.get('next_entry');
  if (next) {
    spec = next;
    method = 'grubenv next_entry (one-time)';
  } else {
    const def = cfg.defaults.filter((d) => !/next_entry/.test(d.value)).at(-1);
    if (def === undefined) {
      spec = '0';
      method = 'grub.cfg first menuentry';
    } else if (/saved_entry/.test(def.value) || def.value === 'saved') {
      spec = env.get('saved_entry') || '0';
      method = env.get('saved_entry') ? 'grubenv saved_entry' : 'grub.cfg first menuentry (no saved_entry)';
    } else {
      spec = expandVars(def.value, vars) || '0';
      method = 'grub.cfg set default';
    }
  }
  let entry = firstBootable(resolveMenuPath(menu, spec));
  if (!entry) {
    issues.push({ severity: 'warning', code: 'kernel.grub-default-unresolved', message: `default '${spec}' names no menu entry; GRUB falls back to the first`, location: found.grubCfg });
    entry = firstBootable(menu[0]);
    method = 'grub.cfg first menuentry (default not found)';
  }
  if (!entry) return undefined;
  const rel = await entryRelease(fs, entry, vars, issues);
  if (rel === undefined) return undefined;
  evidence.push({ path: found.grubCfg, ...(entry.line > 0 ? { line: entry.line } : {}), note: `menu entry '${entry.title}'` });
  if (found.grubEnv) evidence.push({ path: found.grubEnv, note: `default '${spec}'` });
  return { release: rel, method };
}

async function decideBls(fs: FileSystem, found: Found, evidence: Evidence[], issues: Issue[]): Promise<BootDecision | undefined> {
  if (found.blsEntries.length === 0) return undefined;
  const bls = await readBls(fs, found.blsEntries, issues);
  let glob: string | undefined;
  if (found.loaderConf) {
    const text = await readTextFile(fs, found.loaderConf, MAX_BLS_ENTRY_BYTES, 'kernel.loader-conf-unreadable', issues);
    for (const line of splitLines(text ?? '')) {
      const kv = keyValue(line);
      if (kv?.key === 'default') glob = kv.value;
    }
  }
  const hit = glob ? bls.find((b) => globMatch(glob, b.id) || globMatch(glob, `${b.id}.conf`)) : undefined;
  const chosen = hit ?? bls[0];
  const rel = chosen ? blsAsMenu([chosen])[0]!.version : undefined;
  if (!chosen || !rel) return undefined;
  evidence.push({ path: chosen.path });
  return { release: rel, method: hit ? 'loader.conf default (BLS)' : 'BLS first entry' };
}

export const kernelAnalyzer: Analyzer = {
  id: 'kernel',
  version: 1,
  roots: ['/boot', '/vmlinuz', ...MODULES_DIRS],
  descend(path: string): boolean {
    return BOOT_DIRS_DESCENDED.has(path) || (MODULES_DIRS as readonly string[]).includes(path);
  },
  wants(path: string, _stat: Stat): boolean {
    return path === '/vmlinuz' || path.startsWith('/boot/') || modulesRelease(path) !== undefined;
  },
  async analyze({ fs, files, previous }: AnalyzerInput): Promise<PartialInventory> {
    const issues: Issue[] = [];
    const found = collect(files);
    const byRelease = new Map<string, KernelImage>();
    const get = (release: string): KernelImage => {
      let k = byRelease.get(release);
      if (!k) {
        k = { release, hasModules: found.modules.has(release), evidence: [] };
        byRelease.set(release, k);
      }
      return k;
    };
    const known = new Set([...found.images.keys(), ...found.modules.keys()]);
    const kernelPackages = previous.packages.filter(isKernelPackage);
    for (const p of kernelPackages) {
      const { releases, derived } = packageReleases(p, previous.os, known);
      for (const rel of releases) {
        const k = get(rel);
        // The image package names the kernel; a modules package only when nothing better owns it.
        if (k.packageName === undefined || IMAGE_PACKAGE.test(p.name)) k.packageName = p.name;
        k.evidence.push({ path: p.evidence[0]?.path ?? '', ...(p.evidence[0]?.line !== undefined ? { line: p.evidence[0].line } : {}), note: `package ${p.name} ${p.version}${derived ? ' (release derived from the package version)' : ''}` });
      }
    }
    for (const [rel, path] of found.images) {
      const k = get(rel);
      k.imagePath = path;
      k.evidence.push({ path });
    }
    const hasPackageDb = previous.packages.length > 0;
    for (const [rel, path] of found.modules) {
      const k = byRelease.get(rel);
      if (k) {
        k.evidence.push({ path });
        continue;
      }
      // Removing a kernel package can leave /lib/modules/<release> behind (files created after install).
      if (hasPackageDb) {
        issues.push({ severity: 'info', code: 'kernel.leftover-modules', message: `${path} exists but no installed package or /boot image provides kernel ${rel}: left over from a removed kernel`, location: path });
        continue;
      }
      const img = get(rel);
      img.evidence.push({ path });
    }
    for (const [flavor, path] of found.flavorImages) {
      const matches = [...byRelease.values()].filter((k) => k.release.endsWith(`-${flavor}`));
      if (matches.length === 1 && matches[0]!.imagePath === undefined) {
        matches[0]!.imagePath = path;
        matches[0]!.evidence.push({ path, note: `${flavor} flavor image` });
      }
    }
    for (const k of byRelease.values()) {
      if (k.imagePath === undefined) {
        for (const d of MODULES_DIRS) {
          // Fedora / Azure Linux 3 kernel-core ship the image inside the modules directory.
          try {
            const p = `${d}/${k.release}/vmlinuz`;
            if ((await fs.lstat(p)).type === 'file') {
              k.imagePath = p;
              break;
            }
          } catch {
            // absent: this layout does not keep the image there
          }
        }
      }
    }
    const installed = [...byRelease.values()].sort((a, b) => compareReleases(a.release, b.release));
    const kernel: Partial<KernelInfo> = { installed };
    // Container images and trees without a kernel: no kernel facts at all (docs/inventory.md).
    if (installed.length === 0 && found.grubCfg === undefined) return { issues };

    const bootEvidence: Evidence[] = [];
    let decision = await decideGrub(fs, found, bootEvidence, issues);
    decision ??= await decideBls(fs, found, bootEvidence, issues);
    for (const l of found.links) {
      if (decision) break;
      const rel = await readLinkRelease(fs, l.path, issues);
      if (rel) {
        decision = { release: rel, method: `${l.path} link` };
        bootEvidence.push({ path: l.path });
      }
    }
    if (!decision && installed.length === 1) decision = { release: installed[0]!.release, method: 'only installed kernel' };
    if (!decision) {
      issues.push({ severity: 'warning', code: 'kernel.boot-default-unknown', message: `${installed.length} kernels installed; no bootloader configuration on this filesystem says which boots`, location: '/boot' });
      return { kernel, issues };
    }
    kernel.bootDefault = decision.release;
    kernel.bootDefaultMethod = decision.method;
    const def = byRelease.get(decision.release);
    if (def) def.evidence.push(...bootEvidence.map((e) => ({ ...e, note: `boot default (${decision.method})${e.note ? `: ${e.note}` : ''}` })));
    else issues.push({ severity: 'warning', code: 'kernel.boot-default-missing', message: `the boot default ${decision.release} (${decision.method}) is not an installed kernel`, location: bootEvidence[0]?.path ?? '/boot' });
    kernel.newerThanBootDefault = installed.filter((k) => compareReleases(k.release, decision.release) > 0).map((k) => k.release);
    for (const rel of kernel.newerThanBootDefault) {
      issues.push({ severity: 'warning', code: 'kernel.newer-not-default', message: `kernel ${rel} is installed but ${decision.release} boots by default (${decision.method}): the newer kernel does not run until the default changes`, location: byRelease.get(rel)?.imagePath ?? '/boot' });
    }
    return { kernel, issues };
  },
};
