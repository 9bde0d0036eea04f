#!/usr/bin/env bash
# Independent template scanners on the consumer stacks of test/scanners/app.ts (every option on, encryptionKey
# included; and the central audit): checkov (CloudFormation framework) and cfn-lint, at pinned versions from PyPI,
# installed into a virtualenv on first use. Exits non-zero on any failed checkov check and on any cfn-lint error or
# warning (informational messages do not fail). Findings that do not apply are explained inside the construct
# (resource metadata), one rule on one resource with its reason: README, "Explained findings".
#
# Usage: run.sh [--install-only]. Environment: SCANNERS_VENV (default .tmp/scanners-venv), SCANNERS_OUT (default .tmp/scanners-out).
set -euo pipefail

CHECKOV_VERSION=3.3.30
CFN_LINT_VERSION=1.58.0

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="${SCANNERS_VENV:-$root/.tmp/scanners-venv}"
out="${SCANNERS_OUT:-$root/.tmp/scanners-out}"

installed() {
  [ -x "$venv/bin/checkov" ] && [ -x "$venv/bin/cfn-lint" ] \
    && [ "$("$venv/bin/checkov" --version 2>/dev/null)" = "$CHECKOV_VERSION" ] \
    && "$venv/bin/cfn-lint" --version 2>/dev/null | grep -qx "cfn-lint $CFN_LINT_VERSION"
}
if ! installed; then
  echo "scanners: installing checkov $CHECKOV_VERSION and cfn-lint $CFN_LINT_VERSION into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==$CHECKOV_VERSION" "cfn-lint==$CFN_LINT_VERSION"
  installed || { echo "scanners: the pinned versions did not install" >&2; exit 1; }
fi
# --install-only: only the virtualenv (CI installs it in the background while the build runs).
if [ "${1:-}" = "--install-only" ]; then
  exit 0
fi

echo "scanners: synthesizing test/scanners/app.ts into $out"
rm -rf "$out"
npx ts-node --transpile-only --project tsconfig.dev.json test/scanners/app.ts "$out"
templates=("$out"/*.template.json)
[ -e "${templates[0]}" ] || { echo "scanners: no template synthesized" >&2; exit 1; }

status=0
files=()
for template in "${templates[@]}"; do files+=(-f "$template"); done
echo "scanners: checkov ${templates[*]##*/}"
# Skipped checks (the construct's explained findings) are counted in the summary; --compact keeps the report short.
if ! "$venv/bin/checkov" "${files[@]}" --framework cloudformation --compact --quiet --skip-download; then
  echo "scanners: checkov reports failed checks" >&2
  status=1
fi
echo "scanners: cfn-lint ${templates[*]##*/}"
# cfn-lint exits with a bit mask: 2 = error, 4 = warning, 8 = informational (1 = it failed to run); all but 8 fail.
set +e
"$venv/bin/cfn-lint" --format parseable -- "${templates[@]}"
lint=$?
set -e
if (( lint & 7 )); then
  echo "scanners: cfn-lint reports errors or warnings (exit $lint)" >&2
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "scanners: checkov and cfn-lint: no unexplained finding in ${#templates[@]} templates"
fi
exit "$status"
