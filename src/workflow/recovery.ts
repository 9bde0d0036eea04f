import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { WorkflowFunctions } from './functions';
import { lambdaStep } from './lambda-step';
import { auditEntryStep, NOT_RECORDED_OUTCOME, postScriptPhase, powerWait, releaseLeaseStep } from './steps';
import { WaitSettings } from './waiting-task';

/**
 * The input of one instance's recovery (`$$.Map.Item.Value` is an UnfinishedInstance, src/contract/shapes.ts).
 * `mapError` is the page Map's own error when it failed as a whole (`{}` otherwise).
 */
export const RECOVERY_ITEM_SELECTOR = {
  'instance.$': '$$.Map.Item.Value.instance',
  'chainError.$': '$$.Map.Item.Value.error',
  'mapError.$': '$.runError',
  'config.$': '$.config',
  'execution.$': '$.execution',
  'steps': { errors: {} },
};

/**
 * One instance whose chain died where no Catch sees it (States.Runtime, States.DataLimitExceeded, a Lambda killed at
 * its timeout outside a Catch, or its child execution stopped): what the run did to it, from its journal and the
 * resources it names → started again when this run stopped it and it is not running (the chain's own start step) →
 * its post-script when its pre-script was sent and the post-script was not (the chain's own script phase) → its lease
 * released → its audit entry, which says the chain died, with its error, and what the recovery did.
 * Every wait is the chain's own (bounded); every Task has its Retry and Catch.
 */
export function recoveryChain(scope: Construct, functions: WorkflowFunctions, waits: WaitSettings): sfn.IChainable {
  const notWritten = new sfn.Pass(scope, 'Recovery: audit entry not written', { parameters: NOT_RECORDED_OUTCOME });
  // When it cannot be written, the page writes an entry that says the instance's chain did not finish.
  const record = auditEntryStep(scope, 'Recovery: write audit entry', functions.recordRecovered, {
    'chainError.$': '$.chainError',
    'mapError.$': '$.mapError',
    'recovery.$': '$.recovery',
  }, { next: notWritten, errorPath: '$.recordError' });
  const release = releaseLeaseStep(scope, 'Recovery: release lease', functions, record);

  const postScript = postScriptPhase(scope, 'Recovery: post-backup script', functions, waits, release);
  const postNeeded = new sfn.Choice(scope, 'Recovery: post-backup script needed?')
    .when(sfn.Condition.booleanEquals('$.recovery.needs.post', true), postScript)
    .otherwise(release);
  const start = powerWait(scope, {
    prefix: 'Recovery: start instance',
    key: 'start',
    fn: functions.startInstance,
    waits,
    onSuccess: postNeeded,
    // Not running: SSM cannot reach it, the post-script cannot run (the entry says why).
    onFailure: release,
  });
  const startNeeded = new sfn.Choice(scope, 'Recovery: start needed?')
    .when(sfn.Condition.booleanEquals('$.recovery.needs.start', true), start)
    .otherwise(postNeeded);
  // The steps as the journal and AWS show them; the recovery's start and post-script are added at their paths.
  const stepsSoFar = new sfn.Pass(scope, 'Recovery: steps so far', { inputPath: '$.recovery.steps', resultPath: '$.steps' });
  stepsSoFar.next(startNeeded);

  // The journal could not be read (after retries): nothing is done to the instance, and its entry says so.
  const notInspected = new sfn.Pass(scope, 'Recovery: journal not read', {
    result: sfn.Result.fromObject({ steps: { errors: {} }, needs: { start: false, post: false }, state: 'unknown', journaled: [], inspectFailed: true }),
    resultPath: '$.recovery',
  }).next(stepsSoFar);
  const inspect = lambdaStep(scope, 'Recovery: inspect the instance', {
    fn: functions.inspectChain,
    payload: { 'instance.$': '$.instance', 'execution.$': '$.execution', 'config.$': '$.config' },
    resultPath: '$.recovery',
    onError: { next: notInspected, errorPath: '$.inspectError' },
  });
  inspect.next(stepsSoFar);
  return inspect;
}
