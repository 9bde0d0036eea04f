import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { WorkflowFunctions } from './functions';
import { DYNAMODB_TRANSIENT_ERRORS, lambdaStep, retryWithBackoff } from './lambda-step';
import { releaseLoop } from './release';
import {
  auditEntryStep, backupStep, copyStep, errorPath, NOT_RECORDED_OUTCOME, postScriptPhase, powerWait, releaseLeaseStep, scriptPhase, skipped, stepPath,
} from './steps';
import { WaitSettings } from './waiting-task';
import {
  EXECUTION_NAME, INSTANCE_ID, INSTANCE_KEY_SEPARATOR, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_INSTANCE, RUN_EXECUTION_ID, UNRECORDED_INSTANCE,
  UNRECORDED_REASON, UNRECORDED_STEPS,
} from '../contract/audit-schema';
import { BACKUP_COMPLETED, EC2_RUNNING, EC2_STOPPED, FAILED, NOT_APPLICABLE, SKIPPED, SKIPPED_LEASE_HELD } from '../contract/status';

/**
 * The input of one instance's chain: what the fleet level hands each Map iteration.
 * `$$.Map.Item.Value` is a DiscoveredInstance (src/contract/shapes.ts).
 */
export const INSTANCE_ITEM_SELECTOR = {
  'instance.$': '$$.Map.Item.Value',
  'config.$': '$.config',
  'execution.$': '$.execution',
  'steps': { errors: {} },
};

/** How the chain is built. */
export interface InstanceChainOptions {
  /**
   * Release the application at the backup's point in time (issue 14, src/workflow/release.ts): once the job is started,
   * the release loop starts the instance and runs the post-script as soon as the point in time is captured, then the
   * chain waits for the job's end. Needs `functions.observeRelease` and `$.config.release`. @default false (release at
   * the job's end)
   */
  readonly releaseAtPointInTime?: boolean;
  /**
   * Fleet scale (docs/design.md "Fleet scale"): before its lease, each chain waits a random 0 to
   * `$.entrySpreadSeconds` seconds (the page's window, from discover-instances), so a page's wave of chains does not
   * send its SendCommand / StopInstances / StartBackupJob calls in one burst. @default false (no wait)
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

  // The release: the stopped instance started again, then the post-script. Built twice when releasing at the point in
  // time: once for the paths that fail before the backup runs (names unchanged), once after the release loop.
  const releaseTail = (label: string, end: sfn.IChainable) => {
    // Post-backup script: whenever enabled and the instance is running.
    const postScript = postScriptPhase(scope, `${label}Post-backup script`, functions, waits, end);
    const postPhase = new sfn.Choice(scope, `${label}Post-backup script enabled?`)
      .when(sfn.Condition.booleanEquals('$.config.postScript.enabled', true), postScript)
      .otherwise(skipped(scope, `${label}Post-backup script: skipped`, 'post').next(end));

    // Start: only an instance this run tried to stop (whatever happened since) is started again. A stop step
    // that failed (its error caught) may have reached EC2 before failing, so it counts as tried.
    const start = powerWait(scope, {
      prefix: `${label}Start instance`,
      key: 'start',
      fn: functions.startInstance,
      waits,
      onSuccess: postPhase,
      onFailure: end,
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

  const backup = options.releaseAtPointInTime
    ? backupAndRelease(scope, { functions, waits, releaseTail, onStartFailure: startPhase, next: finish })
    : backupStep(scope, { functions, waits, next: startPhase });

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

  // Pre-backup script: on failure the backup would not be consistent, so stop and backup are left out,
  // but the post-script still runs to undo whatever the pre-script did.
  const preScript = scriptPhase(scope, {
    prefix: 'Pre-backup script',
    phase: 'pre',
    agentKey: 'agent',
    agentPurpose: 'beforeScript',
    functions,
    waits,
    onSuccess: stopPhase,
    onFailure: postPhase,
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
    parameters: { 'seconds.$': 'States.MathRandom(0, $.entrySpreadSeconds)' },
    resultPath: '$.entry',
  });
  return draw.next(new sfn.Wait(scope, 'Instance: wait for its turn', { time: sfn.WaitTime.secondsPath('$.entry.seconds') })).next(acquireLease);
}

interface BackupAndReleaseProps {
  readonly functions: WorkflowFunctions;
  readonly waits: WaitSettings;
  readonly releaseTail: (label: string, end: sfn.IChainable) => { startPhase: sfn.IChainable };
  /** Where a job that could not be started goes (the release at once, as before issue 14). */
  readonly onStartFailure: sfn.IChainable;
  /** After the job's end: the copy, the lease, the audit entry. */
  readonly next: sfn.IChainable;
}

/**
 * Issue 14: StartBackupJob (idempotent per execution and instance) → the release loop (src/workflow/release.ts) → the
 * release: the start (stop path) and the post-script → the wait for the job's end (the same step as without the
 * release: it finds the started job in the instance journal and only looks at it, on its event or polled) → `next`.
 * Sequential rather than a Parallel of "wait for the end" and "release": the job runs in AWS Backup whatever the chain
 * does, so waiting for its end after the release loses nothing, and no branch outcome has to be merged.
 */
function backupAndRelease(scope: Construct, props: BackupAndReleaseProps): sfn.IChainable {
  const observeRelease = props.functions.observeRelease;
  if (!observeRelease) {
    throw new Error('releasing at the point in time needs the observeRelease function');
  }
  const startJob = lambdaStep(scope, 'Backup: start job before release', {
    fn: props.functions.startBackupJob,
    payload: {
      'instanceId.$': '$.instance.instanceId',
      'platform.$': '$.instance.platform',
      'backup.$': '$.config.backup',
      'execution.$': '$.execution',
    },
    resultPath: stepPath('backup'),
    onError: { next: props.onStartFailure, errorPath: errorPath('backup') },
  });
  const jobEnd = backupStep(scope, { functions: props.functions, waits: props.waits, next: props.next, prefix: 'Released: backup' });
  const { startPhase } = props.releaseTail('Released: ', jobEnd);
  startJob.next(releaseLoop(scope, { fn: observeRelease, next: startPhase }));
  return startJob;
}
