import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { EXPIRES_AT, LEASE_ACQUIRED_AT, LEASE_EXPIRES_AT, LEASE_HOLDER, leaseKey, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_LEASE } from '../../contract/audit-schema';
import { LEASE_CLEANUP_DELAY_SECONDS } from '../../contract/lease';
import { type AcquireLeaseEvent, type AcquireLeaseResult } from '../../contract/messages';
import { auditEnvironment } from '../../lambda-shared/audit-item';
import { ConfigurationError, isConditionFailed, rethrowClassified, TransientError } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const log = createLogger('acquire-lease');

/** Rounds of "put refused, but the lease is gone or expired when read": each is a race with a release. */
export const ACQUIRE_ATTEMPTS = 3;

const iso = (epochSeconds: number) => (epochSeconds > 0 ? new Date(epochSeconds * 1000).toISOString() : '');

/**
 * Takes the instance's lease for this execution: a conditional PutItem that succeeds when no lease exists, the
 * lease expired, or this execution already holds it (a retried call). When another run holds a live lease,
 * returns `acquired: false` with the holder and its expiry.
 */
export const handler = async (event: AcquireLeaseEvent): Promise<AcquireLeaseResult> => {
  log.correlate(correlationOf(event));
  const { tableName } = auditEnvironment(false);
  const instanceId = event.instanceId;
  const me = event.execution?.id;
  const seconds = Number(event.leaseSeconds);
  if (!instanceId || !me) {
    throw new ConfigurationError('acquire-lease needs instanceId and execution.id');
  }
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new ConfigurationError(`leaseSeconds must be a positive number of seconds, got ${JSON.stringify(event.leaseSeconds)}`);
  }
  const key = leaseKey(instanceId);

  for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
    const now = new Date();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const expiresAt = nowSeconds + Math.ceil(seconds);
    try {
      await dynamo.send(new PutCommand({
        TableName: tableName,
        Item: {
          [PARTITION_KEY]: key,
          [RECORD_TYPE]: RECORD_TYPE_LEASE,
          InstanceId: instanceId,
          [LEASE_HOLDER]: me,
          [LEASE_ACQUIRED_AT]: now.toISOString(),
          [LEASE_EXPIRES_AT]: expiresAt,
          [EXPIRES_AT]: expiresAt + LEASE_CLEANUP_DELAY_SECONDS,
        },
        ConditionExpression: 'attribute_not_exists(#pk) OR #expires < :now OR #holder = :me',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#expires': LEASE_EXPIRES_AT, '#holder': LEASE_HOLDER },
        ExpressionAttributeValues: { ':now': nowSeconds, ':me': me },
      }));
      log.info('lease acquired', { instanceId, expiresAt });
      return { acquired: true, holder: me, leaseExpiresAt: expiresAt, leaseExpiresAtTime: iso(expiresAt) };
    } catch (err) {
      if (!isConditionFailed(err)) {
        rethrowClassified(err, `PutItem lease of ${instanceId}`);
      }
    }

    // Someone else holds it: who, and until when?
    let item: Record<string, unknown> | undefined;
    try {
      item = (await dynamo.send(new GetCommand({ TableName: tableName, Key: { [PARTITION_KEY]: key }, ConsistentRead: true }))).Item;
    } catch (err) {
      rethrowClassified(err, `GetItem lease of ${instanceId}`);
    }
    const holder = typeof item?.[LEASE_HOLDER] === 'string' ? item[LEASE_HOLDER] as string : '';
    const heldUntil = Number(item?.[LEASE_EXPIRES_AT] ?? 0) || 0;
    if (item && holder !== me && heldUntil >= Math.floor(Date.now() / 1000)) {
      log.info('lease held by another run', { instanceId, holder, expiresAt: heldUntil });
      return { acquired: false, holder, leaseExpiresAt: heldUntil, leaseExpiresAtTime: iso(heldUntil) };
    }
    // Released or expired between the put and the read: try again.
  }
  // Contention that settles quickly: the workflow retries.
  throw new TransientError(`the lease of ${instanceId} changed hands ${ACQUIRE_ATTEMPTS} times while acquiring it`);
};
