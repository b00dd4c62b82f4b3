/**
 * An Azure Linux 3.0 AKS node's rpm database, at the scale of the real thing: one package per
 * line of the real `rpm -qa` list of node image 202608.20.0 (test/data/rpm/, from
 * Azure/AgentBaker's release notes), each built by Debian's `rpmbuild` with that name, version,
 * release and arch, and installed with `rpm --root R --justdb` into R/var/lib/rpm/rpmdb.sqlite;
 * R/etc/os-release is the image's real os-release. The list carries no SOURCERPM, vendor or
 * files, so the packages carry none of their own (rpmbuild names the source after the package),
 * and `gpg-pubkey` (no arch) is not built. Cached as rpm-azurelinux3-root.
 */
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureArtefact } from '../../fixtures/cache.ts';
import { exec, requireTools } from '../../fixtures/exec.ts';
import { DBPATH_DEFINE, RPM_FIXTURE_VERSION } from './fixture.ts';

const DATA = join(import.meta.dirname, '../../data/rpm');
export const AZURELINUX_LIST = join(DATA, 'azurelinux3-gen2-202608.20.0.packages.tsv');
export const AZURELINUX_OS_RELEASE = join(DATA, 'azurelinux3-gen2-202608.20.0.os-release');

export interface ListedRpm {
  nvra: string;
  name: string;
  version: string;
  release: string;
  arch: string;
}

/** The list's rows (header skipped), gpg-pubkey included. */
export function azureLinuxList(): ListedRpm[] {
  return readFileSync(AZURELINUX_LIST, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => {
    const [nvra, name, version, release, arch] = l.split('\t');
    return { nvra: nvra!, name: name!, version: version!, release: release!, arch: arch ?? '' };
  });
}

export function azureLinuxRoot(): Promise<string> {
  const list = azureLinuxList().filter((p) => p.name !== 'gpg-pubkey');
  return ensureArtefact({
    name: 'rpm-azurelinux3-root',
    product: 'root',
    builderVersion: RPM_FIXTURE_VERSION,
    tools: ['rpm', 'rpmbuild'],
    inputs: { list: readFileSync(AZURELINUX_LIST, 'utf8'), osRelease: readFileSync(AZURELINUX_OS_RELEASE, 'utf8') },
    async build(dir) {
      requireTools('the Azure Linux rpm fixture', 'rpm', 'rpmbuild');
      const top = join(dir, 'top');
      const root = join(dir, 'root');
      await mkdir(join(top, 'SPECS'), { recursive: true });
      const specs: string[] = [];
      for (const [i, p] of list.entries()) {
        const spec = join(top, 'SPECS', `${i}.spec`);
        const arch = p.arch === 'noarch' ? 'BuildArch: noarch\n' : '';
        await writeFile(spec, `Name: ${p.name}\nVersion: ${p.version}\nRelease: ${p.release}\n${arch}Summary: ${p.name}\nLicense: see Azure Linux\n%description\n${p.nvra}\n%files\n`);
        specs.push(spec);
      }
      // One rpmbuild run builds every spec (a process per package would take a minute).
      await exec('rpmbuild', ['--define', `_topdir ${top}`, '--define', '%debug_package %{nil}', '--nodeps', '--target', 'x86_64', '-bb', ...specs], { timeoutMs: 600_000 });
      const rpms: string[] = [];
      for (const arch of await readdir(join(top, 'RPMS'))) for (const f of await readdir(join(top, 'RPMS', arch))) rpms.push(join(top, 'RPMS', arch, f));
      await mkdir(join(root, 'etc'), { recursive: true });
      await copyFile(AZURELINUX_OS_RELEASE, join(root, 'etc/os-release'));
      await exec('rpm', [DBPATH_DEFINE, `--root=${root}`, '--initdb']);
      await exec('rpm', [DBPATH_DEFINE, `--root=${root}`, '-i', '--nodeps', '--noscripts', '--justdb', '--ignorearch', ...rpms.sort()], { timeoutMs: 600_000 });
      return { packages: rpms.length };
    },
  });
}
