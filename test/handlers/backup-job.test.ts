import { BackupClient, DescribeBackupJobCommand, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { EXECUTION, awsError, runConfig, throttling, withEnvironment } from './fixtures';
import { handler as describeBackupJob } from '../../src/handlers/describe-backup-job/describe-backup-job.lambda';
import { handler as startBackupJob } from '../../src/handlers/start-backup-job/start-backup-job.lambda';
import type { BackupJobResult } from '../../src/runtime/contracts';

const backup = mockClient(BackupClient);

// Every acting handler journals its action first (src/runtime/journal.ts): the journal's UpdateItem answers.
const journal = mockClient(DynamoDBDocumentClient);
withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });
beforeEach(() => {
  journal.reset();
  journal.on(UpdateCommand).resolves({});
});

const ID = 'i-0123456789abcdef0';
const settings = runConfig().backup;

beforeEach(() => {
  backup.reset();
  backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-1' });
});

describe('start-backup-job', () => {
  test('starts the job with the run settings and recovery point tags', async () => {
    const result = await startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION });
    const input = backup.commandCalls(StartBackupJobCommand)[0].args[0].input;
    expect(input).toEqual({
      BackupVaultName: 'app-vault',
      IamRoleArn: 'arn:aws:iam::111122223333:role/backup-role',
      ResourceArn: `arn:aws:ec2:eu-west-1:111122223333:instance/${ID}`,
      IdempotencyToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      StartWindowMinutes: 60,
      CompleteWindowMinutes: 120,
      Lifecycle: { DeleteAfterDays: 35 },
      RecoveryPointTags: { 'app': 'shop', 'pre-post-script-backup:instance-id': ID, 'pre-post-script-backup:execution-id': 'run-1' },
    });
    expect(result).toEqual({
      backupJobId: 'job-1',
      state: 'CREATED',
      statusMessage: '',
      recoveryPointArn: '',
      percentDone: '0',
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 30, maxSeconds: 60 * 60 + 120 * 60 + 900, expired: false },
    });
  });

  test('Windows VSS only for Windows instances when enabled; windows and lifecycle omitted when 0', async () => {
    const zero = { ...settings, startWindowMinutes: 0, completeWindowMinutes: 0, deleteAfterDays: 0, moveToColdStorageAfterDays: 0 };
    await startBackupJob({ instanceId: ID, platform: 'Windows', backup: zero, execution: EXECUTION });
    await startBackupJob({ instanceId: ID, platform: 'Linux', backup: zero, execution: EXECUTION });
    await startBackupJob({ instanceId: ID, platform: 'Windows', backup: { ...zero, windowsVss: false, moveToColdStorageAfterDays: 7 }, execution: EXECUTION });
    const [win, linux, noVss] = backup.commandCalls(StartBackupJobCommand).map((c) => c.args[0].input);
    expect(win.BackupOptions).toEqual({ WindowsVSS: 'enabled' });
    expect(linux.BackupOptions).toBeUndefined();
    expect(noVss.BackupOptions).toBeUndefined();
    for (const input of [win, linux]) {
      expect(input.StartWindowMinutes).toBeUndefined();
      expect(input.CompleteWindowMinutes).toBeUndefined();
      expect(input.Lifecycle).toBeUndefined();
    }
    expect(noVss.Lifecycle).toEqual({ MoveToColdStorageAfterDays: 7 });
  });

  test('idempotent: the same execution and instance send the same token; others differ', async () => {
    await startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION });
    await startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION });
    await startBackupJob({ instanceId: 'i-0123456789abcdef1', platform: 'Linux', backup: settings, execution: EXECUTION });
    await startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: { ...EXECUTION, id: `${EXECUTION.id}-2` } });
    const tokens = backup.commandCalls(StartBackupJobCommand).map((c) => c.args[0].input.IdempotencyToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(new Set(tokens).size).toBe(3);
  });

  test('throttling: TransientError; a bad request: permanent', async () => {
    backup.on(StartBackupJobCommand).rejectsOnce(throttling()).rejectsOnce(awsError('InvalidParameterValueException', 'bad vault'));
    await expect(startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
    await expect(startBackupJob({ instanceId: ID, platform: 'Linux', backup: settings, execution: EXECUTION }))
      .rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringContaining('bad vault') });
  });
});

describe('describe-backup-job', () => {
  const first: BackupJobResult = {
    backupJobId: 'job-1',
    state: 'CREATED',
    statusMessage: '',
    recoveryPointArn: '',
    percentDone: '0',
    done: false,
    poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 30, maxSeconds: 11700, expired: false },
  };

  test.each(['CREATED', 'PENDING', 'RUNNING', 'ABORTING'])('%s is not final', async (state) => {
    backup.on(DescribeBackupJobCommand).resolves({ State: state as any, PercentDone: '40' });
    expect(await describeBackupJob({ previous: first, backup: settings })).toMatchObject({ state, done: false, percentDone: '40', poll: { attempt: 2 } });
    expect(backup).toHaveReceivedCommandWith(DescribeBackupJobCommand, { BackupJobId: 'job-1' });
  });

  test.each(['ABORTED', 'COMPLETED', 'FAILED', 'EXPIRED', 'PARTIAL'])('%s is final', async (state) => {
    backup.on(DescribeBackupJobCommand).resolves({
      State: state as any, StatusMessage: state === 'COMPLETED' ? undefined : 'why', RecoveryPointArn: 'arn:rp', PercentDone: '100',
    });
    expect(await describeBackupJob({ previous: first, backup: settings })).toEqual({
      backupJobId: 'job-1',
      state,
      statusMessage: state === 'COMPLETED' ? '' : 'why',
      recoveryPointArn: 'arn:rp',
      percentDone: '100',
      done: true,
      poll: { attempt: 2, elapsedSeconds: 30, nextWaitSeconds: 60, maxSeconds: 11700, expired: false },
    });
  });

  test('an unknown state is treated as not final', async () => {
    backup.on(DescribeBackupJobCommand).resolves({ State: 'SOMETHING_NEW' as any });
    expect(await describeBackupJob({ previous: first, backup: settings })).toMatchObject({ state: 'SOMETHING_NEW', done: false });
  });

  test('bounded: still RUNNING at the bound is done, with the reason', async () => {
    backup.on(DescribeBackupJobCommand).resolves({ State: 'RUNNING', PercentDone: '99' });
    let previous = first;
    let calls = 0;
    while (!previous.done && calls < 1000) {
      previous = await describeBackupJob({ previous, backup: settings });
      calls++;
    }
    expect(calls).toBeLessThan(60);
    expect(previous).toMatchObject({
      state: 'RUNNING', done: true, statusMessage: 'still RUNNING after 11700 s: the workflow stopped waiting', poll: { expired: true },
    });
  });

  test('throttling: TransientError', async () => {
    backup.on(DescribeBackupJobCommand).rejects(throttling());
    await expect(describeBackupJob({ previous: first, backup: settings })).rejects.toMatchObject({ name: 'TransientError' });
  });
});
