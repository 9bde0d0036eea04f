/** The audit table: its key attributes, its items, and the environment of the handlers that write them. */
import type { AuditEntry } from './audit-entry';
import { ConfigurationError } from './errors';
import type { DiscoveredInstance, ExecutionContext } from '../contract/shapes';

/** Partition key of the table. */
export const PARTITION_KEY = 'SM_Execution_ID';
/** Kind of item: `RUN` (one per execution) or `INSTANCE` (one per instance of an execution). */
export const RECORD_TYPE = 'RecordType';
/** On instance items only: the execution ARN, partition key of the run index (sort key `InstanceId`). */
export const RUN_EXECUTION_ID = 'Run_Execution_ID';
/** Epoch seconds after which DynamoDB TTL deletes the item (only when a retention is configured). */
export const EXPIRES_AT = 'ExpiresAt';

export const RECORD_TYPE_RUN = 'RUN';
export const RECORD_TYPE_INSTANCE = 'INSTANCE';

export interface AuditEnvironment {
  readonly tableName: string;
  readonly runIndexName: string;
  readonly retentionDays: number;
}

/** Reads AUDIT_TABLE_NAME, AUDIT_RUN_INDEX_NAME and AUDIT_RETENTION_DAYS. */
export function auditEnvironment(needIndex: boolean): AuditEnvironment {
  const tableName = process.env.AUDIT_TABLE_NAME ?? '';
  if (!tableName) {
    throw new ConfigurationError('the environment variable AUDIT_TABLE_NAME is not set');
  }
  const runIndexName = process.env.AUDIT_RUN_INDEX_NAME ?? '';
  if (needIndex && !runIndexName) {
    throw new ConfigurationError('the environment variable AUDIT_RUN_INDEX_NAME is not set');
  }
  const rawRetention = process.env.AUDIT_RETENTION_DAYS ?? '';
  const retentionDays = rawRetention.trim() === '' ? 0 : Number(rawRetention);
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new ConfigurationError(`AUDIT_RETENTION_DAYS must be a number of days (0 keeps items forever), got ${JSON.stringify(rawRetention)}`);
  }
  return { tableName, runIndexName, retentionDays };
}

/** `{ ExpiresAt }` when a retention is configured, else nothing. */
export function expiry(retentionDays: number, now: Date): Record<string, number> {
  if (retentionDays <= 0) {
    return {};
  }
  return { [EXPIRES_AT]: Math.floor(now.getTime() / 1000) + Math.round(retentionDays * 86400) };
}

/** Between the execution ARN and the instance id in an instance item's key. */
export const INSTANCE_KEY_SEPARATOR = '#';

/** The partition key of an instance item: `<execution ARN>#<instance id>`. */
export function instanceItemKey(executionId: string, instanceId: string): string {
  return `${executionId}${INSTANCE_KEY_SEPARATOR}${instanceId}`;
}

/**
 * An instance item whose chain could not have its entry written by record-instance holds, instead of the entry, the
 * chain's raw results (written by the workflow itself, without Lambda): record-page turns them into the entry and
 * replaces the item. The instance's Map result stays small either way.
 */
export const UNRECORDED_STEPS = 'Unrecorded_Steps_Json';
/** The discovered instance (JSON) of an item holding raw results. */
export const UNRECORDED_INSTANCE = 'Unrecorded_Instance_Json';
/** Why record-instance did not write the entry (`<error>: <cause>`), on an item holding raw results. */
export const UNRECORDED_REASON = 'Unrecorded_Reason';

/** The instance item: keys, the entry's fields, and the expiry. */
export function instanceItem(execution: ExecutionContext, entry: AuditEntry, retentionDays: number, now: Date): Record<string, unknown> {
  return {
    ...entry,
    [PARTITION_KEY]: instanceItemKey(execution.id, entry.InstanceId),
    [RECORD_TYPE]: RECORD_TYPE_INSTANCE,
    [RUN_EXECUTION_ID]: execution.id,
    InstanceId: entry.InstanceId,
    ExecutionName: execution.name,
    RecordedAt: now.toISOString(),
    ...expiry(retentionDays, now),
  };
}

/** The discovered instance of an outcome that carries none (should not happen; keeps the record truthful). */
export function unknownInstance(instanceId: string): DiscoveredInstance {
  return { instanceId, state: 'unknown', platform: 'Linux', ssmPingStatus: 'Unknown' };
}
