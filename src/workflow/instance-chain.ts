import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { WorkflowFunctions } from './functions';
import { DYNAMODB_TRANSIENT_ERRORS, lambdaStep, retryWithBackoff } from './lambda-step';
import { releaseLoop } from './release';
import {
  auditEntryStep, backupStep, copyStep, errorPath, FIRST_ATTEMPT, NOT_RECORDED_OUTCOME, postScriptPhase, powerWait, releaseLeaseStep, scriptPhase,
  skipped, stepPath,
} from './steps';
import { WaitSettings } from './waiting-task';
import {
  EXECUTION_NAME, INSTANCE_ID, INSTANCE_KEY_SEPARATOR, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_INSTANCE, RUN_EXECUTION_ID, UNRECORDED_INSTANCE,
  UNRECORDED_REASON, UNRECORDED_STEPS,
} from '../contract/audit-schema';
import { RELEASE_REASONS } from '../contract/messages';
import { AGENT_RECONNECT_WAIT_SECONDS } from '../contract/poll';
import { PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT } from '../contract/settings';
import { BACKUP_COMPLETED, EC2_RUNNING, EC2_STOPPED, FAILED, NOT_APPLICABLE, SKIPPED, SKIPPED_LEASE_HELD } from '../contract/status';

/**
 * The input of one instance's chain: what the fleet level hands each Map iteration.
 * `$$.Map.Item.Value` is a DiscoveredInstance (src/contract/shapes.ts).
 */
export const INSTANCE_ITEM_SELECTOR = {
  'instance.$': '$$.Map.Item.Value',
  'config.$': '$.config',
  'execution.$': '$.execution',
  // Issue 15: each script's attempt counter starts here, at attempt 1, without a state transition of its own.
  'steps': { errors: {}, preAttempts: FIRST_ATTEMPT, postAttempts: FIRST_ATTEMPT },
};

/** How the chain is built. */
export interface InstanceChainOptions {
  /**
   * Fleet scale (docs/design.md "Fleet scale"): before its lease, each chain waits a random `$.entryFromSeconds` to
   * `$.entryToSeconds` seconds (its page's place in the fleet's entry schedule, from discover-instances), so the
   * fleet's chains do not send their SendCommand / StopInstances / StartBackupJob calls in one burst. @default false
   * (no wait)
   */
  readonly spreadEntry?: boolean;
}

/**
 * One instance, start to end: lease → eligibility → pre-script → stop → backup → start → post-script → (copy) →
 * lease released → audit entry.
 *
 * The lease (src/contract/lease.ts) keeps two runs from acting on the same instance at the same time: an instance
 * whose lease another run holds is recorded as skipped and not touched. Every path that took the lease releases
 * it before the audit entry; only an unexpected failure of the chain itself (a States.Runtime error, which no
 * Catch sees) leaves it to expire.
 *
 * Every failure is caught and routed to the cleanup the instance needs (an instance this run stopped is
 * started again; the post-script runs whenever the pre-script was sent), and the chain always ends with the
 * instance's audit entry, so one instance never fails the others. Its output is a small InstanceOutcome.
 * The chain depends only on its own input, so it can run as the item processor of an inline or a
 * distributed Map, or as a child state machine.
 */
export function instanceChain(
  scope: Construct, functions: WorkflowFunctions, waits: WaitSettings, auditTable: dynamodb.ITable, options: InstanceChainOptions = {},
): sfn.IChainable {
  // The end of every path: the audit entry of this instance.
  // When record-instance fails (Lambda throttled, DynamoDB refusing its write), the chain's raw results go to the
  // instance's item directly from the workflow, and the chain returns the same small outcome as ever: record-page
  // turns them into the entry. A page of chains that all failed to write therefore still fits in the Map's output.
  // Only when that write fails too do the raw results travel in the outcome (1-4 KB each).
  const unrecorded = new sfn.Pass(scope, 'Instance: audit entry not written', {
    parameters: {
      ...NOT_RECORDED_OUTCOME,
      'instance.$': '$.instance',
      'steps.$': '$.steps',
    },
  });
  const leftToPage = new sfn.Pass(scope, 'Instance: audit entry left to the page', {
    parameters: { ...NOT_RECORDED_OUTCOME, stepsInTable: true },
  });
  const keepSteps = new tasks.DynamoPutItem(scope, 'Instance: keep step results for the page', {
    table: auditTable,
    item: {
      [PARTITION_KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`{}${INSTANCE_KEY_SEPARATOR}{}`,
        sfn.JsonPath.stringAt('$.execution.id'), sfn.JsonPath.stringAt('$.instance.instanceId'))),
      [RECORD_TYPE]: tasks.DynamoAttributeValue.fromString(RECORD_TYPE_INSTANCE),
      [RUN_EXECUTION_ID]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.execution.id')),
      [INSTANCE_ID]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.instance.instanceId')),
      [EXECUTION_NAME]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.execution.name')),
      [UNRECORDED_STEPS]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.steps'))),
      [UNRECORDED_INSTANCE]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.instance'))),
      [UNRECORDED_REASON]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format('{}: {}',
        sfn.JsonPath.stringAt('$.recordError.Error'), sfn.JsonPath.stringAt('$.recordError.Cause'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(keepSteps, DYNAMODB_TRANSIENT_ERRORS);
  keepSteps.addCatch(unrecorded, { errors: [sfn.Errors.ALL], resultPath: '$.keepError' });
  keepSteps.next(leftToPage);

  const record = auditEntryStep(scope, 'Instance: write audit entry', functions.recordInstance, {}, { next: keepSteps, errorPath: '$.recordError' });

  // Every path that took the lease gives it back before the audit entry.
  const releaseLease = releaseLeaseStep(scope, 'Instance: release lease', functions, record);

  // Every path ends here: with a copy vault, a completed recovery point is copied to it (still under the lease)
  // before the lease is released and the instance's audit entry written.
  const { startCopyJob, describeCopyJob } = functions;
  const finish = startCopyJob
    ? new sfn.Choice(scope, 'Copy the recovery point?')
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent(`${stepPath('backup')}.state`),
          sfn.Condition.stringEquals(`${stepPath('backup')}.state`, BACKUP_COMPLETED),
        ),
        copyStep(scope, { waits, startCopyJob, describeCopyJob, next: releaseLease }),
      )
      .otherwise(releaseLease)
    : releaseLease;

  // The release: the stopped instance started again, then the post-script. Built twice: once for the paths that fail
  // before the backup job runs (names unchanged), once after the release loop.
  const releaseTail = (label: string, end: sfn.IChainable) => {
    // Post-backup script: whenever enabled and the instance is running.
    const postScript = postScriptPhase(scope, `${label}Post-backup script`, functions, waits, end, true);
    const postPhase = new sfn.Choice(scope, `${label}Post-backup script enabled?`)
      // Issue 15: after a failed pre-script backed up crash-consistent, the post-script already ran before the stop.
      .when(sfn.Condition.isPresent(stepPath('post')), end)
      .when(sfn.Condition.booleanEquals('$.config.postScript.enabled', true), postScript)
      .otherwise(skipped(scope, `${label}Post-backup script: skipped`, 'post').next(end));

    // Start: only an instance this run tried to stop (whatever happened since) is started again. A stop step
    // that failed (its error caught) may have reached EC2 before failing, so it counts as tried.
    // A start that failed on an error (EC2 throttling every look through the retries, say) could not see the
    // instance, which may well be running (a stop that never took effect): the post-script is still tried, so an
    // application is never left frozen for want of a look; its agent check ends it when the instance is down.
    // After a start that it made, the agent is not looked at before it can have reconnected (a start that found the
    // instance running already says `notRun`, and its agent is looked at at once).
    const reconnect = new sfn.Wait(scope, `${label}Start instance: let the SSM agent reconnect`, {
      time: sfn.WaitTime.duration(Duration.seconds(AGENT_RECONNECT_WAIT_SECONDS)),
    });
    reconnect.next(postPhase);
    const started = new sfn.Choice(scope, `${label}Start instance: started by this step?`)
      .when(sfn.Condition.isPresent(`${stepPath('start')}.notRun`), postPhase)
      .otherwise(reconnect);
    const start = powerWait(scope, {
      prefix: `${label}Start instance`,
      key: 'start',
      fn: functions.startInstance,
      waits,
      onSuccess: started,
      onFailure: end,
      onError: postPhase,
    });
    // An instance stopped when the run began is left as it is after its backup: no start, no post-script (its steps
    // stay absent, and the audit entry says they were not run and why).
    const startPhase = new sfn.Choice(scope, `${label}Instance stopped by this run?`)
      .when(
        sfn.Condition.and(
          sfn.Condition.isPresent(`${stepPath('eligibility')}.status`),
          sfn.Condition.stringEquals(`${stepPath('eligibility')}.status`, NOT_APPLICABLE),
        ),
        end,
      )
      .when(
        sfn.Condition.or(
          sfn.Condition.isPresent(errorPath('stop')),
          sfn.Condition.and(
            sfn.Condition.isPresent(stepPath('stop')),
            sfn.Condition.not(sfn.Condition.stringEquals(`${stepPath('stop')}.status`, SKIPPED)),
          ),
        ),
        start,
      )
      .otherwise(skipped(scope, `${label}Start instance: skipped`, 'start').next(postPhase));
    return { postPhase, startPhase };
  };
  const { postPhase, startPhase } = releaseTail('', finish);

  const backup = backupAndRelease(scope, { functions, waits, releaseTail, onStartFailure: startPhase, next: finish });

  const stop = powerWait(scope, {
    prefix: 'Stop instance',
    key: 'stop',
    fn: functions.stopInstance,
    waits,
    onSuccess: backup,
    onFailure: startPhase,
  });
  const stopPhase = new sfn.Choice(scope, 'Stop instance enabled?')
    .when(sfn.Condition.booleanEquals('$.config.stopInstances', true), stop)
    .otherwise(skipped(scope, 'Stop instance: skipped', 'stop').next(backup));

  // Pre-backup script (issue 15: tried again up to its retries). When it failed, the onPreScriptFailure policy decides:
  // - skip-backup (the default): the backup would not be consistent, so stop and backup are left out, but the
  //   post-script still runs to undo whatever the pre-script did;
  // - backup-crash-consistent (Data Lifecycle Manager's default): the post-script runs first (undo, and the application
  //   runs again), then stop (if on) and the backup go on; the release tail then skips the post-script that already ran.
  const crashConsistentPost = scriptPhase(scope, {
    prefix: 'Crash-consistent: post-backup script',
    phase: 'post',
    attemptsCounted: true,
    agentKey: 'agentAfterStart',
    agentPurpose: 'beforeScript',
    functions,
    waits,
    onSuccess: stopPhase,
    onFailure: stopPhase,
    onNotRun: stopPhase,
  });
  const preFailed = new sfn.Choice(scope, 'Pre-backup script failed: back up crash-consistent?')
    .when(
      sfn.Condition.and(
        sfn.Condition.isPresent('$.config.onPreScriptFailure'),
        sfn.Condition.stringEquals('$.config.onPreScriptFailure', PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT),
      ),
      new sfn.Choice(scope, 'Crash-consistent: post-backup script enabled?')
        .when(sfn.Condition.booleanEquals('$.config.postScript.enabled', true), crashConsistentPost)
        .otherwise(stopPhase),
    )
    .otherwise(postPhase);
  const preScript = scriptPhase(scope, {
    prefix: 'Pre-backup script',
    phase: 'pre',
    attemptsCounted: true,
    agentKey: 'agent',
    agentPurpose: 'beforeScript',
    functions,
    waits,
    onSuccess: stopPhase,
    onFailure: preFailed,
    onNotRun: finish,
  });
  const preSkipped = skipped(scope, 'Pre-backup script: skipped', 'pre').next(stopPhase);

  const platformMismatch = (phase: 'pre' | 'post', label: string) => new sfn.Pass(scope, `${label}: wrong platform`, {
    parameters: {
      'status': FAILED,
      'message.$': `States.Format('the ${label.toLowerCase()} is for {}, the instance runs {}: instance not touched', $.config.${phase}Script.platform, $.instance.platform)`,
    },
    resultPath: stepPath('eligibility'),
  }).next(finish);
  // An instance already stopped is consistent as it is: back it up, run no script, leave it stopped. Its other steps
  // are left absent: `skipped` means turned off, and these were on but not run (the audit entry says why, from the
  // eligibility message; a step the run turned off still reads `skipped`).
  const stoppedAtStart = new sfn.Pass(scope, 'Instance stopped at start: backup only', {
    parameters: {
      eligibility: {
        status: NOT_APPLICABLE,
        message: 'instance was stopped when the run began: backed up without scripts and left stopped',
      },
      errors: {},
    },
    resultPath: '$.steps',
  }).next(backup);

  const notEligible = new sfn.Pass(scope, 'Instance not eligible', {
    parameters: {
      'status': FAILED,
      'message.$': "States.Format('instance was {} when the run began: not touched', $.instance.state)",
    },
    resultPath: stepPath('eligibility'),
  }).next(finish);

  // Another run holds the instance's lease: touch nothing, record the instance as skipped with the holder.
  const leaseHeld = new sfn.Pass(scope, 'Instance: held by another run', {
    parameters: {
      'status': SKIPPED_LEASE_HELD,
      'message.$': "States.Format('instance is being worked on by run {} until {}', $.lease.holder, $.lease.leaseExpiresAtTime)",
    },
    resultPath: stepPath('eligibility'),
  }).next(record);

  // The first state of every instance: its lease. When the lease cannot be taken (after retries), the instance
  // is not touched and fails with the error; the release that follows is harmless when the lease was never
  // taken, and gives it back when the put reached DynamoDB but its answer did not come back.
  const acquireLease = lambdaStep(scope, 'Instance: acquire lease', {
    fn: functions.acquireLease,
    payload: {
      'instanceId.$': '$.instance.instanceId',
      'execution.$': '$.execution',
      'leaseSeconds.$': '$.config.leaseSeconds',
    },
    resultPath: '$.lease',
    onError: { next: releaseLease, errorPath: errorPath('eligibility') },
  });

  // What to do with the instance, decided once (one Choice is one state transition, however many rules it has).
  // The rules are tried in order: the lease, the instance's state, the scripts' platform, the pre-script toggle.
  const scriptNotFor = (phase: 'pre' | 'post') => sfn.Condition.and(
    sfn.Condition.booleanEquals(`$.config.${phase}Script.enabled`, true),
    sfn.Condition.not(sfn.Condition.stringEqualsJsonPath('$.instance.platform', `$.config.${phase}Script.platform`)),
  );
  const decide = new sfn.Choice(scope, 'Instance: what to do?')
    .when(sfn.Condition.not(sfn.Condition.booleanEquals('$.lease.acquired', true)), leaseHeld)
    .when(sfn.Condition.stringEquals('$.instance.state', EC2_STOPPED), stoppedAtStart)
    .when(sfn.Condition.not(sfn.Condition.stringEquals('$.instance.state', EC2_RUNNING)), notEligible)
    .when(scriptNotFor('pre'), platformMismatch('pre', 'Pre-backup script'))
    .when(scriptNotFor('post'), platformMismatch('post', 'Post-backup script'))
    .when(sfn.Condition.booleanEquals('$.config.preScript.enabled', true), preScript)
    .otherwise(preSkipped);
  acquireLease.next(decide);
  if (!options.spreadEntry) return acquireLease;
  const draw = new sfn.Pass(scope, 'Instance: draw its turn', {
    parameters: { 'seconds.$': 'States.MathRandom($.entryFromSeconds, $.entryToSeconds)' },
    resultPath: '$.entry',
  });
  return draw.next(new sfn.Wait(scope, 'Instance: wait for its turn', { time: sfn.WaitTime.secondsPath('$.entry.seconds') })).next(acquireLease);
}

interface BackupAndReleaseProps {
  readonly functions: WorkflowFunctions;
  readonly waits: WaitSettings;
  readonly releaseTail: (label: string, end: sfn.IChainable) => { startPhase: sfn.IChainable };
  /** Where a job that could not be started goes (the release at once). */
  readonly onStartFailure: sfn.IChainable;
  /** After the job's end: the copy, the lease, the audit entry. */
  readonly next: sfn.IChainable;
}

/**
 * StartBackupJob (idempotent per execution and instance) → the release loop (src/workflow/release.ts: the point in
 * time, or the job's end, bounded by the freeze budget) → the release: the start (stop path) and the post-script →
 * with FreezeBudgetAction.STOP_BACKUP_JOB and the budget spent, StopBackupJob → the wait for the job's end (the same
 * step as ever: it finds the started job in the instance journal and only looks at it, on its event or polled) → the
 * consistency check of the recovery point the job ended with → `next`.
 * Sequential rather than a Parallel of "wait for the end" and "release": the job runs in AWS Backup whatever the chain
 * does, so waiting for its end after the release loses nothing, and no branch outcome has to be merged.
 */
function backupAndRelease(scope: Construct, props: BackupAndReleaseProps): sfn.IChainable {
  const { functions } = props;
  const startJob = lambdaStep(scope, 'Backup: start job', {
    fn: functions.startBackupJob,
    payload: {
      'instanceId.$': '$.instance.instanceId',
      'platform.$': '$.instance.platform',
      'backup.$': '$.config.backup',
      'execution.$': '$.execution',
    },
    resultPath: stepPath('backup'),
    onError: { next: props.onStartFailure, errorPath: errorPath('backup') },
  });

  // At the job's end: was the recovery point taken while the application was frozen? A check that cannot run leaves
  // the entry saying the consistency was not verified (never a failure of the backup).
  const verify = lambdaStep(scope, 'Backup: verify consistency', {
    fn: functions.observeRelease,
    payload: {
      'verify': true,
      'instanceId.$': '$.instance.instanceId',
      'execution.$': '$.execution',
      'jobState.$': `${stepPath('backup')}.state`,
      'recoveryPointArn.$': `${stepPath('backup')}.recoveryPointArn`,
      'release.$': stepPath('release'),
      'steps.$': '$.steps',
    },
    resultPath: stepPath('consistency'),
    onError: { next: props.next, errorPath: errorPath('consistency') },
  });
  verify.next(props.next);
  // Only a job that ended with its result has a recovery point to check (a wait that failed left its error instead).
  const verifyIfEnded = new sfn.Choice(scope, 'Backup: job ended?')
    .when(sfn.Condition.and(
      sfn.Condition.isPresent(`${stepPath('backup')}.state`),
      sfn.Condition.isPresent(`${stepPath('backup')}.recoveryPointArn`),
    ), verify)
    .otherwise(props.next);
  const jobEnd = backupStep(scope, { functions, waits: props.waits, next: verifyIfEnded, prefix: 'Released: backup' });

  // The budget spent with FreezeBudgetAction.STOP_BACKUP_JOB: the job is stopped once the application is released.
  let afterRelease: sfn.IChainable = jobEnd;
  if (functions.stopBackupJob) {
    const stopJob = lambdaStep(scope, 'Backup: stop job (budget spent)', {
      fn: functions.stopBackupJob,
      payload: {
        'instanceId.$': '$.instance.instanceId',
        'execution.$': '$.execution',
        'backupJobId.$': `${stepPath('release')}.backupJobId`,
      },
      resultPath: stepPath('budgetStop'),
      onError: { next: jobEnd, errorPath: errorPath('budgetStop') },
    });
    stopJob.next(jobEnd);
    afterRelease = new sfn.Choice(scope, 'Budget spent: stop the job?')
      .when(sfn.Condition.and(
        sfn.Condition.stringEquals(`${stepPath('release')}.releaseReason`, RELEASE_REASONS.budgetSpent),
        sfn.Condition.stringEquals('$.config.release.onBudgetSpent', 'stop-job'),
        sfn.Condition.not(sfn.Condition.stringEquals(`${stepPath('release')}.backupJobId`, '')),
      ), stopJob)
      .otherwise(jobEnd);
  }
  const { startPhase } = props.releaseTail('Released: ', afterRelease);
  startJob.next(releaseLoop(scope, { fn: functions.observeRelease, next: startPhase }));
  return startJob;
}
