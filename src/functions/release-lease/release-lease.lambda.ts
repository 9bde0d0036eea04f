import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LEASE_HOLDER, leaseKey, PARTITION_KEY } from '../../contract/audit-schema';
import { type ReleaseLeaseEvent, type ReleaseLeaseResult } from '../../contract/messages';
import { auditEnvironment } from '../../lambda-shared/audit-item';
import { ConfigurationError, isConditionFailed, rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const log = createLogger('release-lease');

/**
 * Gives the instance's lease back: a DeleteItem conditional on this execution holding it. A lease held by another
 * run (this one's expired and was taken over) or no lease at all is left alone: `released: false`, not an error.
 */
export const handler = async (event: ReleaseLeaseEvent): Promise<ReleaseLeaseResult> => {
  log.correlate(correlationOf(event));
  const { tableName } = auditEnvironment(false);
  const instanceId = event.instanceId;
  const me = event.execution?.id;
  if (!instanceId || !me) {
    throw new ConfigurationError('release-lease needs instanceId and execution.id');
  }
  try {
    await dynamo.send(new DeleteCommand({
      TableName: tableName,
      Key: { [PARTITION_KEY]: leaseKey(instanceId) },
      ConditionExpression: '#holder = :me',
      ExpressionAttributeNames: { '#holder': LEASE_HOLDER },
      ExpressionAttributeValues: { ':me': me },
    }));
  } catch (err) {
    if (isConditionFailed(err)) {
      log.info('lease not ours to release', { instanceId });
      return { released: false };
    }
    rethrowClassified(err, `DeleteItem lease of ${instanceId}`);
  }
  log.info('lease released', { instanceId });
  return { released: true };
};
