/**
 * Per-instance leases: two runs that reach the same instance (a schedule and an ad-hoc event, say) never act on it
 * at the same time. A lease is an item of the audit table keyed `LEASE#<instance id>`; the acquire-lease and
 * release-lease handlers are the only ones that touch it (their roles may touch no other key).
 */
import {
  AGENT_AFTER_START_POLICY,
  AGENT_BEFORE_SCRIPT_POLICY,
  AGENT_RECONNECT_WAIT_SECONDS,
  backupPolicy,
  INSTANCE_POWER_POLICY,
  SCRIPT_GRACE_SECONDS,
} from './poll';
import { type ConfiguredScript, type ConstructSettings, MAX_SCRIPT_RETRIES, SCRIPT_RETRY_WAIT_SECONDS } from './settings';
import { FALLBACK_SECONDS } from './waits';

/** A configured script's retries, as validate-input accepts them (0 when absent). */
function retriesOf(script: ConfiguredScript): number {
  const r = script.retries ?? 0;
  return Number.isInteger(r) ? Math.max(0, Math.min(MAX_SCRIPT_RETRIES, r)) : 0;
}

/** Seconds between a lease's expiry and the table's TTL deleting its item. */
export const LEASE_CLEANUP_DELAY_SECONDS = 86_400;
/** Margin added to the longest instance chain when the construct computes the lease duration. */
export const LEASE_MARGIN_SECONDS = 3_600;


/**
 * Seconds one instance's chain can take at most, plus a margin: the sum of its bounded waits. Scripts count
 * when configured (the input can only shorten their timeouts); stop, start and both agent waits always count
 * (the input may turn stopping on); the copy counts when a copy vault is configured; so does the release loop's budget. Each wait on events may end up
 * to one fallback interval after its bound.
 */
export function leaseSecondsFor(settings: Pick<ConstructSettings,
'preScript' | 'postScript' | 'startWindowMinutes' | 'completeWindowMinutes' | 'copyVaultArn'> & Partial<Pick<ConstructSettings, 'release'>>): number {
  // Issue 15: a script may take retries + 1 attempts, each its own wait (a pre-script's with its agent check), a pause
  // between two, and up to one fallback interval late (waiting on events).
  // (A retried post-script checks its agent with the after-start bound.)
  const scripts = ([[settings.preScript, AGENT_BEFORE_SCRIPT_POLICY], [settings.postScript, AGENT_AFTER_START_POLICY]] as const)
    .filter(([s]) => s !== undefined)
    .reduce((sum, [s, agentPolicy]) => sum + Math.max(0, s!.timeoutSeconds) + SCRIPT_GRACE_SECONDS
      + retriesOf(s!) * (Math.max(0, s!.timeoutSeconds) + SCRIPT_GRACE_SECONDS + agentPolicy.maxSeconds
        + SCRIPT_RETRY_WAIT_SECONDS + FALLBACK_SECONDS.script), 0);
  const power = 2 * INSTANCE_POWER_POLICY.maxSeconds;
  const agent = AGENT_BEFORE_SCRIPT_POLICY.maxSeconds + AGENT_RECONNECT_WAIT_SECONDS + AGENT_AFTER_START_POLICY.maxSeconds;
  const backup = backupPolicy(settings).maxSeconds;
  const copy = settings.copyVaultArn ? backup : 0;
  // Waiting on events, a wait notices its bound at its next fallback look: up to one fallback interval late.
  const lateness = 2 * FALLBACK_SECONDS.script + FALLBACK_SECONDS.stop + FALLBACK_SECONDS.start + FALLBACK_SECONDS.backup
    + (settings.copyVaultArn ? FALLBACK_SECONDS.copy : 0);
  // The release loop (at most the freeze budget) runs before the wait for the job's end, whose bound starts afresh.
  const release = settings.release ? settings.release.budgetSeconds + settings.release.lookSeconds : 0;
  return scripts + power + agent + backup + copy + lateness + release + LEASE_MARGIN_SECONDS;
}
