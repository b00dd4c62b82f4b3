/**
 * Node root trees for the end-to-end accuracy tests (accuracy.test.ts), built from REAL AKS
 * node-image package lists by the real tools, cached as fixture artefacts (test/fixtures/cache.ts)
 * so that nodeDisk()/fsImage()/containerImage() cache the images made from them by name:
 *
 * - ubuntuAksRoot(): AKSUbuntu-2204gen2containerd 202408.05.0 (714 packages, built 2024-08-05,
 *   time-matched to the UCT snapshot of 2024-08-09) as /var/lib/dpkg/status, the real Ubuntu
 *   22.04 os-release, the image's linux-azure kernel 5.15.0-1068-azure in /boot and
 *   /usr/lib/modules, and the grub.cfg grub-mkconfig writes for it.
 * - azureLinuxAksRoot(variant): AKSAzureLinuxV3 gen2 202502.26.0 (387 packages, built
 *   2025-02-26, time-matched to the OVAL of 2025-02-24): every package built by Debian's
 *   `rpmbuild` (one spec per source RPM, the binaries as its subpackages, so SOURCERPM is the
 *   source's real-looking `name-version-release.src.rpm`) and installed with
 *   `rpm --root R --justdb` into R/var/lib/rpm/rpmdb.sqlite; the image's real os-release; the
 *   kernel in /boot and /usr/lib/modules with the grub2 + /boot/mariner.cfg boot setup. The
 *   'downgraded' variant is SYNTHETIC (AZL_DOWNGRADES says what and why).
 *
 * Package lists and their derived source names: test/data/match/README.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Package } from '../../src/inventory/index.ts';
import { ensureArtefact } from '../fixtures/cache.ts';
import { exec, requireTools } from '../fixtures/exec.ts';
import { pkg } from '../match/helpers/build.ts';
import { rpmPackage, rpmRowsFromTsv, type RpmListRow } from '../match/oracles.ts';

const DATA = join(import.meta.dirname, '..', 'data');
/** Bump to rebuild the e2e trees (and so their images). */
export const E2E_TREE_VERSION = 2;
/** As test/analyze/rpm/fixture.ts: the rpmdb under /var/lib/rpm whatever the host rpm's default. */
const RPM_DBPATH_DEFINE = '--define=_dbpath /var/lib/rpm';

export const UBUNTU_LIST = join(DATA, 'match', 'aks-ubuntu2204-202408.05.0.packages.tsv');
export const UBUNTU_KERNEL = '5.15.0-1068-azure';
/** The arch column the 202408.05.0 catalogue lacks: taken from the 202508.20.0 release notes (same image line). */
const UBUNTU_ARCH_LIST = join(DATA, 'dpkg', 'aks-ubuntu2204-202508.20.0.packages.tsv');

export interface DebListRow {
  name: string;
  version: string;
  source: string;
  sourceVersion: string;
  arch: string;
}

/** The 202408.05.0 rows, with each package's arch from the 202508.20.0 list (amd64 when it is not there). */
export function ubuntuRows(): DebListRow[] {
  const arch = new Map(readFileSync(UBUNTU_ARCH_LIST, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => {
    const [name, , a] = l.split('\t');
    return [name!, a!] as const;
  }));
  const out: DebListRow[] = [];
  for (const line of readFileSync(UBUNTU_LIST, 'utf8').split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const [name, version, source, sourceVersion] = line.split('\t');
    out.push({ name: name!, version: version!, source: source!, sourceVersion: sourceVersion!, arch: arch.get(name!) ?? 'amd64' });
  }
  return out;
}

/** The oracle's view of the list: the packages the status file says, independent of our dpkg reader. */
export function ubuntuPackages(): Package[] {
  return ubuntuRows().map((r) => pkg({ type: 'deb', name: r.name, version: r.version, versionScheme: 'deb', arch: r.arch, source: { name: r.source, version: r.sourceVersion } }));
}

/** A dpkg status stanza in dpkg's field order (dpkg lib/dpkg/parse.c fieldinfos). */
export function statusStanza(r: DebListRow): string {
  const source = r.source === r.name ? [] : [`Source: ${r.source}${r.sourceVersion === r.version ? '' : ` (${r.sourceVersion})`}`];
  return [`Package: ${r.name}`, 'Status: install ok installed', 'Priority: optional', 'Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>', `Architecture: ${r.arch}`, ...source, `Version: ${r.version}`, `Description: ${r.name}`, ''].join('\n');
}

/**
 * test/data/kernel/ubuntu-22.04-grub.cfg (grub-mkconfig 2.06 on an Azure VM with 5.15.0-1094 and
 * -1089) rewritten for an image's single kernel: the -1089 entries dropped, -1094 renamed.
 */
export function ubuntuGrubCfg(kernel: string): string {
  const cfg = readFileSync(join(DATA, 'kernel', 'ubuntu-22.04-grub.cfg'), 'utf8');
  const single = cfg.replace(/\tmenuentry '[^']*5\.15\.0-1089-azure[\s\S]*?\n\t\}\n/g, '');
  if (single.includes('1089')) throw new Error('ubuntu grub.cfg: the second kernel was not removed');
  return single.replaceAll('5.15.0-1094-azure', kernel);
}

/** A file to plant: text, bytes (optionally with a mode), a symlink, or a directory. */
export type PlantNode = string | { bytes: Uint8Array; mode?: number } | { link: string } | { dir: true };

export async function plant(root: string, files: Record<string, PlantNode>): Promise<void> {
  for (const [rel, node] of Object.entries(files)) {
    const p = join(root, rel);
    if (typeof node === 'object' && 'dir' in node) {
      await mkdir(p, { recursive: true });
      continue;
    }
    await mkdir(dirname(p), { recursive: true });
    if (typeof node === 'string') await writeFile(p, node);
    else if ('link' in node) await symlink(node.link, p);
    else {
      await writeFile(p, node.bytes);
      if (node.mode !== undefined) await chmod(p, node.mode);
    }
  }
}

/** Merged /usr, as Ubuntu 22.04 and Azure Linux 3.0 have it. */
const MERGED_USR = { bin: { link: 'usr/bin' }, sbin: { link: 'usr/sbin' }, lib: { link: 'usr/lib' }, lib64: { link: 'usr/lib64' }, 'usr/bin': { dir: true }, 'usr/sbin': { dir: true }, 'usr/lib64': { dir: true } } as const;

export interface UbuntuTreeSpec {
  /** Artefact name (and so the name of the images made from the tree). */
  name: string;
  rows: DebListRow[];
  /** The image's kernel release: /boot, /usr/lib/modules, grub.cfg and the kernel packages' dpkg file lists. */
  kernel: string;
  /** /usr/lib/os-release (/etc/os-release links to it). */
  osRelease: string;
  /** More files, planted last (drift, malware samples). Recorded in the inputs by digest. */
  extra?: Record<string, PlantNode>;
  /** Artefact builder version (default E2E_TREE_VERSION). */
  builderVersion?: number;
}

function plantDigest(files: Record<string, PlantNode>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(files)) {
    out[k] = typeof v === 'string' ? createHash('sha256').update(v).digest('hex') : 'bytes' in v ? `${createHash('sha256').update(v.bytes).digest('hex')}:${v.mode ?? ''}` : JSON.stringify(v);
  }
  return out;
}

/**
 * An Ubuntu node root: the rows as /var/lib/dpkg/status (Source fields as dpkg writes them),
 * os-release, the kernel in /boot and /usr/lib/modules with its dpkg file lists, and the
 * grub.cfg grub-mkconfig writes for it. Cached by name; rebuilt when any input changes.
 */
export function ubuntuNodeRoot(spec: UbuntuTreeSpec): Promise<string> {
  const status = spec.rows.map(statusStanza).join('\n');
  const { osRelease } = spec;
  const grub = ubuntuGrubCfg(spec.kernel);
  const k = spec.kernel;
  return ensureArtefact({
    name: spec.name,
    product: 'root',
    builderVersion: spec.builderVersion ?? E2E_TREE_VERSION,
    tools: [],
    inputs: { status, osRelease, grub, ...(spec.extra !== undefined && { extra: plantDigest(spec.extra) }) },
    async build(dir) {
      const root = join(dir, 'root');
      await plant(root, {
        ...MERGED_USR,
        'usr/lib/os-release': osRelease,
        'etc/os-release': { link: '../usr/lib/os-release' },
        'etc/hostname': 'aks-nodepool1-12345678-vmss000000\n',
        'var/lib/dpkg/status': status,
        'var/lib/dpkg/updates': { dir: true },
        // dpkg's file list of the kernel image: what ties /boot/vmlinuz-* to its package.
        [`var/lib/dpkg/info/linux-image-${k}.list`]: `/.\n/boot\n/boot/vmlinuz-${k}\n`,
        [`var/lib/dpkg/info/linux-modules-${k}.list`]: `/.\n/lib/modules/${k}\n/lib/modules/${k}/modules.builtin\n`,
        [`boot/vmlinuz-${k}`]: 'not a kernel: the analyzers read names, not images\n',
        [`boot/initrd.img-${k}`]: 'initrd\n',
        [`boot/config-${k}`]: 'CONFIG_LOCALVERSION=""\n',
        'boot/vmlinuz': { link: `vmlinuz-${k}` },
        'boot/initrd.img': { link: `initrd.img-${k}` },
        'boot/grub/grub.cfg': grub,
        [`usr/lib/modules/${k}/modules.dep`]: '',
        [`usr/lib/modules/${k}/modules.builtin`]: '',
      });
      if (spec.extra !== undefined) await plant(root, spec.extra);
      return { packages: spec.rows.length, kernel: k, extra: Object.keys(spec.extra ?? {}) };
    },
  });
}

export function ubuntuAksRoot(): Promise<string> {
  return ubuntuNodeRoot({
    name: 'e2e-ubuntu2204-aks-202408.05.0',
    rows: ubuntuRows(),
    kernel: UBUNTU_KERNEL,
    osRelease: readFileSync(join(DATA, 'os-release', 'ubuntu-22.04'), 'utf8'),
  });
}

export const AZL_LIST = join(DATA, 'match', 'aks-azurelinux3-202502.26.0.packages.tsv');
export const AZL_KERNEL = '6.6.64.2-9.azl3';

export type AzlVariant = 'time-matched' | 'downgraded';

/**
 * The SYNTHETIC downgrades of the 'downgraded' variant: the real image is nearly fully patched
 * against the time-matched OVAL (one vulnerable package), which cannot show that the matcher
 * finds what is there. Each source is set back to an earlier Azure Linux 3.0 build that the OVAL
 * itself names as a fixed version of an older definition, so it is real-looking and vulnerable to
 * the newer definitions. The booting kernel is downgraded too, and a second, older kernel stays
 * installed but does not boot (as tdnf's installonly kernels do): its findings must say
 * bootsByDefault false, the booting one's true.
 */
export const AZL_DOWNGRADES: Record<string, { to: string; why: string }> = {
  openssl: { to: '3.3.0-2.azl3', why: 'OVAL fixes at 3.3.2-1.azl3' },
  curl: { to: '8.8.0-2.azl3', why: 'OVAL fixes at 8.8.0-3.azl3 and 8.8.0-4.azl3' },
  expat: { to: '2.6.2-1.azl3', why: 'OVAL fixes at 2.6.3-1.azl3 and 2.6.3-2.azl3' },
  glibc: { to: '2.38-3.azl3', why: 'OVAL fixes at 2.38-6.azl3' },
  kernel: { to: '6.6.57.1-5.azl3', why: 'OVAL fixes at 6.6.64.2-1.azl3 (240 definitions)' },
};
/** The older kernel left installed in the 'downgraded' variant (not the boot default). */
export const AZL_OLD_KERNEL = '6.6.47.1-1.azl3';

export function azlBootKernel(variant: AzlVariant): string {
  return variant === 'downgraded' ? AZL_DOWNGRADES['kernel']!.to : AZL_KERNEL;
}

/**
 * The list's rows, without `gpg-pubkey` (rpm's pseudo-package for an imported signing key, not a
 * package rpmbuild can make; `rpm -qa` queries here leave it out too).
 */
export function azureLinuxRows(variant: AzlVariant): RpmListRow[] {
  const rows = rpmRowsFromTsv(AZL_LIST).filter((r) => r.name !== 'gpg-pubkey');
  if (variant === 'time-matched') return rows;
  const out = rows.map((r) => {
    const d = AZL_DOWNGRADES[r.source];
    return d === undefined || r.version !== r.sourceVersion ? r : { ...r, version: d.to, sourceVersion: d.to };
  });
  out.push({ name: 'kernel', version: AZL_OLD_KERNEL, source: 'kernel', sourceVersion: AZL_OLD_KERNEL, arch: 'x86_64' });
  return out;
}

export function azureLinuxPackages(variant: AzlVariant): Package[] {
  return azureLinuxRows(variant).map(rpmPackage);
}

function splitVr(vr: string): { version: string; release: string } {
  const i = vr.lastIndexOf('-');
  if (i <= 0) throw new Error(`not version-release: ${vr}`);
  return { version: vr.slice(0, i), release: vr.slice(i + 1) };
}

/**
 * One spec per (source, version-release, noarch or not): the binaries are its subpackages
 * (`%package -n`), the source's own binary its main package, so rpmbuild writes
 * SOURCERPM = source-version-release.src.rpm. rpmbuild cannot mix a noarch main package with
 * arch subpackages in one spec, hence the split by arch (the source RPM name is the same).
 */
function rpmSpecs(rows: RpmListRow[]): string[] {
  const groups = new Map<string, RpmListRow[]>();
  for (const r of rows) {
    const k = `${r.source}\0${r.sourceVersion}\0${r.arch === 'noarch'}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const specs: string[] = [];
  for (const list of groups.values()) {
    const first = list[0]!;
    const { version, release } = splitVr(first.sourceVersion);
    for (const r of list) if (r.version !== first.sourceVersion) throw new Error(`${r.name} ${r.version}: a subpackage must have its source's version-release ${first.sourceVersion}`);
    const main = list.find((r) => r.name === first.source);
    const lines = [`Name: ${first.source}`, `Version: ${version}`, `Release: ${release}`, ...(first.arch === 'noarch' ? ['BuildArch: noarch'] : []), `Summary: ${first.source}`, 'License: see Azure Linux', 'Vendor: Microsoft Corporation', '%description', first.source];
    if (main !== undefined) lines.push('%files');
    for (const r of list) {
      if (r === main) continue;
      lines.push(`%package -n ${r.name}`, `Summary: ${r.name}`, `%description -n ${r.name}`, r.name, `%files -n ${r.name}`);
    }
    specs.push(`${lines.join('\n')}\n`);
  }
  return specs;
}

/** /boot/grub2/grub.cfg and /boot/mariner.cfg as Azure Linux images write them (test/data/kernel/README.md). */
function azlBootFiles(kernels: string[], boot: string): Record<string, string> {
  const grub = readFileSync(join(DATA, 'kernel', 'mariner-2.0-grub.cfg'), 'utf8').replaceAll('CBL-Mariner', 'Azure Linux');
  const mariner = readFileSync(join(DATA, 'kernel', 'mariner-2.0-mariner.cfg'), 'utf8').replaceAll('5.15.160.1-1.cm2', boot);
  if (!mariner.includes(`mariner_linux=vmlinuz-${boot}`)) throw new Error('mariner.cfg: the kernel line was not rewritten');
  const files: Record<string, string> = { 'boot/grub2/grub.cfg': grub, 'boot/mariner.cfg': mariner };
  for (const k of kernels) {
    files[`boot/vmlinuz-${k}`] = 'not a kernel: the analyzers read names, not images\n';
    files[`boot/initrd.img-${k}`] = 'initrd\n';
    files[`usr/lib/modules/${k}/modules.dep`] = '';
  }
  return files;
}

export interface AzureLinuxTreeSpec {
  /** Artefact name (and so the name of the images made from the tree). */
  name: string;
  rows: RpmListRow[];
  /** Installed kernel releases (in /boot and /usr/lib/modules). */
  kernels: string[];
  /** The release /boot/mariner.cfg boots. */
  bootKernel: string;
  /** /usr/lib/os-release (/etc/os-release links to it). */
  osRelease: string;
  /** More files, planted last. Recorded in the inputs by digest. */
  extra?: Record<string, PlantNode>;
  /** Artefact builder version (default E2E_TREE_VERSION). */
  builderVersion?: number;
}

/**
 * An Azure Linux node root: every row built by `rpmbuild` (one spec per source RPM, the binaries
 * as its subpackages, so SOURCERPM is the source's name-version-release.src.rpm) and installed
 * with `rpm --root R --justdb` into R/var/lib/rpm/rpmdb.sqlite; os-release; the kernels in /boot
 * and /usr/lib/modules with the grub2 + /boot/mariner.cfg boot setup.
 */
export function azureLinuxNodeRoot(spec: AzureLinuxTreeSpec): Promise<string> {
  const { rows, osRelease } = spec;
  const specs = rpmSpecs(rows);
  const bootFiles = azlBootFiles(spec.kernels, spec.bootKernel);
  return ensureArtefact({
    name: spec.name,
    product: 'root',
    builderVersion: spec.builderVersion ?? E2E_TREE_VERSION,
    tools: ['rpm', 'rpmbuild'],
    inputs: { specs, osRelease, bootFiles, ...(spec.extra !== undefined && { extra: plantDigest(spec.extra) }) },
    async build(dir) {
      requireTools(`the Azure Linux tree ${spec.name}`, 'rpm', 'rpmbuild');
      const top = join(dir, 'top');
      const root = join(dir, 'root');
      await mkdir(join(top, 'SPECS'), { recursive: true });
      const paths: string[] = [];
      for (const [i, s] of specs.entries()) {
        const p = join(top, 'SPECS', `${i}.spec`);
        await writeFile(p, s);
        paths.push(p);
      }
      // One rpmbuild run for every spec (a process per package would take a minute).
      await exec('rpmbuild', ['--define', `_topdir ${top}`, '--define', '%debug_package %{nil}', '--nodeps', '--target', 'x86_64', '-bb', ...paths], { timeoutMs: 600_000 });
      const rpms: string[] = [];
      for (const arch of await readdir(join(top, 'RPMS'))) for (const f of await readdir(join(top, 'RPMS', arch))) rpms.push(join(top, 'RPMS', arch, f));
      if (rpms.length !== rows.length) throw new Error(`rpmbuild wrote ${rpms.length} packages for ${rows.length} rows`);
      await plant(root, { ...MERGED_USR, 'usr/lib/os-release': osRelease, 'etc/os-release': { link: '../usr/lib/os-release' }, ...bootFiles });
      await exec('rpm', [RPM_DBPATH_DEFINE, `--root=${root}`, '--initdb']);
      await exec('rpm', [RPM_DBPATH_DEFINE, `--root=${root}`, '-i', '--nodeps', '--noscripts', '--justdb', '--ignorearch', ...rpms.sort()], { timeoutMs: 600_000 });
      await exec('rm', ['-rf', top]);
      if (spec.extra !== undefined) await plant(root, spec.extra);
      return { packages: rpms.length, specs: specs.length, kernels: spec.kernels, extra: Object.keys(spec.extra ?? {}) };
    },
  });
}

export function azureLinuxAksRoot(variant: AzlVariant): Promise<string> {
  return azureLinuxNodeRoot({
    name: `e2e-azurelinux3-aks-202502.26.0-${variant}`,
    rows: azureLinuxRows(variant),
    kernels: variant === 'downgraded' ? [azlBootKernel(variant), AZL_OLD_KERNEL] : [AZL_KERNEL],
    bootKernel: azlBootKernel(variant),
    osRelease: readFileSync(join(DATA, 'os-release', 'azurelinux-3.0'), 'utf8'),
  });
}
