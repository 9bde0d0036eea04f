import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lambdaStep } from './lambda-step';
import { errorPath, stepPath } from './steps';
import { RELEASE_POINT_STATES, RELEASE_REASONS } from '../contract/messages';

/** Seconds between two looks once the point in time proved unobservable (only the job's end is then looked for). */
export const JOB_END_LOOK_SECONDS = 60;

export interface ReleaseLoopProps {
  /** observe-release. */
  readonly fn: lambda.IFunction;
  /** What comes once the application may be released (the start on the stop path, the post-script). */
  readonly next: sfn.IChainable;
  /** State name prefix. @default 'Release' */
  readonly prefix?: string;
}

/**
 * The release loop (issue 14, docs/workflow.md "Releasing at the point in time"), run beside the wait for the job's
 * terminal state: Wait `lookSeconds` → observe-release → captured / job ended: release; unobservable: from then on look
 * only for the job's end (every JOB_END_LOOK_SECONDS), the reason kept for the audit; budget spent: release. Reads
 * `$.config.release` (ReleaseRun); keeps its state at `$.steps.release` (ReleaseLoopState). Bounded by the budget:
 * at most budgetSeconds / lookSeconds + 1 looks. A look that fails after its retries releases the application
 * (`look-failed`, the error at `$.steps.errors.release`): the loop never holds an application it cannot look after.
 */
export function releaseLoop(scope: Construct, props: ReleaseLoopProps): sfn.IChainable {
  const prefix = props.prefix ?? 'Release';
  const path = stepPath('release');
  const reasonThen = (id: string, reason: string) => new sfn.Pass(scope, `${prefix}: ${id}`, {
    result: sfn.Result.fromString(reason),
    resultPath: `${path}.releaseReason`,
  }).next(props.next);

  const begin = new sfn.Pass(scope, `${prefix}: begin`, {
    parameters: {
      'state': RELEASE_POINT_STATES.notYet,
      'reason': '',
      'backupJobId': '',
      'volumeIds': [],
      'jobState': '',
      'recoveryPointArn': '',
      'snapshotIds': [],
      'capturedAt': '',
      'observedAt': '',
      'mode.$': '$.config.release.mode',
      'lookSeconds.$': '$.config.release.lookSeconds',
      'waitedSeconds': 0,
      'looks': 0,
      'fallbackReason': '',
    },
    resultPath: path,
  });
  const wait = new sfn.Wait(scope, `${prefix}: wait`, { time: sfn.WaitTime.secondsPath(`${path}.lookSeconds`) });
  const lookFailed = reasonThen('look failed', RELEASE_REASONS.lookFailed);
  const look = lambdaStep(scope, `${prefix}: look`, {
    fn: props.fn,
    payload: {
      'instanceId.$': '$.instance.instanceId',
      'execution.$': '$.execution',
      'backupJobId.$': `${path}.backupJobId`,
      'volumeIds.$': `${path}.volumeIds`,
      'mode.$': `${path}.mode`,
    },
    resultPath: `${path}.look`,
    onError: { next: lookFailed, errorPath: errorPath('release') },
  });
  const fromLook = (field: string) => `${path}.look.${field}`;
  const count = new sfn.Pass(scope, `${prefix}: count`, {
    parameters: {
      'state.$': fromLook('state'),
      'reason.$': fromLook('reason'),
      'backupJobId.$': fromLook('backupJobId'),
      'volumeIds.$': fromLook('volumeIds'),
      'jobState.$': fromLook('jobState'),
      'recoveryPointArn.$': fromLook('recoveryPointArn'),
      'snapshotIds.$': fromLook('snapshotIds'),
      'capturedAt.$': fromLook('capturedAt'),
      'observedAt.$': fromLook('observedAt'),
      'mode.$': `${path}.mode`,
      'lookSeconds.$': `${path}.lookSeconds`,
      'waitedSeconds.$': `States.MathAdd(${path}.waitedSeconds, ${path}.lookSeconds)`,
      'looks.$': `States.MathAdd(${path}.looks, 1)`,
      'fallbackReason.$': `${path}.fallbackReason`,
    },
    resultPath: path,
  });
  const budget = new sfn.Choice(scope, `${prefix}: budget spent?`)
    .when(sfn.Condition.numberGreaterThanEqualsJsonPath(`${path}.waitedSeconds`, '$.config.release.budgetSeconds'),
      reasonThen('budget spent', RELEASE_REASONS.budgetSpent))
    .otherwise(wait);
  // From the first unobservable look on: the job's end only, less often; the reason stays for the audit entry.
  const unobservable = new sfn.Pass(scope, `${prefix}: not observable`, {
    parameters: {
      'state.$': `${path}.state`,
      'reason.$': `${path}.reason`,
      'backupJobId.$': `${path}.backupJobId`,
      'volumeIds.$': `${path}.volumeIds`,
      'jobState.$': `${path}.jobState`,
      'recoveryPointArn.$': `${path}.recoveryPointArn`,
      'snapshotIds.$': `${path}.snapshotIds`,
      'capturedAt.$': `${path}.capturedAt`,
      'observedAt.$': `${path}.observedAt`,
      'mode': 'job-end',
      'lookSeconds': JOB_END_LOOK_SECONDS,
      'waitedSeconds.$': `${path}.waitedSeconds`,
      'looks.$': `${path}.looks`,
      'fallbackReason.$': `${path}.reason`,
    },
    resultPath: path,
  }).next(budget);
  const decide = new sfn.Choice(scope, `${prefix}: point in time?`)
    .when(sfn.Condition.stringEquals(`${path}.state`, RELEASE_POINT_STATES.captured), reasonThen('captured', RELEASE_REASONS.captured))
    .when(sfn.Condition.stringEquals(`${path}.state`, RELEASE_POINT_STATES.jobEnded), reasonThen('job ended', RELEASE_REASONS.jobEnded))
    .when(sfn.Condition.stringEquals(`${path}.state`, RELEASE_POINT_STATES.unobservable), unobservable)
    .otherwise(budget);
  begin.next(wait);
  wait.next(look);
  look.next(count);
  count.next(decide);
  return begin;
}
