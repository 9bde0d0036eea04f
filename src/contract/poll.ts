/**
 * Bounded waits. Every wait of the workflow is a loop Wait -> Task -> Choice; the task advances a PollState with
 * `nextPoll`, and the loop ends when the step is done or the state is `expired`. Waits double from the policy's
 * initial wait up to its cap and never go past `maxSeconds`, so every loop ends after a finite number of checks.
 */
import { type PollState } from './messages';
import { type BackupRun } from './settings';

/** What a wait is for: the key of its fixed interval in FIXED_POLL_SECONDS. */
export type PollKind = 'agent' | 'script' | 'power' | 'backup';

export interface PollPolicy {
  /** What the wait is for. */
  readonly kind?: PollKind;
  /** Seconds of the first wait. */
  readonly initialWaitSeconds: number;
  /** Longest single wait. */
  readonly capWaitSeconds: number;
  /** Most seconds the whole wait may last. */
  readonly maxSeconds: number;
}

/** The SSM agent must be online before a pre-backup script: a short wait. */
export const AGENT_BEFORE_SCRIPT_POLICY: PollPolicy = { kind: 'agent', initialWaitSeconds: 15, capWaitSeconds: 30, maxSeconds: 60 };

/**
 * After a start the agent needs time to reconnect before the post-backup script: looked at every 20 s at most, since
 * the application waits for its post-script meanwhile (a reconnect takes about 30 s to a minute).
 */
export const AGENT_AFTER_START_POLICY: PollPolicy = { kind: 'agent', initialWaitSeconds: 10, capWaitSeconds: 20, maxSeconds: 900 };

/**
 * Seconds between the start of a stopped instance (EC2 says `running`) and the first look at its SSM agent: an agent
 * does not reconnect sooner (the instance has just booted; about 30 s to a minute), and every chain's agent looks share
 * SSM's read rate (docs/design.md "Fleet scale"). Not waited when the start found the instance running already.
 */
export const AGENT_RECONNECT_WAIT_SECONDS = 20;

/** Stopping or starting an instance. */
export const INSTANCE_POWER_POLICY: PollPolicy = { kind: 'power', initialWaitSeconds: 10, capWaitSeconds: 30, maxSeconds: 900 };

/** Seconds a script's wait may exceed the script's own timeout (delivery, download, reporting). */
export const SCRIPT_GRACE_SECONDS = 300;

/** Seconds a backup job's wait may exceed its start and complete windows. */
export const BACKUP_GRACE_SECONDS = 900;

/** AWS Backup's default start window, in minutes, used when the run sets none. */
export const DEFAULT_BACKUP_START_WINDOW_MINUTES = 60;

/** AWS Backup's default complete window used for the bound when the run sets none (8 hours). */
export const DEFAULT_BACKUP_COMPLETE_WINDOW_MINUTES = 480;

/** Waiting for a script that may run `timeoutSeconds`. */
export function scriptPolicy(timeoutSeconds: number): PollPolicy {
  const timeout = Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 0;
  return { kind: 'script', initialWaitSeconds: 5, capWaitSeconds: 60, maxSeconds: timeout + SCRIPT_GRACE_SECONDS };
}

/** Waiting for a backup job: its start window, its complete window and a margin. */
export function backupPolicy(backup: Pick<BackupRun, 'startWindowMinutes' | 'completeWindowMinutes'>): PollPolicy {
  const start = backup.startWindowMinutes > 0 ? backup.startWindowMinutes : DEFAULT_BACKUP_START_WINDOW_MINUTES;
  const complete = backup.completeWindowMinutes > 0 ? backup.completeWindowMinutes : DEFAULT_BACKUP_COMPLETE_WINDOW_MINUTES;
  return { kind: 'backup', initialWaitSeconds: 30, capWaitSeconds: 300, maxSeconds: start * 60 + complete * 60 + BACKUP_GRACE_SECONDS };
}

/**
 * The poll state after one more check. `previous` absent or null: the first check (attempt 1, nothing waited yet).
 * The elapsed time is what the previous states asked the workflow to wait; the next wait doubles from the policy's
 * initial wait up to its cap, never past what remains to `maxSeconds`, and at least 1 second.
 */
export function nextPoll(previous: PollState | null | undefined, policy: PollPolicy): PollState {
  const maxSeconds = Math.max(0, Math.floor(policy.maxSeconds));
  const fixed = policy.kind ? fixedPollSeconds()[policy.kind] : undefined;
  const initial = Math.max(1, Math.floor(fixed ?? policy.initialWaitSeconds));
  const cap = Math.max(initial, Math.floor(fixed ?? policy.capWaitSeconds));

  const attempt = previous ? Math.max(0, Math.floor(previous.attempt)) + 1 : 1;
  const elapsedSeconds = previous ? Math.max(0, previous.elapsedSeconds) + Math.max(0, previous.nextWaitSeconds) : 0;

  // initial * 2^(attempt - 1), computed without overflowing for large attempts.
  const doublings = Math.min(attempt - 1, 30);
  const wanted = Math.min(cap, initial * Math.pow(2, doublings));
  const remaining = maxSeconds - elapsedSeconds;
  const nextWaitSeconds = Math.max(1, Math.min(wanted, remaining));

  return {
    attempt,
    elapsedSeconds,
    nextWaitSeconds,
    maxSeconds,
    expired: elapsedSeconds >= maxSeconds,
  };
}

/** Environment variable with fixed poll intervals per kind, e.g. `{"script":1,"backup":10}`. */
export const FIXED_POLL_SECONDS_ENV = 'FIXED_POLL_SECONDS';

/**
 * Fixed intervals that replace the capped backoff, per kind of wait (FIXED_POLL_SECONDS). Only the benchmark's
 * baseline sets them, to measure a workflow that polls the way the original sample did (scripts every second,
 * backups every ten seconds); anything that is not a positive number is ignored.
 */
export function fixedPollSeconds(): Partial<Record<PollKind, number>> {
  const raw = process.env[FIXED_POLL_SECONDS_ENV];
  if (!raw) {
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return {};
  }
  const out: Partial<Record<PollKind, number>> = {};
  for (const kind of ['agent', 'script', 'power', 'backup'] as const) {
    const value = (parsed as Record<string, unknown> | null)?.[kind];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
      out[kind] = value;
    }
  }
  return out;
}
