import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { parseExecutionArn, RunCounts, runMetrics, runNotification, runSummary } from './run-summary';
import {
  PAGE_MANIFEST_RESULT, pageResultKey, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_RUN, RUN_DRY_RUN, RUN_EXECUTION_ID,
} from '../../contract/audit-schema';
import { type AuditEntry } from '../../contract/audit-schema';
import { type CaughtError, type RunTally } from '../../contract/instance';
import { type ExecutionContext, type RecordRunEvent, type RecordRunResult } from '../../contract/messages';
import { mergeTallies } from '../../contract/run-tally';
import { isFailedOutcome, OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_SUCCEEDED } from '../../contract/status';
import { chunks, EXCLUDED_SAMPLE_SIZE, pickEntry, tallyOf } from '../../lambda-shared/audit-batch';
import { causeMessage } from '../../lambda-shared/audit-entry';
import { auditEnvironment, expiry } from '../../lambda-shared/audit-item';
import { backoff } from '../../lambda-shared/backoff';
import { rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

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
/** Queries of the run index, while it shows fewer entries than the pages recorded (the index is eventually consistent). */
export const INDEX_ATTEMPTS = 5;
const INDEX_BACKOFF_MS = 200;

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

function truncatedInput(input: unknown): string {
  const text = JSON.stringify(input === undefined ? null : input) ?? 'null';
  if (Buffer.byteLength(text, 'utf8') <= INPUT_BUDGET_BYTES) {
    return text;
  }
  const marker = '...(truncated)';
  return Buffer.from(text, 'utf8').subarray(0, INPUT_BUDGET_BYTES - marker.length - 8).toString('utf8') + marker;
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

/** The run's counts: from the entries when the index shows every entry the pages recorded, else from the tally. */
interface Counts {
  readonly instances: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly skipped: number;
  readonly excluded: number;
  readonly maxStoppedSeconds: number;
  readonly maxFrozenSeconds: number;
}

function countsOf(entries: AuditEntry[], tally: RunTally): Counts {
  if (entries.length < tally.instanceCount) {
    return {
      instances: tally.instanceCount,
      succeeded: tally.succeededCount,
      failed: tally.failedCount,
      skipped: tally.skippedCount,
      excluded: tally.excludedCount,
      maxStoppedSeconds: tally.maxStoppedSeconds,
      maxFrozenSeconds: tally.maxFrozenSeconds ?? 0,
    };
  }
  // An instance skipped because another run held its lease neither succeeded nor failed the run.
  const failed = entries.filter((e) => isFailedOutcome(e.Outcome)).length;
  const skipped = entries.filter((e) => e.Outcome === OUTCOME_SKIPPED).length;
  return {
    instances: entries.length,
    succeeded: entries.length - failed - skipped,
    failed,
    skipped,
    excluded: tally.excludedCount,
    maxStoppedSeconds: Math.max(tally.maxStoppedSeconds, ...entries.map((e) => Number(e.StoppedSeconds) || 0)),
    maxFrozenSeconds: Math.max(tally.maxFrozenSeconds ?? 0, ...entries.map((e) => Number(e.FrozenSeconds) || 0)),
  };
}

function runFailureMessage(event: RecordRunEvent, entries: AuditEntry[], counts: Counts): string {
  const parts: string[] = [];
  if (event.runError) {
    const message = causeMessage(event.runError);
    parts.push(event.runError.Error === 'InvalidInputError'
      ? `invalid input: ${message.replace(/^InvalidInputError: /, '')}`
      : `${event.config ? 'run failed' : 'run failed before any instance was touched'}: ${message}`);
  }
  if (counts.failed > 0) {
    const failed = entries.filter((e) => isFailedOutcome(e.Outcome)).sort((a, b) => a.InstanceId.localeCompare(b.InstanceId));
    const shown = failed.slice(0, 10).map((e) => e.InstanceId);
    const more = counts.failed - shown.length;
    const list = shown.length > 0 ? `: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : ' (see their entries in the table)';
    // Issue 15: a dry run's failed instance is one that is not ready for a real run.
    parts.push(`${counts.failed} of ${counts.instances} instances ${event.config?.dryRun === true ? 'not ready (dry run)' : 'failed'}${list}`);
  }
  return parts.join('; ');
}

function runItem(
  event: RecordRunEvent,
  execution: ExecutionContext,
  entries: AuditEntry[],
  counts: Counts,
  tally: RunTally,
  env: { runIndexName: string; retentionDays: number },
  now: Date,
): Record<string, unknown> {
  const config = event.config;
  const status = event.runError || counts.failed > 0 ? OUTCOME_FAILED : OUTCOME_SUCCEEDED;

  const excluded = tally.excludedSample.map((e) => ({ InstanceId: e.instanceId, State: e.state, Reason: e.reason }));
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
    Run_FailureMessage: runFailureMessage(event, entries, counts),
    InstanceCount: counts.instances,
    SucceededCount: counts.succeeded,
    FailedCount: counts.failed,
    SkippedCount: counts.skipped,
    ExcludedCount: counts.excluded,
    ExcludedInstances: excludedShown,
    ExcludedInstances_Complete: excludedShown.length === counts.excluded,
    DiscoveryPages: tally.pages,
    TagKey: config?.tagKey,
    TagValue: config?.tagValue,
    FilterTagKey: config?.filterTagKey || undefined,
    FilterTagValue: config?.filterTagKey ? config.filterTagValue : undefined,
    StopInstances: config?.stopInstances,
    PreBackupScriptEnabled: config?.preScript.enabled,
    PostBackupScriptEnabled: config?.postScript.enabled,
    Input: truncatedInput(event.input),
    // Issue 15: a dry run's record says so (absent on a real run's record).
    ...(config?.dryRun === true ? { [RUN_DRY_RUN]: true } : {}),
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
  const complete = shown.length === counts.instances;
  item.Workflow_Overall_Status = shown;
  item.Workflow_Overall_Status_Complete = complete;
  item.Instance_Records = complete
    ? note
    : `Workflow_Overall_Status holds ${shown.length} of ${counts.instances} entries (failed first). ${note}`;
  return item;
}

/**
 * Writes the run's audit record. Every instance's entry is already in the table (record-instance in each chain,
 * record-page for the rest); this reads them back through the run index, and the tally of the pages gives the
 * counts to expect.
 */
export const handler = async (received: RecordRunEvent): Promise<RecordRunResult> => {
  log.correlate(correlationOf(received));
  const env = auditEnvironment(true);
  const now = new Date();
  const event = await withPageResults(env.tableName, withoutPlaceholders(received));
  const execution = event.execution;
  const tally = tallyOf(event.tally);

  // 1. Every entry of the run, through the index; it is eventually consistent, so wait a little for the entries
  //    the pages recorded that it does not show yet.
  let found = await queryRunEntries(env.tableName, env.runIndexName, execution.id);
  for (let attempt = 1; found.size < tally.instanceCount && attempt < INDEX_ATTEMPTS; attempt++) {
    await backoff(INDEX_BACKOFF_MS, attempt);
    found = await queryRunEntries(env.tableName, env.runIndexName, execution.id);
  }
  const entries: AuditEntry[] = [];
  for (const item of found.values()) {
    if (item.Outcome) {
      entries.push(pickEntry(item));
    }
  }
  if (entries.length < tally.instanceCount) {
    log.warn('the run index does not show every entry yet', { shown: entries.length, recorded: tally.instanceCount });
  }
  const counts = countsOf(entries, tally);

  // 2. The run item.
  const item = runItem(event, execution, entries, counts, tally, env, now);
  try {
    await dynamo.send(new PutCommand({ TableName: env.tableName, Item: item }));
  } catch (err) {
    rethrowClassified(err, 'PutItem run record');
  }
  const status = item.Run_Status as RecordRunResult['status'];
  const message = item.Run_FailureMessage as string;
  const dryRun = event.config?.dryRun === true;
  const notification = runNotification(execution, status, message, entries, env.tableName);
  if (dryRun) {
    // Issue 15: a dry run's notification says so: its failed instances are instances not ready for a real run.
    const notReady = counts.failed;
    notification.subject = `Dry run ${status}: ${notReady} of ${counts.instances} instances not ready`.slice(0, 100);
    notification.message = `DRY RUN: nothing was frozen, stopped or backed up; a failed instance is not ready for a real run.\n${notification.message}`;
  }
  const summary = runSummary(execution, { status, endTime: item.EndTime as string, excludedCount: counts.excluded, message }, entries);
  const result: RecordRunResult = {
    status,
    instanceCount: counts.instances,
    failedCount: counts.failed,
    skippedCount: counts.skipped,
    message,
    notificationSubject: notification.subject,
    notificationMessage: notification.message,
    // The counts of the whole run, even when the index showed only part of it.
    summary: {
      ...summary,
      instanceCount: counts.instances,
      succeededCount: counts.succeeded,
      failedCount: counts.failed,
      failuresTruncated: summary.failuresTruncated || counts.failed > summary.failures.length,
      ...(dryRun ? { dryRun: true } : {}),
    },
  };
  log.info('run recorded', {
    status,
    instanceCount: counts.instances,
    failedCount: counts.failed,
    skippedCount: counts.skipped,
    pages: tally.pages,
    complete: item.Workflow_Overall_Status_Complete,
  });
  emitMetrics(execution.id, {
    succeeded: counts.succeeded,
    failed: counts.failed,
    excluded: counts.excluded,
    skipped: counts.skipped,
    maxStoppedSeconds: counts.maxStoppedSeconds,
    maxFrozenSeconds: counts.maxFrozenSeconds,
  }, now);
  return result;
};

/** Keys per BatchGetItem call (DynamoDB's limit). */
const BATCH_GET_KEYS = 100;
const BATCH_GET_ATTEMPTS = 5;

/** The result each page wrote when it ended (pageResultKey), by page number (a page that ended early wrote none). */
async function readPageResults(tableName: string, executionId: string, pageCount: number): Promise<Map<number, unknown>> {
  const results = new Map<number, unknown>();
  const pages = Array.from({ length: pageCount }, (_, p) => p);
  for (const chunk of chunks(pages, BATCH_GET_KEYS)) {
    let keys: Array<Record<string, unknown>> = chunk.map((p) => ({ [PARTITION_KEY]: pageResultKey(executionId, p) }));
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > BATCH_GET_ATTEMPTS) {
        throw new Error(`BatchGetItem left ${keys.length} page manifests unread after ${BATCH_GET_ATTEMPTS} attempts`);
      }
      if (attempt > 1) await backoff(INDEX_BACKOFF_MS, attempt - 1);
      let answer;
      try {
        answer = await dynamo.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }));
      } catch (err) {
        rethrowClassified(err, 'BatchGetItem page manifests');
      }
      for (const item of answer.Responses?.[tableName] ?? []) {
        const page = Number(String(item[PARTITION_KEY]).split('#').slice(-2)[0]);
        const raw = item[PAGE_MANIFEST_RESULT];
        if (Number.isInteger(page) && typeof raw === 'string') {
          try {
            results.set(page, JSON.parse(raw));
          } catch {
            log.warn('a page result is not JSON', { page });
          }
        }
      }
      keys = (answer.UnprocessedKeys?.[tableName]?.Keys ?? []) as Array<Record<string, unknown>>;
    }
  }
  return results;
}

/**
 * Pages run at the same time, each recording its own tally beside its manifest: the run's tally is their sum, and the
 * first page error (or a page that ended without its result) is the run's error unless the run already has one.
 */
async function withPageResults(tableName: string, event: RecordRunEvent): Promise<RecordRunEvent> {
  const pageCount = event.pageCount;
  if (typeof pageCount !== 'number' || pageCount <= 0) return event;
  const results = await readPageResults(tableName, event.execution.id, pageCount);
  const tallies = [tallyOf(event.tally)];
  const missing: number[] = [];
  let pageError: CaughtError | undefined;
  for (let p = 0; p < pageCount; p++) {
    const result = results.get(p) as { tally?: unknown; runError?: CaughtError } | undefined;
    if (!result) {
      missing.push(p);
      continue;
    }
    tallies.push(tallyOf(result.tally));
    if (!pageError && result.runError && typeof result.runError.Error === 'string' && result.runError.Error !== '') {
      pageError = result.runError;
    }
  }
  if (missing.length > 0) {
    log.error('pages ended without recording their result', { pages: missing.map((p) => p + 1) });
    pageError ??= {
      Error: 'PageEndedEarly',
      Cause: `page${missing.length > 1 ? 's' : ''} ${missing.map((p) => p + 1).join(', ')} of ${pageCount} ended without recording `
        + 'their result (the page\'s child execution failed or was stopped): their instances\' entries may be missing; see the Map Run "Page" of the execution',
    };
  }
  return { ...event, tally: mergeTallies(tallies, EXCLUDED_SAMPLE_SIZE), runError: event.runError ?? pageError };
}

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
  runMetrics(parseExecutionArn(executionArn).stateMachineName, counts, now, log).publishStoredMetrics();
}
