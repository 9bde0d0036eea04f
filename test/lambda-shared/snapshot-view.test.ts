/**
 * The run's shared snapshot view (src/lambda-shared/snapshot-view.ts): its items in dynalite (a real DynamoDB: the
 * conditions, counters and the 400 KB item limit are DynamoDB's), EC2's DescribeSnapshots mocked.
 */
import { BackupClient, DescribeBackupJobCommand } from '@aws-sdk/client-backup';
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { journalKey, snapshotViewRegistrationKey, snapshotViewSeenKey } from '../../src/contract/audit-schema';
import { type ReleaseLoopState, SNAPSHOT_VIEW_REFRESH_SECONDS, VIEW_JOB_CHECK_EVERY_LOOKS } from '../../src/contract/messages';
import { observeRelease, verifyConsistency } from '../../src/lambda-shared/release-point';
import {
  claimRefresh, decide, lookThroughView, MAX_REGISTRATIONS_PER_SHARD, MAX_VOLUMES_PER_INSTANCE, registerInstance, shardOf, slotOf,
  type SnapshotViewTarget, VOLUME_FILTER_VALUES,
} from '../../src/lambda-shared/snapshot-view';
import { type DynaliteAuditTable, startAuditTable } from '../helpers/dynalite';
import { awsError } from '../helpers/handler-fixtures';

const ec2Mock = mockClient(EC2Client);
const backupMock = mockClient(BackupClient);
const ec2 = new EC2Client({ region: 'eu-west-1' });
const TABLE = 'audit';
let table: DynaliteAuditTable;
let run = 0;
/** A fresh run (execution ARN) per test: its own view. */
function newTarget(): SnapshotViewTarget {
  run++;
  return { doc: table.doc, ec2, tableName: TABLE, executionId: `arn:aws:states:eu-west-1:111122223333:execution:Backup:view-${run}` };
}
const instanceId = (n: number) => `i-${(0xa000 + n).toString(16).padStart(17, '0')}`;
const volumeId = (n: number, k = 0) => `vol-${(n * 100 + k).toString(16).padStart(17, '0')}`;
const snapId = (n: number) => `snap-${n.toString(16).padStart(17, '0')}`;

const REQUESTED = '2026-12-03T02:00:00.000Z';
const T0 = new Date('2026-12-03T02:05:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
function snap(id: number, volume: string, startIso: string, state = 'pending'): Snapshot {
  return { SnapshotId: snapId(id), VolumeId: volume, State: state as any, StartTime: new Date(startIso), OwnerId: '111122223333' };
}

beforeAll(async () => {
  table = await startAuditTable(TABLE);
});
async function getItem(key: string): Promise<Record<string, any> | undefined> {
  return (await table.doc.send(new GetCommand({ TableName: TABLE, Key: { SM_Execution_ID: key } }))).Item;
}
afterAll(async () => table?.stop());
beforeEach(() => {
  ec2Mock.reset();
  backupMock.reset();
});

test('one look refreshes the run\'s view with one filtered call for every registered volume; each instance decides from it', async () => {
  const target = newTarget();
  const a = { instanceId: instanceId(1), volumeIds: [volumeId(1, 0), volumeId(1, 1)], jobRequestedAt: REQUESTED };
  const b = { instanceId: instanceId(2), volumeIds: [volumeId(2)], jobRequestedAt: REQUESTED };
  expect(await registerInstance(target, a, T0)).toEqual({ registered: true });
  expect(await registerInstance(target, b, T0)).toEqual({ registered: true });
  // A registered twice (a retried look) stays one registration.
  expect(await registerInstance(target, a, T0)).toEqual({ registered: true });
  ec2Mock.on(DescribeSnapshotsCommand).resolves({
    Snapshots: [
      snap(1, volumeId(1, 0), '2026-12-03T02:04:00.000Z'),
      snap(2, volumeId(1, 1), '2026-12-03T02:04:00.000Z', 'completed'),
      // b's only snapshot is last night's: it started before the job was requested and does not count.
      snap(3, volumeId(2), '2026-12-02T02:04:00.000Z', 'completed'),
      // Another started 3 s before the request (more than the clock skew allowed): does not count either.
      snap(4, volumeId(2), '2026-12-03T01:59:57.000Z', 'completed'),
    ],
  });
  const lookA = await lookThroughView(target, a, T0);
  expect(lookA).toMatchObject({ state: 'captured', snapshotIds: [snapId(1), snapId(2)], capturedAt: '2026-12-03T02:04:00.000Z' });
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
  const input = ec2Mock.commandCalls(DescribeSnapshotsCommand)[0].args[0].input;
  expect(input.OwnerIds).toEqual(['self']);
  expect(input.MaxResults).toBe(1000);
  expect(input.Filters).toEqual([{ Name: 'volume-id', Values: expect.arrayContaining([volumeId(1, 0), volumeId(1, 1), volumeId(2)]) }]);
  // b looks in the same slot: it reads what a's refresh wrote (b's shard included), no second call.
  const lookB = await lookThroughView(target, b, at(3));
  expect(slotOf(at(3).getTime())).toBe(slotOf(T0.getTime()));
  expect(lookB).toMatchObject({ state: 'not-yet' });
  expect(lookB.reason).toContain(`no snapshot of ${volumeId(2)} started since ${REQUESTED}`);
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
});

test('claim contention: one refresh per run and slot, whoever asks; the next slot refreshes again (a stale view)', async () => {
  const target = newTarget();
  const slot = slotOf(T0.getTime());
  const claims = await Promise.all(Array.from({ length: 8 }, (_, k) => claimRefresh(target, slot, instanceId(k), T0)));
  expect(claims.filter(Boolean)).toHaveLength(1);
  // Eight looks of eight instances at once, in one slot: one DescribeSnapshots. (The slot claimed above was T0's.)
  const instances = Array.from({ length: 8 }, (_, k) => ({
    instanceId: instanceId(100 + k), volumeIds: [volumeId(100 + k)], jobRequestedAt: REQUESTED,
  }));
  for (const i of instances) await registerInstance(target, i, T0);
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  const looks = await Promise.all(instances.map((i) => lookThroughView(target, i, at(10))));
  expect(looks.every((l) => l.state === 'not-yet')).toBe(true);
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
  // The snapshots start; the view is stale once the next slot begins: the first look of that slot refreshes.
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: instances.map((i, k) => snap(200 + k, i.volumeIds[0], '2026-12-03T02:05:12.000Z')) });
  expect(await lookThroughView(target, instances[3], at(13))).toMatchObject({ state: 'not-yet' });
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 1);
  expect(await lookThroughView(target, instances[3], at(10 + SNAPSHOT_VIEW_REFRESH_SECONDS))).toMatchObject({ state: 'captured', snapshotIds: [snapId(203)] });
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 2);
});

test('an overdue refresh: a chain that saw no refresh since its previous look refreshes once, even in a slot already claimed', async () => {
  const target = newTarget();
  const i = { instanceId: instanceId(150), volumeIds: [volumeId(150)], jobRequestedAt: REQUESTED };
  await registerInstance(target, i, T0);
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  const first = await lookThroughView(target, i, T0);
  expect(first).toMatchObject({ state: 'not-yet', refreshId: `${slotOf(T0.getTime())}` });
  // Another chain claimed the next slot but its refresh never landed (failed, or its clock was elsewhere).
  expect(await claimRefresh(target, slotOf(at(10).getTime()), instanceId(151), at(10))).toBe(true);
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(150, volumeId(150), '2026-12-03T02:05:05.000Z')] });
  const second = await lookThroughView(target, i, at(10), first.refreshId);
  expect(second).toMatchObject({ state: 'captured', refreshId: `${slotOf(at(10).getTime())}F` });
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 2);
  // Without the previous refresh id (a chain's first look), a lost claim answers from the view as it is.
  const other = { instanceId: instanceId(152), volumeIds: [volumeId(152)], jobRequestedAt: REQUESTED };
  await registerInstance(target, other, at(10));
  expect(await lookThroughView(target, other, at(11))).toMatchObject({ state: 'not-yet' });
  // The overdue claim of a slot is taken once.
  expect(await lookThroughView(target, other, at(12), second.refreshId)).toMatchObject({ state: 'not-yet' });
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 2);
});

test('chunking: at most 200 volume ids a call, every page read', async () => {
  const target = newTarget();
  const instances = Array.from({ length: 150 }, (_, n) => ({
    instanceId: instanceId(300 + n), volumeIds: [volumeId(300 + n, 0), volumeId(300 + n, 1), volumeId(300 + n, 2)], jobRequestedAt: REQUESTED,
  }));
  for (const i of instances) expect(await registerInstance(target, i, T0)).toEqual({ registered: true });
  ec2Mock.on(DescribeSnapshotsCommand).callsFake((input) => {
    const values: string[] = input.Filters[0].Values;
    // Two pages per call: the first half, then the second.
    const half = Math.ceil(values.length / 2);
    const page = input.NextToken ? values.slice(half) : values.slice(0, half);
    return {
      Snapshots: page.map((v: string, k: number) => snap(parseInt(v.slice(4), 16) * 10 + k, v, '2026-12-03T02:04:30.000Z')),
      NextToken: input.NextToken ? undefined : 'next',
    };
  });
  const look = await lookThroughView(target, instances[149], T0);
  expect(look).toMatchObject({ state: 'captured' });
  const calls = ec2Mock.commandCalls(DescribeSnapshotsCommand).map((c) => c.args[0].input);
  // 450 volumes: 3 chunks (200, 200, 50), 2 pages each.
  expect(calls).toHaveLength(6);
  expect(Math.max(...calls.map((c) => c.Filters![0].Values!.length))).toBe(VOLUME_FILTER_VALUES);
  expect(new Set(calls.flatMap((c) => c.Filters![0].Values!)).size).toBe(450);
  // Every instance's answer is in the view: each is captured without another call.
  for (const i of instances.slice(0, 10)) expect((await lookThroughView(target, i, at(1))).state).toBe('captured');
  expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 6);
});

test('the 400 KB bound: a full shard refuses the next instance (it looks on its own), and its items stay under the limit', async () => {
  const target = newTarget();
  const shard0: string[] = [];
  for (let n = 0; shard0.length < MAX_REGISTRATIONS_PER_SHARD + 1; n++) {
    if (shardOf(instanceId(10_000 + n)) === 0) shard0.push(instanceId(10_000 + n));
  }
  // Every instance with the most volumes the view takes; each volume with more snapshots than are kept.
  const vols = (i: number) => Array.from({ length: MAX_VOLUMES_PER_INSTANCE }, (_, k) => volumeId(50_000 + i, k));
  for (let i = 0; i < MAX_REGISTRATIONS_PER_SHARD; i++) {
    const registered = await registerInstance(target, { instanceId: shard0[i], volumeIds: vols(i), jobRequestedAt: REQUESTED }, T0);
    expect(registered).toEqual({ registered: true });
  }
  const refused = await registerInstance(target,
    { instanceId: shard0[MAX_REGISTRATIONS_PER_SHARD], volumeIds: vols(999), jobRequestedAt: REQUESTED }, T0);
  expect(refused).toEqual({ registered: false, reason: expect.stringContaining('full') });
  expect(await registerInstance(target,
    { instanceId: instanceId(1), volumeIds: vols(1000).concat(['vol-00000000000000fff']), jobRequestedAt: REQUESTED }, T0))
    .toEqual({ registered: false, reason: expect.stringContaining('volumes') });
  ec2Mock.on(DescribeSnapshotsCommand).callsFake((input) => ({
    Snapshots: (input.Filters[0].Values as string[])
      .flatMap((v, k) => [0, 1, 2].map((j) => snap(k * 3 + j + 1, v, `2026-12-03T02:0${j + 1}:00.000Z`))),
  }));
  const look = await lookThroughView(target, { instanceId: shard0[0], volumeIds: vols(0), jobRequestedAt: REQUESTED }, T0);
  expect(look.state).toBe('captured');
  const reg = (await getItem(snapshotViewRegistrationKey(target.executionId, 0)))!;
  const seen = (await getItem(snapshotViewSeenKey(target.executionId, 0)))!;
  expect(Object.keys(seen.Seen)).toHaveLength(MAX_REGISTRATIONS_PER_SHARD);
  // Both written by DynamoDB (which refuses items over 400 KB): measured here with margin.
  expect(JSON.stringify(reg).length).toBeLessThan(400 * 1024);
  expect(JSON.stringify(seen).length).toBeLessThan(400 * 1024);
  expect(seen.Seen[shard0[0]]).toHaveLength(MAX_VOLUMES_PER_INSTANCE * 2);
});

test('a denied DescribeSnapshots turns the view off for every chain (they look on their own); a throttled one answers not-yet', async () => {
  const target = newTarget();
  const i = { instanceId: instanceId(7), volumeIds: [volumeId(7)], jobRequestedAt: REQUESTED };
  await registerInstance(target, i, T0);
  ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError('RequestLimitExceeded', 'Request limit exceeded.', { $metadata: { httpStatusCode: 503 } }));
  expect(await lookThroughView(target, i, T0)).toMatchObject({ state: 'not-yet' });
  ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.'));
  expect(await lookThroughView(target, i, at(10))).toMatchObject({ state: 'off', reason: expect.stringContaining('UnauthorizedOperation') });
});

test('a snapshot someone else took (DLM) in the window: the release may come early, and the check at the end says crash-consistent', async () => {
  const target = newTarget();
  const i = { instanceId: instanceId(8), volumeIds: [volumeId(8)], jobRequestedAt: REQUESTED };
  await registerInstance(target, i, T0);
  // Only DLM's snapshot has started when the view looks.
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(81, volumeId(8), '2026-12-03T02:01:00.000Z')] });
  const look = await lookThroughView(target, i, T0);
  expect(look).toMatchObject({ state: 'captured', snapshotIds: [snapId(81)] });
  // The job's recovery point holds AWS Backup's snapshot, which started after the release: crash-consistent.
  ec2Mock.on(DescribeImagesCommand).resolves({
    Images: [{ ImageId: 'ami-0123456789abcdef0', State: 'available', BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { SnapshotId: snapId(82) } }] }],
  });
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(82, volumeId(8), '2026-12-03T02:06:00.000Z', 'completed')] });
  const input = {
    jobState: 'COMPLETED',
    recoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-0123456789abcdef0',
    volumeIds: i.volumeIds,
    releasedAt: T0.toISOString(),
    preScriptEndedAt: '2026-12-03T01:59:00.000Z',
    capturedSnapshotIds: [snapId(81)],
    frozen: true,
  };
  expect(await verifyConsistency(ec2, input)).toMatchObject({ consistency: 'crash-consistent' });
  // AWS Backup's snapshot started before the release, but it was not the one seen: still not claimed consistent.
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(82, volumeId(8), '2026-12-03T02:02:00.000Z', 'completed')] });
  expect(await verifyConsistency(ec2, input))
    .toMatchObject({ consistency: 'crash-consistent', reason: expect.stringContaining('not the ones seen at release') });
  // Both seen at release (DLM's and AWS Backup's): the recovery point's snapshot was among them: application-consistent.
  expect(await verifyConsistency(ec2, { ...input, capturedSnapshotIds: [snapId(81), snapId(82)] }))
    .toMatchObject({ consistency: 'application-consistent' });
});

test('clock skew: a snapshot stamped up to 2 s before the job\'s request (the Lambda\'s clock) counts', async () => {
  const target = newTarget();
  const i = { instanceId: instanceId(160), volumeIds: [volumeId(160)], jobRequestedAt: REQUESTED };
  await registerInstance(target, i, T0);
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(160, volumeId(160), '2026-12-03T01:59:59.997Z')] });
  expect(await lookThroughView(target, i, T0)).toMatchObject({ state: 'captured', snapshotIds: [snapId(160)] });
});

test('decide: no refresh yet, the instance not seen yet, a snapshot in error does not count', () => {
  const i = { instanceId: instanceId(9), volumeIds: [volumeId(9)], jobRequestedAt: REQUESTED };
  expect(decide(undefined, i).state).toBe('not-yet');
  expect(decide({ Seen: {}, RefreshedAt: T0.toISOString() }, i)).toMatchObject({ state: 'not-yet', reason: expect.stringContaining('registration') });
  expect(decide({ Seen: { [i.instanceId]: [[snapId(1), 0, 'error', T0.getTime()]] } }, i).state).toBe('not-yet');
  expect(decide({ Seen: { [i.instanceId]: [[snapId(1), 0, 'completed', T0.getTime()]] } }, i).state).toBe('captured');
  // A snapshot that started after the look's own time (clock skew) does not count yet: never a release before its point in time.
  expect(decide({ Seen: { [i.instanceId]: [[snapId(1), 0, 'pending', at(10).getTime()]] } }, i, T0).state).toBe('not-yet');
  expect(decide({ Seen: { [i.instanceId]: [[snapId(1), 0, 'pending', at(10).getTime()]] } }, i, at(10)).state).toBe('captured');
});

describe('the release loop\'s look (observeRelease with a loop)', () => {
  const JOB = 'D1B2C3D4-0000-1111-2222-333344445555';
  function loopState(looks: number, overrides: Partial<ReleaseLoopState> = {}): ReleaseLoopState {
    return {
      state: 'not-yet',
      reason: '',
      backupJobId: '',
      volumeIds: [],
      jobState: '',
      recoveryPointArn: '',
      snapshotIds: [],
      capturedAt: '',
      observedAt: '',
      mode: 'point-in-time',
      lookSeconds: 10,
      waitedSeconds: looks * 10,
      looks,
      fallbackReason: '',
      ...overrides,
    };
  }

  test('no DescribeBackupJob until the 6th look; the job\'s request time from the journal; released from the view', async () => {
    const target = newTarget();
    const id = instanceId(20);
    const clients = { backup: new BackupClient({ region: 'eu-west-1' }), ec2, doc: table.doc, tableName: TABLE };
    await table.doc.send(new PutCommand({
      TableName: TABLE, Item: { SM_Execution_ID: journalKey(target.executionId, id), Backup_IntentAt: REQUESTED, Backup_ResourceId: JOB },
    }));
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [{ InstanceId: id, BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: volumeId(20) } }] }] }],
    });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: 'CREATED' });
    const execution = { id: target.executionId, name: 'n', startTime: REQUESTED };
    let state = await observeRelease(clients, { instanceId: id, execution, loop: loopState(0) }, () => T0);
    expect(state).toMatchObject({ state: 'not-yet', backupJobId: JOB, jobRequestedAt: REQUESTED, volumeIds: [volumeId(20)] });
    expect(state.view).toBeUndefined();
    for (let look = 1; look < VIEW_JOB_CHECK_EVERY_LOOKS - 1; look++) {
      state = await observeRelease(clients, { instanceId: id, execution, loop: { ...loopState(look), ...state, looks: look } }, () => at(look * 10));
    }
    expect(backupMock).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 0);
    state = await observeRelease(clients, { instanceId: id, execution, loop: { ...loopState(5), ...state, looks: 5 } }, () => at(50));
    expect(backupMock).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 1);
    expect(state).toMatchObject({ state: 'not-yet', jobState: 'CREATED' });
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(20, volumeId(20), '2026-12-03T02:05:55.000Z')] });
    state = await observeRelease(clients, { instanceId: id, execution, loop: { ...loopState(6), ...state, looks: 6 } }, () => at(60));
    expect(state).toMatchObject({ state: 'captured', snapshotIds: [snapId(20)], jobState: 'CREATED' });
    expect(backupMock).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 1);
    // Released: the registration is gone.
    const reg = (await getItem(snapshotViewRegistrationKey(target.executionId, shardOf(id))))!;
    expect(reg[`R:${id}`]).toBeUndefined();
    expect(reg.Registrations).toBe(0);
  });

  test('the 6th look\'s DescribeBackupJob throttled: the look goes on from the view (captured), the job state kept; denied still ends it', async () => {
    const target = newTarget();
    const id = instanceId(23);
    const clients = { backup: new BackupClient({ region: 'eu-west-1' }), ec2, doc: table.doc, tableName: TABLE };
    const volumes = [volumeId(23)];
    const execution = { id: target.executionId, name: 'n', startTime: REQUESTED };
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [snap(23, volumeId(23), '2026-12-03T02:05:55.000Z')] });
    backupMock.on(DescribeBackupJobCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    const loop = loopState(5, { backupJobId: JOB, volumeIds: volumes, jobRequestedAt: REQUESTED, jobState: 'CREATED', looks: 5 });
    const state = await observeRelease(clients, { instanceId: id, execution, backupJobId: JOB, volumeIds: volumes, loop }, () => at(60));
    expect(backupMock).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 1);
    expect(state).toMatchObject({ state: 'captured', snapshotIds: [snapId(23)], jobState: 'CREATED' });
    // A refusal for good is not a throttle: the look says why it cannot observe.
    backupMock.on(DescribeBackupJobCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException', $metadata: {} }));
    const denied = await observeRelease(clients, { instanceId: id, execution, backupJobId: JOB, volumeIds: volumes, loop }, () => at(70));
    expect(denied).toMatchObject({ state: 'unobservable', reason: expect.stringContaining('DescribeBackupJob denied') });
  });

  test('a look retried after its release removed the registration registers again (never stuck on a view without it)', async () => {
    const target = newTarget();
    const id = instanceId(22);
    const clients = { backup: new BackupClient({ region: 'eu-west-1' }), ec2, doc: table.doc, tableName: TABLE };
    const volumes = [volumeId(22)];
    const execution = { id: target.executionId, name: 'n', startTime: REQUESTED };
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    const loop = loopState(1, { backupJobId: JOB, volumeIds: volumes, jobRequestedAt: REQUESTED, viewRefreshId: 'none' });
    // The view was refreshed without this instance (its registration gone): not yet, and registered again.
    const state = await observeRelease(clients, { instanceId: id, execution, backupJobId: JOB, volumeIds: volumes, loop }, () => T0);
    expect(state).toMatchObject({ state: 'not-yet' });
    expect(state.view).toBeUndefined();
    const reg = (await getItem(snapshotViewRegistrationKey(target.executionId, shardOf(id))))!;
    expect(reg[`R:${id}`]).toMatchObject({ v: volumes });
  });

  test('an instance the view cannot take looks on its own (DescribeBackupJob every look), and says why', async () => {
    const target = newTarget();
    const id = instanceId(21);
    const clients = { backup: new BackupClient({ region: 'eu-west-1' }), ec2, doc: table.doc, tableName: TABLE };
    const volumes = Array.from({ length: MAX_VOLUMES_PER_INSTANCE + 1 }, (_, k) => volumeId(21, k));
    backupMock.on(DescribeBackupJobCommand).resolves({ BackupJobId: JOB, State: 'CREATED' });
    const execution = { id: target.executionId, name: 'n', startTime: REQUESTED };
    const state = await observeRelease(clients, {
      instanceId: id,
      execution,
      backupJobId: JOB,
      volumeIds: volumes,
      loop: loopState(0, { backupJobId: JOB, volumeIds: volumes, jobRequestedAt: REQUESTED }),
    }, () => T0);
    expect(state).toMatchObject({ state: 'not-yet', view: 'off', viewOffReason: expect.stringContaining('volumes') });
    expect(backupMock).toHaveReceivedCommandTimes(DescribeBackupJobCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeSnapshotsCommand, 0);
  });
});
