import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { FailureRoute, retryWithBackoff, TRANSIENT_ERRORS } from './lambda-step';
import { backupPolicy, INSTANCE_POWER_POLICY, scriptPolicy } from '../contract/poll';
import { type ConstructSettings } from '../contract/settings';
import { FALLBACK_SECONDS, fallbackRetries, type WaitKind } from '../contract/waits';
import { PropsCheck } from '../validation/errors';

/** How the instance chain waits for scripts, stops, starts and jobs. */
export interface WaitSettings {
  /**
   * True: each wait is one Task resumed by the resource's state-change event (src/contract/waits.ts). False: each wait
   * is a Wait → check → Choice loop with capped backoff (src/workflow/bounded-poll.ts).
   */
  readonly onEvents: boolean;
  /** The bound of each kind of wait, in seconds (the longest it may last). */
  readonly boundSeconds: Readonly<Record<WaitKind, number>>;
}

export interface WaitingTaskProps {
  readonly fn: lambda.IFunction;
  /** The handler's event; `taskToken` is added. Must hold `instanceId`. */
  readonly payload: { [key: string]: unknown };
  readonly kind: WaitKind;
  readonly boundSeconds: number;
  readonly resultPath: string;
  readonly onError: FailureRoute;
}

/**
 * A Task that starts a step and waits, without polling, until the step's result comes back with the task token
 * (from the handler itself, or from resume-wait on the resource's state-change event). After the kind's fallback
 * interval without an answer (a lost event) it times out and its Retry calls the handler again, which looks at the
 * resource itself and ends the wait at its bound; transient errors are retried with backoff, the rest caught.
 */
export function waitingTask(scope: Construct, id: string, props: WaitingTaskProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, id, {
    lambdaFunction: props.fn,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ ...props.payload, taskToken: sfn.JsonPath.taskToken }),
    resultPath: props.resultPath,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(FALLBACK_SECONDS[props.kind])),
    retryOnServiceExceptions: false,
  });
  // First: a timeout is a fallback look, not a failure (bounded: the handler ends the wait at its bound).
  task.addRetry({
    errors: [sfn.Errors.TIMEOUT],
    interval: Duration.seconds(1),
    backoffRate: 1,
    maxAttempts: fallbackRetries(props.kind, { maxSeconds: props.boundSeconds }),
  });
  retryWithBackoff(task, TRANSIENT_ERRORS.filter((e) => e !== sfn.Errors.TIMEOUT), Duration.seconds(60));
  task.addCatch(props.onError.next, { errors: [sfn.Errors.ALL], resultPath: props.onError.errorPath });
  return task;
}

/**
 * The bound of each kind of wait for the construct's settings: a script's is its timeout plus a grace (the input can
 * only shorten the timeout), a backup's and a copy's the job's start and complete windows plus a margin.
 */
export function waitBounds(settings: Pick<ConstructSettings, 'preScript' | 'postScript' | 'startWindowMinutes' | 'completeWindowMinutes'>): Record<WaitKind, number> {
  const scriptTimeout = Math.max(0, ...[settings.preScript, settings.postScript].map((s) => s?.timeoutSeconds ?? 0));
  const job = backupPolicy(settings).maxSeconds;
  return {
    script: scriptPolicy(scriptTimeout).maxSeconds,
    stop: INSTANCE_POWER_POLICY.maxSeconds,
    start: INSTANCE_POWER_POLICY.maxSeconds,
    backup: job,
    copy: job,
  };
}

/** Context key choosing how the chain waits: `events` (the default) or `polling`. */
export const WAITS_CONTEXT_KEY = 'cdk-pre-post-script-backup:waits';
/**
 * Context key with fixed poll intervals for the polling waits, as JSON (`{"script":1,"backup":10,"power":1,"agent":1}`):
 * the benchmark's baseline, which polls the way the original sample did.
 */
export const FIXED_POLL_CONTEXT_KEY = 'cdk-pre-post-script-backup:fixedPollSeconds';

/** Whether the chain waits on events, from the context (validated). */
export function waitsOnEvents(scope: Construct): boolean {
  const value = scope.node.tryGetContext(WAITS_CONTEXT_KEY) ?? 'events';
  if (value !== 'events' && value !== 'polling') {
    new PropsCheck(scope, 'PrePostScriptBackup').fail(WAITS_CONTEXT_KEY, `the context value ${WAITS_CONTEXT_KEY} must be 'events' or 'polling', got ${JSON.stringify(value)}.`);
  }
  return value === 'events';
}

/** The fixed poll intervals from the context, as the handlers' FIXED_POLL_SECONDS, if any. */
export function fixedPollSecondsFromContext(scope: Construct): string | undefined {
  const value = scope.node.tryGetContext(FIXED_POLL_CONTEXT_KEY);
  if (value === undefined) {
    return undefined;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
