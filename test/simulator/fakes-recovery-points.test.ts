/**
 * Issue 14's stand-ins: EBS volumes, the AMI and snapshots an AWS Backup job of an instance creates, the job's start
 * delay, RecoveryPointArn timing, internal retries and StopBackupJob (docs/fidelity/backup.md, docs/fidelity/ec2.md).
 */
import { BackupClient, DescribeBackupJobCommand, StartBackupJobCommand, StopBackupJobCommand } from '@aws-sdk/client-backup';
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { RunningFakes, startFakes } from './fakes';
import { jobAttempts } from './fakes/recovery-points';
import { Durations, InstanceSpec, World, WorldOptions } from './world';

const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const DURATIONS: Durations = {
  scriptSeconds: 60, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;
const VAULT = 'vault';
const ROLE = 'arn:aws:iam::123456789012:role/backup';

let world: World;
let fakes: RunningFakes;
let ec2: EC2Client;
let backup: BackupClient;

async function open(options: WorldOptions, instances: InstanceSpec[]): Promise<void> {
  world = new World(options);
  world.addInstances(instances);
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

async function startJob(instanceId: string): Promise<string> {
  world.clock.startInstance(instanceId);
  const r = await backup.send(new StartBackupJobCommand({
    BackupVaultName: VAULT,
    IamRoleArn: ROLE,
    ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`,
    IdempotencyToken: `token-${instanceId}`,
    StartWindowMinutes: 60,
  }));
  return r.BackupJobId!;
}

const describeJob = (jobId: string) => backup.send(new DescribeBackupJobCommand({ BackupJobId: jobId }));
const at = (instanceId: string, seconds: number) => world.clock.advance(instanceId, seconds - world.now(instanceId));
const amiOf = (arn: string | undefined) => arn?.replace(/^.*image\//, '');

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  return 'no error';
}

describe('EC2 instances have EBS volumes', () => {
  test('DescribeInstances: one root volume by default, more when asked, each with a VolumeId', async () => {
    await open({}, [{ id: id(1) }, { id: id(2), volumes: 3 }]);
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id(1), id(2)] }));
    const [one, three] = r.Reservations!.map((x) => x.Instances![0]);
    expect(one.BlockDeviceMappings).toEqual([expect.objectContaining({ DeviceName: '/dev/xvda', Ebs: expect.objectContaining({ VolumeId: expect.stringMatching(/^vol-[0-9a-f]{17}$/), Status: 'attached' }) })]);
    expect(three.BlockDeviceMappings!.map((m) => m.DeviceName)).toEqual(['/dev/xvda', '/dev/sdf', '/dev/sdg']);
    expect(new Set(three.BlockDeviceMappings!.map((m) => m.Ebs!.VolumeId)).size).toBe(3);
    expect(three.RootDeviceName).toBe('/dev/xvda');
  });
});

describe('AWS Backup job of an EC2 instance: start delay, AMI and snapshots (time mode)', () => {
  test('start delays are drawn from the range, seeded: the same seed gives the same delays, another seed others', async () => {
    const delays = (seed: number) => {
      const w = new World({ durations: DURATIONS, backupStartDelaySeconds: { min: 30, max: 600 }, backupSeed: seed });
      return Array.from({ length: 20 }, (_, k) => {
        w.addInstance({ id: id(k + 1) });
        return w.startBackupJob({ BackupVaultName: VAULT, IamRoleArn: ROLE, ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id(k + 1)}` }, id(k + 1)).startDelaySeconds!;
      });
    };
    const a = delays(1);
    expect(a.every((d) => d >= 30 && d <= 600)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(10);
    expect(delays(1)).toEqual(a);
    expect(delays(2)).not.toEqual(a);
    // Default: no delay (existing suites unchanged).
    const w = new World({ durations: DURATIONS });
    w.addInstance({ id: id(1) });
    expect(w.startBackupJob({ BackupVaultName: VAULT, IamRoleArn: ROLE, ResourceArn: 'arn:aws:ec2:us-east-1:123456789012:instance/' + id(1) }, id(1)).startDelaySeconds).toBe(0);
  });

  test('CREATED for the start delay; RUNNING without RecoveryPointArn; then the AMI (hidden at first), one pending snapshot per volume; COMPLETED: available, completed', async () => {
    await open({ durations: DURATIONS, backupStartDelaySeconds: { min: 30, max: 600 } }, [{ id: id(1), volumes: 2 }]);
    const jobId = await startJob(id(1));
    const job = world.backupJobs.get(jobId)!;
    const delay = job.startDelaySeconds!;
    expect(delay).toBeGreaterThanOrEqual(30);
    at(id(1), delay - 1);
    let d = await describeJob(jobId);
    expect(d.State).toBe('CREATED');
    expect(d.RecoveryPointArn).toBeUndefined();
    at(id(1), delay + 10);
    d = await describeJob(jobId);
    expect(d.State).toBe('RUNNING');
    expect(d.RecoveryPointArn).toBeUndefined(); // undocumented: shows only recoveryPointLagSeconds (60) after RUNNING
    const [attempt] = jobAttempts(world, job);
    expect(attempt.startedAt).toBe(delay);
    // The AMI exists but EC2's eventual consistency hides it for imageLagSeconds (30).
    expect(await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [attempt.imageId] })))).toBe('InvalidAMIID.NotFound');
    at(id(1), delay + 60);
    d = await describeJob(jobId);
    expect(d.RecoveryPointArn).toMatch(/^arn:aws:ec2:us-east-1::image\/ami-[0-9a-f]{17}$/);
    const ami = amiOf(d.RecoveryPointArn)!;
    const img = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0];
    expect(img.State).toBe('pending');
    const volumes = world.instances.get(id(1))!.volumes;
    expect(img.BlockDeviceMappings!.map((m) => m.DeviceName)).toEqual(volumes.map((v) => v.deviceName));
    const snapIds = img.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    expect(snapIds.every((s) => /^snap-[0-9a-f]{17}$/.test(s))).toBe(true);
    let snaps = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapIds }))).Snapshots!;
    expect(snaps.map((s) => s.State)).toEqual(['pending', 'pending']);
    expect(snaps.map((s) => s.VolumeId)).toEqual(volumes.map((v) => v.volumeId));
    expect(snaps.every((s) => s.StartTime!.getTime() === world.clock.dateAt(delay).getTime())).toBe(true);
    expect(snaps[0].Progress).toBe('1%');
    // By volume too.
    const byVolume = await ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'volume-id', Values: [volumes[1].volumeId] }] }));
    expect(byVolume.Snapshots!.map((s) => s.SnapshotId)).toEqual([snapIds[1]]);
    at(id(1), delay + 3600);
    d = await describeJob(jobId);
    expect(d.State).toBe('COMPLETED');
    expect(amiOf(d.RecoveryPointArn)).toBe(ami);
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0].State).toBe('available');
    snaps = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snapIds }))).Snapshots!;
    expect(snaps.map((s) => [s.State, s.Progress])).toEqual([['completed', '100%'], ['completed', '100%']]);
    expect(snaps[0].CompletionTime!.getTime()).toBe(world.clock.dateAt(delay + 3600).getTime());
  });

  test('recoveryPointArnAt: completed: no RecoveryPointArn while RUNNING, only once COMPLETED', async () => {
    await open({ durations: DURATIONS, recoveryPointArnAt: 'completed' }, [{ id: id(1) }]);
    const jobId = await startJob(id(1));
    at(id(1), 1800);
    const running = await describeJob(jobId);
    expect(running.State).toBe('RUNNING');
    expect(running.RecoveryPointArn).toBeUndefined();
    at(id(1), 3600);
    expect((await describeJob(jobId)).RecoveryPointArn).toMatch(/image\/ami-/);
  });

  test('fault withoutSnapshotIds: the pending AMI maps every volume without a SnapshotId; the available one has them', async () => {
    await open({ durations: DURATIONS }, [{ id: id(1), volumes: 2, faults: { recoveryPoint: { withoutSnapshotIds: true } } }]);
    const jobId = await startJob(id(1));
    at(id(1), 120);
    const ami = amiOf((await describeJob(jobId)).RecoveryPointArn)!;
    const pending = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0];
    expect(pending.State).toBe('pending');
    expect(pending.BlockDeviceMappings).toHaveLength(2);
    expect(pending.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId)).toEqual([undefined, undefined]);
    at(id(1), 3600);
    await describeJob(jobId);
    const available = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0];
    expect(available.BlockDeviceMappings!.every((m) => /^snap-/.test(m.Ebs!.SnapshotId ?? ''))).toBe(true);
  });

  test('fault notAnAmi: the recovery point ARN is AWS Backup\'s, and the job\'s AMI is not visible', async () => {
    await open({ durations: DURATIONS }, [{ id: id(1), faults: { recoveryPoint: { notAnAmi: true } } }]);
    const jobId = await startJob(id(1));
    at(id(1), 120);
    const arn = (await describeJob(jobId)).RecoveryPointArn!;
    expect(arn).toMatch(/^arn:aws:backup:us-east-1:123456789012:recovery-point:/);
    const [attempt] = jobAttempts(world, world.backupJobs.get(jobId)!);
    expect(await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [attempt.imageId] })))).toBe('InvalidAMIID.NotFound');
  });

  test('fault retryAfterSeconds: AWS Backup retries after the snapshots started: a new AMI, new snapshots that start later; the first ones are gone', async () => {
    await open({ durations: DURATIONS, backupStartDelaySeconds: { min: 100, max: 100 } },
      [{ id: id(1), volumes: 2, faults: { recoveryPoint: { retryAfterSeconds: 600 } } }]);
    const jobId = await startJob(id(1));
    at(id(1), 100 + 120);
    const first = await describeJob(jobId);
    expect(first.State).toBe('RUNNING');
    const ami1 = amiOf(first.RecoveryPointArn)!;
    const img1 = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami1] }))).Images![0];
    const snaps1 = img1.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    const start1 = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snaps1 }))).Snapshots![0].StartTime!;
    at(id(1), 100 + 600 + 120);
    const later = await describeJob(jobId);
    expect(later.State).toBe('RUNNING');
    const ami2 = amiOf(later.RecoveryPointArn)!;
    expect(ami2).not.toBe(ami1);
    expect(await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [ami1] })))).toBe('InvalidAMIID.NotFound');
    expect(await errorOf(ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: snaps1 })))).toBe('InvalidSnapshot.NotFound');
    at(id(1), 100 + 3600);
    const done = await describeJob(jobId);
    expect(done.State).toBe('COMPLETED');
    expect(amiOf(done.RecoveryPointArn)).toBe(ami2);
    const img2 = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami2] }))).Images![0];
    const ids2 = img2.BlockDeviceMappings!.map((m) => m.Ebs!.SnapshotId!);
    const snaps2 = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids2 }))).Snapshots!;
    expect(snaps2.map((s) => s.SnapshotId)).not.toEqual(snaps1);
    expect(snaps2.every((s) => s.State === 'completed' && s.StartTime!.getTime() > start1.getTime())).toBe(true);
    expect(snaps2[0].StartTime!.getTime() - start1.getTime()).toBe(600_000);
  });

  test('StopBackupJob: RUNNING -> ABORTING -> ABORTED; refused while ABORTING and once terminal; a job that ends first still COMPLETES', async () => {
    await open({ durations: DURATIONS, abortSeconds: 60 }, [{ id: id(1) }, { id: id(2) }]);
    const jobId = await startJob(id(1));
    at(id(1), 600);
    await backup.send(new StopBackupJobCommand({ BackupJobId: jobId }));
    expect((await describeJob(jobId)).State).toBe('ABORTING');
    expect(await errorOf(backup.send(new StopBackupJobCommand({ BackupJobId: jobId })))).toBe('InvalidRequestException');
    at(id(1), 659);
    expect((await describeJob(jobId)).State).toBe('ABORTING');
    at(id(1), 660);
    const aborted = await describeJob(jobId);
    expect(aborted.State).toBe('ABORTED');
    expect(await errorOf(backup.send(new StopBackupJobCommand({ BackupJobId: jobId })))).toBe('InvalidRequestException');
    const unknown = new StopBackupJobCommand({ BackupJobId: '00000000-0000-4000-8000-000000000000' });
    expect(await errorOf(backup.send(unknown))).toBe('ResourceNotFoundException');
    // Asked 30 s before its end: the job completes before the abort does.
    const late = await startJob(id(2));
    at(id(2), 3570);
    await backup.send(new StopBackupJobCommand({ BackupJobId: late }));
    at(id(2), 3600);
    expect((await describeJob(late)).State).toBe('COMPLETED');
    // The state changes are emitted to EventBridge (second copies of at-least-once delivery left out).
    expect(world.takeEvents().filter((e) => e.instanceId === id(1) && e.kind === 'backup' && !e.duplicate).map((e) => (e.envelope.detail as any).state))
      .toEqual(['CREATED', 'RUNNING', 'ABORTING', 'ABORTED']);
  });
});

describe('AWS Backup job of an EC2 instance (count mode)', () => {
  test('RecoveryPointArn only from the second RUNNING look; the AMI hidden from the first DescribeImages; StopBackupJob -> ABORTED on the next look', async () => {
    await open({ backupPolls: { created: 1, pending: 1, running: 3 } }, [{ id: id(1) }, { id: id(2) }]);
    const jobId = await startJob(id(1));
    const seen: Array<[string, boolean]> = [];
    for (let k = 0; k < 4; k++) {
      const d = await describeJob(jobId);
      seen.push([d.State!, d.RecoveryPointArn !== undefined]);
    }
    expect(seen).toEqual([['CREATED', false], ['PENDING', false], ['RUNNING', false], ['RUNNING', true]]);
    const ami = amiOf((await describeJob(jobId)).RecoveryPointArn)!;
    expect(await errorOf(ec2.send(new DescribeImagesCommand({ ImageIds: [ami] })))).toBe('InvalidAMIID.NotFound');
    expect((await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images![0].State).toBe('pending');
    const listed = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'tag-key', Values: ['aws:backup:source-resource'] }] }));
    expect(listed.Images!.map((i) => i.ImageId)).toEqual([ami]);
    const other = await startJob(id(2));
    await backup.send(new StopBackupJobCommand({ BackupJobId: other }));
    expect((await describeJob(other)).State).toBe('ABORTED');
  });
});
