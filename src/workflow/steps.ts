import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { boundedPoll } from './bounded-poll';
import { WorkflowFunctions } from './functions';
import { lambdaStep } from './lambda-step';

/**
 * The building blocks of one instance's chain. Each step stores its result at `$.steps.<key>` and a caught
 * error at `$.steps.errors.<key>`; the record-instance handler turns those into the audit entry.
 */

const INSTANCE_ID = '$.instance.instanceId';

export const stepPath = (key: string) => `$.steps.${key}`;
export const errorPath = (key: string) => `$.steps.errors.${key}`;

/** A Pass that marks a step as turned off. */
export function skipped(scope: Construct, id: string, key: string): sfn.Pass {
  return new sfn.Pass(scope, id, {
    result: sfn.Result.fromObject({ status: 'skipped' }),
    resultPath: stepPath(key),
  });
}

export interface ScriptPhaseProps {
  /** State name prefix, e.g. 'Pre-backup script'. */
  readonly prefix: string;
  /** `pre` or `post`: the phase, the step key and `$.config.<phase>Script`. */
  readonly phase: 'pre' | 'post';
  /** Step key of the agent check (`agent` or `agentAfterStart`). */
  readonly agentKey: string;
  /** Which bound the agent check uses. */
  readonly agentPurpose: 'beforeScript' | 'afterStart';
  readonly functions: WorkflowFunctions;
  /** The script ran and succeeded. */
  readonly onSuccess: sfn.IChainable;
  /** The script was sent (or may have been) and did not succeed. */
  readonly onFailure: sfn.IChainable;
  /** The script was not sent: the agent is not online or could not be checked. */
  readonly onNotRun: sfn.IChainable;
}

/**
 * Agent check (bounded) → SendCommand → status polled until final (bounded; the handler cancels the
 * command when the bound is reached) → success or failure route.
 */
export function scriptPhase(scope: Construct, props: ScriptPhaseProps): sfn.IChainable {
  const { prefix, phase, agentKey, functions } = props;
  const agentPath = stepPath(agentKey);
  const resultPath = stepPath(phase);

  const agentError = { next: props.onNotRun, errorPath: errorPath(agentKey) };
  const checkAgent = lambdaStep(scope, `${prefix}: check SSM agent`, {
    fn: functions.checkAgent,
    payload: { 'instanceId.$': INSTANCE_ID, 'purpose': props.agentPurpose },
    resultPath: agentPath,
    onError: agentError,
  });
  const checkAgentAgain = lambdaStep(scope, `${prefix}: check SSM agent again`, {
    fn: functions.checkAgent,
    payload: { 'instanceId.$': INSTANCE_ID, 'purpose': props.agentPurpose, 'poll.$': `${agentPath}.poll` },
    resultPath: agentPath,
    onError: agentError,
  });

  const scriptError = { next: props.onFailure, errorPath: errorPath(phase) };
  const send = lambdaStep(scope, `${prefix}: send command`, {
    fn: functions.sendScript,
    payload: {
      'instanceId.$': INSTANCE_ID,
      'phase': phase,
      'script.$': `$.config.${phase}Script`,
      'execution.$': '$.execution',
    },
    resultPath,
    onError: scriptError,
  });
  const getStatus = lambdaStep(scope, `${prefix}: get status`, {
    fn: functions.getScriptStatus,
    payload: { 'previous.$': resultPath },
    resultPath,
    onError: scriptError,
  });

  const online = new sfn.Choice(scope, `${prefix}: SSM agent online?`)
    .when(sfn.Condition.booleanEquals(`${agentPath}.online`, true), send)
    .otherwise(props.onNotRun);
  const succeeded = new sfn.Choice(scope, `${prefix}: succeeded?`)
    .when(sfn.Condition.stringEquals(`${resultPath}.status`, 'Success'), props.onSuccess)
    .otherwise(props.onFailure);

  boundedPoll(scope, `${prefix}: SSM agent`, { first: checkAgent, check: checkAgentAgain, resultPath: agentPath, whenDone: online });
  boundedPoll(scope, prefix, { first: send, check: getStatus, resultPath, whenDone: succeeded });
  return checkAgent;
}

export interface PowerStepProps {
  /** State name prefix, e.g. 'Stop instance'. */
  readonly prefix: string;
  /** `stop` or `start`. */
  readonly key: 'stop' | 'start';
  readonly fn: lambda.IFunction;
  readonly onSuccess: sfn.IChainable;
  readonly onFailure: sfn.IChainable;
}

/** Bring the instance to stopped / running: the handler is idempotent and called until done (bounded). */
export function powerStep(scope: Construct, props: PowerStepProps): sfn.IChainable {
  const resultPath = stepPath(props.key);
  const onError = { next: props.onFailure, errorPath: errorPath(props.key) };
  const first = lambdaStep(scope, props.prefix, {
    fn: props.fn,
    payload: { 'instanceId.$': INSTANCE_ID },
    resultPath,
    onError,
  });
  const again = lambdaStep(scope, `${props.prefix}: check again`, {
    fn: props.fn,
    payload: { 'instanceId.$': INSTANCE_ID, 'poll.$': `${resultPath}.poll` },
    resultPath,
    onError,
  });
  const reached = new sfn.Choice(scope, `${props.prefix}: reached?`)
    .when(sfn.Condition.stringEquals(`${resultPath}.status`, 'Success'), props.onSuccess)
    .otherwise(props.onFailure);
  return boundedPoll(scope, props.prefix, { first, check: again, resultPath, whenDone: reached });
}

export interface BackupStepProps {
  readonly functions: WorkflowFunctions;
  /** Where the workflow goes once the job is final, the wait is over, or an error was caught. */
  readonly next: sfn.IChainable;
}

/** StartBackupJob (idempotent per execution and instance), then DescribeBackupJob until final (bounded). */
export function backupStep(scope: Construct, props: BackupStepProps): sfn.IChainable {
  const resultPath = stepPath('backup');
  const onError = { next: props.next, errorPath: errorPath('backup') };
  const start = lambdaStep(scope, 'Backup: start job', {
    fn: props.functions.startBackupJob,
    payload: {
      'instanceId.$': INSTANCE_ID,
      'platform.$': '$.instance.platform',
      'backup.$': '$.config.backup',
      'execution.$': '$.execution',
    },
    resultPath,
    onError,
  });
  const describe = lambdaStep(scope, 'Backup: describe job', {
    fn: props.functions.describeBackupJob,
    payload: { 'previous.$': resultPath, 'backup.$': '$.config.backup' },
    resultPath,
    onError,
  });
  return boundedPoll(scope, 'Backup job', { first: start, check: describe, resultPath, whenDone: props.next });
}

export interface CopyStepProps {
  readonly startCopyJob: lambda.IFunction;
  readonly describeCopyJob: lambda.IFunction;
  /** Where the workflow goes once the copy is final, the wait is over, or an error was caught. */
  readonly next: sfn.IChainable;
}

/**
 * StartCopyJob of the new recovery point into the copy vault (idempotent per execution and instance), then
 * DescribeCopyJob until final (bounded). Runs after the instance is back, so a copy never extends downtime.
 */
export function copyStep(scope: Construct, props: CopyStepProps): sfn.IChainable {
  const resultPath = stepPath('copy');
  const onError = { next: props.next, errorPath: errorPath('copy') };
  const start = lambdaStep(scope, 'Copy: start job', {
    fn: props.startCopyJob,
    payload: {
      'instanceId.$': INSTANCE_ID,
      'recoveryPointArn.$': `${stepPath('backup')}.recoveryPointArn`,
      'backup.$': '$.config.backup',
      'execution.$': '$.execution',
    },
    resultPath,
    onError,
  });
  const describe = lambdaStep(scope, 'Copy: describe job', {
    fn: props.describeCopyJob,
    payload: { 'previous.$': resultPath, 'backup.$': '$.config.backup' },
    resultPath,
    onError,
  });
  return boundedPoll(scope, 'Copy job', { first: start, check: describe, resultPath, whenDone: props.next });
}
