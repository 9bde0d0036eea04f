/**
 * The handler side of a wait resumed by an event: register the task token, look at the resource once (an event
 * that came before the registration is not missed), and answer the Task at once when the step is already over.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
/* eslint-disable import/no-extraneous-dependencies */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
/* eslint-enable import/no-extraneous-dependencies */
import { isTransient } from './errors';
import type { Logger } from './log';
import { completeTask } from './task-token';
import { clearWait, markLooked, registerWait, waitTableName } from './wait-registry';
import { type ExecutionContext, type PolledResult, type PollState } from '../contract/messages';
import { pollAtAttempt, type WaitKind, withWaitedResource } from '../contract/waits';

/** The AWS clients a waiting handler uses. */
export interface WaitClients {
  readonly doc: DynamoDBDocumentClient;
  readonly sfn: SFNClient;
}

let clients: WaitClients | undefined;

/** The clients of this Lambda environment, created on first use with default configuration. */
export function waitClients(): WaitClients {
  clients ??= {
    doc: DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } }),
    sfn: new SFNClient({}),
  };
  return clients;
}

export interface AwaitCompletionProps<R extends PolledResult> {
  readonly kind: WaitKind;
  readonly taskToken: string;
  readonly execution: ExecutionContext;
  readonly instanceId: string;
  /** The id the resource's state-change events carry (see waits.ts). */
  readonly resourceId: string;
  /** The step's result so far: what resume-wait looks again from. */
  readonly previous: unknown;
  /** The wait's bound in seconds. */
  readonly maxSeconds: number;
  /** One look at the resource, with the wait's progress (expired once the attempts cover the bound). */
  readonly check: (poll: PollState) => Promise<R>;
  /**
   * The step's result while it is still on its way, returned when a fallback look (neither the first nor the one at
   * the bound) fails on a transient error (throttled, say), so that the wait goes on, for the event or the next
   * fallback look, instead of the invocation failing. Give it only when the next look does whatever the refused one
   * would have done (a job's describe call; a power step's look, which asks EC2 again for the change).
   * Without it, such an error fails the invocation for the Task's retry.
   * @default - every error fails the invocation
   */
  readonly stillWaiting?: (poll: PollState) => R;
  /**
   * True when the first look too leaves the wait going on when it fails on a transient error (with `stillWaiting`):
   * - `check` only looks: the step's action was taken before the wait (a job started, a command sent, its id
   *   journaled), so a refused first look loses nothing;
   * - or the first look acts, but the action must happen whatever the rate it meets, and the next look acts again
   *   (the start of an instance this run stopped: the Task's quick retries, about 30 s, are soon spent against
   *   StartInstances' 2 per s when many chains start together, and after them the instance stays stopped).
   * False: the first look's error fails the invocation, for the Task's retry within seconds (a stop).
   * @default false
   */
  readonly deferFirstLook?: boolean;
  readonly log: Logger;
}

/**
 * Registers the wait, looks once, and resumes the Task when the step is over (done, or its wait expired).
 * Returns the step's result as this look saw it; the Task's result is whatever resumes it. An error (a throttled
 * look, say) fails the invocation for the Task's retry, and that retry counts as the same attempt; with
 * `stillWaiting`, a transient error at a fallback look before the bound leaves the wait going on instead.
 */
export async function awaitCompletion<R extends PolledResult>(aws: WaitClients, props: AwaitCompletionProps<R>): Promise<R> {
  const { kind, resourceId, taskToken, log } = props;
  const table = waitTableName();
  const attempt = await registerWait(aws.doc, table, {
    kind,
    resourceId,
    taskToken,
    executionId: props.execution.id,
    instanceId: props.instanceId,
    previous: props.previous,
    maxSeconds: props.maxSeconds,
  }, new Date());
  try {
    const poll = pollAtAttempt(attempt, kind, props.maxSeconds);
    let result: R;
    try {
      result = await props.check(poll);
    } catch (err) {
      // A fallback look (an earlier look of this wait completed, so attempt > 1), or a first look that may defer
      // (`deferFirstLook`), that failed on a transient error: the wait goes on, for the event or the next fallback look.
      // Failing the invocation would spend the Task's
      // retries, and Step Functions counts a retrier's attempts over the whole state, every fallback look included
      // (docs/fidelity/stepfunctions.md): at fleet scale the job waits' looks meet AWS Backup's throttling when the
      // jobs' ends come in batches (docs/design.md "Fleet scale"), and a wait of hours would fail on its 6th refused
      // look. Any other first look still fails the invocation (its retry comes within seconds). The look at the wait's
      // bound always fails it: it ends the wait, and deferring it would carry the wait past its bound.
      if (!props.stillWaiting || (attempt <= 1 && !props.deferFirstLook) || poll.expired || !isTransient(err)) throw err;
      await markLooked(aws.doc, table, kind, resourceId, taskToken, attempt);
      log.warn('fallback look failed on a transient error: still waiting', {
        kind, resourceId, attempt, error: err instanceof Error ? err.message : String(err),
      });
      return props.stillWaiting(poll);
    }
    if (!result.done) {
      await markLooked(aws.doc, table, kind, resourceId, taskToken, attempt);
      log.info('waiting for the state-change event', { kind, resourceId, attempt });
      return result;
    }
    const answered = await completeTask(aws.sfn, taskToken, result, log);
    await clearWait(aws.doc, table, kind, resourceId, taskToken);
    log.info('step over at registration: task answered', { kind, resourceId, attempt, answered });
    return result;
  } catch (err) {
    // The step was started: the error the workflow catches says which resource, so the audit entry can name it.
    const previous = props.previous as { recoveryPointArn?: unknown } | undefined;
    throw withWaitedResource(err, kind, resourceId, typeof previous?.recoveryPointArn === 'string' ? previous.recoveryPointArn : undefined);
  }
}
