#!/usr/bin/env bash
# Times the steps of .ci/run one by one (projen's tasks run singly, in the order `projen ci` runs them), without
# jest's suite (time that per file: jest's own durations) and without `npm ci` (it replaces node_modules).
# Run after a build left assets/, lib/ and .jsii in place (and the scanners' virtualenv, or `scan` includes its install);
# prints one line per step, each step's output in .tmp/step-<name>.log.
#
# Usage: bash tools/ci-step-times.sh [step...]   (default: every step). Environment: CI=true, as .ci/run sets it.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .tmp
export CI=true
. tools/supported-node.sh

all=(default bundle compile docgen rosetta eslint integ:snapshot package:js package:check-npm package:python
  package:java package:dotnet:sources package:go:sources test:consumers:python test:consumers:java scan node22-smoke)
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=("${all[@]}")

for s in "${steps[@]}"; do
  start=$(date +%s.%N)
  if [ "$s" = node22-smoke ]; then
    bash tools/node22-smoke.sh > ".tmp/step-$s.log" 2>&1
  else
    npx projen "$s" > ".tmp/step-${s//:/_}.log" 2>&1
  fi
  rc=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  line=$(printf '%-26s %6.1f s  (exit %d)' "$s" "$secs" "$rc")
  echo "$line"
done
