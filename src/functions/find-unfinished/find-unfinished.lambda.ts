import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { EXPIRES_AT, PAGE_MANIFEST_ITEMS, pageManifestKey, PARTITION_KEY, JOURNAL_ITEM_LIFETIME_SECONDS } from '../../contract/audit-schema';
import { type CaughtError, type DiscoveredInstance, type FailedChildEntry, type InstanceOutcome, type UnfinishedInstance } from '../../contract/instance';
import { type FindUnfinishedEvent, type FindUnfinishedResult } from '../../contract/messages';
import { getInstanceItems } from '../../lambda-shared/audit-batch';
import { auditEnvironment } from '../../lambda-shared/audit-item';
import { rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
const log = createLogger('find-unfinished');

/** Most characters of a child's Cause carried to its recovery (the rest is in the child's own history). */
export const CAUSE_EXCERPT_LENGTH = 300;

function isOutcome(item: unknown): item is InstanceOutcome {
  return typeof item === 'object' && item !== null && typeof (item as InstanceOutcome).recorded === 'boolean'
    && typeof (item as InstanceOutcome).instanceId === 'string';
}

function isDiscovered(item: unknown): item is DiscoveredInstance {
  return typeof item === 'object' && item !== null && typeof (item as DiscoveredInstance).instanceId === 'string' && !isOutcome(item);
}

/** A failed child's entry: its instance (from its input) and its error. */
function failedChild(item: unknown): { instance: DiscoveredInstance; error: CaughtError } | undefined {
  const entry = item as FailedChildEntry;
  if (typeof item !== 'object' || item === null || typeof entry.Status !== 'string' || entry.Status === 'SUCCEEDED') {
    return undefined;
  }
  let input: { instance?: DiscoveredInstance } | undefined;
  try {
    input = JSON.parse(entry.Input ?? '');
  } catch {
    return undefined;
  }
  if (typeof input?.instance?.instanceId !== 'string') {
    return undefined;
  }
  return {
    instance: input.instance,
    error: { Error: entry.Error || `child execution ${entry.Status}`, Cause: (entry.Cause ?? '').slice(0, CAUSE_EXCERPT_LENGTH) },
  };
}

/** The page's discovered instances, from its manifest; undefined when there is none. */
async function readManifest(tableName: string, executionId: string, page: number): Promise<DiscoveredInstance[] | undefined> {
  const key = pageManifestKey(executionId, page);
  let output;
  try {
    output = await dynamo.send(new GetCommand({ TableName: tableName, Key: { [PARTITION_KEY]: key }, ConsistentRead: true }));
  } catch (err) {
    rethrowClassified(err, `GetItem ${key}`);
  }
  const raw = output.Item?.[PAGE_MANIFEST_ITEMS];
  if (typeof raw !== 'string') {
    return undefined;
  }
  const parsed: unknown = JSON.parse(raw);
  return Array.isArray(parsed) ? parsed.filter(isDiscovered) : undefined;
}

/**
 * After a page's Map (succeeded, or failed as a whole and caught): every instance of the page whose chain ended without
 * its audit entry (no outcome in the Map's results, no item in the table) is to be recovered. The page's instances come
 * from the manifest the workflow wrote before the Map, whatever the Map returned. Returns the page for record-page (one
 * small item per instance) and the instances to recover (their error when the Map's results tell it).
 */
export const handler = async (event: FindUnfinishedEvent): Promise<FindUnfinishedResult> => {
  log.correlate(correlationOf(event));
  const env = auditEnvironment(false);
  const { execution } = event;
  const items = event.items ?? [];
  const outcomes = new Map<string, InstanceOutcome>();
  const childErrors = new Map<string, CaughtError>();
  const fromItems: DiscoveredInstance[] = [];
  for (const item of items) {
    if (isOutcome(item)) {
      outcomes.set(item.instanceId, item);
    } else if (isDiscovered(item)) {
      fromItems.push(item);
    } else {
      const failed = failedChild(item);
      if (failed) {
        childErrors.set(failed.instance.instanceId, failed.error);
        fromItems.push(failed.instance);
      }
    }
  }

  const manifest = await readManifest(env.tableName, execution.id, event.pageNumber);
  if (!manifest) {
    log.warn('no page manifest: the page is what the Map returned', { page: event.pageNumber });
  }
  const instances = manifest ?? fromItems;
  const withoutOutcome = instances.filter((i) => !outcomes.has(i.instanceId)).map((i) => i.instanceId);
  const inTable = withoutOutcome.length > 0 ? await getInstanceItems(dynamo, env.tableName, execution.id, withoutOutcome) : new Map();

  const unfinished: UnfinishedInstance[] = [];
  const pageItems: FindUnfinishedResult['items'] = [];
  for (const instance of instances) {
    const outcome = outcomes.get(instance.instanceId);
    if (outcome) {
      pageItems.push(outcome);
    } else if (inTable.has(instance.instanceId)) {
      pageItems.push(instance);
    } else {
      // Its entry will be in the table once recovered: record-page reads it by id.
      pageItems.push({ instanceId: instance.instanceId });
      unfinished.push({ instance, error: childErrors.get(instance.instanceId) ?? {} });
    }
  }

  if (manifest) {
    // The manifest is needed no more once read; DynamoDB's TTL deletes it (when TTL is on, as for the journal).
    try {
      await dynamo.send(new UpdateCommand({
        TableName: env.tableName,
        Key: { [PARTITION_KEY]: pageManifestKey(execution.id, event.pageNumber) },
        UpdateExpression: 'SET #expires = :expires',
        ExpressionAttributeNames: { '#expires': EXPIRES_AT },
        ExpressionAttributeValues: { ':expires': Math.floor(Date.now() / 1000) + JOURNAL_ITEM_LIFETIME_SECONDS },
      }));
    } catch (err) {
      log.warn('could not set the manifest\'s expiry', { error: err });
    }
  }
  log.info('page checked for chains that died', { page: event.pageNumber, instances: instances.length, unfinished: unfinished.length });
  return {
    items: pageItems,
    excluded: event.excluded ?? [],
    excludedCount: event.excludedCount ?? 0,
    nextToken: event.nextToken ?? '',
    unfinished,
    unfinishedCount: unfinished.length,
  };
};
