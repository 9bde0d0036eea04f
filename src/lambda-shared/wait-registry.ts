/**
 * Where waiting tasks are found: one item per waiting step in the audit table, keyed `WAIT#<kind>#<resource id>`,
 * holding the current task token, the step's result when the wait began (what the next look starts from) and the
 * number of registrations of this execution (each Task timeout adds one).
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError, isConditionFailed, rethrowClassified } from './errors';
import { EXPIRES_AT, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_WAIT, WAIT_ITEM_LIFETIME_SECONDS, waitKey } from '../contract/audit-schema';
import { type WaitKind } from '../contract/waits';

/** What a waiting handler registers. */
export interface WaitRegistration {
  readonly kind: WaitKind;
  readonly resourceId: string;
  readonly taskToken: string;
  /** The run's execution ARN: registrations of another run start counting again. */
  readonly executionId: string;
  readonly instanceId: string;
  /** The step's result when the wait began: resume-wait looks again from it. */
  readonly previous: unknown;
  /** The wait's bound in seconds. */
  readonly maxSeconds: number;
}

/** A registered wait, as resume-wait reads it: the registration and its attempt. */
export interface RegisteredWait extends WaitRegistration {
  readonly attempt: number;
}

/** The table the waits are in (AUDIT_TABLE_NAME). */
export function waitTableName(): string {
  const name = process.env.AUDIT_TABLE_NAME ?? '';
  if (!name) {
    throw new ConfigurationError('the environment variable AUDIT_TABLE_NAME is not set');
  }
  return name;
}

/** The last attempt whose look completed (the wait was then left to its event or its fallback look). */
export const LOOKED_ATTEMPT = 'LookedAttempt';

/**
 * Stores the task token of a wait and returns its attempt: 1 for the first registration, then one more than the
 * last attempt whose look completed (`markLooked`), so that only fallback looks count as time passed. A left-over
 * item of another run (its wait ended without its event) is replaced.
 */
export async function registerWait(doc: DynamoDBDocumentClient, tableName: string, r: WaitRegistration, now: Date): Promise<number> {
  const key = { [PARTITION_KEY]: waitKey(r.kind, r.resourceId) };
  const fields = {
    [RECORD_TYPE]: RECORD_TYPE_WAIT,
    Kind: r.kind,
    ResourceId: r.resourceId,
    TaskToken: r.taskToken,
    ExecutionId: r.executionId,
    InstanceId: r.instanceId,
    Previous: r.previous,
    MaxSeconds: r.maxSeconds,
    RegisteredAt: now.toISOString(),
    [EXPIRES_AT]: Math.floor(now.getTime() / 1000) + WAIT_ITEM_LIFETIME_SECONDS,
  };
  const names: Record<string, string> = { '#pk': PARTITION_KEY, '#attempt': 'Attempt', '#looked': LOOKED_ATTEMPT };
  const values: Record<string, unknown> = { ':zero': 0, ':one': 1, ':exec': r.executionId };
  const sets = Object.entries(fields).map(([name, value], i) => {
    names[`#f${i}`] = name;
    values[`:f${i}`] = value;
    return `#f${i} = :f${i}`;
  });
  try {
    const output = await doc.send(new UpdateCommand({
      TableName: tableName,
      Key: key,
      // One more than the last attempt whose look completed: an invocation that failed before its look (a transient
      // error, retried within seconds) does not count as a fallback interval that passed.
      UpdateExpression: `SET ${sets.join(', ')}, #attempt = if_not_exists(#looked, :zero) + :one`,
      ConditionExpression: 'attribute_not_exists(#pk) OR ExecutionId = :exec',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'UPDATED_NEW',
    }));
    return Number(output.Attributes?.Attempt ?? 1);
  } catch (err) {
    if (!isConditionFailed(err)) {
      rethrowClassified(err, `UpdateItem ${key[PARTITION_KEY]}`);
    }
  }
  try {
    await doc.send(new PutCommand({ TableName: tableName, Item: { ...key, ...fields, Attempt: 1 } }));
  } catch (err) {
    rethrowClassified(err, `PutItem ${key[PARTITION_KEY]}`);
  }
  return 1;
}

/** Records that the look of `attempt` completed without the step being over: the next registration counts one more. */
export async function markLooked(
  doc: DynamoDBDocumentClient, tableName: string, kind: WaitKind, resourceId: string, taskToken: string, attempt: number,
): Promise<void> {
  const key = waitKey(kind, resourceId);
  try {
    await doc.send(new UpdateCommand({
      TableName: tableName,
      Key: { [PARTITION_KEY]: key },
      UpdateExpression: 'SET #looked = :attempt',
      ConditionExpression: 'TaskToken = :token',
      ExpressionAttributeNames: { '#looked': LOOKED_ATTEMPT },
      ExpressionAttributeValues: { ':attempt': attempt, ':token': taskToken },
    }));
  } catch (err) {
    // A newer registration (or the answer) got there first: nothing to record.
    if (!isConditionFailed(err)) {
      rethrowClassified(err, `UpdateItem ${key}`);
    }
  }
}

/** The wait registered for a resource, if any. */
export async function findWait(
  doc: DynamoDBDocumentClient, tableName: string, kind: WaitKind, resourceId: string,
): Promise<RegisteredWait | undefined> {
  const key = waitKey(kind, resourceId);
  let output;
  try {
    output = await doc.send(new GetCommand({ TableName: tableName, Key: { [PARTITION_KEY]: key }, ConsistentRead: true }));
  } catch (err) {
    rethrowClassified(err, `GetItem ${key}`);
  }
  const item = output.Item;
  if (!item || typeof item.TaskToken !== 'string') {
    return undefined;
  }
  return {
    kind,
    resourceId,
    taskToken: item.TaskToken,
    executionId: String(item.ExecutionId ?? ''),
    instanceId: String(item.InstanceId ?? ''),
    previous: item.Previous,
    maxSeconds: Number(item.MaxSeconds ?? 0),
    attempt: Number(item.Attempt ?? 1),
  };
}

/** Removes a wait once its task was answered; a newer registration (another token) is left alone. */
export async function clearWait(
  doc: DynamoDBDocumentClient, tableName: string, kind: WaitKind, resourceId: string, taskToken: string,
): Promise<void> {
  const key = waitKey(kind, resourceId);
  try {
    await doc.send(new DeleteCommand({
      TableName: tableName,
      Key: { [PARTITION_KEY]: key },
      ConditionExpression: 'TaskToken = :token',
      ExpressionAttributeValues: { ':token': taskToken },
    }));
  } catch (err) {
    if (!isConditionFailed(err)) {
      rethrowClassified(err, `DeleteItem ${key}`);
    }
  }
}
