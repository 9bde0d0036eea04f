import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type InstanceSteps } from '../../../src/contract/instance';
import { handler } from '../../../src/functions/record-instance/record-instance.lambda';
import { awsError, backupOnlyConfig, backupSteps, EXECUTION, instance, throttling } from '../../helpers/handler-fixtures';

const dynamo = mockClient(DynamoDBDocumentClient);
const config = backupOnlyConfig();
const ok: InstanceSteps = backupSteps('COMPLETED', '', 'arn:rp');

beforeEach(() => {
  dynamo.reset();
  dynamo.on(PutCommand).resolves({});
  process.env.AUDIT_TABLE_NAME = 'audit';
  delete process.env.AUDIT_RETENTION_DAYS;
});

describe('record-instance', () => {
  test('writes the entry under <execution>#<instance> and returns the outcome', async () => {
    const result = await handler({ execution: EXECUTION, instance: instance(), config, steps: ok });
    expect(result).toEqual({ instanceId: 'i-0123456789abcdef0', succeeded: true, recorded: true });
    const { TableName, Item } = dynamo.commandCalls(PutCommand)[0].args[0].input;
    expect(TableName).toBe('audit');
    expect(Item).toMatchObject({
      SM_Execution_ID: `${EXECUTION.id}#i-0123456789abcdef0`,
      RecordType: 'INSTANCE',
      Run_Execution_ID: EXECUTION.id,
      InstanceId: 'i-0123456789abcdef0',
      BackupJobStatus: 'COMPLETED',
      PreBackupScriptStatus: 'skipped',
      RecoveryPointArn: 'arn:rp',
      Outcome: 'SUCCEEDED',
      FailureMessage: '',
    });
    expect(Item!.ExpiresAt).toBeUndefined();
  });

  test('a failed instance', async () => {
    const steps: InstanceSteps = { backup: { ...ok.backup as any, state: 'FAILED', statusMessage: 'no permission' } };
    expect(await handler({ execution: EXECUTION, instance: instance(), config, steps })).toMatchObject({ succeeded: false, recorded: true });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ FailureMessage: 'backup job FAILED: no permission', Outcome: 'FAILED' }) });
  });

  test('a retention sets ExpiresAt in epoch seconds', async () => {
    process.env.AUDIT_RETENTION_DAYS = '30';
    const before = Math.floor(Date.now() / 1000);
    await handler({ execution: EXECUTION, instance: instance(), config, steps: ok });
    const expires = dynamo.commandCalls(PutCommand)[0].args[0].input.Item!.ExpiresAt;
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86400);
    expect(expires).toBeLessThan(before + 30 * 86400 + 60);
  });

  test('throttling: TransientError; other errors permanent', async () => {
    dynamo.on(PutCommand).rejectsOnce(throttling()).rejectsOnce(awsError('ResourceNotFoundException'));
    await expect(handler({ execution: EXECUTION, instance: instance(), config, steps: ok })).rejects.toMatchObject({ name: 'TransientError' });
    await expect(handler({ execution: EXECUTION, instance: instance(), config, steps: ok })).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('without AUDIT_TABLE_NAME: ConfigurationError', async () => {
    delete process.env.AUDIT_TABLE_NAME;
    await expect(handler({ execution: EXECUTION, instance: instance(), config, steps: ok })).rejects.toMatchObject({ name: 'ConfigurationError' });
  });
});
