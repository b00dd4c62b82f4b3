/**
 * Real rpm databases for the rpm analyzer's tests, made by Debian's rpm tools (rpm 4.18):
 *
 * - `rpmSqliteRoot()`: tiny packages built by `rpmbuild -bb` from the specs below (epochs,
 *   tildes and carets, a sub-package of another source, %config / %dir / %ghost / symlink
 *   files, MD5 / SHA-1 / SHA-256 / SHA-512 file digests, a package without files), installed
 *   with `rpm --root R --justdb` into R/var/lib/rpm/rpmdb.sqlite, plus a gpg-pubkey record
 *   from `rpm --import` of Debian's archive key when gpg and the keyring are present.
 * - `rpmBdbRoot(order, pageBytes)`: the same header blobs in a Berkeley DB hash `Packages`
 *   written by Berkeley DB itself (`db5.3_load` from a dump; Debian's rpm only *reads* BDB,
 *   through its bdb_ro backend, which is then the oracle), little or big endian.
 *
 * Debian's rpm has no ndb backend (`rpm --showrc`: "sqlite bdb_ro dummy"), so ndb files are
 * byte-built in the tests from these real header blobs (ndb-writer.ts).
 *
 * Everything is cached in the fixture cache under rpm-*, keyed by the specs and tool versions.
 */
import { DatabaseSync } from 'node:sqlite';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureArtefact } from '../../fixtures/cache.ts';
import { exec, requireTools } from '../../fixtures/exec.ts';

export const RPM_FIXTURE_VERSION = 1;
const DEBIAN_KEYRING = '/usr/share/keyrings/debian-archive-bookworm-stable.gpg';
export const DBPATH_DEFINE = '--define=_dbpath /var/lib/rpm';

interface SpecInput {
  name: string;
  /** `_binary_filedigest_algorithm` (PGP hash id). */
  digestAlgo: number;
  target: 'x86_64' | 'noarch';
  text: string;
}

const SPECS: readonly SpecInput[] = [
  {
    name: 'alpha',
    digestAlgo: 8,
    target: 'x86_64',
    text: `Name: alpha
Version: 1.0
Release: 1.azl3
Summary: alpha
License: Apache-2.0
%description
alpha
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc %{buildroot}/usr/share/alpha %{buildroot}/var/log
printf '#!/bin/sh\\necho alpha\\n' > %{buildroot}/usr/bin/alpha
chmod 755 %{buildroot}/usr/bin/alpha
echo 'setting=1' > %{buildroot}/etc/alpha.conf
echo 'read me' > %{buildroot}/usr/share/alpha/README
touch %{buildroot}/var/log/alpha.log
%files
/usr/bin/alpha
%config(noreplace) /etc/alpha.conf
%dir /usr/share/alpha
/usr/share/alpha/README
%ghost /var/log/alpha.log
`,
  },
  {
    name: 'beta',
    digestAlgo: 10,
    target: 'noarch',
    text: `Name: beta
Epoch: 2
Version: 3.1~rc1
Release: 4.azl3
Summary: beta
License: MIT and BSD
Vendor: Hullscan Test
%description
beta
%package libs
Summary: beta libraries
%description libs
libs
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/lib/beta %{buildroot}/etc
printf '#!/bin/sh\\necho beta\\n' > %{buildroot}/usr/bin/beta
chmod 755 %{buildroot}/usr/bin/beta
echo conf > %{buildroot}/etc/beta.conf
echo lib > %{buildroot}/usr/lib/beta/libbeta.txt
ln -s libbeta.txt %{buildroot}/usr/lib/beta/libbeta.link
%files
/usr/bin/beta
%config(noreplace) /etc/beta.conf
%files libs
%dir /usr/lib/beta
/usr/lib/beta/libbeta.txt
/usr/lib/beta/libbeta.link
`,
  },
  {
    name: 'gamma',
    digestAlgo: 1,
    target: 'noarch',
    text: `Name: gamma
Epoch: 0
Version: 0.9^20240101
Release: 1.el7
Summary: gamma
License: GPL-2.0-or-later
%description
gamma
%install
mkdir -p %{buildroot}/usr/share/gamma
echo gamma > %{buildroot}/usr/share/gamma/data
%files
/usr/share/gamma/data
`,
  },
  {
    name: 'delta',
    digestAlgo: 2,
    target: 'noarch',
    text: `Name: delta
Version: 20240101
Release: 7
Summary: delta, a meta package without files
License: Public Domain
Vendor: Other Vendor
%description
delta
%package sha1
Summary: delta with files
%description sha1
sha1
%install
mkdir -p %{buildroot}/usr/share/delta
echo delta > %{buildroot}/usr/share/delta/file
%files
%files sha1
/usr/share/delta/file
`,
  },
];

const RPMBUILD_DEFINES = ['--define', '%debug_package %{nil}', '--define', '__os_install_post %{nil}', '--define', '_build_id_links none'];

/** The real rpm root (R/var/lib/rpm/rpmdb.sqlite). Returns R. */
export function rpmSqliteRoot(): Promise<string> {
  const withKey = existsSync(DEBIAN_KEYRING);
  return ensureArtefact({
    name: 'rpm-sqlite-root',
    product: 'root',
    builderVersion: RPM_FIXTURE_VERSION,
    tools: ['rpm', 'rpmbuild'],
    inputs: { specs: SPECS, withKey },
    async build(dir) {
      requireTools('rpm fixtures', 'rpm', 'rpmbuild');
      const top = join(dir, 'top');
      const root = join(dir, 'root');
      await mkdir(join(top, 'SPECS'), { recursive: true });
      await mkdir(root, { recursive: true });
      for (const s of SPECS) {
        const spec = join(top, 'SPECS', `${s.name}.spec`);
        await writeFile(spec, s.text);
        await exec('rpmbuild', ['--define', `_topdir ${top}`, ...RPMBUILD_DEFINES, '--define', `_binary_filedigest_algorithm ${s.digestAlgo}`, '--nodeps', '--target', s.target, '-bb', spec]);
      }
      const rpms: string[] = [];
      for (const arch of await readdir(join(top, 'RPMS'))) for (const f of await readdir(join(top, 'RPMS', arch))) rpms.push(join(top, 'RPMS', arch, f));
      await exec('rpm', [DBPATH_DEFINE, `--root=${root}`, '--initdb']);
      await exec('rpm', [DBPATH_DEFINE, `--root=${root}`, '-i', '--nodeps', '--noscripts', '--justdb', '--ignorearch', ...rpms.sort()]);
      let key = false;
      if (withKey && existsSync('/usr/bin/gpg')) {
        const home = join(dir, 'gnupg');
        await mkdir(home, { mode: 0o700 });
        const armored = await exec('gpg', ['--homedir', home, '--no-default-keyring', '--keyring', DEBIAN_KEYRING, '--export', '--armor']);
        await writeFile(join(dir, 'key.asc'), armored.stdout);
        await exec('rpm', [DBPATH_DEFINE, `--root=${root}`, '--import', join(dir, 'key.asc')]);
        key = true;
      }
      return { rpms: rpms.map((r) => r.slice(top.length + 1)), gpgPubkey: key };
    },
  });
}

/** Header blobs of the SQLite fixture in hnum order (read with node:sqlite on the host file). */
export function fixtureBlobs(root: string): { hnum: number; blob: Uint8Array }[] {
  const db = new DatabaseSync(join(root, 'var/lib/rpm/rpmdb.sqlite'), { readOnly: true });
  try {
    return db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all().map((r) => ({ hnum: Number(r['hnum']), blob: r['blob'] as Uint8Array }));
  } finally {
    db.close();
  }
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A root whose var/lib/rpm/Packages is a BDB hash written by db5.3_load with the fixture's blobs. */
export function rpmBdbRoot(order: 'le' | 'be', pageBytes: number): Promise<string> {
  return rpmSqliteRoot().then((sqliteRoot) =>
    ensureArtefact({
      name: `rpm-bdb-${order}-${pageBytes}`,
      product: 'root',
      builderVersion: RPM_FIXTURE_VERSION,
      tools: ['rpm', 'db5.3_load'],
      inputs: { specs: SPECS, order, pageBytes, blobs: fixtureBlobs(sqliteRoot).map((b) => hex(b.blob)) },
      async build(dir) {
        requireTools('rpm BDB fixtures', 'db5.3_load');
        const le = order === 'le';
        const key = (n: number): string => {
          const b = Buffer.alloc(4);
          if (le) b.writeUInt32LE(n);
          else b.writeUInt32BE(n);
          return b.toString('hex');
        };
        const blobs = fixtureBlobs(sqliteRoot);
        // Record 0 is rpm's header-instance counter (the next hnum), as rpm's BDB backend kept it.
        const lines = ['VERSION=3', 'format=bytevalue', 'type=hash', 'HEADER=END', ` ${key(0)}`, ` ${key(blobs.length + 1)}`];
        for (const b of blobs) lines.push(` ${key(b.hnum)}`, ` ${hex(b.blob)}`);
        lines.push('DATA=END', '');
        await writeFile(join(dir, 'dump.txt'), lines.join('\n'));
        const dbdir = join(dir, 'root/var/lib/rpm');
        await mkdir(dbdir, { recursive: true });
        await exec('db5.3_load', ['-c', `db_lorder=${le ? 1234 : 4321}`, '-c', `db_pagesize=${pageBytes}`, '-f', join(dir, 'dump.txt'), join(dbdir, 'Packages')]);
        return { records: blobs.length };
      },
    }),
  );
}
