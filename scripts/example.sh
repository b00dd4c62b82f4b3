#!/usr/bin/env bash
# The main job on the embedded default: build (or reuse from the cache) the example node disk —
# a Debian bookworm node (systemd, containerd, runc, openssh-server, a kernel) on a cloud-style
# GPT disk, as qcow2 — import the bundled vulnerability snapshot into a local SQLite database,
# and scan the disk without mounting it: inventory, CVE findings and malware alerts.
#
# The database is hullscan's default one ($HULLSCAN_DB, else ~/.local/share/hullscan/vuln.db),
# so that `npx hullscan scan <disk>` works afterwards; when a database is already there, it is
# left alone and the example uses .cache/example/vuln.db (and says which --db to pass).
set -euo pipefail
cd "$(dirname "$0")/.."
hullscan() { node bin/hullscan.js "$@"; }
mkdir -p .cache/example
echo "== the example node disk (the first run builds it with debootstrap: about 4 minutes, progress below; cached afterwards)"
node scripts/fixtures.ts container:qcow2 >/dev/null
img=$(node scripts/fixtures.ts --paths -q container:qcow2 | tail -n 1)
default_db=$(node -e "import('./src/vulndb/store.ts').then((m) => console.log(m.defaultDbPath()))")
db_args=()
if [ -e "$default_db" ] && [ -z "${HULLSCAN_DB:-}" ]; then
  db=.cache/example/vuln.db
  db_args=(--db "$db")
  echo "   ($default_db exists and is left alone: the example uses $db)"
else
  db=$default_db
fi
echo
echo "== hullscan disk inspect $img"
hullscan disk inspect "$img"
echo
echo "== hullscan db import data/vulndb/* ${db_args[*]} (bundled offline snapshot; 'hullscan db update' fetches current feeds)"
hullscan db import "${db_args[@]}" data/vulndb/debian-12.osv.slice.jsonl.gz \
  data/vulndb/known_exploited_vulnerabilities.json.gz data/vulndb/epss-2026-08-16.debian-12-slice.csv.gz
echo
echo "== hullscan scan <image> ${db_args[*]} --scanners vuln,malware --severity critical,high"
hullscan scan "$img" "${db_args[@]}" --scanners vuln,malware --severity critical,high \
  --cluster example-cluster --node-pool nodepool1 --node aks-nodepool1-31718369-vmss000000
echo
echo "== the full report as JSON and SARIF, and the SBOM: .cache/example/"
hullscan scan "$img" "${db_args[@]}" --scanners vuln,malware --format json --output .cache/example/scan.json
hullscan sbom "$img" --output .cache/example/node.cdx.json
hullscan scan --sbom .cache/example/node.cdx.json "${db_args[@]}" --format sarif --output .cache/example/scan.sarif
ls -l .cache/example/scan.json .cache/example/scan.sarif .cache/example/node.cdx.json
echo
echo "== your own disks: npx hullscan scan node.vhd ${db_args[*]}   (database: $db)"
