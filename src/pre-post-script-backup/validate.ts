import { Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { PrePostScriptBackupProps, ReleaseTiming } from './props';
import { ReleaseRun } from '../contract/settings';
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
  /** Releasing at the point in time (issue 14); absent: at the job's end. */
  readonly release?: ReleaseRun;
}

/** Seconds between two looks of the release loop (issue 14: "every 10-15 s"). */
export const RELEASE_LOOK_SECONDS = 10;
/** The freeze budget's bounds and default (src/workflow/release.ts: one look every 10 s, 25,000 history events). */
export const FREEZE_BUDGET_MIN = Duration.minutes(1);
export const FREEZE_BUDGET_MAX = Duration.hours(4);
export const FREEZE_BUDGET_DEFAULT = Duration.minutes(30);

function releaseRun(check: PropsCheck, props: PrePostScriptBackupProps): ReleaseRun | undefined {
  const budget = props.freezeBudget ?? FREEZE_BUDGET_DEFAULT;
  if (!budget.isUnresolved() && (budget.toSeconds() < FREEZE_BUDGET_MIN.toSeconds() || budget.toSeconds() > FREEZE_BUDGET_MAX.toSeconds())) {
    check.fail('freezeBudget', `freezeBudget must be between 1 minute and 4 hours, got ${budget.toHumanString()}.`);
  }
  if ((props.releaseAt ?? ReleaseTiming.JOB_COMPLETION) !== ReleaseTiming.POINT_IN_TIME) {
    if (props.freezeBudget) {
      check.fail('freezeBudget', 'freezeBudget applies with releaseAt: ReleaseTiming.POINT_IN_TIME; set releaseAt or remove freezeBudget.');
    }
    return undefined;
  }
  return { mode: 'point-in-time', lookSeconds: RELEASE_LOOK_SECONDS, budgetSeconds: budget.toSeconds(), onBudgetSpent: 'release' };
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
  };
}
