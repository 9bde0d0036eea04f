import { BackupClient, DescribeBackupJobCommand } from '@aws-sdk/client-backup';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { journalKey } from '../../src/contract/audit-schema';
import { type ReleaseLoopState, type VerifyConsistencyEvent } from '../../src/contract/messages';
import { amiIdOf, observeRelease, observeReleasePoint, verifyAtJobEnd, verifyConsistency } from '../../src/lambda-shared/release-point';
import { awsError, EXECUTION, throttling } from '../helpers/handler-fixtures';

const backupMock = mockClient(BackupClient);
const ec2Mock = mockClient(EC2Client);
const clients = { backup: new BackupClient({}), ec2: new EC2Client({}) };

const JOB = 'D1B2C3D4-0000-1111-2222-333344445555';
const AMI = 'ami-0123456789abcdef0';
const ARN = `arn:aws:ec2:eu-west-1::image/${AMI}`;
const VOLUMES = ['vol-00000000000000001', 'vol-00000000000000002'];
const SNAPS = ['snap-00000000000000001', 'snap-00000000000000002'];
const PRE_END = '2026-12-03T02:05:00.000Z';
const STARTED = new Date('2026-12-03T02:07:30.000Z');
const NOW = new Date('2026-12-03T02:08:00.000Z');
const query = { backupJobId: JOB, volumeIds: VOLUMES, preScriptEndedAt: PRE_END };
const look = () => observeReleasePoint(clients, query, () => NOW);

function running(recoveryPointArn: string | null = ARN) {
  backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: 'RUNNING', ...(recoveryPointArn ? { RecoveryPointArn: recoveryPointArn } : {}) });
}
function image(snapshotIds: Array<string | undefined> = SNAPS, state = 'pending') {
  ec2Mock.on(DescribeImagesCommand).resolves({
    Images: [{
      ImageId: AMI,
      State: state as any,
      BlockDeviceMappings: snapshotIds.map((id, i) => ({ DeviceName: i === 0 ? '/dev/xvda' : '/dev/sdf', Ebs: { VolumeSize: 8, ...(id ? { SnapshotId: id } : {}) } })),
    }],
  });
}
function snapshots(state = 'pending', startTime: Date = STARTED, ids = SNAPS) {
  ec2Mock.on(DescribeSnapshotsCommand).resolves({
    Snapshots: ids.map((id, i) => ({ SnapshotId: id, VolumeId: VOLUMES[i], State: state as any, StartTime: startTime, Progress: '3%' })),
  });
}

const docMock = mockClient(DynamoDBDocumentClient);

beforeEach(() => {
  backupMock.reset();
  ec2Mock.reset();
  docMock.reset();
});

describe('amiIdOf', () => {
  test('an EC2 image ARN (any partition) names its AMI; anything else is not an AMI', () => {
    expect(amiIdOf(ARN)).toBe(AMI);
    expect(amiIdOf(`arn:aws-us-gov:ec2:us-gov-west-1::image/${AMI}`)).toBe(AMI);
    expect(amiIdOf('arn:aws:backup:eu-west-1:111122223333:recovery-point:abc')).toBeUndefined();
    expect(amiIdOf('')).toBeUndefined();
  });
});

describe('observeReleasePoint', () => {
  test('captured: RUNNING, an AMI whose every volume has a pending snapshot started after the pre-script', async () => {
    running();
    image();
    snapshots();
    const r = await look();
    expect(r).toMatchObject({ state: 'captured', jobState: 'RUNNING', recoveryPointArn: ARN, snapshotIds: SNAPS, capturedAt: STARTED.toISOString(), observedAt: NOW.toISOString() });
    expect(backupMock).toHaveReceivedCommandWith(DescribeBackupJobCommand, { BackupJobId: JOB });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeImagesCommand, { ImageIds: [AMI] });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSnapshotsCommand, { SnapshotIds: SNAPS });
  });

  test('captured with completed snapshots too', async () => {
    running();
    image(SNAPS, 'available');
    snapshots('completed');
    expect((await look()).state).toBe('captured');
  });

  test.each(['CREATED', 'PENDING'])('not yet while the job is %s (no EC2 call)', async (state) => {
    backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: state as any });
    const r = await look();
    expect(r).toMatchObject({ state: 'not-yet', jobState: state, capturedAt: '', snapshotIds: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  test('not yet while RUNNING without a RecoveryPointArn', async () => {
    running(null);
    expect(await look()).toMatchObject({ state: 'not-yet', reason: expect.stringContaining('without a RecoveryPointArn') });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  test('not yet while the new AMI is not visible (InvalidAMIID.NotFound, or an empty answer)', async () => {
    running();
    ec2Mock.on(DescribeImagesCommand).rejects(awsError('InvalidAMIID.NotFound'));
    expect(await look()).toMatchObject({ state: 'not-yet', reason: expect.stringContaining('InvalidAMIID.NotFound') });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    expect((await look()).state).toBe('not-yet');
  });

  test('not yet when a snapshot is gone (the recovery point is changing: a retry)', async () => {
    running();
    image();
    ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError('InvalidSnapshot.NotFound'));
    expect((await look()).state).toBe('not-yet');
  });

  test('not yet while a snapshot is in error', async () => {
    running();
    image();
    snapshots('error');
    expect((await look()).state).toBe('not-yet');
  });

  test('unobservable: the recovery point is not an AMI', async () => {
    running('arn:aws:backup:eu-west-1:111122223333:recovery-point:abc-0');
    expect(await look()).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('not an AMI') });
  });

  test('unobservable: the pending AMI names no snapshot ids', async () => {
    running();
    image([undefined, undefined]);
    expect(await look()).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('no snapshot id') });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeSnapshotsCommand);
  });

  test('unobservable: some mapping without a snapshot id', async () => {
    running();
    image([SNAPS[0], undefined]);
    expect((await look()).state).toBe('unobservable');
  });

  test.each([
    ['DescribeBackupJob', 'AccessDeniedException'],
    ['DescribeImages', 'UnauthorizedOperation'],
    ['DescribeSnapshots', 'UnauthorizedOperation'],
  ])('unobservable: %s denied (%s)', async (call, code) => {
    running();
    image();
    snapshots();
    if (call === 'DescribeBackupJob') backupMock.on(DescribeBackupJobCommand).rejects(awsError(code));
    if (call === 'DescribeImages') ec2Mock.on(DescribeImagesCommand).rejects(awsError(code));
    if (call === 'DescribeSnapshots') ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError(code));
    expect(await look()).toMatchObject({ state: 'unobservable', reason: expect.stringContaining(`${call} denied`) });
  });

  test('unobservable: a snapshot not returned (not accessible) or a volume without a snapshot', async () => {
    running();
    image();
    snapshots('pending', STARTED, [SNAPS[0]]);
    expect((await look()).state).toBe('unobservable');
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: SNAPS.map(id => ({ SnapshotId: id, VolumeId: 'vol-0000000000000ffff', State: 'pending', StartTime: STARTED })),
    });
    expect(await look()).toMatchObject({ state: 'unobservable', reason: expect.stringContaining(`volume ${VOLUMES[0]} has no snapshot`) });
  });

  test('never captured by a snapshot that started before the pre-script ended', async () => {
    running();
    image();
    snapshots('pending', new Date('2026-12-03T02:04:59.000Z'));
    expect(await look()).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('before the pre-script ended') });
  });

  test('without a pre-script, any start time qualifies', async () => {
    running();
    image();
    snapshots('pending', new Date('2026-12-03T01:00:00.000Z'));
    expect((await observeReleasePoint(clients, { backupJobId: JOB, volumeIds: VOLUMES }, () => NOW)).state).toBe('captured');
  });

  test('unobservable when no volume was recorded', async () => {
    running();
    expect((await observeReleasePoint(clients, { backupJobId: JOB, volumeIds: [] }, () => NOW)).state).toBe('unobservable');
  });

  test.each(['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL', 'ABORTING'])('job ended: %s', async (state) => {
    backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: state as any, StatusMessage: 'msg' });
    const r = await look();
    expect(r).toMatchObject({ state: 'job-ended', jobState: state, reason: expect.stringContaining('no RecoveryPointArn was seen') });
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  test('throttling is thrown as TransientError (the workflow retries); other errors by their code', async () => {
    backupMock.on(DescribeBackupJobCommand).rejects(throttling());
    await expect(look()).rejects.toMatchObject({ name: 'TransientError' });
    running();
    ec2Mock.on(DescribeImagesCommand).rejects(awsError('RequestLimitExceeded', 'Request limit exceeded.', { $metadata: { httpStatusCode: 503 } }));
    await expect(look()).rejects.toMatchObject({ name: 'TransientError' });
    backupMock.on(DescribeBackupJobCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(look()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('verifyConsistency', () => {
  const RELEASED = '2026-12-03T02:08:10.000Z';
  const base = { jobState: 'COMPLETED', recoveryPointArn: ARN, volumeIds: VOLUMES, releasedAt: RELEASED, preScriptEndedAt: PRE_END, capturedSnapshotIds: SNAPS, frozen: true };

  test('application-consistent: the final snapshots are the ones seen at release, started while frozen', async () => {
    image(SNAPS, 'available');
    snapshots('completed');
    expect((await verifyConsistency(clients.ec2, base)).consistency).toBe('application-consistent');
  });

  test('crash-consistent: AWS Backup retried the job, its snapshots started after the release', async () => {
    const later = ['snap-00000000000000003', 'snap-00000000000000004'];
    image(later, 'available');
    snapshots('completed', new Date('2026-12-03T02:20:00.000Z'), later);
    const v = await verifyConsistency(clients.ec2, base);
    expect(v).toMatchObject({ consistency: 'crash-consistent', reason: expect.stringContaining('after the release') });
  });

  test('crash-consistent: other snapshots than the ones seen at release', async () => {
    const other = ['snap-00000000000000003', 'snap-00000000000000004'];
    image(other, 'available');
    snapshots('completed', STARTED, other);
    expect((await verifyConsistency(clients.ec2, base)).consistency).toBe('crash-consistent');
  });

  test('the final AMI not visible yet (EC2 eventual consistency): a transient error (the check is retried), never a verdict', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(awsError('InvalidAMIID.NotFound', 'The image id does not exist'));
    await expect(verifyConsistency(clients.ec2, base)).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('crash-consistent when nothing froze the application, or the snapshots cannot be checked', async () => {
    expect((await verifyConsistency(clients.ec2, { ...base, frozen: false })).consistency).toBe('crash-consistent');
    expect((await verifyConsistency(clients.ec2, { ...base, recoveryPointArn: 'arn:aws:backup:eu-west-1:1:recovery-point:x' })).consistency).toBe('crash-consistent');
  });

  test.each(['FAILED', 'ABORTED', 'EXPIRED'])('none when the job ended %s', async (state) => {
    expect((await verifyConsistency(clients.ec2, { ...base, jobState: state })).consistency).toBe('none');
  });
});

describe('verifyAtJobEnd (what froze the application, from the steps)', () => {
  const RELEASED = '2026-12-03T02:08:10.000Z';
  const release: ReleaseLoopState = {
    state: 'captured',
    reason: '',
    backupJobId: JOB,
    volumeIds: VOLUMES,
    jobState: 'RUNNING',
    recoveryPointArn: ARN,
    snapshotIds: SNAPS,
    capturedAt: STARTED.toISOString(),
    observedAt: RELEASED,
    mode: 'point-in-time',
    lookSeconds: 10,
    waitedSeconds: 20,
    looks: 2,
    fallbackReason: '',
    releaseReason: 'point-in-time-captured',
  };
  const preSucceeded = {
    commandId: 'c-1',
    instanceId: 'i-1',
    status: 'Success',
    statusDetails: 'Success',
    responseCode: 0,
    timeoutSeconds: 60,
    outputLocation: '',
    outputExcerpt: '',
    done: true,
    poll: null as any,
    endedAt: PRE_END,
  };
  const event = (over: Partial<VerifyConsistencyEvent> = {}): VerifyConsistencyEvent => ({
    verify: true,
    instanceId: 'i-1',
    execution: EXECUTION,
    jobState: 'COMPLETED',
    recoveryPointArn: ARN,
    release,
    steps: { pre: preSucceeded, stop: { status: 'skipped', message: '' } },
    ...over,
  });

  test('a pre-script that succeeded froze it: the snapshots decide (seen at release, started after its end)', async () => {
    image(SNAPS, 'available');
    snapshots('completed');
    expect(await verifyAtJobEnd(clients.ec2, event())).toMatchObject({ consistency: 'application-consistent' });
  });

  test('a pre-script that failed froze nothing: crash-consistent, without a look', async () => {
    const v = await verifyAtJobEnd(clients.ec2, event({ steps: { pre: { ...preSucceeded, status: 'Failed' }, stop: { status: 'skipped', message: '' } } }));
    expect(v.consistency).toBe('crash-consistent');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test('released only at the job\'s end: application-consistent when frozen, even without snapshot ids to look at', async () => {
    const atEnd = { ...release, releaseReason: 'job-ended', volumeIds: [], snapshotIds: [], state: 'job-ended' as const };
    expect(await verifyAtJobEnd(clients.ec2, event({ release: atEnd }))).toMatchObject({ consistency: 'application-consistent' });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  test('budget spent in job-end mode (no volumes recorded): every snapshot of the AMI must have started before the release', async () => {
    const spent = { ...release, releaseReason: 'budget-spent', volumeIds: [], snapshotIds: [], mode: 'job-end' as const };
    image(SNAPS, 'available');
    snapshots('completed', new Date('2026-12-03T02:30:00.000Z'));
    expect((await verifyAtJobEnd(clients.ec2, event({ release: spent }))).consistency).toBe('crash-consistent');
    snapshots('completed');
    expect((await verifyAtJobEnd(clients.ec2, event({ release: spent }))).consistency).toBe('application-consistent');
  });

  test('an instance stopped when the run began is consistent as it was; a job that did not complete leaves none', async () => {
    const stoppedAtStart = event({ steps: { eligibility: { status: 'NotApplicable', message: 'stopped' } } });
    expect((await verifyAtJobEnd(clients.ec2, stoppedAtStart)).consistency).toBe('application-consistent');
    expect((await verifyAtJobEnd(clients.ec2, event({ jobState: 'ABORTED' }))).consistency).toBe('none');
  });

  test('the release time unknown (no look succeeded): crash-consistent, said so', async () => {
    image(SNAPS, 'available');
    snapshots('completed');
    const v = await verifyAtJobEnd(clients.ec2, event({ release: { ...release, observedAt: '', releaseReason: 'look-failed' } }));
    expect(v).toMatchObject({ consistency: 'crash-consistent', reason: expect.stringContaining('not known') });
  });
});

describe('observeRelease (the handler\'s look)', () => {
  const INSTANCE = 'i-0123456789abcdef0';
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const withJournal = { ...clients, doc, tableName: 'audit-table' };
  const event = { instanceId: INSTANCE, execution: EXECUTION };

  test('no job in the journal yet: not yet, and no AWS call', async () => {
    docMock.on(GetCommand).resolves({});
    const r = await observeRelease(withJournal, event, () => NOW);
    expect(r).toMatchObject({ state: 'not-yet', backupJobId: '', reason: 'the backup job is not started yet' });
    expect(docMock).toHaveReceivedCommandWith(GetCommand, { TableName: 'audit-table', Key: { SM_Execution_ID: journalKey(EXECUTION.id, INSTANCE) }, ConsistentRead: true });
    expect(backupMock).not.toHaveReceivedCommand(DescribeBackupJobCommand);
    docMock.on(GetCommand).resolves({ Item: { Backup_IntentAt: '2026-12-03T02:06:00.000Z' } });
    expect((await observeRelease(withJournal, event, () => NOW)).reason).toContain('being started');
  });

  test('the job id from the journal, the volumes from DescribeInstances, both carried in the result', async () => {
    docMock.on(GetCommand).resolves({ Item: { Backup_IntentAt: '2026-12-03T02:06:00.000Z', Backup_ResourceId: JOB } });
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: INSTANCE, BlockDeviceMappings: VOLUMES.map((v, i) => ({ DeviceName: `/dev/sd${i}`, Ebs: { VolumeId: v } })) }] }],
    });
    running();
    image();
    snapshots();
    const r = await observeRelease(withJournal, event, () => NOW);
    expect(r).toMatchObject({ state: 'captured', backupJobId: JOB, volumeIds: VOLUMES, snapshotIds: SNAPS });
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [INSTANCE] });
  });

  test('a later look uses what the first one found: no journal read, no DescribeInstances', async () => {
    running();
    image();
    snapshots();
    const r = await observeRelease(withJournal, { ...event, backupJobId: JOB, volumeIds: VOLUMES }, () => NOW);
    expect(r.state).toBe('captured');
    expect(docMock).not.toHaveReceivedCommand(GetCommand);
    expect(ec2Mock).not.toHaveReceivedCommand(DescribeInstancesCommand);
  });

  test('job-end mode: DescribeBackupJob only, not yet while RUNNING, job-ended at the end', async () => {
    running();
    const r = await observeRelease(withJournal, { ...event, backupJobId: JOB, mode: 'job-end' }, () => NOW);
    expect(r).toMatchObject({ state: 'not-yet', jobState: 'RUNNING' });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: 'COMPLETED', RecoveryPointArn: ARN });
    expect((await observeRelease(withJournal, { ...event, backupJobId: JOB, mode: 'job-end' }, () => NOW)).state).toBe('job-ended');
  });

  test('job-end mode: a throttled DescribeBackupJob is a look that did not see the end (not yet, saying why); other errors still throw', async () => {
    backupMock.on(DescribeBackupJobCommand).rejects(throttling());
    const r = await observeRelease(withJournal, { ...event, backupJobId: JOB, mode: 'job-end' }, () => NOW);
    expect(r).toMatchObject({ state: 'not-yet', backupJobId: JOB, reason: expect.stringContaining('DescribeBackupJob refused (ThrottlingException)') });
    // The point-in-time look still throws it, for the Task's retries (the loop releases after them: look-failed).
    await expect(observeRelease(withJournal, { ...event, backupJobId: JOB, volumeIds: VOLUMES }, () => NOW)).rejects.toMatchObject({ name: 'TransientError' });
    backupMock.on(DescribeBackupJobCommand).rejects(awsError('ResourceNotFoundException'));
    await expect(observeRelease(withJournal, { ...event, backupJobId: JOB, mode: 'job-end' }, () => NOW)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('a volume attached after the job started has no snapshot: unobservable, never captured', async () => {
    running();
    image();
    snapshots();
    const r = await observeRelease(withJournal, { ...event, backupJobId: JOB, volumeIds: [...VOLUMES, 'vol-00000000000000003'] }, () => NOW);
    expect(r.state).toBe('unobservable');
  });
});
