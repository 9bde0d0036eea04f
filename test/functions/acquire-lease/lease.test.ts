import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ACQUIRE_ATTEMPTS, handler as acquire } from '../../../src/functions/acquire-lease/acquire-lease.lambda';
import { handler as release } from '../../../src/functions/release-lease/release-lease.lambda';
import { awsError, EXECUTION, throttling } from '../../helpers/handler-fixtures';

const dynamo = mockClient(DynamoDBDocumentClient);
const INSTANCE = 'i-0123456789abcdef0';
const OTHER = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:adhoc-7';
const KEY = { SM_Execution_ID: `LEASE#${INSTANCE}` };
const conditionFailed = () => awsError('ConditionalCheckFailedException', 'The conditional request failed');
const nowSeconds = () => Math.floor(Date.now() / 1000);

beforeEach(() => {
  dynamo.reset();
  process.env.AUDIT_TABLE_NAME = 'audit';
});

describe('acquire-lease', () => {
  const event = { instanceId: INSTANCE, execution: EXECUTION, leaseSeconds: 7200 };

  test('a free lease: one conditional put of the lease item, acquired', async () => {
    dynamo.on(PutCommand).resolves({});
    const before = nowSeconds();
    const result = await acquire(event);
    expect(result).toMatchObject({ acquired: true, holder: EXECUTION.id });
    expect(result.leaseExpiresAt).toBeGreaterThanOrEqual(before + 7200);
    expect(result.leaseExpiresAt).toBeLessThan(before + 7200 + 5);
    expect(result.leaseExpiresAtTime).toBe(new Date(result.leaseExpiresAt * 1000).toISOString());

    const input = dynamo.commandCalls(PutCommand)[0].args[0].input;
    expect(input.TableName).toBe('audit');
    expect(input.Item).toEqual({
      ...KEY,
      RecordType: 'LEASE',
      InstanceId: INSTANCE,
      HolderExecutionId: EXECUTION.id,
      AcquiredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      LeaseExpiresAt: result.leaseExpiresAt,
      ExpiresAt: result.leaseExpiresAt + 86400,
    });
    // Free, expired, or already this execution's (a retried call).
    expect(input.ConditionExpression).toBe('attribute_not_exists(#pk) OR #expires < :now OR #holder = :me');
    expect(input.ExpressionAttributeNames).toEqual({ '#pk': 'SM_Execution_ID', '#expires': 'LeaseExpiresAt', '#holder': 'HolderExecutionId' });
    expect(input.ExpressionAttributeValues).toEqual({ ':now': expect.any(Number), ':me': EXECUTION.id });
    expect(Math.abs(input.ExpressionAttributeValues![':now'] - before)).toBeLessThan(5);
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
  });

  test('an expired lease or one this execution holds: the condition lets the put through, acquired', async () => {
    // DynamoDB evaluates the condition; the handler sends the same request whoever held the lease before.
    dynamo.on(PutCommand).resolves({});
    await expect(acquire(event)).resolves.toMatchObject({ acquired: true });
    await expect(acquire(event)).resolves.toMatchObject({ acquired: true, holder: EXECUTION.id });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 2);
  });

  test('held by another run: not acquired, with the holder and its expiry read consistently', async () => {
    const until = nowSeconds() + 1800;
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...KEY, HolderExecutionId: OTHER, LeaseExpiresAt: until } });
    await expect(acquire(event)).resolves.toEqual({
      acquired: false,
      holder: OTHER,
      leaseExpiresAt: until,
      leaseExpiresAtTime: new Date(until * 1000).toISOString(),
    });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { TableName: 'audit', Key: KEY, ConsistentRead: true });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  test('released (or expired) between the put and the read: tries again and acquires', async () => {
    dynamo.on(PutCommand).rejectsOnce(conditionFailed()).resolves({});
    dynamo.on(GetCommand).resolves({});
    await expect(acquire(event)).resolves.toMatchObject({ acquired: true });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 2);
  });

  test('a lease that keeps changing hands: a TransientError after a bounded number of rounds', async () => {
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).resolves({ Item: { ...KEY, HolderExecutionId: OTHER, LeaseExpiresAt: nowSeconds() - 5 } });
    await expect(acquire(event)).rejects.toMatchObject({ name: 'TransientError' });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, ACQUIRE_ATTEMPTS);
  });

  test('throttling is a TransientError (the workflow retries), other errors are permanent', async () => {
    dynamo.on(PutCommand).rejects(throttling());
    await expect(acquire(event)).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining(`PutItem lease of ${INSTANCE} failed: ThrottlingException`) });

    dynamo.reset();
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand).rejects(throttling());
    await expect(acquire(event)).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('GetItem lease') });

    dynamo.reset();
    dynamo.on(PutCommand).rejects(awsError('AccessDeniedException', 'not authorized'));
    await expect(acquire(event)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  test.each([0, -1, 'soon', undefined])('a lease duration of %p is a configuration error; nothing is written', async (leaseSeconds) => {
    await expect(acquire({ ...event, leaseSeconds: leaseSeconds as number })).rejects.toMatchObject({ name: 'ConfigurationError' });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('release-lease', () => {
  const event = { instanceId: INSTANCE, execution: EXECUTION };

  test('by its holder: deleted, on the condition that this execution holds it', async () => {
    dynamo.on(DeleteCommand).resolves({});
    await expect(release(event)).resolves.toEqual({ released: true });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'audit',
      Key: KEY,
      ConditionExpression: '#holder = :me',
      ExpressionAttributeNames: { '#holder': 'HolderExecutionId' },
      ExpressionAttributeValues: { ':me': EXECUTION.id },
    });
  });

  test('held by someone else now, or gone: left alone, not an error', async () => {
    dynamo.on(DeleteCommand).rejects(conditionFailed());
    await expect(release(event)).resolves.toEqual({ released: false });
  });

  test('throttling is a TransientError; other errors are permanent', async () => {
    dynamo.on(DeleteCommand).rejects(throttling());
    await expect(release(event)).rejects.toMatchObject({ name: 'TransientError' });
    dynamo.reset();
    dynamo.on(DeleteCommand).rejects(awsError('ResourceNotFoundException', 'no table'));
    await expect(release(event)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('without the table name: a configuration error', async () => {
    delete process.env.AUDIT_TABLE_NAME;
    await expect(release(event)).rejects.toMatchObject({ name: 'ConfigurationError' });
  });
});
