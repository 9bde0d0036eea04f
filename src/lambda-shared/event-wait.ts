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
  readonly log: Logger;
}

/**
 * Registers the wait, looks once, and resumes the Task when the step is over (done, or its wait expired).
 * Returns the step's result as this look saw it; the Task's result is whatever resumes it. An error (a throttled
 * look, say) fails the invocation for the Task's retry, and that retry counts as the same attempt.
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
    const result = await props.check(pollAtAttempt(attempt, kind, props.maxSeconds));
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
