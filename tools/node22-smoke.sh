#!/usr/bin/env bash
# The other supported Node.js, 22: a smoke build (jsii on Node 22, then the construct's tests and one simulated run
# of every path on Node 22), on the same node_modules. Called by .ci/run after the Node 24 build; also by
# tools/ci-step-times.sh.
#
# The handlers are not bundled again: esbuild's output does not depend on the Node.js that starts it (the bundles
# come from esbuild's own binary, with --target=node24 fixed in the task); bundling on Node 22.23.5 gave
# byte-identical assets/ (diff -r, 2026-12-03). The Node 22 tests run against the bundles the build just made.
set -euo pipefail
cd "$(dirname "$0")/.."
export PPSB_NODE_VERSION=22.23.5
. tools/supported-node.sh
[ -d assets/functions ] || { echo "node 22 smoke: no bundles in assets/: run the build first" >&2; exit 1; }
npx projen compile
npx jest --coverage=false test/pre-post-script-backup/pre-post-script-backup.test.ts test/workflow/simulated/paths.test.ts
