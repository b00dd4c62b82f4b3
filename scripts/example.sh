#!/usr/bin/env bash
# The main job on the embedded default: build (or reuse from the cache) the example node disk —
# a Debian bookworm node (systemd, containerd, runc, openssh-server, a kernel) on a cloud-style
# GPT disk, as qcow2 — and read it without mounting: volumes, os-release, a directory listing.
set -euo pipefail
cd "$(dirname "$0")/.."
img=$(node scripts/fixtures.ts --paths -q container:qcow2 | tail -n 1)
echo "== hullscan disk inspect $img"
node bin/hullscan.js disk inspect "$img"
echo "== hullscan fs cat <image> /etc/os-release"
node bin/hullscan.js fs cat "$img" /etc/os-release
echo "== hullscan fs ls <image> /usr/bin/containerd*"
node bin/hullscan.js fs ls "$img" /usr/bin --hash | grep -E 'MODE|containerd|runc'
