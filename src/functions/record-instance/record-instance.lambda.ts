import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type InstanceOutcome } from '../../contract/instance';
import { type RecordInstanceEvent } from '../../contract/messages';
import { OUTCOME_SKIPPED, OUTCOME_SUCCEEDED } from '../../contract/status';
import { toAuditEntry } from '../../lambda-shared/audit-entry';
import { auditEnvironment, instanceItem } from '../../lambda-shared/audit-item';
import { rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
const log = createLogger('record-instance');

/** Turns one instance's step results into its audit entry and writes it to the audit table. */
export const handler = async (event: RecordInstanceEvent): Promise<InstanceOutcome> => {
  log.correlate(correlationOf(event));
  const env = auditEnvironment(false);
  const entry = toAuditEntry(event.instance, event.config, event.steps);
  const item = instanceItem(event.execution, entry, env.retentionDays, new Date());
  try {
    await dynamo.send(new PutCommand({ TableName: env.tableName, Item: item }));
  } catch (err) {
    rethrowClassified(err, `PutItem audit entry of ${entry.InstanceId}`);
  }
  const succeeded = entry.Outcome === OUTCOME_SUCCEEDED;
  log.info('instance recorded', { instanceId: entry.InstanceId, outcome: entry.Outcome, failure: entry.FailureMessage || undefined });
  return entry.Outcome === OUTCOME_SKIPPED
    ? { instanceId: entry.InstanceId, succeeded, skipped: true, recorded: true }
    : { instanceId: entry.InstanceId, succeeded, recorded: true };
};
