import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { lambdaStep } from './lambda-step';
import { errorPath, stepPath } from './steps';
import { RELEASE_POINT_STATES, RELEASE_REASONS } from '../contract/messages';

export interface ReleaseLoopProps {
  /** observe-release. */
  readonly fn: lambda.IFunction;
  /** What comes once the application may be released (the start on the stop path, the post-script). */
  readonly next: sfn.IChainable;
  /** State name prefix. @default 'Release' */
  readonly prefix?: string;
}

/**
 * The release loop (docs/workflow.md "Releasing the application"): Wait `lookSeconds` → observe-release → one Choice:
 * captured / job ended: release; budget spent: release; otherwise wait again. Reads `$.config.release` (ReleaseRun);
 * keeps its state at `$.steps.release` (ReleaseLoopState), which the handler advances itself (counters, the switch to
 * looking only for the job's end after an unobservable look, the reason kept for the audit): three transitions a look.
 * Bounded by the budget: at most budgetSeconds / lookSeconds + 1 looks. A look that fails after its retries releases the
 * application (`look-failed`, the error at `$.steps.errors.release`): the loop never holds an application it cannot
 * look after.
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
      'loop.$': path,
    },
    resultPath: path,
    onError: { next: lookFailed, errorPath: errorPath('release') },
  });
  // One Choice a look, its rules in order: the point in time, the job's end, the budget, else another look. An
  // unobservable look goes on looking for the job's end (the handler switched the mode).
  const decide = new sfn.Choice(scope, `${prefix}: release now?`)
    .when(sfn.Condition.stringEquals(`${path}.state`, RELEASE_POINT_STATES.captured), reasonThen('captured', RELEASE_REASONS.captured))
    .when(sfn.Condition.stringEquals(`${path}.state`, RELEASE_POINT_STATES.jobEnded), reasonThen('job ended', RELEASE_REASONS.jobEnded))
    .when(sfn.Condition.numberGreaterThanEqualsJsonPath(`${path}.waitedSeconds`, '$.config.release.budgetSeconds'),
      reasonThen('budget spent', RELEASE_REASONS.budgetSpent))
    .otherwise(wait);
  begin.next(wait);
  wait.next(look);
  look.next(decide);
  return begin;
}
