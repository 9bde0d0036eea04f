/** The audit table: its key attributes, its items, and the environment of the handlers that write them. */
import { ConfigurationError } from './errors';
import { EXPIRES_AT, instanceItemKey, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_INSTANCE, RUN_EXECUTION_ID } from '../contract/audit-schema';
import { type AuditEntry } from '../contract/audit-schema';
import { type DiscoveredInstance } from '../contract/instance';
import { type ExecutionContext } from '../contract/messages';


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
