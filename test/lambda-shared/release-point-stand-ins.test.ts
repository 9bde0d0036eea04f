/**
 * The release look (src/lambda-shared/release-point.ts) against issue 14's stand-ins (test/simulator/fakes: the job's
 * start delay, RecoveryPointArn timing, the AMI's eventual consistency, snapshots, internal retries), through the real
 * SDK clients: what the look says at each moment of a job, on the stand-ins' own clock.
 */
import { BackupClient, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import { observeReleasePoint, verifyConsistency, volumeIdsOf } from '../../src/lambda-shared/release-point';
import { RunningFakes, startFakes } from '../simulator/fakes';
import { Durations, InstanceSpec, World, WorldOptions } from '../simulator/world';

const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const DURATIONS: Durations = {
  scriptSeconds: 60, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
const ID = 'i-00000000000000001';
const DELAY = 120;

let world: World;
let fakes: RunningFakes;
let ec2: EC2Client;
let backup: BackupClient;

async function open(options: WorldOptions, spec: Partial<InstanceSpec> = {}): Promise<void> {
  world = new World({ durations: DURATIONS, backupStartDelaySeconds: { min: DELAY, max: DELAY }, ...options });
  world.addInstances([{ id: ID, volumes: 3, ...spec }]);
  fakes = await startFakes(world);
  ec2 = new EC2Client(clientConfig(fakes.ec2));
  backup = new BackupClient(clientConfig(fakes.backup));
}

afterEach(async () => {
  ec2?.destroy();
  backup?.destroy();
  await fakes?.stop();
  expect(fakes.modelViolations()).toEqual([]);
});

async function startJob(): Promise<string> {
  world.clock.startInstance(ID);
  const r = await backup.send(new StartBackupJobCommand({
    BackupVaultName: 'vault',
    IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
    ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${ID}`,
    IdempotencyToken: `token-${ID}`,
    StartWindowMinutes: 60,
  }));
  return r.BackupJobId!;
}
const at = (seconds: number) => world.clock.advance(ID, seconds - world.now(ID));

async function lookAt(seconds: number, backupJobId: string, volumeIds: string[]) {
  at(seconds);
  return observeReleasePoint({ backup, ec2 }, { backupJobId, volumeIds });
}

describe('the release look against the stand-ins (time mode)', () => {
  test('CREATED for the start delay, RUNNING without a recovery point, the AMI hidden, then captured at the snapshots\' start', async () => {
    await open({});
    const volumes = await volumeIdsOf(ec2, ID);
    expect(volumes).toHaveLength(3);
    const job = await startJob();
    expect((await lookAt(DELAY - 10, job, volumes))).toMatchObject({ state: 'not-yet', jobState: 'CREATED' });
    // RUNNING; the RecoveryPointArn shows recoveryPointLagSeconds (60) after RUNNING.
    expect((await lookAt(DELAY + 20, job, volumes))).toMatchObject({ state: 'not-yet', jobState: 'RUNNING', recoveryPointArn: '' });
    const captured = await lookAt(DELAY + 70, job, volumes);
    expect(captured).toMatchObject({ state: 'captured', jobState: 'RUNNING', recoveryPointArn: expect.stringMatching(/:image\/ami-/) });
    expect(captured.snapshotIds).toHaveLength(3);
    expect(captured.capturedAt).toBe(world.clock.dateAt(DELAY).toISOString());
    // The job's end: job-ended.
    expect((await lookAt(DELAY + DURATIONS.backupSeconds + 10, job, volumes))).toMatchObject({ state: 'job-ended', jobState: 'COMPLETED' });
  });

  test('the AMI not visible yet (imageLagSeconds): not yet, then captured', async () => {
    await open({ imageLagSeconds: 120 });
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    expect(await lookAt(DELAY + 70, job, volumes)).toMatchObject({ state: 'not-yet', reason: expect.stringContaining('not visible') });
    expect((await lookAt(DELAY + 130, job, volumes)).state).toBe('captured');
  });

  test('RecoveryPointArn only at COMPLETED: never captured, the job\'s end releases', async () => {
    await open({ recoveryPointArnAt: 'completed' });
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    expect((await lookAt(DELAY + 600, job, volumes)).state).toBe('not-yet');
    expect(await lookAt(DELAY + DURATIONS.backupSeconds + 1, job, volumes)).toMatchObject({ state: 'job-ended', jobState: 'COMPLETED' });
  });

  test('a pending AMI without snapshot ids: unobservable', async () => {
    await open({}, { faults: { recoveryPoint: { withoutSnapshotIds: true } } });
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    expect(await lookAt(DELAY + 70, job, volumes)).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('no snapshot id') });
  });

  test('a recovery point that is not an AMI: unobservable', async () => {
    await open({}, { faults: { recoveryPoint: { notAnAmi: true } } });
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    expect(await lookAt(DELAY + 70, job, volumes)).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('not an AMI') });
  });

  test('AWS Backup retries the job after the release: the completed backup is crash-consistent, not application-consistent', async () => {
    await open({}, { faults: { recoveryPoint: { retryAfterSeconds: 300 } } });
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    const captured = await lookAt(DELAY + 70, job, volumes);
    expect(captured.state).toBe('captured');
    const releasedAt = world.clock.dateAt(DELAY + 75).toISOString();
    at(DELAY + 300 + DURATIONS.backupSeconds + 10);
    const end = await observeReleasePoint({ backup, ec2 }, { backupJobId: job, volumeIds: volumes });
    expect(end).toMatchObject({ state: 'job-ended', jobState: 'COMPLETED' });
    expect(end.recoveryPointArn).not.toBe(captured.recoveryPointArn);
    const verdict = await verifyConsistency(ec2, {
      jobState: 'COMPLETED',
      recoveryPointArn: end.recoveryPointArn,
      volumeIds: volumes,
      releasedAt,
      capturedSnapshotIds: captured.snapshotIds,
      frozen: true,
    });
    expect(verdict).toMatchObject({ consistency: 'crash-consistent', reason: expect.stringContaining('after the release') });
  });

  test('no retry: the completed backup is application-consistent', async () => {
    await open({});
    const volumes = await volumeIdsOf(ec2, ID);
    const job = await startJob();
    const captured = await lookAt(DELAY + 70, job, volumes);
    const releasedAt = world.clock.dateAt(DELAY + 75).toISOString();
    const end = await lookAt(DELAY + DURATIONS.backupSeconds + 10, job, volumes);
    const verdict = await verifyConsistency(ec2, {
      jobState: end.jobState,
      recoveryPointArn: end.recoveryPointArn,
      volumeIds: volumes,
      releasedAt,
      capturedSnapshotIds: captured.snapshotIds,
      frozen: true,
    });
    expect(verdict.consistency).toBe('application-consistent');
  });
});
