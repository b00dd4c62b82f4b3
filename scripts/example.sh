#!/usr/bin/env bash
# The main job on the embedded default: build (or reuse from the cache) the example node disk —
# a Debian bookworm node (systemd, containerd, runc, openssh-server, a kernel) on a cloud-style
# GPT disk, as qcow2 — import the bundled vulnerability snapshot into a local SQLite database,
# and scan the disk without mounting it: inventory, CVE findings and malware alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
img=$(node scripts/fixtures.ts --paths -q container:qcow2 | tail -n 1)
db=${HULLSCAN_DB:-.cache/example/vuln.db}
mkdir -p "$(dirname "$db")"
echo "== hullscan disk inspect $img"
node bin/hullscan.js disk inspect "$img"
echo
echo "== hullscan db import data/vulndb/* (bundled offline snapshot; 'hullscan db update' fetches current feeds)"
node bin/hullscan.js db import --db "$db" data/vulndb/debian-12.osv.slice.jsonl.gz \
  data/vulndb/known_exploited_vulnerabilities.json.gz data/vulndb/epss-2026-08-16.debian-12-slice.csv.gz
echo
echo "== hullscan scan <image> --scanners vuln,malware --severity critical,high"
node bin/hullscan.js scan "$img" --db "$db" --scanners vuln,malware --severity critical,high \
  --cluster example-cluster --node-pool nodepool1 --node aks-nodepool1-31718369-vmss000000
echo
echo "== the full report as JSON and SARIF: .cache/example/scan.json, .cache/example/scan.sarif"
node bin/hullscan.js scan "$img" --db "$db" --scanners vuln,malware --format json --output .cache/example/scan.json
node bin/hullscan.js scan --sbom <(node bin/hullscan.js sbom "$img") --db "$db" --format sarif --output .cache/example/scan.sarif
echo "== SBOM (CycloneDX 1.6): hullscan sbom <image> > node.cdx.json"
