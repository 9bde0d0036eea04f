/**
 * Issue 14, the run's snapshot view: the EC2 stand-in's DescribeSnapshots listing by volume (docs/fidelity/ec2.md):
 * `Owner`, the `volume-id` and `owner-id` filters, the 200-value filter limit, MaxResults / NextToken pages, the
 * listing's eventual-consistency lag, and its throttling bucket judged at the caller's clock.
 */
import { BackupClient, DescribeBackupJobCommand, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { DescribeSnapshotsCommand, EC2Client, paginateDescribeSnapshots } from '@aws-sdk/client-ec2';
import { RunningFakes, startFakes } from './fakes';
import { throttledCalls } from './fakes/throttling';
import { installVirtualDate, withVirtualNow } from './virtual-date';
import { Durations, World, WorldOptions } from './world';

const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const DURATIONS: Durations = {
  scriptSeconds: 60, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

let world: World;
let fakes: RunningFakes;
let ec2: EC2Client;
let backup: BackupClient;

async function open(options: WorldOptions, instances: number, volumes = 1): Promise<string[]> {
  world = new World(options);
  const ids = Array.from({ length: instances }, (_, n) => id(0x5000 + n));
  world.addInstances(ids.map((i) => ({ id: i, volumes })));
  fakes = await startFakes(world);
  ec2 = new EC2Client(clientConfig(fakes.ec2));
  backup = new BackupClient(clientConfig(fakes.backup));
  for (const i of ids) {
    world.clock.startInstance(i);
    await backup.send(new StartBackupJobCommand({
      BackupVaultName: 'vault',
      IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
      ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${i}`,
      IdempotencyToken: `token-${i}`,
      StartWindowMinutes: 60,
    }));
  }
  return ids;
}
const volumesOf = (ids: string[]) => ids.flatMap((i) => world.instances.get(i)!.volumes.map((v) => v.volumeId));
const at = (instanceId: string, seconds: number) => world.clock.advance(instanceId, seconds - world.now(instanceId));

beforeAll(() => installVirtualDate());
afterEach(async () => {
  ec2?.destroy();
  backup?.destroy();
  await fakes?.stop();
  expect(fakes.modelViolations()).toEqual([]);
});

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).name;
  }
  return 'none';
}

test('a new snapshot is listed by volume only after the listing lag (time mode); by owner self or the account, never amazon', async () => {
  const [i] = await open({ durations: DURATIONS, imageLagSeconds: 30 }, 1, 2);
  const list = (owners?: string[]) => ec2.send(new DescribeSnapshotsCommand({
    ...(owners ? { OwnerIds: owners } : {}), Filters: [{ Name: 'volume-id', Values: volumesOf([i]) }], MaxResults: 1000,
  }));
  // RUNNING at once (no start delay): the snapshots started at 0.
  at(i, 1);
  expect((await list(['self'])).Snapshots ?? []).toHaveLength(0);
  at(i, 29);
  expect((await list(['self'])).Snapshots ?? []).toHaveLength(0);
  at(i, 30);
  const listed = (await list(['self'])).Snapshots ?? [];
  expect(listed.map((s) => s.VolumeId).sort()).toEqual(volumesOf([i]).sort());
  expect(listed.every((s) => s.State === 'pending' && s.StartTime!.getTime() === world.clock.dateAt(0).getTime())).toBe(true);
  expect((await list(['123456789012'])).Snapshots ?? []).toHaveLength(2);
  expect((await list(['amazon'])).Snapshots ?? []).toHaveLength(0);
  const byOwnerFilter = await ec2.send(new DescribeSnapshotsCommand({
    Filters: [{ Name: 'volume-id', Values: volumesOf([i]) }, { Name: 'owner-id', Values: ['123456789012'] }],
  }));
  expect(byOwnerFilter.Snapshots ?? []).toHaveLength(2);
});

test('count mode: a new snapshot is left out of the first filtered listing that would show it', async () => {
  const [i] = await open({}, 1);
  const [job] = world.backupJobsFor(i);
  for (let n = 0; n < 5 && job.state !== 'RUNNING'; n++) await backup.send(new DescribeBackupJobCommand({ BackupJobId: job.backupJobId }));
  expect(job.state).toBe('RUNNING');
  const list = () => ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: volumesOf([i]) }] }));
  expect((await list()).Snapshots ?? []).toHaveLength(0);
  expect((await list()).Snapshots ?? []).toHaveLength(1);
});

test('more than 200 values in a filter: FilterLimitExceeded; MaxResults out of 5..1000 or with SnapshotIds refused; pages follow NextToken', async () => {
  const ids = await open({ durations: DURATIONS, snapshotPageSize: 7 }, 30, 2);
  for (const i of ids) at(i, 60);
  const tooMany = Array.from({ length: 201 }, (_, n) => `vol-${n.toString(16).padStart(17, '0')}`);
  expect(await errorOf(ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'volume-id', Values: tooMany }] })))).toBe('FilterLimitExceeded');
  expect(await errorOf(ec2.send(new DescribeSnapshotsCommand({ Filters: [{ Name: 'volume-id', Values: tooMany.slice(0, 200) }] })))).toBe('none');
  expect(await errorOf(ec2.send(new DescribeSnapshotsCommand({ MaxResults: 4, Filters: [{ Name: 'volume-id', Values: volumesOf(ids) }] }))))
    .toBe('InvalidParameterValue');
  expect(await errorOf(ec2.send(new DescribeSnapshotsCommand({ MaxResults: 5, SnapshotIds: ['snap-0123456789abcdef0'] }))))
    .toBe('InvalidParameterCombination');
  // 60 snapshots, pages of at most 7 (fewer than MaxResults: AWS may): the paginator reads them all.
  const first = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 1000, Filters: [{ Name: 'volume-id', Values: volumesOf(ids) }] }));
  expect(first.Snapshots).toHaveLength(7);
  expect(first.NextToken).toBeDefined();
  const all = [];
  for await (const page of paginateDescribeSnapshots({ client: ec2, pageSize: 1000 }, { OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: volumesOf(ids) }] })) {
    all.push(...(page.Snapshots ?? []));
  }
  expect(all).toHaveLength(60);
  expect(new Set(all.map((s) => s.SnapshotId)).size).toBe(60);
});

test('throttling: a listing by volume draws from the filtered DescribeSnapshots bucket (100, 20 per s) at its caller\'s clock', async () => {
  const ids = await open({ durations: DURATIONS, throttling: true }, 2);
  const list = () => ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], MaxResults: 1000, Filters: [{ Name: 'volume-id', Values: volumesOf(ids) }] }));
  // 100 calls at one virtual second, the caller's (its SigV4 time): the bucket's capacity; the 101st is refused.
  const t = world.clock.dateAt(500);
  for (let n = 0; n < 100; n++) expect(await errorOf(withVirtualNow(t, list))).toBe('none');
  expect(await errorOf(withVirtualNow(t, list))).toBe('RequestLimitExceeded');
  expect(throttledCalls(world)['ec2:DescribeSnapshots']).toBe(1);
  // A caller 10 s later on its own clock finds the bucket refilled (20 per s), whatever the order calls arrive in.
  expect(await errorOf(withVirtualNow(world.clock.dateAt(510), list))).toBe('none');
});
