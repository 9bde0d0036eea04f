import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { boundedPoll } from './bounded-poll';
import { WorkflowFunctions } from './functions';
import { FailureRoute, lambdaStep } from './lambda-step';
import { waitingTask, WaitSettings } from './waiting-task';
import { SCRIPT_RETRY_WAIT_SECONDS } from '../contract/settings';
import { FAILED, SKIPPED, SSM_TIMED_OUT, SUCCESS } from '../contract/status';

/**
 * The building blocks of one instance's chain. Each step stores its result at `$.steps.<key>` and a caught
 * error at `$.steps.errors.<key>`; the record-instance handler turns those into the audit entry.
 */

const INSTANCE_ID_PATH = '$.instance.instanceId';

export const stepPath = (key: string) => `$.steps.${key}`;

/** A function only the polling waits use: present whenever the waits are polled. */
function pollingFunction(fn: lambda.IFunction | undefined, name: string): lambda.IFunction {
  if (!fn) {
    throw new Error(`the polling waits need the ${name} function`);
  }
  return fn;
}
export const errorPath = (key: string) => `$.steps.errors.${key}`;

/** A Pass that marks a step as turned off. */
export function skipped(scope: Construct, id: string, key: string): sfn.Pass {
  return new sfn.Pass(scope, id, {
    result: sfn.Result.fromObject({ status: SKIPPED }),
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
  readonly waits: WaitSettings;
  /** The script ran and succeeded. */
  readonly onSuccess: sfn.IChainable;
  /** The script was sent (or may have been) and did not succeed. */
  readonly onFailure: sfn.IChainable;
  /** The script was not sent: the agent is not online or could not be checked. */
  readonly onNotRun: sfn.IChainable;
  /**
   * Issue 15: whether the input already holds `$.steps.<phase>Attempts` = attempt 1 (the instance chain's input does:
   * INSTANCE_ITEM_SELECTOR, no state transition spent); otherwise the phase begins with a Pass that sets it.
   * @default false
   */
  readonly attemptsCounted?: boolean;
}

/** Issue 15: the attempts of a script before its first attempt (`$.steps.preAttempts` / `$.steps.postAttempts`). */
export const FIRST_ATTEMPT = { count: 1, failed: '' };

/** Where the workflow counts a script's attempts (issue 15): `$.steps.preAttempts` / `$.steps.postAttempts`. */
export const attemptsPath = (phase: 'pre' | 'post') => `$.steps.${phase}Attempts`;

/**
 * Issue 15: whether the attempt that just ended is tried again. Only a script that ran and failed (SSM `Failed` with
 * details `Failed`: a non-zero exit, or a download that failed) or ran past its timeout (`TimedOut` /
 * `ExecutionTimedOut`) is, while attempts <= `$.config.<phase>Script.retries`. Not: an agent that did not take the
 * command (DeliveryTimedOut, Undeliverable), a command the workflow's bound cancelled, a command whose fate is unknown,
 * a Cancelled or AccessDenied or InvalidPlatform one, an error caught on the Task (docs/workflow.md, "Script retries").
 */
function retryable(phase: 'pre' | 'post'): sfn.Condition {
  const result = stepPath(phase);
  const retries = `$.config.${phase}Script.retries`;
  return sfn.Condition.and(
    sfn.Condition.isPresent(retries),
    sfn.Condition.isPresent(`${attemptsPath(phase)}.count`),
    sfn.Condition.isPresent(`${result}.statusDetails`),
    sfn.Condition.numberLessThanEqualsJsonPath(`${attemptsPath(phase)}.count`, retries),
    sfn.Condition.or(
      sfn.Condition.and(sfn.Condition.stringEquals(`${result}.status`, FAILED), sfn.Condition.stringEquals(`${result}.statusDetails`, FAILED)),
      sfn.Condition.and(sfn.Condition.stringEquals(`${result}.status`, SSM_TIMED_OUT), sfn.Condition.stringEquals(`${result}.statusDetails`, 'ExecutionTimedOut')),
    ),
  );
}

/**
 * (Attempt 1 →) agent check (bounded) → SendCommand → the script's end, waited for on SSM's event or polled (bounded
 * either way; the handler cancels the command when the bound is reached) → success or failure route. Issue 15: a script
 * that ran and failed or timed out is tried again, at most `$.config.<phase>Script.retries` times, after a short Wait:
 * the whole attempt (agent check, command, wait) again. Once an attempt ran, a later attempt that cannot be sent goes
 * to the failure route (a script ran: the post-script is owed), not to the not-run route.
 */
export function scriptPhase(scope: Construct, props: ScriptPhaseProps): sfn.IChainable {
  const { prefix, phase, agentKey, functions } = props;
  const agentPath = stepPath(agentKey);
  const resultPath = stepPath(phase);
  const attempts = attemptsPath(phase);

  const firstAttempt = props.attemptsCounted ? undefined : new sfn.Pass(scope, `${prefix}: attempt 1`, {
    result: sfn.Result.fromObject(FIRST_ATTEMPT),
    resultPath: attempts,
  });
  // Not sent this attempt: after an attempt that ran, the script's failure stands (and the post-script is owed).
  const notRun = new sfn.Choice(scope, `${prefix}: not sent; an earlier attempt ran?`)
    .when(sfn.Condition.and(sfn.Condition.isPresent(`${attempts}.count`), sfn.Condition.numberGreaterThan(`${attempts}.count`, 1)), props.onFailure)
    .otherwise(props.onNotRun);

  const agentError = { next: notRun, errorPath: errorPath(agentKey) };
  const checkAgent = lambdaStep(scope, `${prefix}: check SSM agent`, {
    fn: functions.checkAgent,
    payload: { 'instanceId.$': INSTANCE_ID_PATH, 'purpose': props.agentPurpose },
    resultPath: agentPath,
    onError: agentError,
  });
  const checkAgentAgain = lambdaStep(scope, `${prefix}: check SSM agent again`, {
    fn: functions.checkAgent,
    payload: { 'instanceId.$': INSTANCE_ID_PATH, 'purpose': props.agentPurpose, 'poll.$': `${agentPath}.poll` },
    resultPath: agentPath,
    onError: agentError,
  });

  const scriptError = { next: props.onFailure, errorPath: errorPath(phase) };
  const sendPayload = {
    'instanceId.$': INSTANCE_ID_PATH,
    'phase': phase,
    'script.$': `$.config.${phase}Script`,
    'execution.$': '$.execution',
    'attempt.$': `${attempts}.count`,
  };

  // A failed attempt that is tried again: noted (command, status, exit code), counted, then a short pause.
  const tryAgain = new sfn.Pass(scope, `${prefix}: attempt failed, try again`, {
    parameters: {
      'count.$': `States.MathAdd(${attempts}.count, 1)`,
      // The numbers go through States.JsonToString: States.Format is documented with string arguments.
      'failed.$': `States.Format('{}attempt {}: command {} {} ({}, exit {}); ', ${attempts}.failed, States.JsonToString(${attempts}.count), `
        + `${resultPath}.commandId, ${resultPath}.status, ${resultPath}.statusDetails, States.JsonToString(${resultPath}.responseCode))`,
    },
    resultPath: attempts,
  });
  const pause = new sfn.Wait(scope, `${prefix}: pause before the next attempt`, {
    time: sfn.WaitTime.duration(Duration.seconds(SCRIPT_RETRY_WAIT_SECONDS)),
  });

  const succeeded = new sfn.Choice(scope, `${prefix}: succeeded?`)
    .when(sfn.Condition.stringEquals(`${resultPath}.status`, SUCCESS), props.onSuccess)
    .when(retryable(phase), tryAgain)
    .otherwise(props.onFailure);
  let send: sfn.IChainable;
  if (props.waits.onEvents) {
    send = waitingTask(scope, `${prefix}: run`, {
      fn: functions.sendScript,
      payload: sendPayload,
      kind: 'script',
      boundSeconds: props.waits.boundSeconds.script,
      resultPath,
      onError: scriptError,
    }).next(succeeded);
  } else {
    const sendOnly = lambdaStep(scope, `${prefix}: send command`, { fn: functions.sendScript, payload: sendPayload, resultPath, onError: scriptError });
    const getStatus = lambdaStep(scope, `${prefix}: get status`, {
      fn: pollingFunction(functions.getScriptStatus, 'getScriptStatus'),
      payload: { 'previous.$': resultPath },
      resultPath,
      onError: scriptError,
    });
    send = boundedPoll(scope, prefix, { first: sendOnly, check: getStatus, resultPath, whenDone: succeeded });
  }
  const online = new sfn.Choice(scope, `${prefix}: SSM agent online?`)
    .when(sfn.Condition.booleanEquals(`${agentPath}.online`, true), send)
    .otherwise(notRun);

  boundedPoll(scope, `${prefix}: SSM agent`, { first: checkAgent, check: checkAgentAgain, resultPath: agentPath, whenDone: online });
  tryAgain.next(pause).next(checkAgent);
  return firstAttempt ? firstAttempt.next(checkAgent) : checkAgent;
}

export interface PowerWaitProps {
  /** State name prefix, e.g. 'Stop instance'. */
  readonly prefix: string;
  /** `stop` or `start`. */
  readonly key: 'stop' | 'start';
  readonly fn: lambda.IFunction;
  readonly waits: WaitSettings;
  readonly onSuccess: sfn.IChainable;
  /** Where the chain goes when the step saw the instance fail to get there (or its wait ended at its bound). */
  readonly onFailure: sfn.IChainable;
  /**
   * Where the chain goes when the step failed on an error it caught (throttled through its retries, say): it could
   * not see the instance, which may be where the step wanted it.
   * @default onFailure
   */
  readonly onError?: sfn.IChainable;
}

/**
 * Bring the instance to stopped / running: the handler is idempotent; the workflow waits for EC2's state-change
 * event, or calls the handler until done (bounded either way).
 */
export function powerWait(scope: Construct, props: PowerWaitProps): sfn.IChainable {
  const resultPath = stepPath(props.key);
  const onError = { next: props.onError ?? props.onFailure, errorPath: errorPath(props.key) };
  const reached = new sfn.Choice(scope, `${props.prefix}: reached?`)
    .when(sfn.Condition.stringEquals(`${resultPath}.status`, SUCCESS), props.onSuccess)
    .otherwise(props.onFailure);
  if (props.waits.onEvents) {
    return waitingTask(scope, props.prefix, {
      fn: props.fn,
      payload: { 'instanceId.$': INSTANCE_ID_PATH, 'execution.$': '$.execution' },
      kind: props.key,
      boundSeconds: props.waits.boundSeconds[props.key],
      resultPath,
      onError,
    }).next(reached);
  }
  // The run's execution (its start time) lets the start step tell a start never needed from one it made.
  const first = lambdaStep(scope, props.prefix, {
    fn: props.fn,
    payload: { 'instanceId.$': INSTANCE_ID_PATH, 'execution.$': '$.execution' },
    resultPath,
    onError,
  });
  const again = lambdaStep(scope, `${props.prefix}: check again`, {
    fn: props.fn,
    payload: { 'instanceId.$': INSTANCE_ID_PATH, 'execution.$': '$.execution', 'poll.$': `${resultPath}.poll` },
    resultPath,
    onError,
  });
  return boundedPoll(scope, props.prefix, { first, check: again, resultPath, whenDone: reached });
}

export interface BackupStepProps {
  readonly functions: WorkflowFunctions;
  readonly waits: WaitSettings;
  /** Where the workflow goes once the job is final, the wait is over, or an error was caught. */
  readonly next: sfn.IChainable;
  /** State name prefix (two instances of the step in one machine need two). @default 'Backup' */
  readonly prefix?: string;
}

/**
 * StartBackupJob (idempotent per execution and instance), then the job's end: waited for on AWS Backup's event, or
 * DescribeBackupJob until final (bounded either way).
 */
export function backupStep(scope: Construct, props: BackupStepProps): sfn.IChainable {
  const resultPath = stepPath('backup');
  const onError = { next: props.next, errorPath: errorPath('backup') };
  const payload = {
    'instanceId.$': INSTANCE_ID_PATH,
    'platform.$': '$.instance.platform',
    'backup.$': '$.config.backup',
    'execution.$': '$.execution',
  };
  const prefix = props.prefix ?? 'Backup';
  if (props.waits.onEvents) {
    return waitingTask(scope, `${prefix} job`, {
      fn: props.functions.startBackupJob,
      payload,
      kind: 'backup',
      boundSeconds: props.waits.boundSeconds.backup,
      resultPath,
      onError,
    }).next(props.next);
  }
  const start = lambdaStep(scope, `${prefix}: start job`, { fn: props.functions.startBackupJob, payload, resultPath, onError });
  const describe = lambdaStep(scope, `${prefix}: describe job`, {
    fn: pollingFunction(props.functions.describeBackupJob, 'describeBackupJob'),
    payload: { 'previous.$': resultPath, 'backup.$': '$.config.backup' },
    resultPath,
    onError,
  });
  return boundedPoll(scope, `${prefix} job`, { first: start, check: describe, resultPath, whenDone: props.next });
}

export interface CopyStepProps {
  readonly waits: WaitSettings;
  readonly startCopyJob: lambda.IFunction;
  /** Only when the waits are polled. */
  readonly describeCopyJob?: lambda.IFunction;
  /** Where the workflow goes once the copy is final, the wait is over, or an error was caught. */
  readonly next: sfn.IChainable;
}

/**
 * StartCopyJob of the new recovery point into the copy vault (idempotent per execution and instance), then the
 * copy's end: waited for on AWS Backup's event, or DescribeCopyJob until final (bounded either way). Runs after the
 * instance is back, so a copy never extends downtime.
 */
export function copyStep(scope: Construct, props: CopyStepProps): sfn.IChainable {
  const resultPath = stepPath('copy');
  const onError = { next: props.next, errorPath: errorPath('copy') };
  const payload = {
    'instanceId.$': INSTANCE_ID_PATH,
    'recoveryPointArn.$': `${stepPath('backup')}.recoveryPointArn`,
    'backup.$': '$.config.backup',
    'execution.$': '$.execution',
  };
  if (props.waits.onEvents) {
    return waitingTask(scope, 'Copy job', {
      fn: props.startCopyJob,
      payload,
      kind: 'copy',
      boundSeconds: props.waits.boundSeconds.copy,
      resultPath,
      onError,
    }).next(props.next);
  }
  const start = lambdaStep(scope, 'Copy: start job', { fn: props.startCopyJob, payload, resultPath, onError });
  const describe = lambdaStep(scope, 'Copy: describe job', {
    fn: pollingFunction(props.describeCopyJob, 'describeCopyJob'),
    payload: { 'previous.$': resultPath, 'backup.$': '$.config.backup' },
    resultPath,
    onError,
  });
  return boundedPoll(scope, 'Copy job', { first: start, check: describe, resultPath, whenDone: props.next });
}

/**
 * The post-backup script of a running instance, the chain's and the recovery's: after a start, the agent gets time to
 * reconnect (the after-start bound, which also covers an agent that dropped during the pre-script). Whatever the
 * script's outcome (or when it was not sent), the instance goes on to `next`.
 */
export function postScriptPhase(
  scope: Construct, prefix: string, functions: WorkflowFunctions, waits: WaitSettings, next: sfn.IChainable, attemptsCounted = false,
): sfn.IChainable {
  return scriptPhase(scope, {
    attemptsCounted,
    prefix,
    phase: 'post',
    agentKey: 'agentAfterStart',
    agentPurpose: 'afterStart',
    functions,
    waits,
    onSuccess: next,
    onFailure: next,
    onNotRun: next,
  });
}

/**
 * Gives the instance's lease back, then `next` (the audit entry). A release that fails is noted in the entry
 * (errors.leaseRelease), never a failure: the lease expires by itself (its duration bounds the whole chain).
 */
export function releaseLeaseStep(scope: Construct, id: string, functions: WorkflowFunctions, next: sfn.IChainable): tasks.LambdaInvoke {
  const release = lambdaStep(scope, id, {
    fn: functions.releaseLease,
    payload: { 'instanceId.$': INSTANCE_ID_PATH, 'execution.$': '$.execution' },
    resultPath: sfn.JsonPath.DISCARD,
    onError: { next, errorPath: errorPath('leaseRelease') },
  });
  release.next(next);
  return release;
}

/** The outcome of an instance whose audit entry its chain could not write (the page writes it). */
export const NOT_RECORDED_OUTCOME = { 'instanceId.$': INSTANCE_ID_PATH, 'succeeded': false, 'recorded': false };

/**
 * Writes the instance's audit entry with `fn` (record-instance, or record-recovered with `more` of the recovery) from
 * its run, its instance, the run's config and its steps; its output is the instance's outcome.
 */
export function auditEntryStep(
  scope: Construct, id: string, fn: lambda.IFunction, more: { [key: string]: string }, onError: FailureRoute,
): tasks.LambdaInvoke {
  return lambdaStep(scope, id, {
    fn,
    payload: {
      'execution.$': '$.execution',
      'instance.$': '$.instance',
      'config.$': '$.config',
      'steps.$': '$.steps',
      ...more,
    },
    resultPath: '$.outcome',
    outputPath: '$.outcome',
    onError,
  });
}
