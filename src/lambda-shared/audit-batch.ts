/**
 * Batch reads and writes of per-instance audit items, shared by the fleet-level handlers (record-page, record-run),
 * and the run's tally: what the pages recorded, in counts and bounded samples.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { BatchGetCommand, BatchWriteCommand, type BatchWriteCommandInput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { backoff } from './backoff';
import { rethrowClassified, TransientError } from './errors';
import { instanceItemKey, PARTITION_KEY, UNRECORDED_INSTANCE, UNRECORDED_REASON, UNRECORDED_STEPS } from '../contract/audit-schema';
import { AUDIT_ENTRY_FIELDS, type AuditEntry } from '../contract/audit-schema';
import { type DiscoveredInstance, type InstanceSteps, type RunTally } from '../contract/instance';
import { emptyTally } from '../contract/run-tally';
import { OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_SUCCEEDED } from '../contract/status';

/** Items per BatchWriteItem (DynamoDB's limit). */
export const BATCH_WRITE_SIZE = 25;
/** Keys per BatchGetItem (DynamoDB's limit). */
export const BATCH_GET_SIZE = 100;
/** Attempts of a batch before its unprocessed items count as a (retryable) failure. */
export const BATCH_ATTEMPTS = 6;
const BATCH_BACKOFF_MS = 25;
/** Excluded instances the tally keeps (a sample: the run item shows them, the count covers the rest). */
export const EXCLUDED_SAMPLE_SIZE = 100;

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}


/** The tally in an event, or an empty one when absent or malformed. */
export function tallyOf(value: unknown): RunTally {
  const t = value as Partial<RunTally> | undefined;
  if (!t || typeof t.pages !== 'number' || typeof t.instanceCount !== 'number') {
    return emptyTally();
  }
  return { ...emptyTally(), ...t, excludedSample: Array.isArray(t.excludedSample) ? t.excludedSample : [] };
}

/** Issue 15: the entry fields only a dry run's entries carry. */
const DRY_RUN_ONLY_FIELDS: ReadonlyArray<keyof AuditEntry> = ['PreflightVerdict', 'PreflightChecks'];

/** The entry fields of an instance item. */
export function pickEntry(item: Record<string, unknown>): AuditEntry {
  const entry: Record<string, unknown> = {};
  for (const field of AUDIT_ENTRY_FIELDS) {
    if (item[field] === undefined && DRY_RUN_ONLY_FIELDS.includes(field)) {
      // Issue 15: only a dry run's entries have them; a real run's entries stay as they were.
      continue;
    }
    entry[field] = item[field] ?? '';
  }
  return entry as unknown as AuditEntry;
}

/** The raw results an unrecorded chain left in its instance item. */
export interface UnrecordedResults {
  readonly steps: InstanceSteps;
  readonly instance?: DiscoveredInstance;
  readonly reason: string;
}

/** The raw results in an instance item (see UNRECORDED_STEPS), or undefined when it holds none that parse. */
export function unrecordedResults(item: Record<string, unknown>): UnrecordedResults | undefined {
  const parse = (value: unknown): Record<string, unknown> | undefined => {
    if (typeof value !== 'string') return undefined;
    try {
      const parsed: unknown = JSON.parse(value);
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
    } catch {
      return undefined;
    }
  };
  const steps = parse(item[UNRECORDED_STEPS]);
  if (!steps) return undefined;
  const instance = parse(item[UNRECORDED_INSTANCE]);
  return {
    steps: steps as unknown as InstanceSteps,
    instance: typeof instance?.instanceId === 'string' ? instance as unknown as DiscoveredInstance : undefined,
    reason: typeof item[UNRECORDED_REASON] === 'string' ? item[UNRECORDED_REASON] as string : '',
  };
}

/** What is known of an instance whose entry is nowhere to be found. */
export interface MissingInstance {
  readonly instanceId: string;
  readonly instance?: DiscoveredInstance;
  /** What the instance's chain reported, if anything. */
  readonly outcome: typeof OUTCOME_SUCCEEDED | typeof OUTCOME_FAILED | typeof OUTCOME_SKIPPED;
}

/** An entry for an instance whose entry is nowhere to be found: says so rather than dropping the instance. */
export function missingEntry(missing: MissingInstance, reason: string): AuditEntry {
  const unknown = 'Unknown';
  return {
    InstanceId: missing.instanceId,
    InstanceStateAtStart: missing.instance?.state ?? unknown,
    Platform: missing.instance?.platform ?? unknown,
    PreBackupScriptStatus: unknown,
    StopEc2InstanceStatus: unknown,
    BackupJobStatus: unknown,
    StartEc2InstanceStatus: unknown,
    PostBackupScriptStatus: unknown,
    FailureMessage: missing.outcome === OUTCOME_FAILED ? `the instance failed; ${reason}` : '',
    BackupJobId: '',
    RecoveryPointArn: '',
    PreBackupScriptCommandId: '',
    PostBackupScriptCommandId: '',
    CopyJobStatus: unknown,
    CopyJobId: '',
    CopyRecoveryPointArn: '',
    StoppedSeconds: 0,
    Outcome: missing.outcome,
    Notes: reason,
    FrozenSeconds: 0,
    ReleasedAt: '',
    ReleaseReason: '',
    Consistency: unknown,
    ConsistencyReason: 'the instance\'s entry was lost: nothing is known of its backup',
    PreBackupScriptOutput: '',
    PostBackupScriptOutput: '',
    // Issue 15, the safety thaw (work/thaw).
    SafetyThawFired: '',
    // Issue 15: not known.
    PreBackupScriptAttempts: 0,
    PostBackupScriptAttempts: 0,
  };
}

/**
 * Sends `pending` to DynamoDB (`action`: BatchWriteItem or BatchGetItem) until nothing is left: `send` returns what
 * DynamoDB left unprocessed. At most BATCH_ATTEMPTS sends, with exponential backoff between them; TransientError when
 * some stay unprocessed (the caller's retry takes over).
 */
async function untilProcessed<T>(action: string, pending: T[], send: (batch: T[]) => Promise<T[]>): Promise<void> {
  for (let attempt = 1; pending.length > 0; attempt++) {
    if (attempt > BATCH_ATTEMPTS) {
      throw new TransientError(`${action} left ${pending.length} audit entries unprocessed after ${BATCH_ATTEMPTS} attempts`);
    }
    if (attempt > 1) {
      await backoff(BATCH_BACKOFF_MS, attempt - 1);
    }
    try {
      pending = await send(pending);
    } catch (err) {
      rethrowClassified(err, `${action} audit entries`);
    }
  }
}

/** One request of a BatchWriteItem. */
type WriteRequest = NonNullable<BatchWriteCommandInput['RequestItems']>[string][number];

/** BatchWriteItem in chunks of 25, retrying unprocessed items with backoff; TransientError when they stay. */
export async function batchWrite(dynamo: DynamoDBDocumentClient, tableName: string, items: Array<Record<string, unknown>>): Promise<void> {
  for (const chunk of chunks(items, BATCH_WRITE_SIZE)) {
    const requests: WriteRequest[] = chunk.map((Item) => ({ PutRequest: { Item } }));
    await untilProcessed('BatchWriteItem', requests, async (batch) => {
      const output = await dynamo.send(new BatchWriteCommand({ RequestItems: { [tableName]: batch } }));
      return output.UnprocessedItems?.[tableName] ?? [];
    });
  }
}

/**
 * The instance items of an execution, read from the table itself (consistent reads) in chunks of 100, retrying
 * unprocessed keys with backoff; TransientError when keys stay unprocessed (a missing item must mean missing).
 */
export async function getInstanceItems(
  dynamo: DynamoDBDocumentClient, tableName: string, executionId: string, instanceIds: string[],
): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  for (const chunk of chunks(instanceIds, BATCH_GET_SIZE)) {
    const keys: Array<Record<string, unknown>> = chunk.map((id) => ({ [PARTITION_KEY]: instanceItemKey(executionId, id) }));
    await untilProcessed('BatchGetItem', keys, async (batch) => {
      const output = await dynamo.send(new BatchGetCommand({ RequestItems: { [tableName]: { Keys: batch, ConsistentRead: true } } }));
      for (const item of output.Responses?.[tableName] ?? []) {
        if (typeof item.InstanceId === 'string') {
          items.set(item.InstanceId, item);
        }
      }
      return (output.UnprocessedKeys?.[tableName]?.Keys as Array<Record<string, unknown>> | undefined) ?? [];
    });
  }
  return items;
}
