#!/usr/bin/env bash
# Checks the .NET or Go sources jsii-pacmak generated with --code-only (this machine cannot compile them:
# no dotnet; the Go module proxy does not serve aws-cdk-go). Fails loudly when a type is missing.
#   bash test/consumers/check-generated.sh dotnet|go
set -euo pipefail
cd "$(dirname "$0")/../.."

types=(PrePostScriptBackup PrePostScriptBackupProps BackupScript BackupScriptOptions ScriptPlatform)
fail() { echo "check-generated: $*" >&2; exit 1; }

case "${1:-}" in
  dotnet)
    dir=dist/dotnet/CdkPrePostScriptBackup
    [ -f "$dir/CdkPrePostScriptBackup.csproj" ] || fail "$dir/CdkPrePostScriptBackup.csproj was not generated"
    grep -q 'Include="Amazon.CDK.Lib"' "$dir/CdkPrePostScriptBackup.csproj" || fail "the .csproj does not reference Amazon.CDK.Lib"
    for t in "${types[@]}"; do
      f="$dir/CdkPrePostScriptBackup/$t.cs"
      [ -f "$f" ] || fail "$f was not generated"
      grep -Eq "(class|interface|enum) $t\b" "$f" || fail "$f does not declare $t"
    done
    echo "check-generated: .NET sources for ${#types[@]} types and the .csproj are there (not compiled: no dotnet)"
    ;;
  go)
    dir=dist/go/cdkprepostscriptbackup
    [ -f "$dir/go.mod" ] || fail "$dir/go.mod was not generated"
    grep -q '^module github.com/example/cdk-pre-post-script-backup-go/cdkprepostscriptbackup' "$dir/go.mod" \
      || fail "$dir/go.mod does not name the module"
    for t in "${types[@]}"; do
      grep -Eq "^type $t\b" "$dir/$t.go" 2>/dev/null || fail "$dir/$t.go does not declare $t"
    done
    command -v gofmt >/dev/null || fail "gofmt is not installed: cannot check that the Go sources parse"
    unformatted=$(gofmt -e -l "$dir") || fail "the generated Go sources do not parse"
    echo "check-generated: Go sources for ${#types[@]} types are there and parse (gofmt)${unformatted:+; not gofmt-formatted: $unformatted}"
    ;;
  *)
    fail "usage: check-generated.sh dotnet|go"
    ;;
esac
