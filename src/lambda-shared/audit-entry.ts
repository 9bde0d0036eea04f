/**
 * One instance's audit entry, derived from the raw results its chain produced. Pure: no AWS call, no clock.
 *
 * The entry tells the truth about every step: a step that ran holds its final status, a step turned off holds
 * `skipped`, a step never reached says why, and `FailureMessage` lists every failed step in order.
 */
import { type AuditEntry, SCRIPT_OUTPUT_TAIL_LENGTH } from '../contract/audit-schema';
import { type CaughtError, type DiscoveredInstance, type InstanceSteps, type StepName, type StepOutcome } from '../contract/instance';
import {
  type BackupJobResult, type CheckAgentResult, CONSISTENCY, type CopyJobResult, type InstancePowerResult, type PreflightResult,
  type ScriptStatusResult,
} from '../contract/messages';
import { PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT, type RunConfig } from '../contract/settings';
import { BACKUP_COMPLETED, BACKUP_JOB_FINAL_STATES, FAILED, IN_PROGRESS, notRun, NOT_APPLICABLE, NOT_RUN_EARLIER_FAILURE, OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_SUCCEEDED, SKIPPED, SKIPPED_LEASE_HELD, SSM_PING_ONLINE, SUCCESS, DRY_RUN_NOTE, PREFLIGHT_NOT_READY, PREFLIGHT_READY } from '../contract/status';
import { commandIdOf, type WaitKind, waitedRecoveryPoint, waitedResource } from '../contract/waits';


/** Steps in the order the chain runs them. */
const ORDER: readonly StepName[] = ['eligibility', 'agent', 'pre', 'stop', 'backup', 'start', 'agentAfterStart', 'post', 'copy'];

const LABELS: Record<StepName, string> = {
  eligibility: 'instance',
  agent: 'SSM agent',
  pre: 'pre-backup script',
  stop: 'stop instance',
  backup: 'backup job',
  start: 'start instance',
  agentAfterStart: 'SSM agent after start',
  post: 'post-backup script',
  copy: 'copy job',
};

/** Statuses a step set by the workflow itself (a StepOutcome) may hold without being a failure. */
const NEUTRAL_OUTCOMES: readonly string[] = [SKIPPED, NOT_APPLICABLE, SUCCESS, BACKUP_COMPLETED];

interface Evaluated {
  /** The status written in the entry (for the five audited steps). */
  readonly status: string;
  readonly failed: boolean;
  /** Failure text for FailureMessage. */
  readonly failure?: string;
  /** Non-failure note. */
  readonly note?: string;
}

/**
 * The readable message of a caught error. Lambda's Cause is a JSON string with `errorMessage`; the SDK
 * integrations' Cause is plain text.
 */
export function causeMessage(error: CaughtError): string {
  const cause = error.Cause ?? '';
  let message = cause;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && typeof (parsed as { errorMessage?: unknown }).errorMessage === 'string') {
      message = (parsed as { errorMessage: string }).errorMessage;
    }
  } catch {
    // Not JSON: the Cause is the message.
  }
  message = message.trim();
  if (!message) {
    return error.Error;
  }
  return message.startsWith(error.Error) ? message : `${error.Error}: ${message}`;
}

/** The resource a step started before the error it was caught with (see withWaitedResource), or ''. */
function startedResource(error: CaughtError | undefined, kind: WaitKind): string {
  return error ? waitedResource(causeMessage(error), kind) ?? '' : '';
}

function isStepOutcome(value: unknown): value is StepOutcome {
  return typeof value === 'object' && value !== null && typeof (value as StepOutcome).status === 'string'
    && !('commandId' in value) && !('backupJobId' in value) && !('instanceId' in value) && !('online' in value);
}

function outcomeEvaluation(step: StepName, outcome: StepOutcome): Evaluated {
  if (NEUTRAL_OUTCOMES.includes(outcome.status)) {
    return { status: outcome.status, failed: false, note: outcome.message || undefined };
  }
  return {
    status: outcome.status,
    failed: true,
    failure: `${LABELS[step]} ${outcome.status}${outcome.message ? `: ${outcome.message}` : ''}`,
  };
}

function scriptEvaluation(step: StepName, result: ScriptStatusResult): Evaluated {
  const status = result.status || 'Unknown';
  if (status === SUCCESS && result.done !== false) {
    return { status, failed: false };
  }
  const exit = result.responseCode >= 0 ? ` (exit ${result.responseCode})` : '';
  const details = result.statusDetails && result.statusDetails !== status ? result.statusDetails : '';
  const reason = [details, result.outputExcerpt].filter((t) => t && t.trim()).join(': ');
  const unfinished = result.done === false ? ' (no final status)' : '';
  return { status, failed: true, failure: `${LABELS[step]} ${status}${exit}${unfinished}${reason ? `: ${reason}` : ''}` };
}

function powerEvaluation(step: StepName, result: InstancePowerResult): Evaluated {
  if (result.status === SUCCESS && result.notRun) {
    // The instance was already in the target state and had been since before the run: nothing was asked of EC2.
    return { status: notRun(result.notRun), failed: false, note: `${LABELS[step]} not run: ${result.notRun}` };
  }
  if (result.status === SUCCESS) {
    return { status: SUCCESS, failed: false };
  }
  const why = result.status === IN_PROGRESS
    ? `did not finish (last state ${result.state || 'unknown'})${result.message ? `: ${result.message}` : ''}`
    : result.message || `instance state ${result.state || 'unknown'}`;
  return { status: FAILED, failed: true, failure: `${LABELS[step]} Failed: ${why}` };
}

function backupEvaluation(result: BackupJobResult): Evaluated {
  const state = result.state || 'UNKNOWN';
  if (state === BACKUP_COMPLETED) {
    // A job that completed with issues says so in its StatusMessage: kept, as a note (the job did complete).
    return { status: state, failed: false, note: result.statusMessage ? `${LABELS.backup} ${state}: ${result.statusMessage}` : undefined };
  }
  const terminal = BACKUP_JOB_FINAL_STATES.includes(state);
  const message = result.statusMessage || (terminal ? '' : `no final state (last state ${state})`);
  return { status: state, failed: true, failure: `${LABELS.backup} ${state}${message ? `: ${message}` : ''}` };
}

function copyEvaluation(result: CopyJobResult): Evaluated {
  const state = result.state || 'UNKNOWN';
  if (state === BACKUP_COMPLETED) {
    return { status: state, failed: false, note: result.statusMessage ? `${LABELS.copy} ${state}: ${result.statusMessage}` : undefined };
  }
  const message = result.statusMessage || `no final state (last state ${state})`;
  return { status: state, failed: true, failure: `${LABELS.copy} ${state}: ${message}` };
}

function agentEvaluation(step: StepName, result: CheckAgentResult): Evaluated {
  if (result.online || result.pingStatus === SSM_PING_ONLINE) {
    return { status: SUCCESS, failed: false };
  }
  const text = step === 'agentAfterStart'
    ? `post-backup script not run: SSM agent not online after start (PingStatus ${result.pingStatus || 'unknown'})`
    : `SSM agent not online (PingStatus ${result.pingStatus || 'unknown'})`;
  return { status: FAILED, failed: true, failure: text };
}

function evaluatePresent(step: StepName, value: unknown): Evaluated {
  if (isStepOutcome(value)) {
    return outcomeEvaluation(step, value);
  }
  switch (step) {
    case 'agent':
    case 'agentAfterStart':
      return agentEvaluation(step, value as CheckAgentResult);
    case 'pre':
    case 'post':
      return scriptEvaluation(step, value as ScriptStatusResult);
    case 'stop':
    case 'start':
      return powerEvaluation(step, value as InstancePowerResult);
    case 'backup':
      return backupEvaluation(value as BackupJobResult);
    case 'copy':
      return copyEvaluation(value as CopyJobResult);
    case 'eligibility':
      return outcomeEvaluation(step, value as StepOutcome);
  }
}

/** Whether the run's configuration turned the step off. */
function turnedOff(step: StepName, config: RunConfig): boolean {
  switch (step) {
    case 'agent':
      return !config.preScript.enabled;
    case 'pre':
      return !config.preScript.enabled;
    case 'post':
    case 'agentAfterStart':
      return !config.postScript.enabled;
    case 'stop':
    case 'start':
      return !config.stopInstances;
    case 'copy':
      return !config.backup.copyVaultArn;
    case 'backup':
    case 'eligibility':
      return false;
  }
}

/**
 * The audit entry of one instance.
 * @param instance the instance as discovered
 * @param config the run's configuration (which steps were on)
 * @param steps the raw results of the chain; a step's key is absent when the step was never reached
 */
export function toAuditEntry(instance: DiscoveredInstance, config: RunConfig, steps: InstanceSteps | undefined | null): AuditEntry {
  const s: InstanceSteps = steps ?? {};
  const errors = s.errors ?? {};
  if (config.dryRun === true || s.preflight) {
    return dryRunEntry(instance, s);
  }
  if (s.eligibility?.status === SKIPPED_LEASE_HELD && !errors.eligibility) {
    return leaseHeldEntry(instance, s.eligibility);
  }
  const results = new Map<StepName, Evaluated>();
  const failures: string[] = [];
  const notes: string[] = [];

  const eligibility = s.eligibility ?? undefined;
  const eligibilityError = errors.eligibility;
  const eligibilityNeutral = eligibility !== undefined && eligibility.status === NOT_APPLICABLE && !eligibilityError;
  const ineligible = eligibilityError !== undefined || (eligibility !== undefined && !eligibilityNeutral);
  // The only error caught at eligibility is the lease's: it could not be taken, so nothing was touched.
  const eligibilityMessage = eligibilityError
    ? `instance lease not acquired, instance not touched: ${causeMessage(eligibilityError)}`
    : eligibility ? eligibility.message || eligibility.status : '';
  /** Whether a step after the eligibility check failed. */
  let earlierFailed = false;

  for (const step of ORDER) {
    const error = errors[step];
    const value = s[step];
    let evaluated: Evaluated;
    if (step === 'eligibility') {
      if (ineligible) {
        evaluated = { status: eligibility?.status ?? FAILED, failed: true, failure: eligibilityMessage };
      } else if (eligibilityNeutral) {
        evaluated = { status: NOT_APPLICABLE, failed: false, note: eligibilityMessage };
      } else {
        evaluated = { status: SUCCESS, failed: false };
      }
    } else if (error) {
      evaluated = { status: FAILED, failed: true, failure: `${LABELS[step]} Failed: ${causeMessage(error)}` };
    } else if (value !== undefined && value !== null) {
      evaluated = evaluatePresent(step, value);
    } else if (turnedOff(step, config)) {
      // Turned off stays `skipped` whatever happened before: it was never meant to run.
      evaluated = { status: SKIPPED, failed: false };
    } else if (ineligible || eligibilityNeutral) {
      // Not eligible (a failure already counted) or eligible in a reduced way (NotApplicable: an instance stopped
      // when the run began has its steps on but not run, and says why). The backup is the purpose of the run:
      // without it the instance did not succeed.
      const missingBackup = step === 'backup' && eligibilityNeutral;
      evaluated = {
        status: notRun(eligibilityMessage),
        failed: missingBackup,
        failure: missingBackup ? `backup job not run: ${eligibilityMessage}` : undefined,
      };
    } else if (earlierFailed) {
      const startFailed = results.get('start')?.failed === true;
      evaluated = {
        status: NOT_RUN_EARLIER_FAILURE,
        failed: false,
        failure: step === 'post' && startFailed
          ? 'post-backup script not run: instance could not be started'
          : undefined,
      };
    } else {
      evaluated = { status: notRun('step not reached'), failed: true, failure: `${LABELS[step]} not run: step not reached` };
    }

    results.set(step, evaluated);
    if (evaluated.failure) {
      failures.push(evaluated.failure);
    }
    if (evaluated.note) {
      notes.push(evaluated.note);
    }
    if (evaluated.failed && step !== 'eligibility') {
      earlierFailed = true;
    }
  }

  const pre = s.pre && !isStepOutcome(s.pre) ? (s.pre as ScriptStatusResult) : undefined;
  const post = s.post && !isStepOutcome(s.post) ? (s.post as ScriptStatusResult) : undefined;
  const backup = s.backup && !isStepOutcome(s.backup) ? (s.backup as BackupJobResult) : undefined;
  const copy = s.copy && !isStepOutcome(s.copy) ? (s.copy as CopyJobResult) : undefined;
  // FreezeBudgetAction.STOP_BACKUP_JOB: the instance fails (no backup wanted after the budget), whatever the job did.
  if (s.budgetStop) {
    failures.push(`freeze budget spent: backup job ${s.budgetStop.backupJobId} stopped (${s.budgetStop.message})`);
  } else if (errors.budgetStop) {
    failures.push(`freeze budget spent: the backup job could not be stopped: ${causeMessage(errors.budgetStop)}`);
  }
  const failed = [...results.values()].some((r) => r.failed) || failures.length > 0;
  if (errors.leaseRelease) {
    notes.push(`instance lease not released (it expires by itself): ${causeMessage(errors.leaseRelease)}`);
  }
  const releaseNote = releaseNoteOf(s);
  if (releaseNote) {
    notes.push(releaseNote);
  }
  // Issue 15: the failed attempts that were tried again, and a backup taken crash-consistent after a failed pre-script.
  notes.push(...attemptNotes(s));
  if (config.onPreScriptFailure === PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT && results.get('pre')?.failed && backup) {
    notes.push('backed up crash-consistent: the pre-backup script failed and onPreScriptFailure is backup-crash-consistent '
      + '(the post-backup script ran before the stop and the backup)');
  }

  return {
    InstanceId: instance.instanceId,
    InstanceStateAtStart: instance.state,
    Platform: instance.platform,
    PreBackupScriptStatus: results.get('pre')!.status,
    StopEc2InstanceStatus: results.get('stop')!.status,
    BackupJobStatus: results.get('backup')!.status,
    StartEc2InstanceStatus: results.get('start')!.status,
    PostBackupScriptStatus: results.get('post')!.status,
    FailureMessage: failed ? failures.join('; ') : '',
    // A step that failed after it started (waiting on events) names its resource in the caught error.
    BackupJobId: backup?.backupJobId ?? startedResource(errors.backup, 'backup'),
    RecoveryPointArn: backup?.recoveryPointArn ?? (errors.backup ? waitedRecoveryPoint(causeMessage(errors.backup)) ?? '' : ''),
    PreBackupScriptCommandId: pre?.commandId ?? commandIdOf(startedResource(errors.pre, 'script')),
    PostBackupScriptCommandId: post?.commandId ?? commandIdOf(startedResource(errors.post, 'script')),
    CopyJobStatus: results.get('copy')!.status,
    CopyJobId: copy?.copyJobId ?? startedResource(errors.copy, 'copy'),
    CopyRecoveryPointArn: copy?.destinationRecoveryPointArn ?? '',
    StoppedSeconds: stoppedSeconds(s),
    Outcome: failed ? OUTCOME_FAILED : OUTCOME_SUCCEEDED,
    Notes: notes.join('; '),
    // Issue 15, script output: the end of a script's output when it did not succeed.
    PreBackupScriptOutput: scriptOutputOf(pre),
    PostBackupScriptOutput: scriptOutputOf(post),
    ...releaseFields(s),
    // Issue 15, the safety thaw (work/thaw): as the post-script reported it.
    SafetyThawFired: typeof post?.safetyThawFired === 'boolean' ? post.safetyThawFired : '',
    // Issue 15, script retries.
    PreBackupScriptAttempts: attemptsOf(s, 'pre'),
    PostBackupScriptAttempts: attemptsOf(s, 'post'),
  };
}

/** Issue 15: the end of a script's output when it did not succeed, bounded; empty otherwise. */
function scriptOutputOf(result: ScriptStatusResult | undefined): string {
  if (!result || (result.status === SUCCESS && result.done !== false)) {
    return '';
  }
  const output = result.outputTail ?? '';
  return output.length > SCRIPT_OUTPUT_TAIL_LENGTH ? output.slice(output.length - SCRIPT_OUTPUT_TAIL_LENGTH) : output;
}

/**
 * The entry of an instance nothing was done to (another run held it, or a dry run only checked it): every step
 * `skipped`, no resource, nothing frozen or backed up; `fields` says why and what the outcome is.
 */
function untouchedEntry(
  instance: DiscoveredInstance, fields: Pick<AuditEntry, 'Outcome' | 'Notes' | 'ConsistencyReason'> & Partial<AuditEntry>,
): AuditEntry {
  return {
    InstanceId: instance.instanceId,
    InstanceStateAtStart: instance.state,
    Platform: instance.platform,
    PreBackupScriptStatus: SKIPPED,
    StopEc2InstanceStatus: SKIPPED,
    BackupJobStatus: SKIPPED,
    StartEc2InstanceStatus: SKIPPED,
    PostBackupScriptStatus: SKIPPED,
    FailureMessage: '',
    BackupJobId: '',
    RecoveryPointArn: '',
    PreBackupScriptCommandId: '',
    PostBackupScriptCommandId: '',
    CopyJobStatus: SKIPPED,
    CopyJobId: '',
    CopyRecoveryPointArn: '',
    StoppedSeconds: 0,
    FrozenSeconds: 0,
    ReleasedAt: '',
    ReleaseReason: '',
    Consistency: CONSISTENCY.none,
    PreBackupScriptOutput: '',
    PostBackupScriptOutput: '',
    SafetyThawFired: '',
    PreBackupScriptAttempts: 0,
    PostBackupScriptAttempts: 0,
    ...fields,
  };
}

/** The entry of an instance another run was working on: every step skipped, nothing failed, the holder noted. */
function leaseHeldEntry(instance: DiscoveredInstance, eligibility: StepOutcome): AuditEntry {
  return untouchedEntry(instance, {
    Outcome: OUTCOME_SKIPPED,
    Notes: `${SKIPPED_LEASE_HELD}: ${eligibility.message || 'another run holds the instance lease'}`,
    ConsistencyReason: 'not backed up: another run held the instance',
  });
}

const PROBE_LABELS = { pre: 'pre-backup script', post: 'post-backup script' } as const;

/** Issue 15: the failed checks of a dry run, `<check>: <reason>`, in the order they were made. */
export function preflightFailures(preflight: PreflightResult | undefined, error: CaughtError | undefined): string[] {
  const failures: string[] = [];
  for (const check of preflight?.checks ?? []) {
    if (!check.ok) {
      failures.push(`${check.name}: ${check.detail}`);
    }
  }
  for (const probe of preflight?.probes ?? []) {
    if (probe.status !== SUCCESS) {
      failures.push(`script: ${PROBE_LABELS[probe.phase]} not reachable (probe ${probe.status}${probe.commandId ? ` ${probe.commandId}` : ''})`
        + `${probe.detail ? `: ${probe.detail}` : ''}`);
    }
  }
  if (error) {
    failures.push(`check: the pre-flight check failed: ${causeMessage(error)}`);
  } else if (!preflight) {
    failures.push('check: the pre-flight check did not run');
  }
  return failures;
}

/**
 * Issue 15: the entry of an instance a dry run checked. Every step reads `skipped` (nothing was done), the verdict and
 * the failed checks are in PreflightVerdict / PreflightChecks, and the outcome is FAILED when the instance is not ready
 * (so the run fails, as a real run would for that instance, and says which instances need work).
 */
function dryRunEntry(instance: DiscoveredInstance, steps: InstanceSteps): AuditEntry {
  const failures = preflightFailures(steps.preflight, steps.errors?.preflight);
  const ready = failures.length === 0 && steps.preflight?.verdict === PREFLIGHT_READY;
  const passed = (steps.preflight?.checks ?? []).filter((c) => c.ok).map((c) => c.name);
  const probed = (steps.preflight?.probes ?? []).filter((p) => p.status === SUCCESS).map((p) => `${p.phase}-script reachable`);
  return untouchedEntry(instance, {
    FailureMessage: ready ? '' : `not ready for a real run: ${failures.join('; ')}`,
    Outcome: ready ? OUTCOME_SUCCEEDED : OUTCOME_FAILED,
    Notes: `${DRY_RUN_NOTE}${passed.length + probed.length > 0 ? `; passed: ${[...passed, ...probed].join(', ')}` : ''}`,
    ConsistencyReason: 'a dry run: nothing was backed up',
    PreflightVerdict: ready ? PREFLIGHT_READY : PREFLIGHT_NOT_READY,
    PreflightChecks: failures.join('; '),
  });
}

/**
 * Issue 15: the attempts of a script the workflow began (an attempt begins with its agent check): 0 when the phase was
 * never reached (its step, its agent check and their errors all absent, or the step turned off); else the workflow's
 * count (it starts at 1 in the chain's input), or 1 for steps recorded without one.
 */
function attemptsOf(steps: InstanceSteps, phase: 'pre' | 'post'): number {
  const agentKey = phase === 'pre' ? 'agent' : 'agentAfterStart';
  const value = steps[phase];
  const errors = steps.errors ?? {};
  const reached = (value !== undefined && value !== null && !isStepOutcome(value))
    || errors[phase] !== undefined || errors[agentKey] !== undefined
    || (steps[agentKey] !== undefined && steps[agentKey] !== null && (value === undefined || value === null));
  if (!reached) {
    return 0;
  }
  const counted = (phase === 'pre' ? steps.preAttempts : steps.postAttempts)?.count;
  return typeof counted === 'number' && Number.isInteger(counted) && counted > 0 ? counted : 1;
}

/** Issue 15: one note per script with failed attempts that were tried again (their command, status and exit code). */
function attemptNotes(steps: InstanceSteps): string[] {
  const notes: string[] = [];
  for (const phase of ['pre', 'post'] as const) {
    const attempts = phase === 'pre' ? steps.preAttempts : steps.postAttempts;
    const failed = (attempts?.failed ?? '').trim().replace(/;$/, '');
    if (failed) {
      notes.push(`${LABELS[phase]} attempts ${attemptsOf(steps, phase)}, tried again after ${failed}`);
    }
  }
  return notes;
}

/** The downtime this run caused: from the stop step seeing `stopped` to the start step seeing `running`. */
function stoppedSeconds(steps: InstanceSteps): number {
  const stop = steps.stop && !isStepOutcome(steps.stop) ? (steps.stop as InstancePowerResult) : undefined;
  const start = steps.start && !isStepOutcome(steps.start) ? (steps.start as InstancePowerResult) : undefined;
  if (stop?.status !== SUCCESS || start?.status !== SUCCESS || !stop.observedAt || !start.observedAt) {
    return 0;
  }
  const seconds = (Date.parse(start.observedAt) - Date.parse(stop.observedAt)) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
}

/** The entry's release fields (issue 14): how long the application was frozen, when and why released, consistency. */
function releaseFields(steps: InstanceSteps): Pick<AuditEntry, 'FrozenSeconds' | 'ReleasedAt' | 'ReleaseReason' | 'Consistency' | 'ConsistencyReason'> {
  const release = steps.release;
  const released = release?.releaseReason ? release : undefined;
  return {
    FrozenSeconds: frozenSeconds(steps),
    ReleasedAt: released ? released.observedAt : '',
    ReleaseReason: released?.releaseReason ?? '',
    ...consistencyOf(steps),
  };
}

/** From the pre-script's end to the post-script's start, on SSM's clock; 0 unless both ran and SSM gave both times. */
function frozenSeconds(steps: InstanceSteps): number {
  const pre = steps.pre && !isStepOutcome(steps.pre) ? (steps.pre as ScriptStatusResult) : undefined;
  const post = steps.post && !isStepOutcome(steps.post) ? (steps.post as ScriptStatusResult) : undefined;
  if (pre?.status !== SUCCESS || !pre.endedAt || !post?.requestedAt) {
    return 0;
  }
  const seconds = (Date.parse(post.requestedAt) - Date.parse(pre.endedAt)) / 1000;
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds) : 0;
}

/**
 * The consistency the check at the job's end found; without it (the job did not end with a recovery point, or the
 * check failed): `none` without a completed backup, else `crash-consistent` (not verified, said so).
 */
function consistencyOf(steps: InstanceSteps): Pick<AuditEntry, 'Consistency' | 'ConsistencyReason'> {
  if (steps.consistency) {
    return { Consistency: steps.consistency.consistency, ConsistencyReason: steps.consistency.reason };
  }
  const backup = steps.backup && !isStepOutcome(steps.backup) ? (steps.backup as BackupJobResult) : undefined;
  if (backup?.state !== BACKUP_COMPLETED) {
    return { Consistency: CONSISTENCY.none, ConsistencyReason: backup?.state ? `the backup job ended ${backup.state}` : 'no backup job completed' };
  }
  const error = steps.errors?.consistency;
  return {
    Consistency: CONSISTENCY.crash,
    ConsistencyReason: `not verified${error ? `: ${causeMessage(error)}` : ''}: counted crash-consistent`,
  };
}

/**
 * When and why the release loop released the application, in words (a note, not a failure: the backup's own state
 * says whether it succeeded).
 */
function releaseNoteOf(steps: InstanceSteps): string {
  const release = steps.release;
  if (!release || !release.releaseReason) {
    return '';
  }
  const error = steps.errors?.release;
  const why = release.releaseReason === 'point-in-time-captured'
    ? `point in time captured at ${release.capturedAt}`
    : release.releaseReason === 'look-failed' && error
      ? `the look failed: ${causeMessage(error)}`
      : release.reason;
  const fallback = release.fallbackReason ? ` (point in time not observable: ${release.fallbackReason})` : '';
  // Issue 14, the run's snapshot view: why this chain looked on its own.
  const viewOff = release.view === 'off' && release.viewOffReason ? ` (snapshot view off: ${release.viewOffReason})` : '';
  return `released ${release.releaseReason} after ${release.waitedSeconds} s of looks: ${why}${fallback}${viewOff}`;
}
