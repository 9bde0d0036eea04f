#!/usr/bin/env bash
# The Python consumer: installs the wheel in dist/python (npx projen package:python) and aws-cdk-lib into a
# fresh virtual environment, then runs test_consumer.py there. Needs python3 (3.10+) and PyPI; fails loudly
# when either is missing or when there is no wheel, never skips.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# root, version, cdk_version; the working directory is the repository root.
source "$here/../consumer-env.sh"
wheel="dist/python/cdk_pre_post_script_backup-${version}-py3-none-any.whl"
if [ ! -f "$wheel" ]; then
  echo "python consumer: $wheel not found: run 'npx projen package:python' first." >&2
  exit 1
fi

venv=".tmp/consumers/python-venv"
rm -rf "$venv"
python3 -m venv "$venv"
echo "python consumer: installing $wheel, aws-cdk-lib==$cdk_version and pytest into a fresh $venv"
# pip's own download cache (~/.cache/pip) serves aws-cdk-lib and its dependencies again on a machine that fetched them
# before, as Maven's ~/.m2 serves the Java consumer; the venv stays fresh, and the wheel, given by its path, is
# installed from dist/python every time (pip caches downloads and wheels it built, never a local .whl).
"$venv/bin/python" -m pip install --quiet "$wheel" "aws-cdk-lib==$cdk_version" "pytest>=8,<9"

cd "$here"
PYTHONDONTWRITEBYTECODE=1 "$root/$venv/bin/python" -m pytest -p no:cacheprovider -v test_consumer.py
