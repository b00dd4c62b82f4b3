#!/usr/bin/env python3
"""Regenerates the small real-data slices in this folder from the full feeds.

Usage: python3 make-slices.py <data-dir>   (the folder holding debian/, osv/, azurelinux/, kev/, epss/)

Every record is copied unmodified; only the selection and the container are ours (see README.md).
Deterministic: same inputs, same bytes (gzip mtime 0, sorted zip entries, fixed zip dates).
"""
import gzip, io, json, re, sys, zipfile

data = sys.argv[1]
out = sys.argv[2] if len(sys.argv) > 2 else '.'

def gz_write(path, text):
    with open(path, 'wb') as f:
        with gzip.GzipFile(fileobj=f, mode='wb', mtime=0, filename='') as g:
            g.write(text.encode())

# Packages a Kubernetes node has (debootstrap bookworm fixture, AKS images).
NODE = {'openssl', 'openssh', 'glibc', 'systemd', 'containerd', 'runc', 'linux', 'curl', 'zlib', 'xz-utils', 'sudo', 'bash',
        'util-linux', 'expat', 'libxml2', 'gnutls28', 'krb5', 'pam', 'shadow', 'tar', 'gzip', 'ncurses', 'sqlite3', 'perl',
        'python3.11', 'libssh', 'nghttp2', 'libgcrypt20', 'e2fsprogs', 'busybox', 'musl', 'libtasn1-6', 'apt', 'dpkg', 'coreutils'}

# --- Debian 12 OSV -------------------------------------------------------------------------
must = {'CVE-2023-0286', 'CVE-2023-0597', 'CVE-2024-6387', 'DSA-5418-1', 'CVE-2023-4911', 'CVE-2002-0380'}
deb = [json.loads(l) for l in gzip.open(f'{data}/debian/osv-debian-12.jsonl.gz', 'rt')]
picked, urg_seen = [], set()
for r in deb:
    names = {a['package']['name'] for a in r['affected']}
    urg = {json.dumps(a.get('ecosystem_specific')) for a in r['affected']}
    small = len(json.dumps(r)) < 5000
    if r['id'] in must or r['id'].startswith('DLA-') or (small and names & NODE and len(picked) < 140) or (small and not urg <= urg_seen):
        picked.append(r)
        urg_seen |= urg
gz_write(f'{out}/debian-12.osv.jsonl.gz', ''.join(json.dumps(r, sort_keys=True) + '\n' for r in picked))
print('debian', len(picked))

# --- Ubuntu 22.04 OSV (derived UCT rendering) ----------------------------------------------
umust = {'UBUNTU-CVE-2023-0286', 'UBUNTU-CVE-2024-6387', 'UBUNTU-CVE-2023-4911', 'UBUNTU-CVE-2021-44228', 'UBUNTU-CVE-2022-0847'}
ub = [l for l in gzip.open(f'{data}/osv/ubuntu/ubuntu-22.04.osv.jsonl.gz', 'rt')]
upicked, prios = [], set()
for l in ub:
    r = json.loads(l)
    names = {a['package']['name'] for a in r['affected']}
    pr = {a.get('ecosystem_specific', {}).get('ubuntu_priority') for a in r['affected']}
    small = len(l) < 4000
    if r['id'] in umust or (small and names & NODE and len(upicked) < 80) or (small and not pr <= prios):
        upicked.append(l if l.endswith('\n') else l + '\n')
        prios |= pr
with open(f'{out}/ubuntu-22.04.osv.jsonl', 'w') as f:
    f.write(''.join(upicked))
print('ubuntu', len(upicked))

# --- Alpine 3.21 OSV, packed the way osv.dev's all.zip is (one <id>.json per record) ------
al = [json.loads(l) for l in gzip.open(f'{data}/osv/alpine/osv-alpine-v3.21.jsonl.gz', 'rt')]
amust = {'CVE-2024-6387', 'CVE-2023-0286', 'CVE-2013-4122'}
apicked = [r for r in al if r['id'] in amust or ({a['package']['name'] for a in r['affected']} & NODE and len(json.dumps(r)) < 4000)][:70]
buf = io.BytesIO()
with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
    for r in sorted(apicked, key=lambda r: r['id']):
        info = zipfile.ZipInfo(f"{r['id']}.json", date_time=(2025, 2, 16, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, json.dumps(r, indent=2, sort_keys=True))
open(f'{out}/alpine-v3.21.osv.all.zip', 'wb').write(buf.getvalue())
print('alpine', len(apicked))

# --- Azure Linux 3.0 OVAL: whole <definition>/<rpminfo_*> blocks, cut by text -----------------
xml = gzip.open(f'{data}/azurelinux/azurelinux-3.0-oval.xml.gz', 'rt').read()
head, rest = xml.split('<definitions>', 1)
defs_text, tail = rest.split('</definitions>', 1)
defs = re.findall(r'    <definition .*?</definition>\n', defs_text, re.S)
want_pkgs = {'openssh', 'openssl', 'glibc', 'systemd', 'containerd2', 'runc', 'kernel', 'curl', 'golang', 'sudo', 'expat', 'libxml2'}
sel = []
per_pkg = {}
for d in defs:
    m = re.search(r'affecting package (\S+) ', d)
    p = m.group(1) if m else ''
    ranged = 'greater than' in d
    if p in want_pkgs and (per_pkg.get(p, 0) < 15 or (ranged and per_pkg.get('ranged', 0) < 3)):
        sel.append(d)
        per_pkg[p] = per_pkg.get(p, 0) + 1
        if ranged:
            per_pkg['ranged'] = per_pkg.get('ranged', 0) + 1
nums = {re.search(r'def:(\d+)"', d).group(1) for d in sel}
def keep_blocks(section, tag):
    body = re.search(rf'  <{section}>\n(.*?)  </{section}>\n', tail, re.S).group(1)
    blocks = re.findall(rf'    <linux-def:{tag} .*?</linux-def:{tag}>\n', body, re.S)
    return ''.join(b for b in blocks if re.search(r':(?:tst|obj|ste):(\d+?)\d{3}"', b).group(1) in nums)
tests, objects, states = keep_blocks('tests', 'rpminfo_test'), keep_blocks('objects', 'rpminfo_object'), keep_blocks('states', 'rpminfo_state')
closing = tail[tail.index('</oval_definitions>'):]
sliced = f'{head}<definitions>\n{"".join(sel)}  </definitions>\n  <tests>\n{tests}  </tests>\n  <objects>\n{objects}  </objects>\n  <states>\n{states}  </states>\n{closing}'
gz_write(f'{out}/azurelinux-3.0-oval.xml.gz', sliced)
print('oval', len(sel))

# --- KEV: header + entries for the CVEs above + the first 100 -------------------------------
kev = json.load(gzip.open(f'{data}/kev/known_exploited_vulnerabilities.json.gz', 'rt'))
cves = set()
for r in picked + [json.loads(l) for l in upicked] + apicked:
    cves.update(x for x in [r['id']] + r.get('related', []) + r.get('aliases', []) if x.startswith('CVE-'))
    cves.update(x[7:] for x in [r['id']] + r.get('related', []) if x.startswith('UBUNTU-CVE-'))
kv = [v for i, v in enumerate(kev['vulnerabilities']) if i < 100 or v['cveID'] in cves or v['cveID'] in ('CVE-2021-44228', 'CVE-2024-6387')]
kev['vulnerabilities'] = kv
kev['count'] = len(kv)
open(f'{out}/known_exploited_vulnerabilities.json', 'w').write(json.dumps(kev, indent=4) + '\n')
print('kev', len(kv))

# --- EPSS: header + rows for the CVEs above + the first 100 ---------------------------------
rows = gzip.open(f'{data}/epss/epss_scores-2026-08-16.first-api-dump.csv.gz', 'rt').read().splitlines()
keep = [rows[0]] + [r for i, r in enumerate(rows[1:]) if i < 100 or r.split(',')[0] in cves or r.startswith('CVE-2021-44228,')]
gz_write(f'{out}/epss_scores-2026-08-16.csv.gz', '\n'.join(keep) + '\n')
print('epss', len(keep) - 1)

# --- Ubuntu CVE Tracker (UCT) jammy: whole records, one per shape the ubuntu-uct source reads -
# Records copied unmodified (the line as in the feed). Shapes: released with a version, ignored
# with a note, deferred, needs-triage, pending, not-affected, an esm-apps (Pro) key, a package
# priority, an untriaged priority, more than one CVSS source; small records only (<= 12 entries).
want = ['CVE-2024-6387', 'CVE-2023-0286']
shapes = {
    'ignored-note': lambda e, k: e['status'] == 'ignored' and e.get('note') and k == 'jammy',
    'deferred': lambda e, k: e['status'] == 'deferred',
    'needs-triage': lambda e, k: e['status'] == 'needs-triage' and k == 'jammy',
    'pending': lambda e, k: e['status'] == 'pending',
    'not-affected': lambda e, k: e['status'] == 'not-affected' and e.get('note'),
    'esm-apps': lambda e, k: k.startswith('esm-apps/') and e['status'] == 'released',
    'package-priority': lambda e, k: 'priority' in e,
}
found = {}
uct_lines = []
with gzip.open(f'{data}/ubuntu-cve-tracker/uct-jammy.jsonl.gz', 'rt') as f:
    for line in f:
        r = json.loads(line)
        entries = [(k, e) for k, pk in r['packages'].items() for e in pk.values()]
        take = r['candidate'] in want
        if len(entries) <= 12:
            for shape, test in shapes.items():
                if shape not in found and any(test(e, k) for k, e in entries):
                    found[shape] = r['candidate']
                    take = True
            if 'untriaged' not in found and r.get('priority') == 'untriaged':
                found['untriaged'] = r['candidate']
                take = True
            if 'two-cvss' not in found and len(r.get('cvss') or {}) > 1:
                found['two-cvss'] = r['candidate']
                take = True
        if take:
            uct_lines.append(line.rstrip('\n'))
with open(f'{out}/uct-jammy.sample.jsonl', 'w') as f:
    f.write('\n'.join(uct_lines) + '\n')
print('uct', len(uct_lines), found)
