/**
 * Bounded waits. Every wait of the workflow is a loop Wait -> Task -> Choice; the task advances a PollState with
 * `nextPoll`, and the loop ends when the step is done or the state is `expired`. Waits double from the policy's
 * initial wait up to its cap and never go past `maxSeconds`, so every loop ends after a finite number of checks.
 */
import type { BackupRun, PollState } from './contracts';

export interface PollPolicy {
  /** Seconds of the first wait. */
  readonly initialWaitSeconds: number;
  /** Longest single wait. */
  readonly capWaitSeconds: number;
  /** Most seconds the whole wait may last. */
  readonly maxSeconds: number;
}

/** The SSM agent must be online before a pre-backup script: a short wait. */
export const AGENT_BEFORE_SCRIPT_POLICY: PollPolicy = { initialWaitSeconds: 15, capWaitSeconds: 30, maxSeconds: 60 };

/** After a start the agent needs time to reconnect before the post-backup script. */
export const AGENT_AFTER_START_POLICY: PollPolicy = { initialWaitSeconds: 15, capWaitSeconds: 60, maxSeconds: 900 };

/** Stopping or starting an instance. */
export const INSTANCE_POWER_POLICY: PollPolicy = { initialWaitSeconds: 10, capWaitSeconds: 30, maxSeconds: 900 };

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
  return { initialWaitSeconds: 5, capWaitSeconds: 60, maxSeconds: timeout + SCRIPT_GRACE_SECONDS };
}

/** Waiting for a backup job: its start window, its complete window and a margin. */
export function backupPolicy(backup: Pick<BackupRun, 'startWindowMinutes' | 'completeWindowMinutes'>): PollPolicy {
  const start = backup.startWindowMinutes > 0 ? backup.startWindowMinutes : DEFAULT_BACKUP_START_WINDOW_MINUTES;
  const complete = backup.completeWindowMinutes > 0 ? backup.completeWindowMinutes : DEFAULT_BACKUP_COMPLETE_WINDOW_MINUTES;
  return { initialWaitSeconds: 30, capWaitSeconds: 300, maxSeconds: start * 60 + complete * 60 + BACKUP_GRACE_SECONDS };
}

/**
 * The poll state after one more check. `previous` absent or null: the first check (attempt 1, nothing waited yet).
 * The elapsed time is what the previous states asked the workflow to wait; the next wait doubles from the policy's
 * initial wait up to its cap, never past what remains to `maxSeconds`, and at least 1 second.
 */
export function nextPoll(previous: PollState | null | undefined, policy: PollPolicy): PollState {
  const maxSeconds = Math.max(0, Math.floor(policy.maxSeconds));
  const initial = Math.max(1, Math.floor(policy.initialWaitSeconds));
  const cap = Math.max(initial, Math.floor(policy.capWaitSeconds));

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
