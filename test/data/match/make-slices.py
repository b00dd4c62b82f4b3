#!/usr/bin/env python3
"""Builds the matcher accuracy slices in this folder from the shared real-data snapshot.

Usage: python3 make-slices.py <shared-data-dir>   (the folder holding aks-node-images/, ubuntu-cve-tracker/, osv/, ...)

Deterministic: same input, same bytes. See README.md for what each output holds.
"""
import gzip, json, sys, os, collections

data = sys.argv[1]
out = os.path.dirname(os.path.abspath(__file__))

# --- Ubuntu 22.04: AKS image 202408.05.0 (built 2024-08-05) <-> UCT 2024-08-09 -------------
IMAGE = '202408.05.0'
with gzip.open(f'{data}/aks-node-images/catalog-ubuntu2204-gen2containerd.jsonl.gz', 'rt') as f:
    pkgs = next(json.loads(l) for l in f if json.loads(l)['version'] == IMAGE)['packages']
approx = {}
with open(f'{data}/aks-node-images/ubuntu-binary-to-source.approx-from-debian12.tsv') as f:
    next(f)
    for line in f:
        b, s = line.rstrip('\n').split('\t')
        if s:
            approx[b] = s

def ubuntu_source(name, version):
    """(source name, source version, how) for an Ubuntu binary: kernel rules, then the approximate map."""
    import re
    if re.match(r'^linux-image-\d.*-azure$', name):
        return 'linux-signed-azure', version, 'kernel rule'
    if re.match(r'^linux-(modules|modules-extra|headers|tools|cloud-tools)-\d.*-azure$', name) or re.match(r'^linux-azure-(headers|tools|cloud-tools)-\d', name):
        return 'linux-azure', version, 'kernel rule'
    if re.match(r'^linux-(image|headers|tools|cloud-tools)-azure-lts-22\.04$', name):
        return 'linux-meta-azure', version, 'kernel rule'
    if name in ('linux-libc-dev', 'linux-tools-common', 'linux-cloud-tools-common'):
        return 'linux', version, 'kernel rule'
    # Ubuntu source names that differ from Debian's (the approximate map is built from Debian 12).
    overrides = {'telnet': 'netkit-telnet', 'libssl3': 'openssl', 'openssl': 'openssl'}
    if name in overrides:
        return overrides[name], version, 'override'
    if name in approx:
        return approx[name], version, 'approx map'
    return name, version, 'unmapped (binary name)'

rows = []
for name in sorted(pkgs):
    v = pkgs[name]
    s, sv, how = ubuntu_source(name, v)
    rows.append((name, v, s, sv, how))
with open(f'{out}/aks-ubuntu2204-{IMAGE}.packages.tsv', 'w') as f:
    f.write('# binary\tversion\tsource\tsource_version\tsource_from\n')
    for r in rows:
        f.write('\t'.join(r) + '\n')

CHOSEN = ['openssl', 'linux-azure', 'linux', 'openssh', 'systemd', 'glibc', 'curl', 'sudo', 'bash', 'libxml2',
          'expat', 'krb5', 'gnutls28', 'python3.10', 'vim', 'tar', 'zlib', 'sqlite3', 'wget', 'less', 'gzip',
          'libtasn1-6', 'nghttp2', 'util-linux', 'shadow', 'pam', 'ncurses', 'perl', 'e2fsprogs', 'gnupg2',
          'libgcrypt20', 'cpio', 'busybox', 'git', 'binutils', 'libssh', 'linux-signed-azure']
installed_sources = {r[2] for r in rows}
chosen = [c for c in CHOSEN if c in installed_sources]
PER_STATUS = {'released': 8, 'not-affected': 3, 'needed': 3, 'needs-triage': 3, 'pending': 3, 'deferred': 3, 'ignored': 3}
KERNEL_PER_STATUS = {'released': 25, 'not-affected': 4, 'needed': 6, 'needs-triage': 6, 'pending': 6, 'deferred': 4, 'ignored': 6}
picked = collections.defaultdict(set)
uct = {}
with gzip.open(f'{data}/ubuntu-cve-tracker/uct-jammy.jsonl.gz', 'rt') as f:
    for line in f:
        r = json.loads(line)
        uct[r['candidate']] = r
counts = collections.Counter()
for cve in sorted(uct, key=lambda c: (int(c.split('-')[1]), int(c.split('-')[2]))) [::-1]:  # newest first
    jam = uct[cve]['packages'].get('jammy', {})
    for src in chosen:
        e = jam.get(src)
        if not e:
            continue
        lim = (KERNEL_PER_STATUS if src in ('linux', 'linux-azure') else PER_STATUS).get(e['status'], 0)
        if counts[(src, e['status'])] < lim:
            counts[(src, e['status'])] += 1
            picked[cve].add(src)
cves = sorted(picked, key=lambda c: (int(c.split('-')[1]), int(c.split('-')[2])))
with gzip.GzipFile(f'{out}/uct-jammy.slice.jsonl.gz', 'wb', mtime=0) as g:
    for cve in cves:
        r = uct[cve]
        jam = {s: {k: v for k, v in e.items() if k in ('name', 'status', 'note')} for s, e in r['packages']['jammy'].items() if s in picked[cve]}
        slim = {'candidate': cve, 'priority': r.get('priority'), 'cvss': r.get('cvss'), 'public_date': r.get('public_date'), 'packages': {'jammy': jam}}
        g.write((json.dumps(slim, sort_keys=True) + '\n').encode())
n_osv = 0
with gzip.open(f'{data}/osv/ubuntu/ubuntu-22.04.osv.jsonl.gz', 'rt') as f, gzip.GzipFile(f'{out}/ubuntu-22.04.osv.slice.jsonl.gz', 'wb', mtime=0) as g:
    for line in f:
        r = json.loads(line)
        cve = r['id'].replace('UBUNTU-', '')
        if cve not in picked:
            continue
        r['affected'] = [a for a in r['affected'] if a['package']['name'] in picked[cve]]
        if not r['affected']:
            continue
        r['details'] = r.get('details', '')[:300]
        r['references'] = r.get('references', [])[:2]
        g.write((json.dumps(r, sort_keys=True, separators=(',', ':')) + '\n').encode())
        n_osv += 1
# KEV (dateAdded <= UCT snapshot) and EPSS rows for the sliced CVEs.
with gzip.open(f'{data}/kev/known_exploited_vulnerabilities.json.gz', 'rt') as f:
    kev = json.load(f)
kev['vulnerabilities'] = [v for v in kev['vulnerabilities'] if v['cveID'] in picked and v['dateAdded'] <= '2024-08-09']
kev['count'] = len(kev['vulnerabilities'])
with open(f'{out}/kev.slice.json', 'w') as f:
    json.dump(kev, f, indent=1, sort_keys=True)
with gzip.open(f'{data}/epss/epss_scores-2026-08-16.first-api-dump.csv.gz', 'rt') as f, open(f'{out}/epss_scores-2026-08-16.slice.csv', 'w') as g:
    for i, line in enumerate(f):
        if line.startswith('#') or line.startswith('cve,') or line.split(',')[0] in picked:
            g.write(line)
print(f'ubuntu: {len(rows)} packages, {len(chosen)} sources, {len(cves)} CVEs, {sum(len(v) for v in picked.values())} (CVE, source) pairs, {n_osv} OSV records, {len(kev["vulnerabilities"])} KEV')

# --- Debian 12: the debootstrapped bookworm fixture's sources <-> Debian 12 OSV (osv.dev, 2025-02-12) ---
if len(sys.argv) > 2:
    status = sys.argv[2]
    sources = {}
    cur = {}
    def flush():
        if 'Package' in cur and ' installed' in ' ' + cur.get('Status', ''):
            src = cur.get('Source', cur['Package'])
            sv = cur['Version']
            if '(' in src:
                src, sv = src.split(' (')[0], src.split('(')[1].rstrip(')')
            sources[src.strip()] = sv
    with open(status) as f:
        for line in f:
            if line == '\n':
                flush(); cur = {}
            elif not line.startswith(' ') and ':' in line:
                k, v = line.split(':', 1); cur[k] = v.strip()
    flush()
    sources['linux'] = sources.get('linux-signed-amd64', '')
    LINUX_LIMIT = {'fixed': 40, 'unfixed': 40}
    lin = collections.Counter()
    kept = 0
    with gzip.open(f'{data}/debian/osv-debian-12.jsonl.gz', 'rt') as f, gzip.GzipFile(f'{out}/debian-12.osv.slice.jsonl.gz', 'wb', mtime=0) as g:
        records = [json.loads(l) for l in f]
        records.sort(key=lambda r: r.get('modified', ''), reverse=True)
        for r in records:
            aff = [a for a in r['affected'] if a['package']['name'] in sources]
            if not aff:
                continue
            if any(a['package']['name'] == 'linux' for a in aff):
                kind = 'fixed' if any('fixed' in e for a in aff for rg in a.get('ranges', []) for e in rg['events']) else 'unfixed'
                if lin[kind] >= LINUX_LIMIT[kind]:
                    aff = [a for a in aff if a['package']['name'] != 'linux']
                    if not aff:
                        continue
                else:
                    lin[kind] += 1
            r['affected'] = aff
            for a in aff:
                a.pop('versions', None) if a['package']['name'] == 'linux' else None
            r['details'] = r.get('details', '')[:200]
            r['references'] = r.get('references', [])[:1]
            g.write((json.dumps(r, sort_keys=True, separators=(',', ':')) + '\n').encode())
            kept += 1
    print(f'debian: {len(sources)} sources, {kept} OSV records')

# --- Azure Linux 3.0: AKS image 202502.26.0 <-> OVAL 2025-02-24 (copied whole: 160 KB) ---------
import re, shutil
shutil.copyfile(f'{data}/azurelinux/azurelinux-3.0-oval.xml.gz', f'{out}/azurelinux-3.0-oval.xml.gz')
with gzip.open(f'{data}/azurelinux/azurelinux-3.0-oval.xml.gz', 'rt') as f:
    oval_names = set(re.findall(r'<linux-def:name>([^<]+)</linux-def:name>', f.read()))
def azl_source(name):
    """The OVAL (source RPM) name of a binary: itself, else its longest '-'-prefix that is an OVAL name."""
    if name in oval_names:
        return name, 'oval name'
    # python3-<module> binaries come from python-<module> SRPMs; only these are python3's own subpackages.
    if name.startswith('python3-'):
        if name in ('python3-libs', 'python3-curses', 'python3-devel', 'python3-tools'):
            return 'python3', 'python3 subpackage'
        alt = 'python-' + name[len('python3-'):]
        return (alt, 'python-<module> oval name') if alt in oval_names else (name, 'unmapped (binary name)')
    if name.startswith('mariadb-connector-c'):
        return 'mariadb-connector-c', 'own SRPM'
    parts = name.split('-')
    for i in range(len(parts) - 1, 0, -1):
        stem = '-'.join(parts[:i])
        if stem in oval_names:
            return stem, 'prefix of an oval name'
    return name, 'unmapped (binary name)'
n_mapped = 0
with open(f'{data}/aks-node-images/azurelinux3-gen2-202502.26.0.packages.tsv') as f, open(f'{out}/aks-azurelinux3-202502.26.0.packages.tsv', 'w') as g:
    next(f)
    g.write('# binary\tversion\tsource\tsource_version\tsource_from\tarch\n')
    for line in f:
        nvra, name, version, release, arch = line.rstrip('\n').split('\t')
        src, how = azl_source(name)
        n_mapped += how != 'unmapped (binary name)'
        g.write('\t'.join([name, f'{version}-{release}', src, f'{version}-{release}', how, arch]) + '\n')
print(f'azurelinux: {n_mapped} binaries mapped to an OVAL package name')
