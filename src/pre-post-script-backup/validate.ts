import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { FreezeBudgetAction, PrePostScriptBackupProps, PreScriptFailurePolicy, ReleaseTiming } from './props';
import { JOB_END_LOOK_SECONDS } from '../contract/messages';
import { PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT, PRE_SCRIPT_FAILURE_SKIP_BACKUP, PreScriptFailureAction, ReleaseRun } from '../contract/settings';
import { validateEncryptionKey } from '../security/encryption-key';
import { PropsCheck } from '../validation/errors';
import {
  validateAuditRetention, validateBackupWindows, validateConcurrency, DEFAULT_MAX_CONCURRENCY, validateKeyPrefix, validateNotifications,
  validateOrganizationId, validateRecoveryPointTags, validateSchedule, validateScriptToggle, validateTag, validateVaultLock,
} from '../validation/props';
import { waitsOnEvents } from '../workflow/waiting-task';

/** The props with their defaults filled in, once every check passed. */
export interface CheckedProps {
  readonly tagKey: string;
  readonly tagValue: string;
  readonly startWindow: Duration;
  readonly completionWindow: Duration;
  /** A vault lock with a maximum retention rejects jobs kept longer: recovery points are kept exactly that long. */
  readonly deleteAfter?: Duration;
  readonly maxConcurrency: number;
  readonly outputKeyPrefix: string;
  /** Whether the chain waits on events (the default) or polls, from the context. */
  readonly waitOnEvents: boolean;
  /** When the application is released, and the freeze budget (issue 14). */
  readonly release: ReleaseRun;
  /** Issue 15: what an instance whose pre-script failed gets. */
  readonly onPreScriptFailure: PreScriptFailureAction;
}

/** Seconds between two looks of the release loop for the point in time (issue 14: "every 10-15 s"). */
export const RELEASE_LOOK_SECONDS = 10;
/** The freeze budget's bounds and defaults (src/workflow/release.ts: one look every 10 s, 25,000 history events). */
export const FREEZE_BUDGET_MIN = Duration.minutes(1);
export const FREEZE_BUDGET_MAX = Duration.hours(4);
export const FREEZE_BUDGET_DEFAULT = Duration.minutes(30);

function releaseRun(check: PropsCheck, props: PrePostScriptBackupProps): ReleaseRun {
  const atPointInTime = (props.releaseAt ?? ReleaseTiming.POINT_IN_TIME) === ReleaseTiming.POINT_IN_TIME;
  const budget = props.freezeBudget ?? (atPointInTime ? FREEZE_BUDGET_DEFAULT : FREEZE_BUDGET_MAX);
  if (!budget.isUnresolved() && (budget.toSeconds() < FREEZE_BUDGET_MIN.toSeconds() || budget.toSeconds() > FREEZE_BUDGET_MAX.toSeconds())) {
    check.fail('freezeBudget', `freezeBudget must be between 1 minute and 4 hours, got ${budget.toHumanString()}. `
      + 'Give a Duration in that range (the release loop must fit in one execution\'s history).');
  }
  return {
    mode: atPointInTime ? 'point-in-time' : 'job-end',
    lookSeconds: atPointInTime ? RELEASE_LOOK_SECONDS : JOB_END_LOOK_SECONDS,
    budgetSeconds: budget.toSeconds(),
    onBudgetSpent: (props.onFreezeBudgetSpent ?? FreezeBudgetAction.KEEP_BACKUP) === FreezeBudgetAction.STOP_BACKUP_JOB ? 'stop-job' : 'release',
  };
}

/**
 * Every check of PrePostScriptBackup's props (and its context values), run before the construct creates any resource.
 * Each failure is a `PropValidationError` naming the construct's path and the prop.
 */
export function checkProps(scope: Construct, props: PrePostScriptBackupProps): CheckedProps {
  const check = new PropsCheck(scope, 'PrePostScriptBackup');
  const tagKey = props.tagKey ?? 'backup-job-pre-post-script';
  const tagValue = props.tagValue ?? 'true';
  validateTag(check, tagKey, tagValue);
  validateScriptToggle(check, 'runPreScript', props.runPreScript, 'preScript', props.preScript !== undefined);
  validateScriptToggle(check, 'runPostScript', props.runPostScript, 'postScript', props.postScript !== undefined);
  if (props.onPreScriptFailure !== undefined && props.preScript === undefined) {
    check.fail('onPreScriptFailure', 'onPreScriptFailure applies to a failed pre-backup script, but preScript is not set; set preScript or remove onPreScriptFailure.');
  }
  validateSchedule(check, props.schedule);
  const startWindow = props.backupStartWindow ?? Duration.hours(1);
  const completionWindow = props.backupCompletionWindow ?? Duration.hours(8);
  if (props.backupVaultLock && props.backupVault) {
    check.fail('backupVaultLock', 'backupVaultLock applies to the vault the construct creates; lock your own backupVault where you define it, or leave backupVault unset.');
  }
  const deleteAfter = props.backupDeleteAfter ?? props.backupVaultLock?.maxRetention;
  validateVaultLock(check, props.backupVaultLock, deleteAfter);
  validateBackupWindows(check, {
    startWindow,
    completionWindow,
    deleteAfter,
    moveToColdStorageAfter: props.backupMoveToColdStorageAfter,
  });
  const maxConcurrency = props.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  validateConcurrency(check, maxConcurrency);
  if (props.copyDeleteAfter && !props.copyToVault) {
    check.fail('copyDeleteAfter', 'copyDeleteAfter is set but copyToVault is not; set copyToVault or remove copyDeleteAfter.');
  }
  validateBackupWindows(check, { copyDeleteAfter: props.copyDeleteAfter });
  validateKeyPrefix(check, props.scriptOutputKeyPrefix);
  validateRecoveryPointTags(check, props.recoveryPointTags);
  validateAuditRetention(check, props.auditRetention);
  validateEncryptionKey(check, Stack.of(scope), props.encryptionKey);
  validateNotifications(check, props);
  validateOrganizationId(check, 'allowStartFromOrganization', props.allowStartFromOrganization);
  return {
    tagKey,
    tagValue,
    startWindow,
    completionWindow,
    deleteAfter,
    maxConcurrency,
    outputKeyPrefix: props.scriptOutputKeyPrefix ?? 'pre-post-script-backup',
    waitOnEvents: waitsOnEvents(scope),
    release: releaseRun(check, props),
    onPreScriptFailure: props.onPreScriptFailure === PreScriptFailurePolicy.BACKUP_CRASH_CONSISTENT
      ? PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT : PRE_SCRIPT_FAILURE_SKIP_BACKUP,
  };
}
