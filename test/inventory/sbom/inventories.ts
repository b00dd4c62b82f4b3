/**
 * Realistic inventories built by hand for the SBOM tests: an Ubuntu 22.04 AKS node (packages from
 * the real AKS 202608.20.0 package list slice in test/data/sbom, sources from the binary→source
 * slice, Go binaries under /usr/local/bin), an Azure Linux 3.0 node (rpm slice of the same image
 * version), and an Alpine 3.21 root with apk packages. See test/data/sbom/README.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageId, type Inventory, type Package } from '../../../src/inventory/index.ts';

export const DATA = join(import.meta.dirname, '..', '..', 'data', 'sbom');

function tsv(file: string): string[][] {
  return readFileSync(join(DATA, file), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

function pkg(p: Omit<Package, 'id'>): Package {
  return { ...p, id: packageId(p) };
}

/**
 * Kernel binary packages are built from linux-signed-azure (images) and linux-meta-azure
 * (metapackages) in Ubuntu's archive; the Debian-derived mapping has no entry for them.
 */
const KERNEL_SOURCES: Record<string, { name: string; version: string }> = {
  'linux-image-5.15.0-1118-azure': { name: 'linux-signed-azure', version: '5.15.0-1118.127' },
  'linux-image-azure-lts-22.04': { name: 'linux-meta-azure', version: '5.15.0.1118.116' },
};

export function ubuntuInventory(): Inventory {
  const sources = new Map(tsv('ubuntu-binary-to-source.slice.tsv').map(([bin, src]) => [bin!, src ?? '']));
  let line = 1;
  const packages: Package[] = tsv('ubuntu2204-202608.20.0.slice.tsv').map(([name, version, arch]) => {
    const srcName = KERNEL_SOURCES[name!]?.name ?? (sources.get(name!) || name!);
    const srcVersion = KERNEL_SOURCES[name!]?.version ?? version!;
    const p = pkg({
      type: 'deb',
      name: name!,
      version: version!,
      versionScheme: 'deb',
      arch: arch!,
      source: { name: srcName, version: srcVersion },
      foundBy: 'dpkg',
      evidence: [{ path: '/var/lib/dpkg/status', line }],
      ...(arch === 'all' ? { multiArch: 'foreign' } : {}),
    });
    line += 31;
    return p;
  });
  // One package with its md5sums, as the dpkg analyzer reads them (not exported to CycloneDX/SPDX).
  const sudo = packages.find((p) => p.name === 'sudo')!;
  sudo.files = [
    { path: '/usr/bin/sudo', algorithm: 'md5', digest: '4b2f4e5b1bfb0b8c3a6cbd5f2f1d2f57' },
    { path: '/usr/bin/sudoreplay', algorithm: 'md5', digest: '0e3c5d0b8d7e8f29c1a3ab47a8f3e1d9' },
  ];
  sudo.evidence.push({ path: '/var/lib/dpkg/info/sudo.md5sums', note: 'file digests' });
  const go = (name: string, version: string, binaryPath: string): Package =>
    pkg({ type: 'golang', name, version, versionScheme: 'go', binaryPath, foundBy: 'go-binary', evidence: [{ path: binaryPath, record: 'elf .go.buildinfo' }] });
  packages.push(
    go('k8s.io/kubernetes', 'v1.31.1', '/usr/local/bin/kubelet'),
    go('stdlib', 'go1.22.5', '/usr/local/bin/kubelet'),
    go('google.golang.org/grpc', 'v1.65.0', '/usr/local/bin/kubelet'),
    go('github.com/opencontainers/runc', 'v1.1.13', '/usr/local/bin/kubelet'),
    go('github.com/containerd/containerd/v2', 'v2.0.1', '/usr/local/bin/containerd'),
    go('github.com/BurntSushi/toml', 'v1.4.0', '/usr/local/bin/containerd'),
    go('stdlib', 'go1.23.4', '/usr/local/bin/containerd'),
  );
  return {
    schemaVersion: 1,
    target: '/images/aks-ubuntu2204-202608.20.0.vhd',
    scannedAt: '2026-08-21T10:00:00.000Z',
    node: { cluster: 'prod-weu', nodePool: 'system', node: 'aks-system-12345678-vmss000000', nodeImage: { name: 'AKSUbuntu-2204gen2containerd', version: '202608.20.0' } },
    os: {
      family: 'ubuntu',
      id: 'ubuntu',
      versionId: '22.04',
      codename: 'jammy',
      prettyName: 'Ubuntu 22.04.5 LTS',
      idLike: ['debian'],
      evidence: [{ path: '/usr/lib/os-release', note: 'via /etc/os-release -> ../usr/lib/os-release' }],
    },
    packages,
    kernel: {
      installed: [
        {
          release: '5.15.0-1118-azure',
          imagePath: '/boot/vmlinuz-5.15.0-1118-azure',
          packageName: 'linux-image-5.15.0-1118-azure',
          hasModules: true,
          evidence: [{ path: '/boot/vmlinuz-5.15.0-1118-azure' }, { path: '/lib/modules/5.15.0-1118-azure' }],
        },
        // Removed but not purged: its image is still on disk and grubenv still boots it.
        { release: '5.15.0-1117-azure', imagePath: '/boot/vmlinuz-5.15.0-1117-azure', hasModules: true, evidence: [{ path: '/boot/grub/grubenv', note: 'saved_entry names this kernel' }] },
      ],
      bootDefault: '5.15.0-1117-azure',
      bootDefaultMethod: 'grubenv saved_entry',
      newerThanBootDefault: ['5.15.0-1118-azure'],
    },
    analyzers: { 'os-release': 1, dpkg: 1, kernel: 1, 'go-binary': 1 },
    issues: [{ severity: 'warning', code: 'go-binary.no-buildinfo', message: 'ELF executable without Go build info (not Go, or stripped)', location: '/usr/local/bin/acr-mirror' }],
  };
}

export function azureLinuxInventory(): Inventory {
  const srcOf = (name: string): string => (name === 'openssl-libs' ? 'openssl' : name === 'curl-libs' ? 'curl' : name);
  let hnum = 1;
  const packages = tsv('azurelinux3-202608.20.0.slice.tsv')
    .filter(([, name]) => name !== 'gpg-pubkey') // not a package rpm -qa users care about; the rpm analyzer keeps it, we keep the test small
    .map(([, name, version, release, arch]) =>
      pkg({
        type: 'rpm',
        name: name!,
        version: `${version}-${release}`,
        versionScheme: 'rpm',
        arch: arch!,
        source: { name: srcOf(name!), version: `${version}-${release}` },
        vendor: 'Microsoft Corporation',
        foundBy: 'rpm',
        evidence: [{ path: '/var/lib/rpm/rpmdb.sqlite', record: `rpmdb.sqlite Packages hnum ${hnum++}` }],
      }),
    );
  // An epoch'd package, to carry epoch= through the purl.
  packages.push(
    pkg({
      type: 'rpm',
      name: 'perl-Text-Tabs+Wrap',
      version: '1:2024.001-509.azl3',
      epoch: 1,
      versionScheme: 'rpm',
      arch: 'noarch',
      source: { name: 'perl-Text-Tabs+Wrap', version: '1:2024.001-509.azl3' },
      license: 'TTWL',
      vendor: 'Microsoft Corporation',
      foundBy: 'rpm',
      evidence: [{ path: '/var/lib/rpm/rpmdb.sqlite', record: `rpmdb.sqlite Packages hnum ${hnum++}` }],
    }),
  );
  return {
    schemaVersion: 1,
    target: '/images/aks-azurelinux3-202608.20.0.vhd',
    scannedAt: '2026-08-21T10:05:00.000Z',
    os: { family: 'azurelinux', id: 'azurelinux', versionId: '3.0', prettyName: 'Microsoft Azure Linux 3.0', evidence: [{ path: '/etc/os-release' }] },
    packages,
    kernel: {
      newerThanBootDefault: [],
      installed: [{ release: '6.6.150.1-1.azl3', imagePath: '/boot/vmlinuz-6.6.150.1-1.azl3', packageName: 'kernel', hasModules: true, evidence: [{ path: '/boot/vmlinuz-6.6.150.1-1.azl3' }] }],
      bootDefault: '6.6.150.1-1.azl3',
      bootDefaultMethod: 'grub.cfg first menuentry',
    },
    analyzers: { 'os-release': 1, rpm: 1, kernel: 1 },
    issues: [],
  };
}

export function alpineInventory(): Inventory {
  const apk = (name: string, version: string, origin: string, line: number): Package =>
    pkg({ type: 'apk', name, version, versionScheme: 'apk', arch: 'x86_64', source: { name: origin, version }, license: name === 'busybox' ? 'GPL-2.0-only' : undefined, foundBy: 'apk', evidence: [{ path: '/lib/apk/db/installed', line }] });
  const packages = [apk('busybox', '1.36.1-r29', 'busybox', 1), apk('libcrypto3', '3.3.2-r4', 'openssl', 25), apk('musl', '1.2.5-r8', 'musl', 60), apk('apk-tools', '2.14.6-r2', 'apk-tools', 90)];
  for (const p of packages) if (p.license === undefined) delete p.license;
  return {
    schemaVersion: 1,
    target: '/srv/roots/alpine',
    scannedAt: '2026-08-21T10:10:00.000Z',
    os: { family: 'alpine', id: 'alpine', versionId: '3.21', prettyName: 'Alpine Linux v3.21', evidence: [{ path: '/etc/os-release' }, { path: '/etc/alpine-release' }] },
    packages,
    analyzers: { 'os-release': 1, apk: 1 },
    issues: [
      { severity: 'info', code: 'kernel.none', message: 'no kernel installed (container root)' },
      { severity: 'warning', code: 'apk.scripts-unreadable', message: 'scripts.tar is truncated', location: '/lib/apk/db/scripts.tar' },
    ],
  };
}

/** A root whose OS is unknown and that holds no packages: the writers must still produce valid documents. */
export function emptyInventory(): Inventory {
  return {
    schemaVersion: 1,
    target: 'https://example.blob.core.windows.net/snap/disk.vhd',
    scannedAt: '2026-08-21T10:15:00.000Z',
    packages: [],
    analyzers: { 'os-release': 1 },
    issues: [{ severity: 'error', code: 'os.unknown', message: 'no /etc/os-release, /usr/lib/os-release or release file', location: '/' }],
  };
}

export const ALL_INVENTORIES: ReadonlyArray<readonly [string, () => Inventory]> = [
  ['ubuntu2204', ubuntuInventory],
  ['azurelinux3', azureLinuxInventory],
  ['alpine321', alpineInventory],
  ['empty', emptyInventory],
];

/** Fixed writer options so goldens are byte-stable. */
export const FIXED = { uuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301', timestamp: new Date('2026-08-21T12:00:00.000Z'), toolVersion: '0.1.0' } as const;
