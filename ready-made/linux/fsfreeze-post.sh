#!/usr/bin/env bash
# fsfreeze-post.sh - ready-made post-backup script of cdk-pre-post-script-backup (see ready-made/README.md).
#
# Thaws what fsfreeze-pre.sh froze (its state file), idempotently: a filesystem already thawed (EINVAL) is a
# success, reported. Then disarms the safety timer and reports whether it had already fired.
#
#   bash fsfreeze-post.sh [--state-dir /run/ppsb-fsfreeze] [--run-id ID] [--fail-if-safety-thaw-fired]
#                         [--dry-run | dry-run]
#
# Everything it does is printed on stdout as key=value lines; human-readable errors go to stderr.
# Exit codes: 0 thawed (or nothing to thaw); 202 a thaw failed (the state and the safety timer are kept);
# 203 the safety thaw had fired (only with --fail-if-safety-thaw-fired; everything is thawed);
# 206 not ready (not root, fsfreeze missing); 64 usage.
set -euo pipefail
export LC_ALL=C
umask 077
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"

readonly EXIT_USAGE=64 EXIT_POST_FAILED=202 EXIT_SAFETY_THAW_FIRED=203 EXIT_NOT_READY=206

STATE_ROOT="${PPSB_FREEZE_STATE_DIR:-/run/ppsb-fsfreeze}"
RUN_ID="${PPSB_RUN_ID:-default}"
DRY_RUN=false
FAIL_IF_FIRED=false

out() { printf '%s=%s\n' "$1" "$2"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
join() { local IFS=,; printf '%s' "$*"; }
fail() {
  out error "$3"
  out result "$2"
  printf 'fsfreeze-post: ERROR: %s\n' "$3" >&2
  exit "$1"
}
usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

while (($#)); do
  case "$1" in
    --state-dir|--run-id)
      (($# >= 2)) || fail "$EXIT_USAGE" refused "$1 needs a value"
      if [[ "$1" == --state-dir ]]; then STATE_ROOT="$2"; else RUN_ID="$2"; fi
      shift 2 ;;
    --state-dir=*) STATE_ROOT="${1#*=}"; shift ;;
    --run-id=*) RUN_ID="${1#*=}"; shift ;;
    --fail-if-safety-thaw-fired) FAIL_IF_FIRED=true; shift ;;
    --dry-run|dry-run) DRY_RUN=true; shift ;;
    post-script) shift ;;
    # Accepted so that one command line can serve both scripts; the post-script thaws what the state lists.
    --mount-points|--safety-thaw-seconds) (($# >= 2)) || fail "$EXIT_USAGE" refused "$1 needs a value"; shift 2 ;;
    --mount-points=*|--safety-thaw-seconds=*) shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "$EXIT_USAGE" refused "unknown argument '$1' (see --help)" ;;
  esac
done

out script fsfreeze-post
out version 1
if "$DRY_RUN"; then out mode dry-run; else out mode thaw; fi

[[ -n "$RUN_ID" && ${#RUN_ID} -le 256 ]] || fail "$EXIT_USAGE" refused "--run-id must be 1 to 256 characters"
[[ "$STATE_ROOT" == /* ]] || fail "$EXIT_USAGE" refused "--state-dir must be an absolute path"
SAFE_ID=$(printf '%s' "$RUN_ID" | tr -c 'A-Za-z0-9_.-' '-')
if ((${#SAFE_ID} > 48)); then SAFE_ID="${SAFE_ID:0:32}-$(printf '%s' "$RUN_ID" | cksum | cut -d' ' -f1)"; fi
STATE_DIR="$STATE_ROOT/$SAFE_ID"
out run_id "$RUN_ID"
out state_dir "$STATE_DIR"

[[ "$(id -u)" == 0 ]] || fail "$EXIT_NOT_READY" refused "must run as root (SSM Run Command runs scripts as root)"
# Only fsfreeze is required to thaw: a missing flock or systemctl must never keep a filesystem frozen.
FSFREEZE=$(command -v fsfreeze 2>/dev/null || true)
[[ "$FSFREEZE" == /* ]] || fail "$EXIT_NOT_READY" refused "required tool 'fsfreeze' not found (util-linux)"
out tool_fsfreeze "$FSFREEZE"
FLOCK=$(command -v flock 2>/dev/null || true)
SYSTEMCTL=$(command -v systemctl 2>/dev/null || true)

if [[ ! -e "$STATE_DIR/state" ]]; then
  # Nothing frozen by the pre-script (it never ran, refused, or undid its own freeze). A safety thaw that
  # fired before the state was written leaves only its marker.
  if [[ -e "$STATE_DIR/safety-thaw-fired" ]]; then
    out safety_thaw_fired true
    out safety_thaw_at "$(sed -n 's/^fired_at=//p' "$STATE_DIR/safety-thaw-fired")"
    "$DRY_RUN" || rm -rf -- "$STATE_DIR"
  else
    out safety_thaw_fired false
  fi
  out state none
  out thawed ""
  out result "$("$DRY_RUN" && echo dry-run-ok || echo nothing-to-thaw)"
  exit 0
fi

UNIT=$(sed -n 's/^unit=//p' "$STATE_DIR/state" | tail -n1)
out safety_timer_unit "$UNIT"
declare -a MOUNTS=()
declare -A REFUSED=()
while IFS='=' read -r k v; do
  case "$k" in
    freezing) MOUNTS+=("$v") ;;
    refused) REFUSED[$v]=1 ;;
  esac
done < "$STATE_DIR/state"
out state present
out listed "$(join ${MOUNTS[@]+"${MOUNTS[@]}"})"
out frozen_at "$(sed -n 's/^frozen_at=//p' "$STATE_DIR/state" | tail -n1)"

if "$DRY_RUN"; then
  if [[ -e "$STATE_DIR/safety-thaw-fired" ]]; then out safety_thaw_fired true; else out safety_thaw_fired false; fi
  out result dry-run-ok
  exit 0
fi

# The lock the safety thaw takes too: a timer firing now waits, then finds nothing left to do.
exec 9>>"$STATE_DIR/lock"
if [[ -n "$FLOCK" ]]; then "$FLOCK" -w 60 9 || printf 'fsfreeze-post: lock not taken in 60 s: thawing anyway\n' >&2; fi

FIRED=false
if [[ -e "$STATE_DIR/safety-thaw-fired" ]]; then
  FIRED=true
  out safety_thaw_fired true
  out safety_thaw_at "$(sed -n 's/^fired_at=//p' "$STATE_DIR/safety-thaw-fired")"
else
  out safety_thaw_fired false
fi

declare -a THAWED=() ALREADY=() FAILED=()
for m in ${MOUNTS[@]+"${MOUNTS[@]}"}; do
  [[ -n "${REFUSED[$m]:-}" ]] && continue
  if err=$("$FSFREEZE" -u "$m" 2>&1); then
    THAWED+=("$m")
  elif [[ "$err" == *"Invalid argument"* ]]; then
    ALREADY+=("$m")
  else
    FAILED+=("$m")
    printf 'fsfreeze-post: thaw of %s failed: %s\n' "$m" "$err" >&2
  fi
done
out thawed "$(join ${THAWED[@]+"${THAWED[@]}"})"
out already_thawed "$(join ${ALREADY[@]+"${ALREADY[@]}"})"
out thawed_at "$(now)"

if ((${#FAILED[@]} > 0)); then
  # Keep the state and the armed timer: a retry of this script, or the timer, thaws them later.
  out safety_timer "left-armed:$UNIT"
  fail "$EXIT_POST_FAILED" failed "thaw failed for $(join "${FAILED[@]}") (see stderr); the safety timer stays armed"
fi

# Disarm: stop the timer (gone already when it fired), forget a failed safety-thaw service, drop the state.
if [[ -z "$SYSTEMCTL" ]]; then
  out safety_timer "not-disarmed:$UNIT:no-systemctl"
elif "$SYSTEMCTL" stop "$UNIT.timer" >/dev/null 2>&1; then
  out safety_timer "disarmed:$UNIT"
else
  out safety_timer "gone:$UNIT"
fi
[[ -n "$SYSTEMCTL" ]] && { "$SYSTEMCTL" reset-failed "$UNIT.service" "$UNIT.timer" >/dev/null 2>&1 || true; }
rm -rf -- "$STATE_DIR"

if "$FIRED"; then
  out result thawed-after-safety-thaw
  if "$FAIL_IF_FIRED"; then
    printf 'fsfreeze-post: the safety thaw had fired before this post-script\n' >&2
    exit "$EXIT_SAFETY_THAW_FIRED"
  fi
else
  out result thawed
fi
