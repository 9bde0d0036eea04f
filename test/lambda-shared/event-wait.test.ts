/**
 * The waiting steps with a task token (waits resumed by events): each starting handler registers the wait, looks
 * once, and answers the Task itself when the step is already over (or its wait expired at the bound).
 */
import { BackupClient, DescribeBackupJobCommand, DescribeCopyJobCommand, StartBackupJobCommand, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  CancelCommandCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { journalKey } from '../../src/contract/audit-schema';
import { backupPolicy, scriptPolicy } from '../../src/contract/poll';
import { FALLBACK_SECONDS, pollAtAttempt } from '../../src/contract/waits';
import { handler as sendScript } from '../../src/functions/send-script/send-script.lambda';
import { handler as startBackupJob } from '../../src/functions/start-backup-job/start-backup-job.lambda';
import { handler as startCopyJob } from '../../src/functions/start-copy-job/start-copy-job.lambda';
import { handler as startInstance } from '../../src/functions/start-instance/start-instance.lambda';
import { handler as stopInstance } from '../../src/functions/stop-instance/stop-instance.lambda';
import { awsError, EXECUTION, runConfig, throttling, withEnvironment } from '../helpers/handler-fixtures';
import { listed } from '../helpers/ssm-fixtures';

const ssm = mockClient(SSMClient);
const ec2 = mockClient(EC2Client);
const backup = mockClient(BackupClient);
const sfn = mockClient(SFNClient);
const ddb = mockClient(DynamoDBDocumentClient);

const ID = 'i-0123456789abcdef0';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAf-token-1';
const TABLE = 'audit-table';
const pre = runConfig().preScript;
const settings = runConfig().backup;
const COPY_VAULT = 'arn:aws:backup:us-west-2:111122223333:backup-vault:dr-vault';
const RECOVERY_POINT = 'arn:aws:ec2:eu-west-1::image/ami-0123456789abcdef0';

withEnvironment({ AUDIT_TABLE_NAME: TABLE });

/** UpdateItem answers that this is the `attempt`-th registration of the run's wait. */
const registration = (attempt: number) => ddb.on(UpdateCommand).resolves({ Attributes: { Attempt: attempt } });

beforeEach(() => {
  for (const m of [ssm, ec2, backup, sfn, ddb]) m.reset();
  ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-new' } });
  ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: ID, CurrentState: { Name: 'stopping' } }] });
  ec2.on(StartInstancesCommand).resolves({ StartingInstances: [{ InstanceId: ID, CurrentState: { Name: 'pending' } }] });
  backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-1', RecoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1' });
  backup.on(StartCopyJobCommand).resolves({ CopyJobId: 'copy-1' });
  registration(1);
  ddb.on(PutCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

const instanceState = (name: string) => ({ Reservations: [{ Instances: [{ InstanceId: ID, State: { Name: name as any } }] }] });
/** ListCommandInvocations (with Details) listing the command's invocation with AWS-RunRemoteScript's steps. */
const invocation = (Status: string, extra: { CommandId?: string; ResponseCode?: number; Output?: string } = {}) =>
  listed(extra.CommandId ?? 'cmd-new', ID, Status, { responseCode: extra.ResponseCode, output: extra.Output });
/** The status look (ListCommandInvocations with Details), not the journal's recovery listing. */
const statusLook = () => ssm.on(ListCommandInvocationsCommand, { Details: true });

/** The output of the single SendTaskSuccess, parsed; fails unless exactly one was sent with TOKEN. */
function answered(): any {
  const calls = sfn.commandCalls(SendTaskSuccessCommand);
  expect(calls).toHaveLength(1);
  expect(calls[0].args[0].input.taskToken).toBe(TOKEN);
  return JSON.parse(calls[0].args[0].input.output!);
}

/** The registration's UpdateItem input (the other UpdateItem, after a look that found the step not over, marks it looked). */
function registered(): any {
  const calls = ddb.commandCalls(UpdateCommand).filter(c => String((c.args[0].input as any).UpdateExpression).includes('#attempt'));
  expect(calls).toHaveLength(1);
  const input = calls[0].args[0].input as any;
  expect(input.TableName).toBe(TABLE);
  // The field values of the SET clause, by attribute name.
  const fields: Record<string, unknown> = {};
  for (const [alias, name] of Object.entries(input.ExpressionAttributeNames as Record<string, string>)) {
    const value = input.ExpressionAttributeValues[`:${alias.slice(1)}`];
    if (value !== undefined) fields[name] = value;
  }
  return { key: input.Key.SM_Execution_ID, fields, input };
}

function expectCleared(resourceKey: string) {
  expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
    TableName: TABLE,
    Key: { SM_Execution_ID: resourceKey },
    ConditionExpression: 'TaskToken = :token',
    ExpressionAttributeValues: { ':token': TOKEN },
  });
}

function expectNotAnswered() {
  expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  expect(ddb).not.toHaveReceivedCommand(DeleteCommand);
}

describe('send-script with a task token', () => {
  const event = { instanceId: ID, phase: 'pre' as const, script: pre, execution: EXECUTION, taskToken: TOKEN };

  test('registers WAIT#script#<command id>:<instance id> with the token, the run, the bound and the sent result', async () => {
    statusLook().resolves(invocation('InProgress'));
    await sendScript(event);
    const { key, fields, input } = registered();
    expect(key).toBe(`WAIT#script#cmd-new:${ID}`);
    expect(fields).toMatchObject({
      RecordType: 'WAIT',
      Kind: 'script',
      ResourceId: `cmd-new:${ID}`,
      TaskToken: TOKEN,
      ExecutionId: EXECUTION.id,
      InstanceId: ID,
      MaxSeconds: scriptPolicy(pre.timeoutSeconds).maxSeconds,
      Previous: expect.objectContaining({ commandId: 'cmd-new', instanceId: ID, status: 'Pending', done: false }),
    });
    expect(input.ConditionExpression).toBe('attribute_not_exists(#pk) OR ExecutionId = :exec');
    expect(input.ExpressionAttributeValues[':exec']).toBe(EXECUTION.id);
  });

  test('registers before it looks: an event that came earlier cannot be missed', async () => {
    statusLook().resolves(invocation('InProgress'));
    await sendScript(event);
    const update = ddb.commandCalls(UpdateCommand).find(c => String((c.args[0].input as any).UpdateExpression).includes('#attempt'))!;
    const look = ssm.commandCalls(ListCommandInvocationsCommand)[0];
    expect(update.calledBefore(look)).toBe(true);
    expect(ssm.commandCalls(SendCommandCommand)[0].calledBefore(update)).toBe(true);
  });

  test('already over at registration: SendTaskSuccess with the step result, then the item is cleared', async () => {
    statusLook().resolves(invocation('Success'));
    const result = await sendScript(event);
    const output = answered();
    expect(output).toEqual(JSON.parse(JSON.stringify(result)));
    expect(output).toMatchObject({
      commandId: 'cmd-new',
      instanceId: ID,
      status: 'Success',
      responseCode: 0,
      done: true,
      poll: pollAtAttempt(1, 'script', scriptPolicy(pre.timeoutSeconds).maxSeconds),
    });
    expectCleared(`WAIT#script#cmd-new:${ID}`);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0].calledBefore(ddb.commandCalls(DeleteCommand)[0])).toBe(true);
  });

  test('a failed script is over too: answered with its status and output excerpt', async () => {
    statusLook().resolves(invocation('Failed', { ResponseCode: 3, Output: 'fsfreeze: busy' }));
    await sendScript(event);
    expect(answered()).toMatchObject({ status: 'Failed', responseCode: 3, outputExcerpt: 'step runShellScript Failed, exit code 3: fsfreeze: busy', done: true });
  });

  test.each(['InProgress', 'Pending', 'Delayed'])('%s at registration: no answer, nothing cleared, no cancel', async (status) => {
    statusLook().resolves(invocation(status));
    const result = await sendScript(event);
    expect(result).toMatchObject({ done: false });
    expectNotAnswered();
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  test('the invocation not registered yet (right after SendCommand): pending, not answered', async () => {
    statusLook().resolves({ CommandInvocations: [] });
    await expect(sendScript(event)).resolves.toMatchObject({ status: 'Pending', done: false });
    expectNotAnswered();
  });

  test('a retried call (the Task timed out) reuses the journaled command and registers it again', async () => {
    registration(2);
    // The journal holds the command id the first call recorded (journal.ts: beginAction answers ALL_OLD).
    ddb.on(UpdateCommand, { Key: { SM_Execution_ID: journalKey(EXECUTION.id, ID) } })
      .resolves({ Attributes: { Pre_IntentAt: '2026-12-03T02:00:01.000Z', Pre_ResourceId: 'cmd-old' } });
    statusLook().resolves(invocation('InProgress', { CommandId: 'cmd-old' }));
    await sendScript(event);
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
    expect(registered().key).toBe(`WAIT#script#cmd-old:${ID}`);
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-old', InstanceId: ID, Details: true });
    expectNotAnswered();
  });

  test('enough attempts to cover the bound: the command is cancelled and the Task answered TimedOut', async () => {
    const bound = scriptPolicy(pre.timeoutSeconds).maxSeconds; // 900 s: attempt 3 has waited 2 x 600 s
    const expiring = Math.ceil(bound / FALLBACK_SECONDS.script) + 1;
    expect(pollAtAttempt(expiring - 1, 'script', bound).expired).toBe(false);
    statusLook().resolves(invocation('InProgress'));
    ssm.on(CancelCommandCommand).resolves({});

    registration(expiring - 1);
    await sendScript(event);
    expectNotAnswered();
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);

    registration(expiring);
    await sendScript(event);
    expect(ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-new', InstanceIds: [ID] });
    expect(answered()).toMatchObject({
      status: 'TimedOut',
      done: true,
      statusDetails: expect.stringContaining('command cancelled'),
      poll: { attempt: expiring, expired: true },
    });
    expectCleared(`WAIT#script#cmd-new:${ID}`);
  });

  test('a left-over wait of another run (UpdateItem condition fails): replaced by PutItem, attempt 1', async () => {
    ddb.on(UpdateCommand, { Key: { SM_Execution_ID: `WAIT#script#cmd-new:${ID}` } }).rejects(awsError('ConditionalCheckFailedException'));
    statusLook().resolves(invocation('InProgress'));
    await expect(sendScript(event)).resolves.toMatchObject({ poll: { attempt: 1, expired: false } });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      Item: expect.objectContaining({ SM_Execution_ID: `WAIT#script#cmd-new:${ID}`, TaskToken: TOKEN, ExecutionId: EXECUTION.id, Attempt: 1 }),
    });
  });

  test('DynamoDB throttled at registration: a transient error (the Task retries), nothing answered', async () => {
    ddb.on(UpdateCommand).rejects(throttling());
    await expect(sendScript(event)).rejects.toMatchObject({ name: 'TransientError' });
    expect(ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});

describe('stop-instance with a task token', () => {
  const event = { instanceId: ID, execution: EXECUTION, taskToken: TOKEN };

  test('registers WAIT#stop#<instance id>; running: asks for the stop and does not answer', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    await expect(stopInstance(event)).resolves.toMatchObject({ status: 'InProgress', state: 'stopping', done: false });
    const { key, fields } = registered();
    expect(key).toBe(`WAIT#stop#${ID}`);
    expect(fields).toMatchObject({ Kind: 'stop', TaskToken: TOKEN, InstanceId: ID, ExecutionId: EXECUTION.id, MaxSeconds: 900 });
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [ID] });
    expect(ddb.commandCalls(UpdateCommand)[0].calledBefore(ec2.commandCalls(DescribeInstancesCommand)[0])).toBe(true);
    expectNotAnswered();
  });

  test('already stopped: answered Success with the step result, cleared, no StopInstances', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    const result = await stopInstance(event);
    expect(answered()).toEqual(JSON.parse(JSON.stringify(result)));
    expect(result).toMatchObject({ instanceId: ID, status: 'Success', state: 'stopped', done: true, poll: pollAtAttempt(1, 'stop', 900) });
    expectCleared(`WAIT#stop#${ID}`);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('StopInstances answers stopped at once: answered in the same call', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: ID, CurrentState: { Name: 'stopped' } }] });
    await stopInstance(event);
    expect(answered()).toMatchObject({ status: 'Success', state: 'stopped' });
  });

  test('the wait expired (attempts cover 900 s): Failed, answered, without calling StopInstances', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    registration(900 / FALLBACK_SECONDS.stop + 1);
    await stopInstance(event);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
    expect(answered()).toMatchObject({
      status: 'Failed', state: 'running', done: true, message: expect.stringContaining('did not reach stopped'), poll: { expired: true },
    });
    expectCleared(`WAIT#stop#${ID}`);
  });

  test('one attempt before the bound: still waiting', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopping'));
    registration(900 / FALLBACK_SECONDS.stop);
    await expect(stopInstance(event)).resolves.toMatchObject({ status: 'InProgress', done: false, poll: { expired: false } });
    expectNotAnswered();
  });

  test('a terminated instance is over at once: answered Failed', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('terminated'));
    await stopInstance(event);
    expect(answered()).toMatchObject({ status: 'Failed', done: true });
  });

  test('a task token without the run\'s execution is a configuration error, before anything is registered', async () => {
    await expect(stopInstance({ instanceId: ID, taskToken: TOKEN })).rejects.toMatchObject({ name: 'ConfigurationError' });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });
});

describe('start-instance with a task token', () => {
  const event = { instanceId: ID, execution: EXECUTION, taskToken: TOKEN };

  test('registers WAIT#start#<instance id>; stopped: asks for the start, no answer yet', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await startInstance(event);
    expect(registered().key).toBe(`WAIT#start#${ID}`);
    expect(ec2).toHaveReceivedCommandWith(StartInstancesCommand, { InstanceIds: [ID] });
    expectNotAnswered();
  });

  test('already running: answered Success and cleared', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
    await startInstance(event);
    expect(answered()).toMatchObject({ status: 'Success', state: 'running', done: true });
    expectCleared(`WAIT#start#${ID}`);
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
  });

  test('expired: answered Failed, but a stopped instance is still asked to start (it must not stay down)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    registration(900 / FALLBACK_SECONDS.start + 1);
    await startInstance(event);
    expect(ec2).toHaveReceivedCommand(StartInstancesCommand);
    expect(answered()).toMatchObject({ status: 'Failed', done: true, poll: { expired: true } });
  });
});

describe('start-backup-job with a task token', () => {
  const event = { instanceId: ID, platform: 'Linux' as const, backup: settings, execution: EXECUTION, taskToken: TOKEN };
  const bound = backupPolicy(settings).maxSeconds;

  test('registers WAIT#backup#<job id>; running: not answered', async () => {
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'RUNNING', PercentDone: '12.0' });
    await expect(startBackupJob(event)).resolves.toMatchObject({ state: 'RUNNING', done: false });
    const { key, fields } = registered();
    expect(key).toBe('WAIT#backup#job-1');
    expect(fields).toMatchObject({
      Kind: 'backup',
      ResourceId: 'job-1',
      TaskToken: TOKEN,
      InstanceId: ID,
      MaxSeconds: bound,
      Previous: expect.objectContaining({ backupJobId: 'job-1', state: 'CREATED' }),
    });
    expect(backup).toHaveReceivedCommandWith(DescribeBackupJobCommand, { BackupJobId: 'job-1' });
    expectNotAnswered();
  });

  test('already completed: answered with the job\'s result, cleared', async () => {
    backup.on(DescribeBackupJobCommand).resolves({
      BackupJobId: 'job-1', State: 'COMPLETED', RecoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1', PercentDone: '100.0',
    });
    const result = await startBackupJob(event);
    expect(answered()).toEqual(JSON.parse(JSON.stringify(result)));
    expect(result).toMatchObject({ backupJobId: 'job-1', state: 'COMPLETED', recoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1', done: true });
    expectCleared('WAIT#backup#job-1');
  });

  test('expired: answered "stopped waiting" with the job still running', async () => {
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'RUNNING' });
    registration(Math.ceil(bound / FALLBACK_SECONDS.backup) + 1);
    await startBackupJob(event);
    expect(answered()).toMatchObject({
      state: 'RUNNING', done: true, statusMessage: expect.stringContaining('the workflow stopped waiting'), poll: { expired: true },
    });
    expectCleared('WAIT#backup#job-1');
  });
});

/** The attempt the look-marking UpdateItem recorded (SET #looked = :attempt), or undefined without one. */
function lookedAttempt(): number | undefined {
  const calls = ddb.commandCalls(UpdateCommand).filter(c => String((c.args[0].input as any).UpdateExpression).includes('#looked = :attempt'));
  return calls.length === 0 ? undefined : (calls[calls.length - 1].args[0].input as any).ExpressionAttributeValues[':attempt'];
}

/**
 * A job wait's fallback look refused by AWS Backup (throttled): the wait goes on instead of failing the invocation,
 * since Step Functions counts a retrier's attempts over the whole waiting state (its 5 TransientError retries would
 * be spent across an hour's fallback looks). The look at the bound, and errors that are not transient, still fail it.
 */
describe('a job wait\'s fallback look on a transient error', () => {
  const backupEvent = { instanceId: ID, platform: 'Linux' as const, backup: settings, execution: EXECUTION, taskToken: TOKEN };
  const copyBackup = { ...settings, copyVaultArn: COPY_VAULT };
  const copyEvent = { instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: copyBackup, execution: EXECUTION, taskToken: TOKEN };

  test('backup, 3rd attempt, DescribeBackupJob throttled: still waiting, the attempt marked looked, nothing answered', async () => {
    backup.on(DescribeBackupJobCommand).rejects(throttling());
    registration(3);
    await expect(startBackupJob(backupEvent)).resolves.toMatchObject({
      backupJobId: 'job-1', done: false, poll: pollAtAttempt(3, 'backup', backupPolicy(settings).maxSeconds),
    });
    expect(lookedAttempt()).toBe(3);
    expectNotAnswered();
  });

  test('copy, 2nd attempt, DescribeCopyJob throttled: still waiting', async () => {
    backup.on(DescribeCopyJobCommand).rejects(throttling());
    registration(2);
    await expect(startCopyJob(copyEvent)).resolves.toMatchObject({ copyJobId: 'copy-1', done: false });
    expect(lookedAttempt()).toBe(2);
    expectNotAnswered();
  });

  test('the first look throttled: still waiting too (the job is started: the look only looks), marked looked', async () => {
    backup.on(DescribeBackupJobCommand).rejects(throttling());
    registration(1);
    await expect(startBackupJob(backupEvent)).resolves.toMatchObject({ backupJobId: 'job-1', done: false, poll: { attempt: 1 } });
    expect(lookedAttempt()).toBe(1);
    expectNotAnswered();
  });

  test('StartBackupJob itself throttled: a TransientError (the job is not started; the Task retries within seconds)', async () => {
    backup.on(StartBackupJobCommand).rejects(throttling());
    registration(1);
    await expect(startBackupJob(backupEvent)).rejects.toMatchObject({ name: 'TransientError' });
    expect(lookedAttempt()).toBeUndefined();
  });

  test('a fallback look refused for good (AccessDeniedException): the invocation fails, for the Catch', async () => {
    backup.on(DescribeBackupJobCommand).rejects(awsError('AccessDeniedException'));
    registration(3);
    await expect(startBackupJob(backupEvent)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(lookedAttempt()).toBeUndefined();
  });

  test('the look at the bound throttled (it ends the wait): a TransientError, not a deferral past the bound', async () => {
    backup.on(DescribeBackupJobCommand).rejects(throttling());
    registration(Math.ceil(backupPolicy(settings).maxSeconds / FALLBACK_SECONDS.backup) + 1);
    await expect(startBackupJob(backupEvent)).rejects.toMatchObject({ name: 'TransientError' });
    expect(lookedAttempt()).toBeUndefined();
    expectNotAnswered();
  });
});

describe('a script wait\'s look on a transient error', () => {
  const scriptEvent = { instanceId: ID, phase: 'post' as const, script: pre, execution: EXECUTION, taskToken: TOKEN };

  test('the first look (ListCommandInvocations) throttled: still waiting (the command is sent), marked looked', async () => {
    statusLook().rejects(throttling());
    registration(1);
    await expect(sendScript(scriptEvent)).resolves.toMatchObject({ commandId: 'cmd-new', done: false, poll: { attempt: 1 } });
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(lookedAttempt()).toBe(1);
    expectNotAnswered();
  });

  test('SendCommand itself throttled: a TransientError (nothing sent; the Task retries within seconds)', async () => {
    ssm.on(SendCommandCommand).rejects(throttling());
    registration(1);
    await expect(sendScript(scriptEvent)).rejects.toMatchObject({ name: 'TransientError' });
    expect(lookedAttempt()).toBeUndefined();
  });
});

describe('a power wait\'s fallback look on a transient error', () => {
  const powerEvent = { instanceId: ID, execution: EXECUTION, taskToken: TOKEN };

  test('start, 2nd attempt, DescribeInstances throttled: still waiting, marked looked, nothing asked of EC2 or answered', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    registration(2);
    await expect(startInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', done: false, poll: { attempt: 2, expired: false } });
    expect(lookedAttempt()).toBe(2);
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
    expectNotAnswered();
  });

  test('start, 2nd attempt, StartInstances throttled (the instance still stopped): still waiting; the next look asks again', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    ec2.on(StartInstancesCommand).rejects(awsError('RequestLimitExceeded'));
    registration(2);
    await expect(startInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', done: false });
    expect(lookedAttempt()).toBe(2);
    ec2.on(StartInstancesCommand).resolves({ StartingInstances: [{ InstanceId: ID, CurrentState: { Name: 'pending' } }] });
    registration(3);
    await expect(startInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', state: 'pending', done: false });
    expect(ec2).toHaveReceivedCommandTimes(StartInstancesCommand, 2);
  });

  test('stop, 2nd attempt, DescribeInstances throttled: still waiting', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    registration(2);
    await expect(stopInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', done: false });
    expect(lookedAttempt()).toBe(2);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('a stop\'s first look throttled: a TransientError for the Task\'s quick retry', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    registration(1);
    await expect(stopInstance(powerEvent)).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining(`[wait stop ${ID}]`) });
    expect(lookedAttempt()).toBeUndefined();
  });

  test('a start\'s first look, StartInstances throttled: still waiting, marked looked; the next look asks again', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    ec2.on(StartInstancesCommand).rejects(awsError('RequestLimitExceeded'));
    registration(1);
    await expect(startInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', done: false, poll: { attempt: 1, expired: false } });
    expect(lookedAttempt()).toBe(1);
    expectNotAnswered();
    ec2.on(StartInstancesCommand).resolves({ StartingInstances: [{ InstanceId: ID, CurrentState: { Name: 'pending' } }] });
    registration(2);
    await expect(startInstance(powerEvent)).resolves.toMatchObject({ status: 'InProgress', state: 'pending', done: false });
    expect(ec2).toHaveReceivedCommandTimes(StartInstancesCommand, 2);
  });

  test('the start look at the bound throttled: a TransientError (the Task retries the start; it is not deferred past the bound)', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    registration(900 / FALLBACK_SECONDS.start + 1);
    await expect(startInstance(powerEvent)).rejects.toMatchObject({ name: 'TransientError' });
    expect(lookedAttempt()).toBeUndefined();
  });
});

describe('start-copy-job with a task token', () => {
  const copySettings = { ...settings, copyVaultArn: COPY_VAULT };
  const event = { instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: copySettings, execution: EXECUTION, taskToken: TOKEN };

  test('registers WAIT#copy#<copy job id>; running: not answered', async () => {
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'RUNNING' } });
    await startCopyJob(event);
    expect(registered()).toMatchObject({ key: 'WAIT#copy#copy-1', fields: { Kind: 'copy', InstanceId: ID, TaskToken: TOKEN } });
    expectNotAnswered();
  });

  test('already completed: answered and cleared', async () => {
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'COMPLETED', DestinationRecoveryPointArn: 'arn:dest' } });
    await startCopyJob(event);
    expect(answered()).toMatchObject({ copyJobId: 'copy-1', state: 'COMPLETED', destinationRecoveryPointArn: 'arn:dest', done: true });
    expectCleared('WAIT#copy#copy-1');
  });

  test('expired: answered "stopped waiting"', async () => {
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'RUNNING' } });
    registration(Math.ceil(backupPolicy(copySettings).maxSeconds / FALLBACK_SECONDS.copy) + 1);
    await startCopyJob(event);
    expect(answered()).toMatchObject({ done: true, statusMessage: expect.stringContaining('stopped waiting') });
  });
});

describe('a stale token', () => {
  test.each(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'])('%s from SendTaskSuccess is tolerated: the item is still cleared', async (code) => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    sfn.on(SendTaskSuccessCommand).rejects(awsError(code));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: TOKEN })).resolves.toMatchObject({ status: 'Success' });
    expectCleared(`WAIT#stop#${ID}`);
  });

  test('any other SendTaskSuccess error is not swallowed (the Task retries the call)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    sfn.on(SendTaskSuccessCommand).rejects(throttling());
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: TOKEN })).rejects.toMatchObject({ name: 'TransientError' });
    sfn.on(SendTaskSuccessCommand).rejects(awsError('AccessDeniedException'));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: TOKEN })).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  test('a newer registration\'s item is not deleted: clearing is conditional on the token (a failing condition is fine)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    ddb.on(DeleteCommand).rejects(awsError('ConditionalCheckFailedException'));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: TOKEN })).resolves.toMatchObject({ status: 'Success' });
    expect(answered()).toMatchObject({ status: 'Success' });
  });
});

describe('without a task token (polling)', () => {
  test('no handler registers a wait or answers a task; only the job starters journal (JOURNAL# items)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    statusLook().resolves(invocation('Success'));
    backup.on(DescribeBackupJobCommand).resolves({ State: 'COMPLETED' });
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { State: 'COMPLETED' } });

    await expect(sendScript({ instanceId: ID, phase: 'pre', script: pre, execution: EXECUTION })).resolves.toMatchObject({ done: false });
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION })).resolves.toMatchObject({ status: 'Success' });
    await expect(startInstance({ instanceId: ID, execution: EXECUTION })).resolves.toMatchObject({ status: 'InProgress' });
    await expect(startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION })).resolves.toMatchObject({ done: false });
    const copyBackup = { ...settings, copyVaultArn: COPY_VAULT };
    await expect(startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: copyBackup, execution: EXECUTION }))
      .resolves.toMatchObject({ done: false });

    // Only the instance journal (what a run does to an instance is recorded in both wait modes): no wait, no token.
    expect(ddb.calls().map(c => (c.args[0].input as any).Key?.SM_Execution_ID))
      .toEqual(ddb.calls().map(() => expect.stringMatching(/^JOURNAL#/)));
    expect(sfn.calls()).toHaveLength(0);
    // The polling starters only start: the look is the describe handlers' job.
    expect(ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(ssm).not.toHaveReceivedCommandWith(ListCommandInvocationsCommand, { Details: true });
    expect(backup).not.toHaveReceivedCommand(DescribeBackupJobCommand);
    expect(backup).not.toHaveReceivedCommand(DescribeCopyJobCommand);
  });

  test('an empty task token counts as none', async () => {
    ec2.on(DescribeInstancesCommand).resolves(instanceState('stopped'));
    await stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: '' });
    expect(ddb.calls().map(c => String((c.args[0].input as any).Key?.SM_Execution_ID)).filter(k => !k.startsWith('JOURNAL#'))).toEqual([]);
    expect(sfn.calls()).toHaveLength(0);
  });
});

// GetCommand is only resume-wait's: the starting handlers never read a wait back.
test('the starting handlers never read a wait (GetItem is resume-wait\'s)', async () => {
  ec2.on(DescribeInstancesCommand).resolves(instanceState('running'));
  await stopInstance({ instanceId: ID, execution: EXECUTION, taskToken: TOKEN });
  expect(ddb).not.toHaveReceivedCommand(GetCommand);
});
