/**
 * resume-wait: a state-change event (EC2, SSM Run Command, AWS Backup) finds the registered wait, looks at the
 * resource with a describe call, and answers the waiting Task once the step is over.
 */
import { BackupClient, DescribeBackupJobCommand, DescribeCopyJobCommand } from '@aws-sdk/client-backup';
import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { StateChangeEvent } from '../../../src/contract/events';
import { FALLBACK_SECONDS } from '../../../src/contract/waits';
import { handler, LOOKS_AFTER_EVENT } from '../../../src/functions/resume-wait/resume-wait.lambda';
import { awsError, EXECUTION, throttling, withEnvironment } from '../../helpers/handler-fixtures';
import { listed } from '../../helpers/ssm-fixtures';
import { eventEnvelope } from '../../simulator/events/envelope';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const backup = mockClient(BackupClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);

const ID = 'i-0123456789abcdef0';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAf-token-7';
const TABLE = 'audit-table';

withEnvironment({ AUDIT_TABLE_NAME: TABLE });

beforeEach(() => {
  for (const m of [ssm, ec2, backup, sfn, ddb]) m.reset();
  ddb.on(GetCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

const event = (source: string, detailType: string, detail: Record<string, unknown>): StateChangeEvent =>
  eventEnvelope(source, detailType, new Date('2024-05-01T02:03:04Z'), [], detail);
const ec2Event = (state: string) => event('aws.ec2', 'EC2 Instance State-change Notification', { 'instance-id': ID, state });
const ssmEvent = (status: string) => event('aws.ssm', 'EC2 Command Invocation Status-change Notification', {
  'command-id': 'cmd-1', 'instance-id': ID, status, 'document-name': 'AWS-RunRemoteScript', 'requested-date-time': '2024-05-01T02:01:00Z',
});
const backupEvent = (state: string) => event('aws.backup', 'Backup Job State Change',
  { backupJobId: 'job-1', state, backupVaultName: 'app-vault', resourceArn: `arn:aws:ec2:eu-west-1:123456789012:instance/${ID}` });
const copyEvent = (state: string) => event('aws.backup', 'Copy Job State Change', { copyJobId: 'copy-1', state });

const instanceState = (name: string) => ({ Reservations: [{ Instances: [{ InstanceId: ID, State: { Name: name as any } }] }] });

/** The WAIT item GetItem returns for `key`. */
function registeredWait(key: string, fields: Record<string, unknown>) {
  ddb.on(GetCommand, { TableName: TABLE, Key: { SM_Execution_ID: key } }).resolves({
    Item: {
      SM_Execution_ID: key,
      RecordType: 'WAIT',
      TaskToken: TOKEN,
      ExecutionId: EXECUTION.id,
      InstanceId: ID,
      MaxSeconds: 900,
      Attempt: 1,
      ...fields,
    },
  });
}

const scriptPrevious = {
  commandId: 'cmd-1',
  instanceId: ID,
  status: 'Pending',
  statusDetails: 'Pending',
  responseCode: -1,
  timeoutSeconds: 600,
  outputLocation: 's3://output-bucket/ssm-output/run-1/pre',
  outputExcerpt: '',
  done: false,
  poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 900, expired: false },
};
const backupPrevious = { backupJobId: 'job-1', state: 'CREATED', statusMessage: '', recoveryPointArn: '', percentDone: '0', done: false };
const copyPrevious = { copyJobId: 'copy-1', state: 'CREATED', statusMessage: '', destinationRecoveryPointArn: '', done: false };

function answered(): any {
  const calls = sfn.commandCalls(SendTaskSuccessCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0].args[0].input.taskToken).toBe(TOKEN);
  return JSON.parse(calls[0].args[0].input.output!);
}
function expectCleared(key: string) {
  expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
    TableName: TABLE, Key: { SM_Execution_ID: key }, ConditionExpression: 'TaskToken = :token', ExpressionAttributeValues: { ':token': TOKEN },
  });
}
function expectNothingSent() {
  expect(sfn.calls()).toHaveLength(0);
  expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
}

describe('resume-wait', () => {
  test('an event no wait listens to: not even DynamoDB is asked', async () => {
    for (const e of [ec2Event('stopping'), ec2Event('pending'), event('aws.backup', 'Restore Job State Change', { restoreJobId: 'r' }), {}]) {
      await expect(handler(e)).resolves.toEqual({ resumed: false, reason: 'not an event any wait listens to' });
    }
    expect(ddb.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  test('no registered wait for the resource: a consistent read, then nothing (no describe, no answer)', async () => {
    await expect(handler(ec2Event('stopped'))).resolves.toEqual({ resumed: false, reason: 'no task waits on this resource' });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { SM_Execution_ID: `WAIT#stop#${ID}` }, ConsistentRead: true });
    expect(ec2.calls()).toHaveLength(0);
    expectNothingSent();
  });

  test('stop registered, instance stopped: SendTaskSuccess(token, result), then the item is deleted', async () => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop', Previous: { instanceId: ID }, Attempt: 2 });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await expect(handler(ec2Event('stopped'))).resolves.toEqual({ resumed: true, reason: 'task resumed' });
    expect(answered()).toMatchObject({
      instanceId: ID,
      state: 'stopped',
      status: 'Success',
      done: true,
      observedAt: expect.any(String),
      poll: { attempt: 2, elapsedSeconds: FALLBACK_SECONDS.stop, expired: false },
    });
    expectCleared(`WAIT#stop#${ID}`);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].calledBefore(ddb.commandCalls(DeleteCommand)[0])).toBe(true);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('the event says stopped but the instance is running again: not over, nothing sent, StopInstances never called', async () => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop' });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    await expect(handler(ec2Event('stopped'))).resolves.toEqual({ resumed: false, reason: 'the step is not over yet' });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
    expectNothingSent();
  });

  test('a start look never calls StartInstances, even with the instance stopped', async () => {
    registeredWait(`WAIT#start#${ID}`, { Kind: 'start' });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await expect(handler(ec2Event('running'))).resolves.toMatchObject({ resumed: false });
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
    expectNothingSent();
  });

  test('start registered, instance running: answered Success', async () => {
    registeredWait(`WAIT#start#${ID}`, { Kind: 'start' });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    await expect(handler(ec2Event('running'))).resolves.toMatchObject({ resumed: true });
    expect(answered()).toMatchObject({ status: 'Success', state: 'running' });
    expectCleared(`WAIT#start#${ID}`);
  });

  test('a look past the bound never ends the wait (only the waiting handler does): no Failed answer', async () => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop', Attempt: 50 });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopping'));
    await expect(handler(ec2Event('stopped'))).resolves.toMatchObject({ resumed: false });
    expectNothingSent();
  });

  test('script registered, invocation over: answered with the invocation\'s result from the registered one', async () => {
    registeredWait(`WAIT#script#cmd-1:${ID}`, { Kind: 'script', Previous: scriptPrevious, MaxSeconds: 900 });
    ssm.on(GetCommandInvocationCommand).rejects(Object.assign(new Error(''), { name: 'InvalidPluginName', $metadata: { httpStatusCode: 400 } }));
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Failed', { responseCode: 2, output: 'fsfreeze: busy' }));
    await expect(handler(ssmEvent('Failed'))).resolves.toMatchObject({ resumed: true });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-1', InstanceId: ID, Details: true });
    expect(ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(answered()).toMatchObject({
      commandId: 'cmd-1',
      instanceId: ID,
      status: 'Failed',
      responseCode: 2,
      outputExcerpt: 'step runShellScript Failed, exit code 2: fsfreeze: busy',
      done: true,
      outputLocation: scriptPrevious.outputLocation,
      timeoutSeconds: 600,
    });
    expectCleared(`WAIT#script#cmd-1:${ID}`);
  });

  test('script still in progress past its bound: no cancel, nothing sent (resume-wait never expires a wait)', async () => {
    registeredWait(`WAIT#script#cmd-1:${ID}`, { Kind: 'script', Previous: scriptPrevious, Attempt: 10 });
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'InProgress'));
    await expect(handler(ssmEvent('Success'))).resolves.toMatchObject({ resumed: false });
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
    expectNothingSent();
  });

  test('the describe call lags its event: looked at again (0.5 s, then 1 s later), answered once it agrees', async () => {
    registeredWait(`WAIT#script#cmd-1:${ID}`, { Kind: 'script', Previous: scriptPrevious });
    ssm.on(ListCommandInvocationsCommand)
      .resolvesOnce(listed('cmd-1', ID, 'InProgress'))
      .resolvesOnce({ CommandInvocations: [] })
      .resolves(listed('cmd-1', ID, 'Success'));
    const started = Date.now();
    await expect(handler(ssmEvent('Success'))).resolves.toMatchObject({ resumed: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(ssm).toHaveReceivedCommandTimes(ListCommandInvocationsCommand, LOOKS_AFTER_EVENT);
    expect(answered()).toMatchObject({ status: 'Success', done: true });
    expectCleared(`WAIT#script#cmd-1:${ID}`);
  });

  test('a look that never agrees with the event: LOOKS_AFTER_EVENT looks, then left to the fallback', async () => {
    registeredWait('WAIT#backup#job-1', { Kind: 'backup', Previous: backupPrevious });
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'RUNNING' });
    await expect(handler(backupEvent('COMPLETED'))).resolves.toEqual({ resumed: false, reason: 'the step is not over yet' });
    expect(LOOKS_AFTER_EVENT).toBe(3);
    expect(backup).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 3);
    expectNothingSent();
  });

  test('backup registered, job completed: answered with the recovery point', async () => {
    registeredWait('WAIT#backup#job-1', { Kind: 'backup', Previous: backupPrevious, MaxSeconds: 11_700 });
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'COMPLETED', RecoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1' });
    await expect(handler(backupEvent('COMPLETED'))).resolves.toMatchObject({ resumed: true });
    expect(answered()).toMatchObject({ backupJobId: 'job-1', state: 'COMPLETED', recoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1', done: true });
    expectCleared('WAIT#backup#job-1');
  });

  test('backup still running: nothing sent', async () => {
    registeredWait('WAIT#backup#job-1', { Kind: 'backup', Previous: backupPrevious });
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'RUNNING' });
    await expect(handler(backupEvent('COMPLETED'))).resolves.toMatchObject({ resumed: false });
    expectNothingSent();
  });

  test('copy registered, job over: answered', async () => {
    registeredWait('WAIT#copy#copy-1', { Kind: 'copy', Previous: copyPrevious });
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'FAILED', StatusMessage: 'access denied' } });
    await expect(handler(copyEvent('FAILED'))).resolves.toMatchObject({ resumed: true });
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { Key: { SM_Execution_ID: 'WAIT#copy#copy-1' } });
    expect(answered()).toMatchObject({ copyJobId: 'copy-1', state: 'FAILED', statusMessage: 'access denied', done: true });
  });

  test.each(['TaskTimedOut', 'InvalidToken'])('a stale token (%s): the item is cleared, resumed false, no error', async (code) => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop' });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    sfn.on(SendTaskSuccessCommand).rejects(awsError(code));
    await expect(handler(ec2Event('stopped'))).resolves.toEqual({ resumed: false, reason: 'the token was no longer waited on' });
    expectCleared(`WAIT#stop#${ID}`);
  });

  test('the same event twice: the second finds no wait and sends nothing', async () => {
    const item = { TaskToken: TOKEN, ExecutionId: EXECUTION.id, InstanceId: ID, MaxSeconds: 900, Attempt: 1 };
    ddb.on(GetCommand).resolvesOnce({ Item: item }).resolves({});
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await expect(handler(ec2Event('stopped'))).resolves.toMatchObject({ resumed: true });
    await expect(handler(ec2Event('stopped'))).resolves.toMatchObject({ resumed: false, reason: 'no task waits on this resource' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);
  });

  test('a transient failure is thrown (EventBridge retries, then the dead-letter queue); the item stays', async () => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop' });
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    await expect(handler(ec2Event('stopped'))).rejects.toMatchObject({ name: 'TransientError' });
    expectNothingSent();
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    sfn.on(SendTaskSuccessCommand).rejects(throttling());
    await expect(handler(ec2Event('stopped'))).rejects.toMatchObject({ name: 'TransientError' });
    expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
  });

  test('never registers, writes or fails a task: only GetItem and DeleteItem, only SendTaskSuccess', async () => {
    registeredWait(`WAIT#stop#${ID}`, { Kind: 'stop' });
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await handler(ec2Event('stopped'));
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskFailureCommand);
  });
});
