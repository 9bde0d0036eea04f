import { BackupClient, DescribeCopyJobCommand, ListCopyJobsCommand, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type CopyJobResult } from '../../../src/contract/messages';
import { handler as describeCopyJob } from '../../../src/functions/describe-copy-job/describe-copy-job.lambda';
import { handler as startCopyJob } from '../../../src/functions/start-copy-job/start-copy-job.lambda';
import { CLOCK_MARGIN_SECONDS } from '../../../src/lambda-shared/job-start';
import { FakeJournal } from '../../helpers/fake-journal';
import { awsError, EXECUTION, runConfig, throttling, withEnvironment } from '../../helpers/handler-fixtures';

const backup = mockClient(BackupClient);
const ID = 'i-0123456789abcdef0';
const RECOVERY_POINT = 'arn:aws:ec2:eu-west-1::image/ami-0123456789abcdef0';
const DESTINATION = 'arn:aws:backup:us-west-2:111122223333:backup-vault:dr-vault';
const settings = { ...runConfig().backup, copyVaultArn: DESTINATION, copyDeleteAfterDays: 90 };
const RESOURCE = `arn:aws:ec2:eu-west-1:111122223333:instance/${ID}`;
const ddb = mockClient(DynamoDBDocumentClient);
let journal: FakeJournal;

withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });

beforeEach(() => {
  backup.reset();
  ddb.reset();
  journal = new FakeJournal();
  journal.install(ddb);
  backup.on(StartCopyJobCommand).resolves({ CopyJobId: 'copy-1' });
  backup.on(ListCopyJobsCommand).resolves({ CopyJobs: [] });
});

describe('start-copy-job', () => {
  test('copies the recovery point from the vault to the copy vault with the backup role and a lifecycle', async () => {
    const result = await startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION });
    expect(backup.commandCalls(StartCopyJobCommand)[0].args[0].input).toEqual({
      RecoveryPointArn: RECOVERY_POINT,
      SourceBackupVaultName: 'app-vault',
      DestinationBackupVaultArn: DESTINATION,
      IamRoleArn: 'arn:aws:iam::111122223333:role/backup-role',
      IdempotencyToken: expect.stringMatching(/^[0-9a-f]{64}$/),
      Lifecycle: { DeleteAfterDays: 90 },
    });
    expect(result).toMatchObject({ copyJobId: 'copy-1', state: 'CREATED', done: false, poll: { attempt: 1, nextWaitSeconds: 30, expired: false } });
  });

  test('no lifecycle when copies are kept', async () => {
    await startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: { ...settings, copyDeleteAfterDays: 0 }, execution: EXECUTION });
    expect(backup.commandCalls(StartCopyJobCommand)[0].args[0].input.Lifecycle).toBeUndefined();
  });

  test('the same execution and instance give the same token (a retry starts no second copy); another execution another', async () => {
    await startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION });
    // Without the journal's record (as if it were another table), the start is repeated with the same token.
    journal.items.clear();
    await startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION });
    await startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: { ...EXECUTION, id: `${EXECUTION.id}-2` } });
    const tokens = backup.commandCalls(StartCopyJobCommand).map(c => c.args[0].input.IdempotencyToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  test('throttling is a TransientError; a refusal keeps its name', async () => {
    backup.on(StartCopyJobCommand).rejects(throttling());
    await expect(startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION }))
      .rejects.toMatchObject({ name: 'TransientError' });
    backup.on(StartCopyJobCommand).rejects(awsError('AccessDeniedException', 'the destination vault policy denies it', { $metadata: { httpStatusCode: 403 } }));
    await expect(startCopyJob({ instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION }))
      .rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('start-copy-job: one copy per execution and instance (the instance journal)', () => {
  const event = { instanceId: ID, recoveryPointArn: RECOVERY_POINT, backup: settings, execution: EXECUTION };

  test('the intent before StartCopyJob, the copy job id right after; a later invocation only finds it', async () => {
    let intentAtStart: unknown;
    backup.on(StartCopyJobCommand).callsFake(() => {
      intentAtStart = journal.item(EXECUTION.id, ID)?.Copy_IntentAt;
      return { CopyJobId: 'copy-1' };
    });
    await startCopyJob(event);
    expect(typeof intentAtStart).toBe('string');
    expect(journal.item(EXECUTION.id, ID)).toMatchObject({ Copy_ResourceId: 'copy-1' });
    await expect(startCopyJob(event)).resolves.toMatchObject({ copyJobId: 'copy-1' });
    expect(backup).toHaveReceivedCommandTimes(StartCopyJobCommand, 1);
    expect(backup).not.toHaveReceivedCommand(ListCopyJobsCommand);
  });

  test('an intent without an id: the copy is recovered from ListCopyJobs (this recovery point, this vault) and recorded', async () => {
    const intentAt = new Date(Date.now() - 60_000);
    journal.seed(EXECUTION.id, ID, { Copy_IntentAt: intentAt.toISOString() });
    const copy = (id: string, source: string, created: Date) => ({
      CopyJobId: id, ResourceArn: RESOURCE, SourceRecoveryPointArn: source, DestinationBackupVaultArn: DESTINATION, CreationDate: created, State: 'RUNNING' as const,
    });
    backup.on(ListCopyJobsCommand)
      .resolvesOnce({ CopyJobs: [copy('of-another-point', 'arn:aws:ec2:eu-west-1::image/ami-other', new Date(intentAt.getTime() + 1000))], NextToken: 'p2' })
      .resolvesOnce({ CopyJobs: [copy('ours', RECOVERY_POINT, new Date(intentAt.getTime() + 2000))] });
    await expect(startCopyJob(event)).resolves.toMatchObject({ copyJobId: 'ours' });
    expect(backup).not.toHaveReceivedCommand(StartCopyJobCommand);
    expect(backup).toHaveReceivedCommandTimes(ListCopyJobsCommand, 2);
    expect(backup.commandCalls(ListCopyJobsCommand)[0].args[0].input).toMatchObject({
      ByResourceArn: RESOURCE, ByDestinationVaultArn: DESTINATION, ByCreatedAfter: new Date(intentAt.getTime() - CLOCK_MARGIN_SECONDS * 1000),
    });
    expect(journal.item(EXECUTION.id, ID)).toMatchObject({ Copy_ResourceId: 'ours' });
  });

  test('an intent without an id, none listed: the same token within the hour; refused later', async () => {
    journal.seed(EXECUTION.id, ID, { Copy_IntentAt: new Date(Date.now() - 60_000).toISOString() });
    await expect(startCopyJob(event)).resolves.toMatchObject({ copyJobId: 'copy-1' });
    expect(backup).toHaveReceivedCommandTimes(StartCopyJobCommand, 1);
    journal.seed(EXECUTION.id, ID, { Copy_IntentAt: new Date(Date.now() - 3 * 3600_000).toISOString() });
    await expect(startCopyJob(event)).rejects.toMatchObject({ name: 'JobStartUnconfirmed' });
    expect(backup).toHaveReceivedCommandTimes(StartCopyJobCommand, 1);
  });
});

describe('describe-copy-job', () => {
  const first = (): CopyJobResult => ({
    copyJobId: 'copy-1',
    state: 'CREATED',
    statusMessage: '',
    destinationRecoveryPointArn: '',
    done: false,
    poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 30, maxSeconds: 600, expired: false },
  });

  test.each([
    ['CREATED', false], ['RUNNING', false], ['COMPLETED', true], ['FAILED', true], ['PARTIAL', true],
  ])('%s: done %p', async (state, done) => {
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: state as any, DestinationRecoveryPointArn: state === 'COMPLETED' ? 'arn:aws:ec2:us-west-2::image/ami-1' : undefined } });
    const result = await describeCopyJob({ previous: first(), backup: settings });
    expect(result).toMatchObject({ state, done, poll: { attempt: 2, elapsedSeconds: 30 } });
    if (state === 'COMPLETED') expect(result.destinationRecoveryPointArn).toBe('arn:aws:ec2:us-west-2::image/ami-1');
  });

  test('an unknown state is not final; past the bound the wait ends with the last state', async () => {
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'SOMETHING_NEW' as any } });
    expect(await describeCopyJob({ previous: first(), backup: settings })).toMatchObject({ done: false });
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: 'copy-1', State: 'RUNNING' } });
    const late = { ...first(), poll: { attempt: 30, elapsedSeconds: 30_000, nextWaitSeconds: 300, maxSeconds: 30_100, expired: false } };
    const result = await describeCopyJob({ previous: late, backup: settings });
    expect(result).toMatchObject({ state: 'RUNNING', done: true, poll: { expired: true } });
    expect(result.statusMessage).toMatch(/^still RUNNING after \d+ s: the workflow stopped waiting$/);
  });

  test('throttling is a TransientError', async () => {
    backup.on(DescribeCopyJobCommand).rejects(throttling());
    await expect(describeCopyJob({ previous: first(), backup: settings })).rejects.toMatchObject({ name: 'TransientError' });
  });
});
