import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AUDIT_ENTRY_FIELDS, type AuditEntry, causeMessage, toAuditEntry } from '../../runtime/audit-entry';
import {
  auditEnvironment,
  expiry,
  instanceItem,
  instanceItemKey,
  PARTITION_KEY,
  RECORD_TYPE,
  RECORD_TYPE_RUN,
  RUN_EXECUTION_ID,
  unknownInstance,
} from '../../runtime/audit-table';
import type { ExecutionContext, InstanceOutcome, RecordRunEvent, RecordRunResult } from '../../runtime/contracts';
import { rethrowClassified, TransientError } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { metricsRecord, parseExecutionArn, RunCounts, runNotification, runSummary } from '../../runtime/run-summary';
import { isFailedOutcome, OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_SUCCEEDED } from '../../runtime/status';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
const log = createLogger('record-run');

/** Bytes the run item may take (DynamoDB's limit is 400 KB; the rest is margin for the size estimate). */
export const RUN_ITEM_BUDGET_BYTES = 350 * 1024;
/** Bytes of the raw input kept in the run item. */
export const INPUT_BUDGET_BYTES = 10 * 1024;
/** Bytes the list of excluded instances may take in the run item. */
export const EXCLUDED_BUDGET_BYTES = 40 * 1024;
/** Items per BatchWriteItem (DynamoDB's limit). */
export const BATCH_WRITE_SIZE = 25;
/** Keys per BatchGetItem (DynamoDB's limit). */
export const BATCH_GET_SIZE = 100;
/** Attempts of a batch before its unprocessed items count as a (retryable) failure. */
export const BATCH_ATTEMPTS = 6;
const BATCH_BACKOFF_MS = 25;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

function truncatedInput(input: unknown): string {
  const text = JSON.stringify(input === undefined ? null : input) ?? 'null';
  if (Buffer.byteLength(text, 'utf8') <= INPUT_BUDGET_BYTES) {
    return text;
  }
  const marker = '...(truncated)';
  return Buffer.from(text, 'utf8').subarray(0, INPUT_BUDGET_BYTES - marker.length - 8).toString('utf8') + marker;
}

function pickEntry(item: Record<string, unknown>): AuditEntry {
  const entry: Record<string, unknown> = {};
  for (const field of AUDIT_ENTRY_FIELDS) {
    entry[field] = item[field] ?? '';
  }
  return entry as unknown as AuditEntry;
}

/** An entry for an instance whose entry is nowhere to be found: says so rather than dropping the instance. */
function missingEntry(outcome: InstanceOutcome, reason: string): AuditEntry {
  const unknown = 'Unknown';
  return {
    InstanceId: outcome.instanceId,
    InstanceStateAtStart: outcome.instance?.state ?? unknown,
    Platform: outcome.instance?.platform ?? unknown,
    PreBackupScriptStatus: unknown,
    StopEc2InstanceStatus: unknown,
    BackupJobStatus: unknown,
    StartEc2InstanceStatus: unknown,
    PostBackupScriptStatus: unknown,
    FailureMessage: outcome.succeeded || outcome.skipped ? '' : `the instance failed; ${reason}`,
    BackupJobId: '',
    RecoveryPointArn: '',
    PreBackupScriptCommandId: '',
    PostBackupScriptCommandId: '',
    CopyJobStatus: unknown,
    CopyJobId: '',
    CopyRecoveryPointArn: '',
    StoppedSeconds: 0,
    Outcome: outcome.succeeded ? OUTCOME_SUCCEEDED : outcome.skipped ? OUTCOME_SKIPPED : OUTCOME_FAILED,
    Notes: reason,
  };
}

async function batchWrite(tableName: string, items: Array<Record<string, unknown>>): Promise<void> {
  for (const chunk of chunks(items, BATCH_WRITE_SIZE)) {
    let requests: any[] = chunk.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; requests.length > 0; attempt++) {
      if (attempt > BATCH_ATTEMPTS) {
        throw new TransientError(`BatchWriteItem left ${requests.length} audit entries unprocessed after ${BATCH_ATTEMPTS} attempts`);
      }
      if (attempt > 1) {
        await sleep(BATCH_BACKOFF_MS * 2 ** (attempt - 2));
      }
      let output;
      try {
        output = await dynamo.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      } catch (err) {
        rethrowClassified(err, 'BatchWriteItem audit entries');
      }
      requests = output.UnprocessedItems?.[tableName] ?? [];
    }
  }
}

async function queryRunEntries(tableName: string, indexName: string, executionId: string): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  let startKey: Record<string, unknown> | undefined;
  do {
    let page;
    try {
      page = await dynamo.send(new QueryCommand({
        TableName: tableName,
        IndexName: indexName,
        KeyConditionExpression: '#run = :run',
        ExpressionAttributeNames: { '#run': RUN_EXECUTION_ID },
        ExpressionAttributeValues: { ':run': executionId },
        ExclusiveStartKey: startKey,
      }));
    } catch (err) {
      rethrowClassified(err, `Query ${indexName}`);
    }
    for (const item of page.Items ?? []) {
      if (typeof item.InstanceId === 'string') {
        items.set(item.InstanceId, item);
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** Reads instance items the index does not show (yet: indexes are eventually consistent) from the table itself. */
async function getEntries(tableName: string, executionId: string, instanceIds: string[]): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  for (const chunk of chunks(instanceIds, BATCH_GET_SIZE)) {
    let keys: Array<Record<string, unknown>> = chunk.map((id) => ({ [PARTITION_KEY]: instanceItemKey(executionId, id) }));
    for (let attempt = 1; keys.length > 0 && attempt <= BATCH_ATTEMPTS; attempt++) {
      if (attempt > 1) {
        await sleep(BATCH_BACKOFF_MS * 2 ** (attempt - 2));
      }
      let output;
      try {
        output = await dynamo.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
      } catch (err) {
        rethrowClassified(err, 'BatchGetItem audit entries');
      }
      for (const item of output.Responses?.[tableName] ?? []) {
        if (typeof item.InstanceId === 'string') {
          items.set(item.InstanceId, item);
        }
      }
      keys = (output.UnprocessedKeys?.[tableName]?.Keys as Array<Record<string, unknown>> | undefined) ?? [];
    }
  }
  return items;
}

function runFailureMessage(event: RecordRunEvent, entries: AuditEntry[]): string {
  const parts: string[] = [];
  if (event.runError) {
    const message = causeMessage(event.runError);
    parts.push(event.runError.Error === 'InvalidInputError'
      ? `invalid input: ${message.replace(/^InvalidInputError: /, '')}`
      : `${event.config ? 'run failed' : 'run failed before any instance was touched'}: ${message}`);
  }
  const failed = entries.filter((e) => isFailedOutcome(e.Outcome));
  if (failed.length > 0) {
    const shown = failed.slice(0, 10).map((e) => e.InstanceId).join(', ');
    parts.push(`${failed.length} of ${entries.length} instances failed: ${shown}${failed.length > 10 ? ` and ${failed.length - 10} more` : ''}`);
  }
  return parts.join('; ');
}

function runItem(
  event: RecordRunEvent,
  execution: ExecutionContext,
  entries: AuditEntry[],
  env: { runIndexName: string; retentionDays: number },
  now: Date,
): Record<string, unknown> {
  const config = event.config;
  // An instance skipped because another run held its lease neither succeeded nor failed the run.
  const failedCount = entries.filter((e) => isFailedOutcome(e.Outcome)).length;
  const skippedCount = entries.filter((e) => e.Outcome === OUTCOME_SKIPPED).length;
  const status = event.runError || failedCount > 0 ? OUTCOME_FAILED : OUTCOME_SUCCEEDED;

  const excluded = (event.excluded ?? []).map((e) => ({ InstanceId: e.instanceId, State: e.state, Reason: e.reason }));
  const excludedShown: typeof excluded = [];
  let excludedBytes = 0;
  for (const e of excluded) {
    excludedBytes += byteSize(e) + 1;
    if (excludedBytes > EXCLUDED_BUDGET_BYTES) {
      break;
    }
    excludedShown.push(e);
  }

  const item: Record<string, unknown> = {
    [PARTITION_KEY]: execution.id,
    [RECORD_TYPE]: RECORD_TYPE_RUN,
    ExecutionName: execution.name,
    StartTime: execution.startTime,
    EndTime: now.toISOString(),
    Run_Status: status,
    Run_FailureMessage: runFailureMessage(event, entries),
    InstanceCount: entries.length,
    SucceededCount: entries.length - failedCount - skippedCount,
    FailedCount: failedCount,
    SkippedCount: skippedCount,
    ExcludedCount: excluded.length,
    ExcludedInstances: excludedShown,
    ExcludedInstances_Complete: excludedShown.length === excluded.length,
    TagKey: config?.tagKey,
    TagValue: config?.tagValue,
    FilterTagKey: config?.filterTagKey || undefined,
    FilterTagValue: config?.filterTagKey ? config.filterTagValue : undefined,
    StopInstances: config?.stopInstances,
    PreBackupScriptEnabled: config?.preScript.enabled,
    PostBackupScriptEnabled: config?.postScript.enabled,
    Input: truncatedInput(event.input),
    ...expiry(env.retentionDays, now),
  };

  // Failed instances first, then by id; as many as the item's budget holds.
  const ordered = [...entries].sort((a, b) => {
    const fa = isFailedOutcome(a.Outcome) ? 0 : 1;
    const fb = isFailedOutcome(b.Outcome) ? 0 : 1;
    return fa - fb || a.InstanceId.localeCompare(b.InstanceId);
  });
  const note = `Every instance's entry is in this table as an item with RecordType INSTANCE and ${RUN_EXECUTION_ID} = `
    + `${execution.id} (query the index ${env.runIndexName}).`;
  let used = byteSize(item) + byteSize({ Workflow_Overall_Status: [], Workflow_Overall_Status_Complete: false, Instance_Records: note });
  const shown: AuditEntry[] = [];
  for (const entry of ordered) {
    const size = byteSize(entry) + 1;
    if (used + size > RUN_ITEM_BUDGET_BYTES) {
      break;
    }
    used += size;
    shown.push(entry);
  }
  const complete = shown.length === ordered.length;
  item.Workflow_Overall_Status = shown;
  item.Workflow_Overall_Status_Complete = complete;
  item.Instance_Records = complete
    ? note
    : `Workflow_Overall_Status holds ${shown.length} of ${ordered.length} entries (failed first). ${note}`;
  return item;
}

/** Writes the run's audit record (and the entries of instances whose chain could not write its own). */
export const handler = async (received: RecordRunEvent): Promise<RecordRunResult> => {
  const event = withoutPlaceholders(received);
  const env = auditEnvironment(true);
  const now = new Date();
  const execution = event.execution;
  const outcomes = new Map<string, InstanceOutcome>();
  for (const outcome of event.outcomes ?? []) {
    if (outcome && outcome.instanceId) {
      outcomes.set(outcome.instanceId, outcome);
    }
  }

  // 1. Entries the instance chains could not write.
  const written = new Map<string, AuditEntry>();
  const unrecorded = [...outcomes.values()].filter((o) => o.recorded === false);
  if (unrecorded.length > 0) {
    const items = unrecorded.map((o) => {
      const entry = event.config
        ? toAuditEntry(o.instance ?? unknownInstance(o.instanceId), event.config, o.steps)
        : missingEntry(o, 'the run configuration was not available to derive the entry');
      written.set(o.instanceId, entry);
      return instanceItem(execution, entry, env.retentionDays, now);
    });
    await batchWrite(env.tableName, items);
    log.info('instance entries written', { count: items.length });
  }

  // 2. Every entry of the run: the index, then the table itself for what the index does not show yet.
  const found = await queryRunEntries(env.tableName, env.runIndexName, execution.id);
  const missing = [...outcomes.keys()].filter((id) => !written.has(id) && !(found.get(id)?.Outcome));
  if (missing.length > 0) {
    for (const [id, item] of await getEntries(env.tableName, execution.id, missing)) {
      found.set(id, item);
    }
  }
  const entries = new Map<string, AuditEntry>();
  for (const [id, item] of found) {
    if (item.Outcome) {
      entries.set(id, pickEntry(item));
    }
  }
  for (const [id, entry] of written) {
    entries.set(id, entry);
  }
  let lost = 0;
  for (const [id, outcome] of outcomes) {
    if (!entries.has(id)) {
      lost++;
      entries.set(id, missingEntry(outcome, 'its audit entry was not found in the table'));
    }
  }
  if (lost > 0) {
    log.warn('instance entries not found', { count: lost });
  }

  // 3. The run item.
  const item = runItem(event, execution, [...entries.values()], env, now);
  try {
    await dynamo.send(new PutCommand({ TableName: env.tableName, Item: item }));
  } catch (err) {
    rethrowClassified(err, 'PutItem run record');
  }
  const all = [...entries.values()];
  const status = item.Run_Status as RecordRunResult['status'];
  const message = item.Run_FailureMessage as string;
  const notification = runNotification(execution, status, message, all, env.tableName);
  const result: RecordRunResult = {
    status,
    instanceCount: item.InstanceCount as number,
    failedCount: item.FailedCount as number,
    skippedCount: (item.SkippedCount as number) ?? 0,
    message,
    notificationSubject: notification.subject,
    notificationMessage: notification.message,
    summary: runSummary(execution, {
      status,
      endTime: item.EndTime as string,
      excludedCount: (item.ExcludedCount as number) ?? 0,
      message,
    }, all),
  };
  log.info('run recorded', { status, instanceCount: result.instanceCount, failedCount: result.failedCount, skippedCount: result.skippedCount, complete: item.Workflow_Overall_Status_Complete });
  emitMetrics(execution.id, {
    succeeded: (item.SucceededCount as number) ?? 0,
    failed: result.failedCount,
    excluded: (item.ExcludedCount as number) ?? 0,
    skipped: result.skippedCount,
    maxStoppedSeconds: Math.max(0, ...all.map((e) => Number(e.StoppedSeconds) || 0)),
  }, now);
  return result;
};

/**
 * The workflow starts every run with `config: {}` and `runError: {}` so that its paths always exist;
 * those placeholders mean "no configuration yet" and "no run error".
 */
function withoutPlaceholders(event: RecordRunEvent): RecordRunEvent {
  const config = event.config && typeof event.config.tagKey === 'string' ? event.config : undefined;
  const runError = event.runError && typeof event.runError.Error === 'string' && event.runError.Error !== ''
    ? event.runError : undefined;
  return { ...event, config, runError };
}

/**
 * Prints the run's per-instance counts in CloudWatch's embedded metric format, which CloudWatch turns into
 * metrics from the log (no API call, no extra permission). Only when the construct asks for it.
 */
function emitMetrics(executionArn: string, counts: RunCounts, now: Date): void {
  if (!process.env.EMIT_METRICS || (process.env.LOG_LEVEL ?? '').toLowerCase() === 'silent') {
    return;
  }
  console.log(JSON.stringify(metricsRecord(parseExecutionArn(executionArn).stateMachineName, counts, now)));
}
