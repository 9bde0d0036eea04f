import { BackupClient, DescribeBackupJobCommand, ListBackupJobsCommand, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type BackupJobResult } from '../../../src/contract/messages';
import { handler as describeBackupJob } from '../../../src/functions/describe-backup-job/describe-backup-job.lambda';
import { handler as startBackupJob } from '../../../src/functions/start-backup-job/start-backup-job.lambda';
import { CLOCK_MARGIN_SECONDS } from '../../../src/lambda-shared/job-start';
import { FakeJournal } from '../../helpers/fake-journal';
import { awsError, EXECUTION, runConfig, throttling, withEnvironment } from '../../helpers/handler-fixtures';

const backup = mockClient(BackupClient);
const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const ID = 'i-0123456789abcdef0';
const settings = runConfig().backup;
const RESOURCE = `arn:aws:ec2:eu-west-1:111122223333:instance/${ID}`;
let journal: FakeJournal;

withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });

beforeEach(() => {
  backup.reset();
  ddb.reset();
  sfn.reset();
  journal = new FakeJournal();
  journal.install(ddb);
  ddb.on(PutCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-1' });
  backup.on(ListBackupJobsCommand).resolves({ BackupJobs: [] });
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
    // Three separate executions: one execution starts one job per instance.
    await startBackupJob({ instanceId: ID, platform: 'Windows', backup: zero, execution: { ...EXECUTION, id: `${EXECUTION.id}-a` } });
    await startBackupJob({ instanceId: ID, platform: 'Linux', backup: zero, execution: { ...EXECUTION, id: `${EXECUTION.id}-b` } });
    await startBackupJob({
      instanceId: ID, platform: 'Windows', backup: { ...zero, windowsVss: false, moveToColdStorageAfterDays: 7 }, execution: { ...EXECUTION, id: `${EXECUTION.id}-c` },
    });
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
    // Without the journal's record (as if it were another table), the start is repeated with the same token.
    journal.items.clear();
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

describe('start-backup-job: one job per execution and instance (the instance journal)', () => {
  const event = { instanceId: ID, platform: 'Linux' as const, backup: settings, execution: EXECUTION };
  const INTENT = 'Backup_IntentAt';
  const RESOURCE_ID = 'Backup_ResourceId';

  test('the intent is journaled before StartBackupJob, the job id right after, before the handler answers', async () => {
    const before = Date.now();
    ddb.on(PutCommand).resolves({});
    let intentAtStart: unknown;
    backup.on(StartBackupJobCommand).callsFake(() => {
      intentAtStart = journal.item(EXECUTION.id, ID)?.[INTENT];
      return { BackupJobId: 'job-1' };
    });
    await expect(startBackupJob(event)).resolves.toMatchObject({ backupJobId: 'job-1' });
    expect(Date.parse(String(intentAtStart))).toBeGreaterThanOrEqual(before - 1000);
    expect(journal.item(EXECUTION.id, ID)).toMatchObject({ [INTENT]: intentAtStart, [RESOURCE_ID]: 'job-1' });
    expect(backup).toHaveReceivedCommandTimes(StartBackupJobCommand, 1);
  });

  test('a later invocation (a retry, a fallback look) finds the job id: no StartBackupJob, no ListBackupJobs', async () => {
    await startBackupJob(event);
    backup.on(StartBackupJobCommand).resolves({ BackupJobId: 'job-2' });
    await expect(startBackupJob(event)).resolves.toMatchObject({ backupJobId: 'job-1', done: false });
    await expect(startBackupJob(event)).resolves.toMatchObject({ backupJobId: 'job-1' });
    expect(backup).toHaveReceivedCommandTimes(StartBackupJobCommand, 1);
    expect(backup).not.toHaveReceivedCommand(ListBackupJobsCommand);
  });

  test('waiting on events, a fallback look only describes the recorded job', async () => {
    journal.seed(EXECUTION.id, ID, { [INTENT]: new Date(Date.now() - 5 * 3600_000).toISOString(), [RESOURCE_ID]: 'job-1' });
    backup.on(DescribeBackupJobCommand).resolves({ BackupJobId: 'job-1', State: 'RUNNING', PercentDone: '60.0' });
    await expect(startBackupJob({ ...event, taskToken: 'token-2' })).resolves.toMatchObject({ backupJobId: 'job-1', state: 'RUNNING', done: false });
    expect(backup).not.toHaveReceivedCommand(StartBackupJobCommand);
    expect(backup).toHaveReceivedCommandWith(DescribeBackupJobCommand, { BackupJobId: 'job-1' });
  });

  test('an intent without an id (the answer was lost): the job is recovered from ListBackupJobs, every page read, and recorded', async () => {
    const intentAt = new Date(Date.now() - 60_000);
    journal.seed(EXECUTION.id, ID, { [INTENT]: intentAt.toISOString() });
    const job = (id: string, created: Date, extra: Record<string, unknown> = {}) => ({
      BackupJobId: id, ResourceArn: RESOURCE, BackupVaultName: 'app-vault', IamRoleArn: settings.roleArn, CreationDate: created, State: 'RUNNING' as const, ...extra,
    });
    backup.on(ListBackupJobsCommand)
      .resolvesOnce({ BackupJobs: [job('plan-job', new Date(intentAt.getTime() + 1000), { CreatedBy: { BackupPlanId: 'plan-1' } })], NextToken: 'p2' })
      .resolvesOnce({ BackupJobs: [job('other-vault', new Date(intentAt.getTime() + 2000), { BackupVaultName: 'elsewhere' })], NextToken: 'p3' })
      .resolvesOnce({ BackupJobs: [job('ours', new Date(intentAt.getTime() + 3000)), job('later', new Date(intentAt.getTime() + 9000))] });
    await expect(startBackupJob(event)).resolves.toMatchObject({ backupJobId: 'ours' });
    expect(backup).not.toHaveReceivedCommand(StartBackupJobCommand);
    const lists = backup.commandCalls(ListBackupJobsCommand).map((c) => c.args[0].input);
    expect(lists).toHaveLength(3);
    // (The SDK paginator reuses one input object: every recorded call shows the last NextToken.)
    expect(lists[0]).toMatchObject({
      ByResourceArn: RESOURCE,
      ByBackupVaultName: 'app-vault',
      ByCreatedAfter: new Date(intentAt.getTime() - CLOCK_MARGIN_SECONDS * 1000),
    });
    expect(journal.item(EXECUTION.id, ID)).toMatchObject({ [RESOURCE_ID]: 'ours' });
  });

  test('an intent without an id and no job listed, within the token\'s hour: started again with the same token', async () => {
    await startBackupJob(event);
    const token = backup.commandCalls(StartBackupJobCommand)[0].args[0].input.IdempotencyToken;
    journal.seed(EXECUTION.id, ID, { [INTENT]: new Date(Date.now() - 10 * 60_000).toISOString() });
    backup.resetHistory();
    await expect(startBackupJob(event)).resolves.toMatchObject({ backupJobId: 'job-1' });
    expect(backup).toHaveReceivedCommandTimes(ListBackupJobsCommand, 1);
    expect(backup).toHaveReceivedCommandWith(StartBackupJobCommand, { IdempotencyToken: token });
  });

  test('an intent without an id and no job listed, after the token may have expired: refused, never started again', async () => {
    journal.seed(EXECUTION.id, ID, { [INTENT]: new Date(Date.now() - 2 * 3600_000).toISOString() });
    await expect(startBackupJob(event)).rejects.toMatchObject({ name: 'JobStartUnconfirmed', message: expect.stringContaining('not started again') });
    expect(backup).not.toHaveReceivedCommand(StartBackupJobCommand);
  });

  test('ListBackupJobs throttled: TransientError, nothing started', async () => {
    journal.seed(EXECUTION.id, ID, { [INTENT]: new Date().toISOString() });
    backup.on(ListBackupJobsCommand).rejects(throttling());
    await expect(startBackupJob(event)).rejects.toMatchObject({ name: 'TransientError' });
    expect(backup).not.toHaveReceivedCommand(StartBackupJobCommand);
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
