/**
 * The Ubuntu 22.04 AKS node tree for the Trivy comparison, from the same real data as
 * test/analyze/aks-ubuntu.test.ts (the package list of AKSUbuntu-2204gen2containerd 202508.20.0
 * as a dpkg status file, the image's os-release). That test keeps its builder inside the test
 * file, so the few lines that turn the list into a status file are repeated here; the data is
 * shared, not copied. Two additions a real node has and Trivy needs or exercises:
 * /etc/lsb-release (base-files writes it on every Ubuntu; Trivy detects Ubuntu only from it) and,
 * optionally, unowned Go executables in /usr/local/bin (the go-binary analyzer's real fixtures).
 */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DATA = join(import.meta.dirname, '..', 'data');
export const AKS_UBUNTU_LIST = join(DATA, 'dpkg', 'aks-ubuntu2204-202508.20.0.packages.tsv');
const SOURCE_MAP = join(DATA, 'dpkg', 'ubuntu-binary-to-source.approx-from-debian12.tsv');

/** /etc/lsb-release of Ubuntu 22.04.5, as base-files 12ubuntu4.7 installs it. */
export const UBUNTU_2204_LSB_RELEASE = 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\nDISTRIB_DESCRIPTION="Ubuntu 22.04.5 LTS"\n';

function tsvRows(path: string): string[][] {
  return readFileSync(path, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t'));
}

/** The AKS package list as a dpkg status file, record for record as aks-ubuntu.test.ts writes it. */
export function aksUbuntuStatus(): { text: string; packages: number } {
  const sourceOf = new Map(tsvRows(SOURCE_MAP).map(([bin, src]) => [bin!, src!] as const));
  const rows = tsvRows(AKS_UBUNTU_LIST);
  const text = rows
    .map(([name, version, arch]) => {
      const src = sourceOf.get(name!);
      return [`Package: ${name}`, 'Status: install ok installed', 'Priority: optional', `Architecture: ${arch}`, ...(src && src !== name ? [`Source: ${src}`] : []), `Version: ${version}`, 'Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>', `Description: ${name}`, ''].join('\n');
    })
    .join('\n');
  return { text, packages: rows.length };
}

export interface AksTreeOptions {
  /** Write /etc/lsb-release (default true). */
  lsbRelease?: boolean;
  /** Go executables to copy into /usr/local/bin (owned by no package). */
  goBinaries?: readonly string[];
}

/** Plants the AKS Ubuntu tree into `root` (an empty directory). */
export function plantAksUbuntuTree(root: string, options: AksTreeOptions = {}): void {
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(join(root, 'var/lib/dpkg/updates'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/os-release'), readFileSync(join(DATA, 'os-release', 'ubuntu-22.04')));
  symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));
  if (options.lsbRelease ?? true) writeFileSync(join(root, 'etc/lsb-release'), UBUNTU_2204_LSB_RELEASE);
  writeFileSync(join(root, 'var/lib/dpkg/status'), aksUbuntuStatus().text);
  if (options.goBinaries !== undefined && options.goBinaries.length > 0) {
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    for (const bin of options.goBinaries) copyFileSync(bin, join(root, 'usr/local/bin', bin.slice(bin.lastIndexOf('/') + 1)));
  }
}
