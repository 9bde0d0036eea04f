# Sourced by each consumer's run.sh (set -euo pipefail there): moves to the repository root and sets
#   root         the repository root
#   version      the package's version (the artifacts in dist/ carry it)
#   cdk_version  the oldest aws-cdk-lib the library supports, the one it is compiled against
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
version=$(node -p "require('./package.json').version")
cdk_version=$(node -p "require('./package.json').devDependencies['aws-cdk-lib']")
