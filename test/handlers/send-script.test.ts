import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EXECUTION, awsError, runConfig, throttling, withEnvironment } from './fixtures';
import { handler } from '../../src/handlers/send-script/send-script.lambda';

const ssm = mockClient(SSMClient);

// Every acting handler journals its action first (src/runtime/journal.ts): the journal's UpdateItem answers.
const journal = mockClient(DynamoDBDocumentClient);
withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });
beforeEach(() => {
  journal.reset();
  journal.on(UpdateCommand).resolves({});
});

const ID = 'i-0123456789abcdef0';
const pre = runConfig().preScript;
const post = runConfig().postScript;

beforeEach(() => {
  ssm.reset();
  ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-new' } });
});

describe('send-script', () => {
  test('sends AWS-RunRemoteScript with the script, the comment and the output location', async () => {
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, {
      InstanceId: ID,
      Filters: [{ key: 'InvokedAfter', value: EXECUTION.startTime }],
    });
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input).toEqual({
      DocumentName: 'AWS-RunRemoteScript',
      InstanceIds: [ID],
      TimeoutSeconds: 600,
      Comment: 'ppsb:run-1:pre',
      Parameters: {
        sourceType: ['S3'],
        sourceInfo: ['{"path":"https://s3.eu-west-1.amazonaws.com/assets-bucket/scripts/freeze.sh"}'],
        commandLine: ['bash freeze.sh'],
        executionTimeout: ['600'],
      },
      OutputS3BucketName: 'output-bucket',
      OutputS3KeyPrefix: 'ssm-output/run-1/pre',
    });
    expect(result).toEqual({
      commandId: 'cmd-new',
      instanceId: ID,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      timeoutSeconds: 600,
      outputLocation: 's3://output-bucket/ssm-output/run-1/pre',
      outputExcerpt: '',
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 900, expired: false },
    });
  });

  test('a working directory is passed when set; no output bucket means no S3 output', async () => {
    const result = await handler({
      instanceId: ID, phase: 'post', script: { ...post, outputS3BucketName: '', outputS3KeyPrefix: '' }, execution: EXECUTION,
    });
    const input = ssm.commandCalls(SendCommandCommand)[0].args[0].input;
    expect(input.Parameters!.workingDirectory).toEqual(['/opt/app']);
    expect(input.Comment).toBe('ppsb:run-1:post');
    expect(input.OutputS3BucketName).toBeUndefined();
    expect(input.OutputS3KeyPrefix).toBeUndefined();
    expect(result.outputLocation).toBe('');
  });

  test('an empty output prefix gives <execution>/<phase>', async () => {
    await handler({ instanceId: ID, phase: 'pre', script: { ...pre, outputS3KeyPrefix: '' }, execution: EXECUTION });
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { OutputS3KeyPrefix: 'run-1/pre' });
  });

  test('the comment is at most 100 characters', async () => {
    const execution = { ...EXECUTION, name: 'x'.repeat(120) };
    await handler({ instanceId: ID, phase: 'pre', script: pre, execution });
    expect(ssm.commandCalls(SendCommandCommand)[0].args[0].input.Comment).toHaveLength(100);
  });

  test('idempotent: an invocation this execution already sent (on a later page) is reused', async () => {
    ssm.on(ListCommandInvocationsCommand)
      .resolvesOnce({
        CommandInvocations: [
          { CommandId: 'cmd-other-phase', Comment: 'ppsb:run-1:post', DocumentName: 'AWS-RunRemoteScript' },
          { CommandId: 'cmd-other-doc', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunShellScript' },
        ],
        NextToken: 't2',
      })
      .resolvesOnce({ CommandInvocations: [{ CommandId: 'cmd-old', Comment: 'ppsb:run-1:pre', DocumentName: 'AWS-RunRemoteScript' }] });
    const result = await handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION });
    expect(result.commandId).toBe('cmd-old');
    expect(result.status).toBe('Pending');
    expect(ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, 2);
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { NextToken: 't2' });
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  test('throttling: TransientError', async () => {
    ssm.on(SendCommandCommand).rejects(throttling());
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('a permanent error keeps its code', async () => {
    ssm.on(SendCommandCommand).rejects(awsError('InvalidInstanceId', 'Instances not in a valid state'));
    await expect(handler({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).rejects.toMatchObject({
      name: 'InvalidInstanceId', message: expect.stringContaining('SendCommand'),
    });
  });
});
