#!/usr/bin/env bash
# fsfreeze-pre.sh - ready-made pre-backup script of cdk-pre-post-script-backup (see ready-made/README.md).
#
# Freezes Linux filesystems (util-linux fsfreeze) for an application-consistent backup, after arming an
# on-instance safety timer (a systemd transient timer) that thaws them by itself when the workflow's
# post-script (fsfreeze-post.sh) does not come within the given delay.
#
#   bash fsfreeze-pre.sh [--mount-points /data,/logs] [--safety-thaw-seconds 300]
#                        [--state-dir /run/ppsb-fsfreeze] [--run-id ID] [--dry-run | dry-run]
#
# Everything it does is printed on stdout as key=value lines; human-readable errors go to stderr.
# Exit codes: 0 done; 201 a freeze failed (what it froze was thawed); 204 a filesystem is already frozen
# (by another tool, or by an earlier run of this script whose post-script has not run); 206 not ready
# (not root, a tool missing, no systemd, an invalid or forbidden mount point): nothing touched; 64 usage.
set -euo pipefail
export LC_ALL=C
umask 077
PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"

readonly EXIT_USAGE=64 EXIT_PRE_FAILED=201 EXIT_ALREADY_FROZEN=204 EXIT_NOT_READY=206
readonly SUPPORTED_FSTYPES=' ext2 ext3 ext4 xfs btrfs f2fs '
readonly SSM_DIRS='/var/lib/amazon/ssm /var/log/amazon/ssm'

MOUNTS="${PPSB_FREEZE_MOUNT_POINTS:-}"
DELAY="${PPSB_SAFETY_THAW_SECONDS:-300}"
STATE_ROOT="${PPSB_FREEZE_STATE_DIR:-/run/ppsb-fsfreeze}"
RUN_ID="${PPSB_RUN_ID:-default}"
DRY_RUN=false

out() { printf '%s=%s\n' "$1" "$2"; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
join() { local IFS=,; printf '%s' "$*"; }
# fail <exit code> <result word> <message>: nothing of ours is frozen when this is called.
fail() {
  out error "$3"
  out result "$2"
  printf 'fsfreeze-pre: ERROR: %s\n' "$3" >&2
  exit "$1"
}
usage() {
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
}

while (($#)); do
  case "$1" in
    --mount-points|--safety-thaw-seconds|--state-dir|--run-id)
      (($# >= 2)) || fail "$EXIT_USAGE" refused "$1 needs a value"
      case "$1" in
        --mount-points) MOUNTS="$2" ;;
        --safety-thaw-seconds) DELAY="$2" ;;
        --state-dir) STATE_ROOT="$2" ;;
        --run-id) RUN_ID="$2" ;;
      esac
      shift 2 ;;
    --mount-points=*) MOUNTS="${1#*=}"; shift ;;
    --safety-thaw-seconds=*) DELAY="${1#*=}"; shift ;;
    --state-dir=*) STATE_ROOT="${1#*=}"; shift ;;
    --run-id=*) RUN_ID="${1#*=}"; shift ;;
    --dry-run|dry-run) DRY_RUN=true; shift ;;
    pre-script) shift ;;
    -h|--help) usage; exit 0 ;;
    *) fail "$EXIT_USAGE" refused "unknown argument '$1' (see --help)" ;;
  esac
done

out script fsfreeze-pre
out version 1
if "$DRY_RUN"; then out mode dry-run; else out mode freeze; fi

# ---- checks (both modes); nothing is touched before they all pass --------------------------------
if ! [[ "$DELAY" =~ ^[1-9][0-9]{0,4}$ ]] || ((DELAY > 86400)); then
  fail "$EXIT_USAGE" refused "--safety-thaw-seconds must be a whole number of seconds from 1 to 86400, got '$DELAY'"
fi
[[ -n "$RUN_ID" && ${#RUN_ID} -le 256 ]] || fail "$EXIT_USAGE" refused "--run-id must be 1 to 256 characters"
[[ "$STATE_ROOT" == /* && "$STATE_ROOT" != *[[:space:],=\$%\\]* ]] \
  || fail "$EXIT_USAGE" refused "--state-dir must be an absolute path without spaces, ',', '=', '\$', '%' or '\\'"
SAFE_ID=$(printf '%s' "$RUN_ID" | tr -c 'A-Za-z0-9_.-' '-')
if ((${#SAFE_ID} > 48)); then SAFE_ID="${SAFE_ID:0:32}-$(printf '%s' "$RUN_ID" | cksum | cut -d' ' -f1)"; fi
STATE_DIR="$STATE_ROOT/$SAFE_ID"
out run_id "$RUN_ID"
out state_dir "$STATE_DIR"

[[ "$(id -u)" == 0 ]] || fail "$EXIT_NOT_READY" refused "must run as root (SSM Run Command runs scripts as root)"

declare -A TOOL=()
for t in fsfreeze findmnt flock systemd-run systemctl date; do
  p=$(command -v "$t" 2>/dev/null || true)
  [[ "$p" == /* && -x "$p" ]] || fail "$EXIT_NOT_READY" refused \
    "required tool '$t' not found (fsfreeze, findmnt, flock: util-linux; systemd-run, systemctl: systemd)"
  TOOL[$t]="$p"
  out "tool_${t//-/_}" "$p"
done
BASH_BIN=$(command -v bash)
out tool_bash "$BASH_BIN"

# The safety timer needs systemd as PID 1: without it nothing could thaw a forgotten freeze, so refuse.
if ! sd_out=$("${TOOL[systemctl]}" show --property=Version 2>&1); then
  fail "$EXIT_NOT_READY" refused "systemd is not running as PID 1 or not reachable ($(printf '%s' "$sd_out" | tr '\n' ' ')): no safety timer can be armed, refusing to freeze"
fi
out safety_timer_backend systemd

# The filesystem holding a path that may not exist yet: the nearest existing ancestor's.
holder() {
  local p="$1"
  while [[ ! -e "$p" ]]; do p=$(dirname "$p"); done
  # Stacked mounts: the last one listed is the one the path resolves to.
  "${TOOL[findmnt]}" -n -o "$2" -T "$p" | tail -n1
}
state_fstype=$(holder "$STATE_ROOT" FSTYPE)
[[ "$state_fstype" == tmpfs || "$state_fstype" == ramfs ]] \
  || fail "$EXIT_NOT_READY" refused "state directory $STATE_ROOT is on $state_fstype, not on a tmpfs: put it under /run"

# Filesystems never frozen: /, /boot*, the SSM agent's state and logs (a blocked agent cannot deliver the
# post-script), and the state directory. Compared by device (MAJ:MIN), so bind mounts are covered too.
declare -A FORBIDDEN=()
FORBIDDEN[$(holder / MAJ:MIN)]=root
for d in $SSM_DIRS; do
  mm=$(holder "$d" MAJ:MIN); [[ -n "${FORBIDDEN[$mm]:-}" ]] || FORBIDDEN[$mm]=ssm-agent
done
mm=$(holder "$STATE_ROOT" MAJ:MIN); [[ -n "${FORBIDDEN[$mm]:-}" ]] || FORBIDDEN[$mm]=state-dir
while read -r target majmin; do
  if [[ "$target" == /boot* && -z "${FORBIDDEN[$majmin]:-}" ]]; then FORBIDDEN[$majmin]=boot; fi
done < <("${TOOL[findmnt]}" -rn -o TARGET,MAJ:MIN)

# Decides whether a mounted filesystem may be frozen; prints the refusal reason when not.
refusal() { # target source fstype majmin
  local target="$1" src="${2%%\[*}" fstype="$3" majmin="$4"
  [[ "$target" =~ ^/[A-Za-z0-9/_.@+:~-]*$ ]] || { echo "unsafe-characters"; return; }
  [[ "$target" == / ]] && { echo root; return; }
  [[ "$target" == /boot* ]] && { echo boot; return; }
  [[ -n "${FORBIDDEN[$majmin]:-}" ]] && { echo "${FORBIDDEN[$majmin]}"; return; }
  [[ "$SUPPORTED_FSTYPES" == *" $fstype "* ]] || { echo "unsupported-fstype:$fstype"; return; }
  [[ -b "$src" ]] || { echo "not-a-block-device:$src"; return; }
  echo ""
}

declare -a CANDIDATES=()
declare -A SEEN=()
if [[ -n "$MOUNTS" ]]; then
  out mount_points_from argument
  IFS=, read -r -a requested <<< "$MOUNTS"
  for m in "${requested[@]}"; do
    [[ -z "$m" ]] && continue
    [[ "$m" != / ]] && m="${m%/}"
    [[ "$m" == /* ]] || fail "$EXIT_NOT_READY" refused "mount point '$m' is not an absolute path"
    line=$("${TOOL[findmnt]}" -rn -o TARGET,SOURCE,FSTYPE,MAJ:MIN --mountpoint "$m" | tail -n1 || true)
    [[ -n "$line" ]] || fail "$EXIT_NOT_READY" refused "'$m' is not a mount point"
    read -r target src fstype majmin <<< "$line"
    why=$(refusal "$target" "$src" "$fstype" "$majmin")
    [[ -z "$why" ]] || fail "$EXIT_NOT_READY" refused "refusing to freeze $m: $why"
    if [[ -n "${SEEN[$majmin]:-}" ]]; then
      out skipped "$m:same-filesystem-as:${SEEN[$majmin]}"; continue
    fi
    SEEN[$majmin]="$m"
    CANDIDATES+=("$m")
  done
else
  out mount_points_from discovery
  while read -r target src fstype majmin; do
    [[ "$SUPPORTED_FSTYPES" == *" $fstype "* ]] || continue
    why=$(refusal "$target" "$src" "$fstype" "$majmin")
    if [[ -n "$why" ]]; then out skipped "$target:$why"; continue; fi
    if [[ -n "${SEEN[$majmin]:-}" ]]; then out skipped "$target:same-filesystem-as:${SEEN[$majmin]}"; continue; fi
    SEEN[$majmin]="$target"
    CANDIDATES+=("$target")
  done < <("${TOOL[findmnt]}" -rn -o TARGET,SOURCE,FSTYPE,MAJ:MIN)
fi
((${#CANDIDATES[@]} > 0)) || fail "$EXIT_NOT_READY" refused "no filesystem to freeze"
out candidates "$(join "${CANDIDATES[@]}")"

# A state left by an earlier run: gone stale when its safety thaw fired, otherwise that freeze is in force.
if [[ -e "$STATE_DIR/state" ]]; then
  if [[ -e "$STATE_DIR/safety-thaw-fired" ]]; then
    out stale_state "$("$DRY_RUN" && echo present || echo cleared):safety-thaw-fired-at:$(sed -n 's/^fired_at=//p' "$STATE_DIR/safety-thaw-fired")"
  else
    fail "$EXIT_ALREADY_FROZEN" refused "a freeze by this script is still in force ($STATE_DIR/state, $(sed -n 's/^unit=//p' "$STATE_DIR/state")): run fsfreeze-post.sh first"
  fi
fi

if "$DRY_RUN"; then
  out result dry-run-ok
  exit 0
fi

# ---- freeze ------------------------------------------------------------------------------------
# Here the state is absent or stale: start from an empty directory (no leftover marker or lock).
rm -rf -- "$STATE_DIR"
mkdir -p -- "$STATE_DIR"
UNIT="ppsb-fsfreeze-thaw-${SAFE_ID}-$(date +%s)-$$"
declare -a FROZEN=()
DONE=false
ARMED=false

# Undo: thaw what this run froze (EINVAL = already thawed); disarm and forget only when all are thawed.
undo() {
  local m err thawed=() left=()
  for m in ${FROZEN[@]+"${FROZEN[@]}"}; do
    if err=$("${TOOL[fsfreeze]}" -u "$m" 2>&1) || [[ "$err" == *"Invalid argument"* ]]; then
      thawed+=("$m")
    else
      left+=("$m"); printf 'fsfreeze-pre: thaw of %s failed: %s\n' "$m" "$err" >&2
    fi
  done
  FROZEN=()
  out thawed "$(join ${thawed[@]+"${thawed[@]}"})"
  if ((${#left[@]} == 0)); then
    if "$ARMED"; then
      "${TOOL[systemctl]}" stop "$UNIT.timer" >/dev/null 2>&1 || true
      out safety_timer "disarmed:$UNIT"
    fi
    rm -rf -- "$STATE_DIR"
  else
    out still_frozen "$(join "${left[@]}")"
    "$ARMED" && out safety_timer "left-armed:$UNIT"
  fi
}
# freeze_failed <exit code> <message>: undo, then exit.
freeze_failed() {
  undo
  DONE=true
  fail "$1" failed "$2"
}
on_exit() {
  local rc=$?
  if ! "$DONE" && { ((${#FROZEN[@]} > 0)) || "$ARMED"; }; then
    printf 'fsfreeze-pre: stopped unexpectedly (exit %s): undoing\n' "$rc" >&2
    undo
    out result failed
    exit "$EXIT_PRE_FAILED"
  fi
}
trap on_exit EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# (1) The safety timer first. Its action is a small thaw script on the tmpfs, written now, that depends on
# nothing the freeze can block: it reads the state file and thaws what it lists (EINVAL = already thawed).
{
  printf '#!%s\n' "$BASH_BIN"
  printf '# Safety thaw written by fsfreeze-pre.sh, run by the systemd timer <unit>.timer when it elapses.\n'
  printf 'set -u\nexport LC_ALL=C\n'
  printf 'dir=%q; fsfreeze=%q; flock=%q\n' "$STATE_DIR" "${TOOL[fsfreeze]}" "${TOOL[flock]}"
  printf 'unit=%q\n' "$UNIT"
  cat <<'EOF'
[ -d "$dir" ] || exit 0
exec 9>>"$dir/lock" || exit 0
"$flock" -w 30 9 || echo "lock not taken in 30 s: thawing anyway" >&2
[ -f "$dir/state" ] || exit 0
[ -e "$dir/safety-thaw-fired" ] && exit 0
fired_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
declare -A refused=()
mounts=()
while IFS='=' read -r k v; do
  case "$k" in freezing) mounts+=("$v") ;; refused) refused[$v]=1 ;; esac
done < "$dir/state"
thawed=() already=() failed=()
for m in ${mounts[@]+"${mounts[@]}"}; do
  [ -n "${refused[$m]:-}" ] && continue
  if err=$("$fsfreeze" -u "$m" 2>&1); then thawed+=("$m")
  elif [[ "$err" == *"Invalid argument"* ]]; then already+=("$m")
  else failed+=("$m"); echo "thaw of $m failed: $err" >&2
  fi
done
IFS=,
printf 'fired_at=%s\nunit=%s\nthawed=%s\nalready_thawed=%s\nfailed=%s\n' \
  "$fired_at" "$unit" "${thawed[*]-}" "${already[*]-}" "${failed[*]-}" > "$dir/safety-thaw-fired.tmp" \
  && mv -f "$dir/safety-thaw-fired.tmp" "$dir/safety-thaw-fired"
cat "$dir/safety-thaw-fired"
[ "${#failed[@]}" -eq 0 ]
EOF
} > "$STATE_DIR/safety-thaw.sh"
armed_at=$(now)
ARMED_EPOCH=$(date +%s)
# AccuracySec=1s: a timer's default accuracy is one minute. A systemd that refuses the timer property (an old
# one) gets a second try without it, under another unit name, and the output says the accuracy is the default.
ACCURACY=1s
arm() { # unit [timer properties...]
  local unit="$1"; shift
  "${TOOL[systemd-run]}" --unit="$unit" --description="cdk-pre-post-script-backup safety thaw" \
    --on-active="${DELAY}s" "$@" "$BASH_BIN" "$STATE_DIR/safety-thaw.sh" 2>&1
}
if ! arm_out=$(arm "$UNIT" --timer-property=AccuracySec=1s); then
  UNIT="$UNIT-b"
  ACCURACY=default
  if ! arm_out="$arm_out / $(arm "$UNIT")"; then
    rm -rf -- "$STATE_DIR"
    DONE=true
    fail "$EXIT_NOT_READY" refused "could not arm the safety timer: $(printf '%s' "$arm_out" | tr '\n' ' ')"
  fi
  sed -i "s/^unit=.*/unit=$UNIT/" "$STATE_DIR/safety-thaw.sh"
fi
ARMED=true
if ! active=$("${TOOL[systemctl]}" is-active "$UNIT.timer" 2>&1) || [[ "$active" != active ]]; then
  DONE=true
  ARMED=false
  "${TOOL[systemctl]}" stop "$UNIT.timer" >/dev/null 2>&1 || true
  rm -rf -- "$STATE_DIR"
  fail "$EXIT_NOT_READY" refused "the safety timer $UNIT.timer is not active after arming ($active)"
fi
deadline=$(date -u -d "@$((ARMED_EPOCH + DELAY))" +%Y-%m-%dT%H:%M:%SZ)
out safety_timer "armed:$UNIT"
out safety_timer_seconds "$DELAY"
out safety_timer_accuracy "$ACCURACY"
out safety_timer_deadline "$deadline"

# (2) The state file: what this run will freeze. Each mount gets 'freezing=' before its freeze (so a thaw
# covers a run killed in between), then 'frozen=' or 'refused=' (someone else's freeze: never thawed by us).
{
  out run_id "$RUN_ID"
  out unit "$UNIT"
  out armed_at "$armed_at"
  out deadline "$deadline"
  out planned "$(join "${CANDIDATES[@]}")"
} > "$STATE_DIR/state"

# (3) Freeze, holding the lock the safety thaw also takes.
exec 9>>"$STATE_DIR/lock"
"${TOOL[flock]}" -w 10 9 || freeze_failed "$EXIT_PRE_FAILED" "could not lock $STATE_DIR/lock"
ROOT_MAJMIN=$(holder / MAJ:MIN)
# The safety thaw fired, or is due (it may be waiting for our lock): the freeze would not last, so undo it.
TOO_LATE="the freeze took longer than the safety-thaw delay ($DELAY s): undone; give --safety-thaw-seconds more time"
too_late() { [[ -e "$STATE_DIR/safety-thaw-fired" ]] || (($(date +%s) >= ARMED_EPOCH + DELAY)); }
out freeze_started_at "$(now)"
for m in "${CANDIDATES[@]}"; do
  too_late && freeze_failed "$EXIT_PRE_FAILED" "$TOO_LATE"
  # Belt and braces: never the root filesystem, whatever the checks above concluded.
  [[ "$("${TOOL[findmnt]}" -rn -o MAJ:MIN --mountpoint "$m" | tail -n1)" != "$ROOT_MAJMIN" ]] \
    || freeze_failed "$EXIT_PRE_FAILED" "$m is the root filesystem"
  # Counted as frozen before the call: a signal during it (SSM cancelling the command) runs the EXIT trap only
  # after fsfreeze returns, and the undo must then include this mount point (EINVAL if it was not frozen).
  FROZEN+=("$m")
  out freezing "$m" >> "$STATE_DIR/state"
  if err=$("${TOOL[fsfreeze]}" -f "$m" 2>&1); then
    out frozen "$m" >> "$STATE_DIR/state"
  elif [[ "$err" == *"Device or resource busy"* ]]; then
    FROZEN=("${FROZEN[@]:0:${#FROZEN[@]}-1}") # someone else's freeze: never ours to thaw
    out refused "$m" >> "$STATE_DIR/state"
    out already_frozen "$m"
    freeze_failed "$EXIT_ALREADY_FROZEN" "$m is already frozen by another tool (EBUSY): not touched; refusing to go on"
  else
    freeze_failed "$EXIT_PRE_FAILED" "freeze of $m failed: $(printf '%s' "$err" | tr '\n' ' ')"
  fi
done
too_late && freeze_failed "$EXIT_PRE_FAILED" "$TOO_LATE"
frozen_at=$(now)
out frozen_at "$frozen_at" >> "$STATE_DIR/state"
DONE=true
out frozen "$(join "${FROZEN[@]}")"
out frozen_at "$frozen_at"
out result frozen
