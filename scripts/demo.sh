#!/usr/bin/env bash
# The main job on the embedded default: a fleet of AKS nodes scanned agentlessly by the control
# plane in one process (SQLite store, local disk images, in-process workers).
#  1. builds (or reuses from .cache/fixtures) the demo fleet: real AKS node-image package lists
#     (Ubuntu 22.04 at three image versions, Azure Linux 3) on real GPT/ext4 disks in qcow2, VHDX,
#     VHD and raw containers — a drifted node, an infected node, an excluded pool, ephemeral OS
#     disks, and a second subscription with scanning off (scripts/demo-env.ts);
#  2. imports the bundled vulnerability snapshot into .cache/demo/vuln.db;
#  3. runs one discovery + scan cycle (hullscan run --once) into a fresh store;
#  4. shows coverage, the findings summary, the malware alerts and the run.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${HULLSCAN_DEMO_DIR:-.cache/demo}
hs() { node bin/hullscan.js "$@"; }
echo "== building the web portal (web/dist, served by hullscan serve)"
npm run --silent build:web >/dev/null
echo "== building the demo fleet in $demo (first time: a few minutes; then seconds)"
node scripts/demo-env.ts --out "$demo" >/dev/null
rm -rf "$demo/data"
common=(--data "$demo/data")
echo
echo "== hullscan run --once --config $demo/environment.yaml   (discover, snapshot, read, match, publish, delete)"
HULLSCAN_LOG_LEVEL=${HULLSCAN_LOG_LEVEL:-warn} hs run --once "${common[@]}" --config "$demo/environment.yaml" --db "$demo/vuln.db" || true
echo
echo "== hullscan accounts   (\"Agentless scanning for machines\" per subscription)"
hs accounts "${common[@]}"
echo
echo "== hullscan nodes   (coverage: every node, scanned or why not)"
hs nodes "${common[@]}"
echo
echo "== hullscan findings --severity critical,high --limit 15"
hs findings "${common[@]}" --severity critical,high --limit 15
echo
echo "== hullscan alerts   (malware and package integrity)"
hs alerts "${common[@]}"
echo
echo "== hullscan runs"
hs runs "${common[@]}"
echo
echo "Try: hullscan findings --data $demo/data --cve CVE-2024-6387 · hullscan findings --data $demo/data --format json"
echo "     hullscan serve --data $demo/data --config $demo/environment.yaml --db $demo/vuln.db --listen 127.0.0.1:7220"
echo "       → the portal at http://127.0.0.1:7220/ (sign in with the owner token serve prints once on its first start),"
echo "         the REST API at /api/v1 (OpenAPI at /api/openapi.json), scheduled scans; Ctrl-C stops"
