/**
 * Token-bucket throttling of the stand-ins in simulated time (fakes/throttling.ts; docs/fidelity/ec2.md, backup.md).
 */
import { BackupClient, DescribeBackupJobCommand, StartBackupJobCommand } from '@aws-sdk/client-backup';
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { RunningFakes, startFakes } from './fakes';
import { throttledCalls } from './fakes/throttling';
import { World, WorldOptions } from './world';

const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

let world: World;
let fakes: RunningFakes;
let ec2: EC2Client;
let ssm: SSMClient;
let backup: BackupClient;

async function open(options: WorldOptions, instances = 0): Promise<void> {
  world = new World(options);
  for (let n = 1; n <= instances; n++) world.addInstance({ id: id(n), tags: { backup: 'yes' } });
  fakes = await startFakes(world);
  ec2 = new EC2Client(clientConfig(fakes.ec2));
  ssm = new SSMClient(clientConfig(fakes.ssm));
  backup = new BackupClient(clientConfig(fakes.backup));
}

afterEach(async () => {
  ec2.destroy();
  ssm.destroy();
  backup.destroy();
  await fakes.stop();
  expect(fakes.modelViolations()).toEqual([]);
});

/** Send `n` requests one after the other; the error names (or 'ok') in order. */
async function burst(n: number, send: (k: number) => Promise<unknown>): Promise<string[]> {
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    try {
      await send(k);
      out.push('ok');
    } catch (e) {
      out.push((e as Error).name);
    }
  }
  return out;
}
const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

describe('throttling off (default)', () => {
  test('a burst far above any bucket is answered', async () => {
    await open({}, 1);
    const r = await burst(150, () => ec2.send(new DescribeImagesCommand({})));
    expect(count(r, 'ok')).toBe(150);
  });
});

describe('throttling: true', () => {
  test('EC2 DescribeImages: bucket 100, then RequestLimitExceeded (HTTP 503); refills 20 per simulated second', async () => {
    await open({ throttling: true }, 1);
    const send = () => ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'state', Values: ['pending'] }] }));
    const first = await burst(101, send);
    expect(count(first, 'ok')).toBe(100);
    expect(first[100]).toBe('RequestLimitExceeded');
    const last = world.calls[world.calls.length - 1];
    expect(last.error).toBe('RequestLimitExceeded');
    // No simulated time passed: still empty.
    expect(await burst(1, send)).toEqual(['RequestLimitExceeded']);
    world.clock.advanceRun(1);
    const refilled = await burst(21, send);
    expect(refilled).toEqual([...Array(20).fill('ok'), 'RequestLimitExceeded']);
    world.clock.advanceRun(60);
    expect(count(await burst(101, send), 'ok')).toBe(100); // never above the capacity
    expect(throttledCalls(world)['ec2:DescribeImages']).toBe(4);
  });

  test('EC2 DescribeInstances: unfiltered and unpaginated requests draw from the smaller bucket (50, 10/s); filtered ones from their own', async () => {
    await open({ throttling: true }, 1);
    const unfiltered = await burst(51, () => ec2.send(new DescribeInstancesCommand({})));
    expect(count(unfiltered, 'ok')).toBe(50);
    expect(unfiltered[50]).toBe('RequestLimitExceeded');
    const filtered = await burst(5, () => ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:backup', Values: ['yes'] }] })));
    expect(filtered).toEqual(Array(5).fill('ok'));
  });

  test('EC2 StartInstances: request bucket 5 (2/s) and resource bucket 1000 instances (2/s); StopInstances 50 requests and 1000 instances (20/s)', async () => {
    await open({ throttling: true }, 1200);
    for (const inst of world.instanceList) inst.state = 'stopped';
    // Request bucket: 5 calls, then refused, whatever the instance count.
    const starts = await burst(6, (k) => ec2.send(new StartInstancesCommand({ InstanceIds: [id(k + 1)] })));
    expect(starts).toEqual([...Array(5).fill('ok'), 'RequestLimitExceeded']);
    // Resource bucket: 995 instances left; a call naming 996 instances is refused even with request tokens.
    world.clock.advanceRun(3); // request bucket back to 5; resource bucket 995 + 6 = 1000 (capped)
    const ids = (from: number, n: number) => Array.from({ length: n }, (_, k) => id(from + k));
    expect(await burst(1, () => ec2.send(new StartInstancesCommand({ InstanceIds: ids(10, 1000) })))).toEqual(['ok']);
    expect(await burst(1, () => ec2.send(new StartInstancesCommand({ InstanceIds: ids(1010, 1) })))).toEqual(['RequestLimitExceeded']);
    world.clock.advanceRun(1);
    expect(await burst(1, () => ec2.send(new StartInstancesCommand({ InstanceIds: ids(1010, 2) })))).toEqual(['ok']);
    expect(await burst(1, () => ec2.send(new StartInstancesCommand({ InstanceIds: ids(1012, 1) })))).toEqual(['RequestLimitExceeded']);
    // StopInstances: its own buckets.
    for (const inst of world.instanceList) inst.state = 'running';
    const stops = await burst(51, (k) => ec2.send(new StopInstancesCommand({ InstanceIds: [id(k + 1)] })));
    expect(count(stops, 'ok')).toBe(50);
    expect(stops[50]).toBe('RequestLimitExceeded');
  });

  test('AWS Backup: StartBackupJob 5/s, DescribeBackupJob 15/s, ThrottlingException (HTTP 400); refills with simulated time', async () => {
    await open({ throttling: true }, 20);
    const start = (k: number) => backup.send(new StartBackupJobCommand({
      BackupVaultName: 'vault', IamRoleArn: 'arn:aws:iam::123456789012:role/b', ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id(k + 1)}`,
    }));
    const r = await burst(6, start);
    expect(r).toEqual([...Array(5).fill('ok'), 'ThrottlingException']);
    const jobId = world.backupJobsFor(id(1))[0].backupJobId;
    const looks = await burst(16, () => backup.send(new DescribeBackupJobCommand({ BackupJobId: jobId })));
    expect(looks).toEqual([...Array(15).fill('ok'), 'ThrottlingException']);
    // Each call is judged at its own chain's time: instance 1's chain a simulated second later finds the buckets refilled.
    world.clock.startInstance(id(1));
    world.clock.advance(id(1), 1);
    expect(await burst(1, () => backup.send(new DescribeBackupJobCommand({ BackupJobId: jobId })))).toEqual(['ok']);
    // Chains still at 0 s find the StartBackupJob bucket as the first burst left it; a second later it holds 5 again.
    expect(await burst(1, (k) => start(k + 10))).toEqual(['ThrottlingException']);
    for (let k = 11; k <= 17; k++) {
      world.clock.startInstance(id(k));
      world.clock.advance(id(k), 1);
    }
    expect(await burst(6, (k) => start(k + 10))).toEqual([...Array(5).fill('ok'), 'ThrottlingException']);
  });

  test('SSM (rates undocumented: conservative) SendCommand bucket 10, 5/s, ThrottlingException', async () => {
    await open({ throttling: true }, 1);
    const send = () => ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [id(1)], Parameters: { commands: ['true'] } }));
    const r = await burst(11, send);
    expect(r).toEqual([...Array(10).fill('ok'), 'ThrottlingException']);
  });

  test('a bucket can be overridden by name; an unknown name is refused', async () => {
    await open({ throttling: { 'ec2:DescribeImages': { capacity: 2, refillPerSecond: 1 } } }, 1);
    expect(await burst(3, () => ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'state', Values: ['pending'] }] }))))
      .toEqual(['ok', 'ok', 'RequestLimitExceeded']);
    const w = new World({ throttling: { 'ec2:Nope': { capacity: 1, refillPerSecond: 1 } } });
    w.addInstance({ id: id(1) });
    const f = await startFakes(w);
    const c = new EC2Client(clientConfig(f.ec2));
    await expect(c.send(new DescribeImagesCommand({}))).rejects.toThrow();
    c.destroy();
    await f.stop();
  });
});
