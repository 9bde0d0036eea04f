/**
 * The instance journal: what this run has done, or is about to do, to one instance, written durably BEFORE it is
 * done and completed with the resource's id the moment AWS answers. One item per execution and instance, keyed
 * `JOURNAL#<execution ARN>#<instance id>`, in the audit table.
 *
 * It serves two purposes (docs/workflow.md, "Exactly once" and "Recovering a chain that died"):
 * - Exactly once. A handler that starts something AWS does not deduplicate for ever (a script command, a backup job,
 *   a copy job) records its intent first, then the id AWS answered. A retried invocation finds the id and only looks;
 *   one that finds an intent without an id knows the earlier answer was lost, and recovers the id (or refuses to act
 *   twice) instead of starting a second one.
 * - Recovery. When an instance's chain dies where no Catch sees it, the fleet level reads the journal to learn what
 *   the instance still needs (started again, its post-script run) and what to write in its audit entry.
 *
 * Only the handlers that act on instances write it (their roles may touch `JOURNAL#*` keys only), and only the
 * recovery reads it for a whole page.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionFailed, rethrowClassified } from './errors';
import { EXPIRES_AT, INSTANCE_ID, intentAttribute, JOURNAL_ACTIONS, JOURNAL_ITEM_LIFETIME_SECONDS, type JournalAction, type JournalEntryName, journalKey, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_JOURNAL, resourceAttribute } from '../contract/audit-schema';


/** Which run and instance a journal write is about. */
export interface JournalTarget {
  readonly tableName: string;
  readonly executionId: string;
  readonly instanceId: string;
}

/** One action as the journal holds it. */
export interface JournalRecord {
  /** When the action was first about to be done (ISO-8601). */
  readonly intentAt: string;
  /** The id AWS answered, once recorded. */
  readonly resourceId?: string;
}

/** What `beginAction` found: whether an earlier invocation already got this far. */
export interface BeginResult {
  /** True when an earlier invocation had recorded the intent already (its answer, if any, may have been lost). */
  readonly repeated: boolean;
  /** When the action was first about to be done (this invocation's time when `repeated` is false). */
  readonly intentAt: string;
  /** The id an earlier invocation recorded, if any: the action is done, only look at it. */
  readonly resourceId?: string;
}

/** The whole journal of one instance in one run: the actions recorded so far. */
export interface InstanceJournal {
  readonly executionId: string;
  readonly instanceId: string;
  readonly actions: Partial<Record<JournalAction, JournalRecord>>;
}

/**
 * Records that `action` is about to be done (only the first time: the earliest intent stays) and returns what an
 * earlier invocation recorded. Call it before the AWS call that acts; a failure here means nothing was done.
 */
export async function beginAction(doc: DynamoDBDocumentClient, target: JournalTarget, action: JournalEntryName, now: Date): Promise<BeginResult> {
  const key = journalKey(target.executionId, target.instanceId);
  let output;
  try {
    output = await doc.send(new UpdateCommand({
      TableName: target.tableName,
      Key: { [PARTITION_KEY]: key },
      UpdateExpression: 'SET #intent = if_not_exists(#intent, :now), #type = :type, #exec = :exec, #instance = :instance, #expires = :expires',
      ExpressionAttributeNames: {
        '#intent': intentAttribute(action),
        '#type': RECORD_TYPE,
        '#exec': 'ExecutionId',
        '#instance': INSTANCE_ID,
        '#expires': EXPIRES_AT,
      },
      ExpressionAttributeValues: {
        ':now': now.toISOString(),
        ':type': RECORD_TYPE_JOURNAL,
        ':exec': target.executionId,
        ':instance': target.instanceId,
        ':expires': Math.floor(now.getTime() / 1000) + JOURNAL_ITEM_LIFETIME_SECONDS,
      },
      ReturnValues: 'ALL_OLD',
    }));
  } catch (err) {
    rethrowClassified(err, `UpdateItem ${key}`);
  }
  const old = output.Attributes ?? {};
  const earlier = old[intentAttribute(action)];
  const resourceId = old[resourceAttribute(action)];
  return {
    repeated: typeof earlier === 'string',
    intentAt: typeof earlier === 'string' ? earlier : now.toISOString(),
    ...(typeof resourceId === 'string' && resourceId ? { resourceId } : {}),
  };
}

/**
 * Records the id AWS answered for `action` (the command id, the job id). A second, different id for the same action
 * is refused (`JournalConflictError`): one run starts one of each per instance.
 */
export async function recordResource(
  doc: DynamoDBDocumentClient, target: JournalTarget, action: JournalEntryName, resourceId: string,
): Promise<void> {
  const key = journalKey(target.executionId, target.instanceId);
  try {
    await doc.send(new UpdateCommand({
      TableName: target.tableName,
      Key: { [PARTITION_KEY]: key },
      UpdateExpression: 'SET #resource = :id',
      ConditionExpression: 'attribute_exists(#intent) AND (attribute_not_exists(#resource) OR #resource = :id)',
      ExpressionAttributeNames: { '#resource': resourceAttribute(action), '#intent': intentAttribute(action) },
      ExpressionAttributeValues: { ':id': resourceId },
    }));
  } catch (err) {
    if (isConditionFailed(err)) {
      throw new JournalConflictError(`${key}: ${action} has no recorded intent, or another id than ${resourceId} is recorded`);
    }
    rethrowClassified(err, `UpdateItem ${key}`);
  }
}

/** Reads one instance's journal (strongly consistent); an instance this run never acted on has an empty one. */
export async function readJournal(doc: DynamoDBDocumentClient, target: JournalTarget): Promise<InstanceJournal> {
  const key = journalKey(target.executionId, target.instanceId);
  let output;
  try {
    output = await doc.send(new GetCommand({ TableName: target.tableName, Key: { [PARTITION_KEY]: key }, ConsistentRead: true }));
  } catch (err) {
    rethrowClassified(err, `GetItem ${key}`);
  }
  return journalFromItem(target.executionId, target.instanceId, output.Item ?? {});
}

/** The journal held by an item (as GetItem or BatchGetItem return it). */
export function journalFromItem(executionId: string, instanceId: string, item: Record<string, unknown>): InstanceJournal {
  const actions: Partial<Record<JournalAction, JournalRecord>> = {};
  for (const action of JOURNAL_ACTIONS) {
    const intentAt = item[intentAttribute(action)];
    if (typeof intentAt !== 'string') {
      continue;
    }
    const resourceId = item[resourceAttribute(action)];
    actions[action] = { intentAt, ...(typeof resourceId === 'string' && resourceId ? { resourceId } : {}) };
  }
  return { executionId, instanceId, actions };
}

/** A second, different resource id for an action of the journal: a bug or a race, never retried. */
export class JournalConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalConflict';
  }
}

/**
 * Forgets the intent of `action` recorded at `intentAt` when no resource id was recorded for it: the AWS call that
 * was to act was refused for certain (a 4xx answer), so nothing was done and a later attempt may act. A no-op when
 * another intent or an id is recorded by then.
 */
export async function abandonAction(doc: DynamoDBDocumentClient, target: JournalTarget, action: JournalEntryName, intentAt: string): Promise<void> {
  const key = journalKey(target.executionId, target.instanceId);
  try {
    await doc.send(new UpdateCommand({
      TableName: target.tableName,
      Key: { [PARTITION_KEY]: key },
      UpdateExpression: 'REMOVE #intent',
      ConditionExpression: '#intent = :at AND attribute_not_exists(#resource)',
      ExpressionAttributeNames: { '#intent': intentAttribute(action), '#resource': resourceAttribute(action) },
      ExpressionAttributeValues: { ':at': intentAt },
    }));
  } catch (err) {
    if (isConditionFailed(err)) {
      return;
    }
    rethrowClassified(err, `UpdateItem ${key}`);
  }
}
