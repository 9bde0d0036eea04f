import {
  BackupClient, DescribeBackupJobCommand, DescribeBackupVaultCommand, ListBackupJobsCommand, ListCopyJobsCommand, paginateListBackupJobs,
  StartBackupJobCommand, StartCopyJobCommand,
} from '@aws-sdk/client-backup';
import { DescribeInstancesCommand, EC2Client, paginateDescribeInstances, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import {
  CancelCommandCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand,
  SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { RunningFakes, startFakes } from './fakes';
import { IDEMPOTENCY_TOKEN_SECONDS, RUNNING_JOB_CONFLICT_MESSAGE, World } from './world';

const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

let world: World;
let fakes: RunningFakes;
let ec2: EC2Client;
let ssm: SSMClient;
let backup: BackupClient;

beforeEach(async () => {
  world = new World();
  fakes = await startFakes(world);
  ec2 = new EC2Client(clientConfig(fakes.ec2));
  ssm = new SSMClient(clientConfig(fakes.ssm));
  backup = new BackupClient(clientConfig(fakes.backup));
});

afterEach(async () => {
  ec2.destroy();
  ssm.destroy();
  backup.destroy();
  await fakes.stop();
});

const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

async function stateOf(instanceId: string): Promise<string | undefined> {
  const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return r.Reservations?.[0]?.Instances?.[0]?.State?.Name;
}

describe('EC2 fake', () => {
  test('DescribeInstances filters by tag and state and pages with MaxResults/NextToken', async () => {
    for (let n = 1; n <= 12; n++) {
      world.addInstance({
        id: id(n),
        tags: { backup: n % 3 === 0 ? 'no' : 'yes', Name: `host-${n}` },
        state: n === 4 ? 'stopped' : 'running',
        platform: n === 2 ? 'Windows' : 'Linux',
        reservationId: `r-${Math.ceil(n / 2)}`,
      });
    }
    const seen: Array<{ id: string; platform?: string; reservation?: string }> = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: 5 }, {
      Filters: [{ Name: 'tag:backup', Values: ['yes'] }, { Name: 'instance-state-name', Values: ['running', 'stopped'] }],
    })) {
      pages++;
      for (const r of page.Reservations ?? []) {
        for (const i of r.Instances ?? []) seen.push({ id: i.InstanceId!, platform: i.Platform, reservation: r.ReservationId });
      }
    }
    expect(seen.map((s) => s.id)).toEqual([1, 2, 4, 5, 7, 8, 10, 11].map(id));
    expect(pages).toBe(2);
    expect(seen.find((s) => s.id === id(2))?.platform).toBe('windows');
    expect(seen.find((s) => s.id === id(1))?.platform).toBeUndefined();
    // Several instances in one reservation.
    const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id(7), id(8)] }));
    expect(r.Reservations).toHaveLength(1);
    expect(r.Reservations![0].Instances!.map((i) => i.InstanceId)).toEqual([id(7), id(8)]);
    expect(r.Reservations![0].Instances![0].Tags).toEqual(expect.arrayContaining([{ Key: 'Name', Value: 'host-7' }]));
    // State filter only.
    const byIdFilter = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: [id(3), id(9), 'i-0000000000000dead'] }] }));
    expect(byIdFilter.Reservations!.flatMap((x) => x.Instances!.map((i) => i.InstanceId))).toEqual([id(3), id(9)]);
    const stopped = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] }));
    expect(stopped.Reservations!.flatMap((x) => x.Instances!.map((i) => i.InstanceId))).toEqual([id(4)]);
    // Unknown instance.
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000dead'] })))
      .rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });

  test('stop -> stopping for N describes -> stopped; start -> pending -> running; IncorrectInstanceState', async () => {
    world.addInstance({ id: id(1) });
    const stop = await ec2.send(new StopInstancesCommand({ InstanceIds: [id(1)] }));
    expect(stop.StoppingInstances?.[0]).toMatchObject({ CurrentState: { Name: 'stopping', Code: 64 }, PreviousState: { Name: 'running' } });
    await expect(ec2.send(new StartInstancesCommand({ InstanceIds: [id(1)] }))).rejects.toMatchObject({
      name: 'IncorrectInstanceState',
      $metadata: { httpStatusCode: 400 },
    });
    expect([await stateOf(id(1)), await stateOf(id(1)), await stateOf(id(1))]).toEqual(['stopping', 'stopping', 'stopped']);
    const start = await ec2.send(new StartInstancesCommand({ InstanceIds: [id(1)] }));
    expect(start.StartingInstances?.[0].CurrentState?.Name).toBe('pending');
    expect([await stateOf(id(1)), await stateOf(id(1)), await stateOf(id(1))]).toEqual(['pending', 'pending', 'running']);
    expect(world.instanceStates()).toEqual({ [id(1)]: 'running' });
  });

  test('LaunchTime: before the world began, set again by a start from stopped; a pending instance refuses a stop', async () => {
    world.addInstance({ id: id(1) });
    const launchTime = async () => {
      const described = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id(1)] }));
      return described.Reservations![0].Instances![0].LaunchTime!;
    };
    const first = await launchTime();
    expect(first.getTime()).toBeLessThan(Date.now() - 3600_000);
    await ec2.send(new StopInstancesCommand({ InstanceIds: [id(1)] }));
    while (await stateOf(id(1)) !== 'stopped');
    expect((await launchTime()).getTime()).toBe(first.getTime());
    // On the instance's virtual clock (the handlers read the same clock: test/simulator/virtual-date.ts).
    const before = world.clock.dateAt(world.now(id(1))).getTime();
    await ec2.send(new StartInstancesCommand({ InstanceIds: [id(1)] }));
    // EC2's LaunchTime has second precision: the new one is within the second of the start.
    expect((await launchTime()).getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect((await launchTime()).getTime()).toBeGreaterThan(first.getTime());
    await expect(ec2.send(new StopInstancesCommand({ InstanceIds: [id(1)] }))).rejects.toMatchObject({
      name: 'IncorrectInstanceState',
      message: `Instance '${id(1)}' cannot be stopped as it has never reached the 'running' state.`,
    });
  });

  test('tag-based authorization, per-instance stop error, injected throttling', async () => {
    const w = new World({ requireTagForMutation: { key: 'backup', value: 'yes' } });
    const f = await startFakes(w);
    const c = new EC2Client(clientConfig(f.ec2));
    try {
      w.addInstance({ id: id(1), tags: { backup: 'yes' } });
      w.addInstance({ id: id(2), tags: {} });
      w.addInstance({ id: id(3), tags: { backup: 'yes' }, faults: { stopError: { code: 'InternalError', message: 'boom', httpStatus: 500 } } });
      await c.send(new StopInstancesCommand({ InstanceIds: [id(1)] }));
      await expect(c.send(new StopInstancesCommand({ InstanceIds: [id(2)] }))).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
      await expect(c.send(new StopInstancesCommand({ InstanceIds: [id(3)] }))).rejects.toMatchObject({ name: 'InternalError' });
      w.throttle('ec2', 'DescribeInstances', 2, id(1));
      const throttled = await c.send(new DescribeInstancesCommand({ InstanceIds: [id(1)] })).catch((e) => e);
      expect(throttled).toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
      await expect(c.send(new DescribeInstancesCommand({ InstanceIds: [id(1)] }))).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
      await c.send(new DescribeInstancesCommand({ InstanceIds: [id(2)] })); // another instance: not throttled
      await c.send(new DescribeInstancesCommand({ InstanceIds: [id(1)] }));
      expect(w.calls.map((x) => [x.action, x.error ?? 'ok'])).toEqual([
        ['StopInstances', 'ok'], ['StopInstances', 'UnauthorizedOperation'], ['StopInstances', 'InternalError'],
        ['DescribeInstances', 'RequestLimitExceeded'], ['DescribeInstances', 'RequestLimitExceeded'],
        ['DescribeInstances', 'ok'], ['DescribeInstances', 'ok'],
      ]);
    } finally {
      c.destroy();
      await f.stop();
    }
  });
});

describe('SSM fake', () => {
  const send = (instanceId: string, phase: 'pre' | 'post') => ssm.send(new SendCommandCommand({
    InstanceIds: [instanceId],
    DocumentName: 'AWS-RunRemoteScript',
    Parameters: { sourceType: ['S3'], sourceInfo: ['{"path":"https://s3.us-east-1.amazonaws.com/b/k.sh"}'], commandLine: ['k.sh'] },
    Comment: `ppsb:exec-1:${phase}`,
    OutputS3BucketName: 'out-bucket',
    TimeoutSeconds: 600,
  }));
  // AWS-RunRemoteScript has several steps: GetCommandInvocation must name one (runShellScript on Linux).
  const get = (commandId: string, instanceId: string) => ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId, PluginName: 'runShellScript' }));
  const seconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

  test('SendCommand -> InvocationDoesNotExist race -> InProgress -> Success / Failed by phase', async () => {
    world.addInstance({ id: id(1), faults: { post: { status: 'Failed', stderr: 'thaw failed' } } });
    const pre = await send(id(1), 'pre');
    const cmdId = pre.Command!.CommandId!;
    expect(pre.Command).toMatchObject({ Status: 'Pending', DocumentName: 'AWS-RunRemoteScript', InstanceIds: [id(1)] });
    expect(pre.Command!.RequestedDateTime).toBeInstanceOf(Date);
    await expect(get(cmdId, id(1))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    expect((await get(cmdId, id(1))).Status).toBe('InProgress');
    const done = await get(cmdId, id(1));
    expect(done).toMatchObject({ Status: 'Success', StatusDetails: 'Success', ResponseCode: 0 });

    const post = await send(id(1), 'post');
    const postId = post.Command!.CommandId!;
    await expect(get(postId, id(1))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    await get(postId, id(1));
    expect(await get(postId, id(1))).toMatchObject({ Status: 'Failed', ResponseCode: 1, StandardErrorContent: 'thaw failed' });
    expect(world.commandsFor(id(1)).map((c) => [c.phase, c.status, c.documentName, c.outputS3BucketName])).toEqual([
      ['pre', 'Success', 'AWS-RunRemoteScript', 'out-bucket'],
      ['post', 'Failed', 'AWS-RunRemoteScript', 'out-bucket'],
    ]);
    expect(world.commandsFor(id(1))[0].parameters.commandLine).toEqual(['k.sh']);
  });

  test('issue 15: preAttempts / postAttempts fail the Nth command of a phase; an attempt suffix in the comment keeps the phase', async () => {
    world.addInstance({ id: id(1), faults: { preAttempts: ['Failed', 'TimedOut'], postAttempts: ['Failed'], post: 'Success' } });
    const sendAttempt = (phase: 'pre' | 'post', attempt: number) => ssm.send(new SendCommandCommand({
      InstanceIds: [id(1)],
      DocumentName: 'AWS-RunRemoteScript',
      Parameters: { sourceType: ['S3'], sourceInfo: ['{"path":"https://s3.us-east-1.amazonaws.com/b/k.sh"}'], commandLine: ['k.sh'] },
      Comment: attempt > 1 ? `ppsb:exec-1:${phase}:${attempt}` : `ppsb:exec-1:${phase}`,
    }));
    const finalOf = async (commandId: string) => {
      for (let k = 0; k < 5; k++) {
        const r = await get(commandId, id(1)).catch(() => undefined);
        if (r && ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(r.Status!)) return `${r.Status}/${r.StatusDetails}`;
      }
      return 'not final';
    };
    const outcomes: string[] = [];
    for (const [phase, attempt] of [['pre', 1], ['pre', 2], ['pre', 3], ['post', 1], ['post', 2]] as const) {
      outcomes.push(await finalOf((await sendAttempt(phase, attempt)).Command!.CommandId!));
    }
    // Past the list, `pre` / `post` decide (default Success).
    expect(outcomes).toEqual(['Failed/Failed', 'TimedOut/ExecutionTimedOut', 'Success/Success', 'Failed/Failed', 'Success/Success']);
    expect(world.commandsFor(id(1)).map((c) => c.phase)).toEqual(['pre', 'pre', 'pre', 'post', 'post']);
  });

  test('hang, CancelCommand, offline agent, unmanaged instance, ListCommandInvocations, DescribeInstanceInformation', async () => {
    world.addInstance({ id: id(1), faults: { pre: 'hang' } });
    world.addInstance({ id: id(2), agent: 'ConnectionLost' });
    world.addInstance({ id: id(3), agent: 'absent' });
    for (let n = 4; n <= 9; n++) world.addInstance({ id: id(n), platform: n === 4 ? 'Windows' : 'Linux' });

    const hang = (await send(id(1), 'pre')).Command!.CommandId!;
    await expect(get(hang, id(1))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    for (let k = 0; k < 5; k++) expect((await get(hang, id(1))).Status).toBe('InProgress');
    const list = () => ssm.send(new ListCommandInvocationsCommand({ InstanceId: id(1), Filters: [{ key: 'InvokedAfter', value: seconds(new Date(Date.now() - 60_000)) }] }));
    expect((await list()).CommandInvocations).toEqual([]); // the listing lags SendCommand (ssmListLagCalls)
    const listed = await list();
    expect(listed.CommandInvocations?.map((c) => [c.CommandId, c.Status])).toEqual([[hang, 'InProgress']]);
    // Listing by CommandId polls the invocation (no race there); the race stays GetCommandInvocation's.
    const quick = (await send(id(5), 'pre')).Command!.CommandId!;
    const byCommand = async () => (await ssm.send(new ListCommandInvocationsCommand({ CommandId: quick, Details: true }))).CommandInvocations!;
    expect(await byCommand()).toEqual([]);
    expect((await byCommand())[0].Status).toBe('InProgress');
    const listedDone = (await byCommand())[0];
    expect(listedDone).toMatchObject({
      Status: 'Success',
      Comment: 'ppsb:exec-1:pre',
      CommandPlugins: [
        { Name: 'downloadContent', Status: 'Success', ResponseCode: 0 },
        { Name: 'runPowerShellScript', Status: 'Success', Output: expect.stringContaining('skipped due to unsatisfied preconditions') },
        { Name: 'runShellScript', Status: 'Success', ResponseCode: 0 },
      ],
    });
    await expect(get(quick, id(5))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    expect((await get(quick, id(5))).Status).toBe('Success');
    await ssm.send(new CancelCommandCommand({ CommandId: hang, InstanceIds: [id(1)] }));
    expect((await get(hang, id(1))).Status).toBe('Cancelling');
    expect((await get(hang, id(1))).Status).toBe('Cancelled');

    const offline = (await send(id(2), 'pre')).Command!.CommandId!;
    const statuses: string[] = [];
    for (let k = 0; k < 4; k++) statuses.push(await get(offline, id(2)).then((r) => `${r.Status}/${r.StatusDetails}`, (e) => e.name));
    expect(statuses).toEqual(['InvocationDoesNotExist', 'Pending/Pending', 'Pending/Pending', 'TimedOut/DeliveryTimedOut']);

    await expect(send(id(3), 'pre')).rejects.toMatchObject({ name: 'InvalidInstanceId' });

    const info = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id(1), id(2), id(3), id(4)] }] }));
    expect(info.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus, i.PlatformType])).toEqual([
      [id(1), 'Online', 'Linux'], [id(2), 'ConnectionLost', 'Linux'], [id(4), 'Online', 'Windows'],
    ]);
    const page1 = await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5 }));
    const page2 = await ssm.send(new DescribeInstanceInformationCommand({ MaxResults: 5, NextToken: page1.NextToken }));
    expect(page1.InstanceInformationList).toHaveLength(5);
    expect(page2.NextToken).toBeUndefined();
    expect([...page1.InstanceInformationList!, ...page2.InstanceInformationList!].map((i) => i.InstanceId))
      .toEqual([1, 2, 4, 5, 6, 7, 8, 9].map(id));
  });

  test('GetCommandInvocation on AWS-RunRemoteScript (several steps) needs a step name of the document: InvalidPluginName otherwise', async () => {
    world.addInstance({ id: id(1), platform: 'Windows', faults: { pre: { status: 'Success', stdout: 'vss ok' } } });
    const cmd = (await send(id(1), 'pre')).Command!.CommandId!;
    const plugin = (PluginName?: string) => ssm.send(new GetCommandInvocationCommand({ CommandId: cmd, InstanceId: id(1), PluginName }));
    await expect(plugin()).rejects.toMatchObject({ name: 'InvalidPluginName' });
    await expect(plugin('aws:runPowerShellScript')).rejects.toMatchObject({ name: 'InvalidPluginName' }); // a plugin, not a step
    await expect(plugin('nosuchstep')).rejects.toMatchObject({ name: 'InvalidPluginName' });
    await expect(plugin('runPowerShellScript')).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    await plugin('runPowerShellScript');
    expect(await plugin('runPowerShellScript')).toMatchObject({ PluginName: 'runPowerShellScript', Status: 'Success', StandardOutputContent: 'vss ok' });
    // On Windows the shell step's precondition does not hold: skipped, reported as Success with the agent's message.
    expect(await plugin('runShellScript')).toMatchObject({ Status: 'Success', StandardOutputContent: expect.stringContaining('[platformType, Linux]') });
  });

  test('a download that fails: downloadContent Failed, the script step then fails too, the invocation Failed', async () => {
    world.addInstance({ id: id(1), faults: { pre: { status: 'Success', downloadError: 'AccessDenied: s3://b/k.sh' } } });
    const cmd = (await send(id(1), 'pre')).Command!.CommandId!;
    const look = async () => (await ssm.send(new ListCommandInvocationsCommand({ CommandId: cmd, InstanceId: id(1), Details: true })))
      .CommandInvocations!;
    for (let k = 0; k < 5 && (await look())[0]?.Status !== 'Failed'; k++);
    const [inv] = await look();
    expect(inv).toMatchObject({ Status: 'Failed', StatusDetails: 'Failed' });
    expect(inv.CommandPlugins!.map((p) => [p.Name, p.Status])).toEqual([
      ['downloadContent', 'Failed'], ['runPowerShellScript', 'Success'], ['runShellScript', 'Failed'],
    ]);
    expect(inv.CommandPlugins![0].Output).toContain('AccessDenied');
  });

  test('SendCommand refuses parameters the document does not accept (InvalidParameters), as AWS does', async () => {
    world.addInstance({ id: id(1) });
    const withParams = (Parameters: Record<string, string[]>) => ssm.send(new SendCommandCommand({
      InstanceIds: [id(1)], DocumentName: 'AWS-RunRemoteScript', Parameters,
    }));
    const ok = { sourceType: ['S3'], sourceInfo: ['{"path":"https://s3.us-east-1.amazonaws.com/b/k.sh"}'], commandLine: ['k.sh'] };
    for (const timeout of ['28800', '1', '3600']) {
      await expect(withParams({ ...ok, executionTimeout: [timeout] })).resolves.toBeDefined();
    }
    for (const timeout of ['28801', '172800', '0', '60.5', '']) {
      await expect(withParams({ ...ok, executionTimeout: [timeout] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    }
    await expect(withParams({ ...ok, sourceType: ['FTP'] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(withParams({ sourceType: ['S3'], commandLine: ['k.sh'] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(withParams({ ...ok, commands: ['k.sh'] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(ssm.send(new SendCommandCommand({ InstanceIds: [id(1)], DocumentName: 'AWS-NoSuchDocument' })))
      .rejects.toMatchObject({ name: 'InvalidDocument' });
  });

  test('InvokedAfter only in the form of the API reference\'s example (2024-07-07T00:00:00Z)', async () => {
    world.addInstance({ id: id(1) });
    const list = (value: string) => ssm.send(new ListCommandInvocationsCommand({ InstanceId: id(1), Filters: [{ key: 'InvokedAfter', value }] }));
    await expect(list('2024-07-07T00:00:00Z')).resolves.toBeDefined();
    await expect(list('2024-07-07T00:00:00.123Z')).rejects.toMatchObject({ name: 'InvalidFilterValue' });
  });

  test('a lost answer: the command exists, the caller gets a 500', async () => {
    world.addInstance({ id: id(1) });
    world.loseAnswer({ service: 'ssm', action: 'SendCommand', instanceId: id(1), times: 1 });
    const once = new SSMClient({ ...clientConfig(fakes.ssm), maxAttempts: 1 });
    try {
      await expect(once.send(new SendCommandCommand({
        InstanceIds: [id(1)],
        DocumentName: 'AWS-RunRemoteScript',
        Parameters: { sourceType: ['S3'], sourceInfo: ['{"path":"x"}'], commandLine: ['k.sh'] },
      }))).rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    } finally {
      once.destroy();
    }
    expect(world.commandsFor(id(1))).toHaveLength(1);
  });

  test('agent reconnects N polls after a start; throttling surfaces as ThrottlingException', async () => {
    const w = new World({ agentReconnectPolls: 2, startPolls: 0 });
    const f = await startFakes(w);
    const c = new SSMClient(clientConfig(f.ssm));
    const e = new EC2Client(clientConfig(f.ec2));
    try {
      w.addInstance({ id: id(1), state: 'stopped' });
      const ping = async () => (await c.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [id(1)] }] })))
        .InstanceInformationList?.[0]?.PingStatus;
      expect(await ping()).toBe('ConnectionLost');
      await e.send(new StartInstancesCommand({ InstanceIds: [id(1)] }));
      await e.send(new DescribeInstancesCommand({ InstanceIds: [id(1)] })); // pending -> running (startPolls 0)
      expect([await ping(), await ping(), await ping()]).toEqual(['ConnectionLost', 'ConnectionLost', 'Online']);
      w.throttle('ssm', 'SendCommand', 1);
      await expect(c.send(new SendCommandCommand({ InstanceIds: [id(1)], DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['date'] } })))
        .rejects.toMatchObject({ name: 'ThrottlingException' });
      w.injectFault({ service: 'ssm', action: 'GetCommandInvocation', error: { code: 'InternalServerError', httpStatus: 500 } });
      const cmd = await c.send(new SendCommandCommand({ InstanceIds: [id(1)], DocumentName: 'AWS-RunShellScript', Parameters: { commands: ['date'] } }));
      await expect(c.send(new GetCommandInvocationCommand({ CommandId: cmd.Command!.CommandId!, InstanceId: id(1) })))
        .rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    } finally {
      c.destroy();
      e.destroy();
      await f.stop();
    }
  });
});

// Issue 15 (docs/fidelity/ec2.md, the dry run's block).
describe('EC2 fake: DryRun', () => {
  test('a permitted DryRun stop or start answers DryRunOperation (HTTP 412) and changes nothing, whatever the state', async () => {
    world.addInstance({ id: id(1) });
    world.addInstance({ id: id(2), state: 'pending' });
    const commands = [
      new StopInstancesCommand({ InstanceIds: [id(1)], DryRun: true }),
      new StartInstancesCommand({ InstanceIds: [id(1)], DryRun: true }),
      new StopInstancesCommand({ InstanceIds: [id(2)], DryRun: true }),
    ];
    for (const command of commands) {
      const err = await ec2.send(command as StopInstancesCommand).catch((e) => e);
      expect(err).toMatchObject({
        name: 'DryRunOperation',
        message: 'Request would have succeeded, but DryRun flag is set.',
        $metadata: { httpStatusCode: 412 },
      });
    }
    // (Read from the world: a DescribeInstances would advance the pending one.)
    expect(world.instances.get(id(1))).toMatchObject({ state: 'running', stopCalls: 0, startCalls: 0, dryRunCalls: 2 });
    expect(world.instances.get(id(2))).toMatchObject({ state: 'pending', stopCalls: 0, dryRunCalls: 1 });
  });

  test('without the permission: UnauthorizedOperation (the tag condition, or an UnauthorizedOperation fault)', async () => {
    const w = new World({ requireTagForMutation: { key: 'backup', value: 'yes' } });
    const f = await startFakes(w);
    const c = new EC2Client(clientConfig(f.ec2));
    try {
      w.addInstance({ id: id(1), tags: {} });
      w.addInstance({ id: id(2), tags: { backup: 'yes' }, faults: { startError: { code: 'UnauthorizedOperation' } } });
      w.addInstance({ id: id(3), tags: { backup: 'yes' }, faults: { stopError: { code: 'InternalError', httpStatus: 500 } } });
      await expect(c.send(new StopInstancesCommand({ InstanceIds: [id(1)], DryRun: true }))).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
      await expect(c.send(new StartInstancesCommand({ InstanceIds: [id(2)], DryRun: true }))).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
      await expect(c.send(new StopInstancesCommand({ InstanceIds: [id(2)], DryRun: true }))).rejects.toMatchObject({ name: 'DryRunOperation' });
      // Only the permission is checked: another fault of the real call does not show in a DryRun.
      await expect(c.send(new StopInstancesCommand({ InstanceIds: [id(3)], DryRun: true }))).rejects.toMatchObject({ name: 'DryRunOperation' });
      expect(w.instanceStates()).toEqual({ [id(1)]: 'running', [id(2)]: 'running', [id(3)]: 'running' });
    } finally {
      c.destroy();
      await f.stop();
    }
  });
});

describe('Backup fake: DescribeBackupVault (issue 15)', () => {
  test('a vault answers AVAILABLE; a missing or forbidden one AccessDeniedException (403)', async () => {
    const v = await backup.send(new DescribeBackupVaultCommand({ BackupVaultName: 'vault' }));
    expect(v).toMatchObject({ BackupVaultName: 'vault', VaultState: 'AVAILABLE', Locked: false, NumberOfRecoveryPoints: 0 });
    world.missingBackupVaults.add('gone');
    await expect(backup.send(new DescribeBackupVaultCommand({ BackupVaultName: 'gone' })))
      .rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } });
  });
});

describe('Backup fake', () => {
  const start = (instanceId: string, token?: string) => backup.send(new StartBackupJobCommand({
    BackupVaultName: 'vault',
    ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${instanceId}`,
    IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
    IdempotencyToken: token,
    RecoveryPointTags: { source: instanceId },
    BackupOptions: { WindowsVSS: 'enabled' },
    StartWindowMinutes: 60,
  }));

  test('StartBackupJob is idempotent per token; DescribeBackupJob goes CREATED -> PENDING -> RUNNING -> COMPLETED', async () => {
    world.addInstance({ id: id(1) });
    const a = await start(id(1), 'tok-1');
    const b = await start(id(1), 'tok-1');
    const c = await start(id(1), 'tok-2');
    expect(a.BackupJobId).toBe(b.BackupJobId);
    expect(c.BackupJobId).not.toBe(a.BackupJobId);
    expect(a.CreationDate).toBeInstanceOf(Date);
    expect(a.IsParent).toBe(false);
    // RecoveryPointArn is answered only for EFS and advanced DynamoDB: never for an EC2 instance.
    expect(a.RecoveryPointArn).toBeUndefined();
    const states: string[] = [];
    for (let k = 0; k < 6; k++) states.push((await backup.send(new DescribeBackupJobCommand({ BackupJobId: a.BackupJobId }))).State!);
    expect(states).toEqual(['CREATED', 'PENDING', 'RUNNING', 'RUNNING', 'COMPLETED', 'COMPLETED']);
    const d = await backup.send(new DescribeBackupJobCommand({ BackupJobId: a.BackupJobId }));
    expect(d).toMatchObject({ RecoveryPointArn: expect.stringMatching(/^arn:aws:ec2:us-east-1::image\/ami-/), ResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id(1)}`, PercentDone: '100.0' });
    expect(world.backupJobsFor(id(1))).toHaveLength(2);
    expect(world.backupJobsFor(id(1))[0].params).toMatchObject({ BackupOptions: { WindowsVSS: 'enabled' }, RecoveryPointTags: { source: id(1) } });
  });

  test('a token answers its job for one hour, then starts a new one; a second job of a running resource ends EXPIRED', async () => {
    world.addInstance({ id: id(1) });
    const a = await start(id(1), 'tok-1');
    world.clock.advance(id(1), IDEMPOTENCY_TOKEN_SECONDS - 1);
    expect((await start(id(1), 'tok-1')).BackupJobId).toBe(a.BackupJobId);
    world.clock.advance(id(1), 1);
    const late = await start(id(1), 'tok-1');
    expect(late.BackupJobId).not.toBe(a.BackupJobId);
    expect(world.backupJobsFor(id(1))).toHaveLength(2);
    let r;
    for (let k = 0; k < 8; k++) r = await backup.send(new DescribeBackupJobCommand({ BackupJobId: late.BackupJobId }));
    expect(r).toMatchObject({ State: 'EXPIRED', StatusMessage: RUNNING_JOB_CONFLICT_MESSAGE });
  });

  test('ListBackupJobs: filters, a page of one job at a time, a job listed only after the lag', async () => {
    world.addInstances([{ id: id(1) }, { id: id(2) }]);
    const arn = (n: number) => `arn:aws:ec2:us-east-1:123456789012:instance/${id(n)}`;
    const before = new Date(Date.now() - 1000);
    const first = await start(id(1), 'tok-1');
    await start(id(2), 'tok-2');
    expect((await backup.send(new ListBackupJobsCommand({ ByResourceArn: arn(1) }))).BackupJobs).toEqual([]);
    world.clock.advance(id(1), 300);
    world.clock.advance(id(2), 300);
    const listed = async (input: Record<string, unknown>) => {
      const out: string[] = [];
      for await (const page of paginateListBackupJobs({ client: backup }, input)) {
        expect(page.BackupJobs!.length).toBeLessThanOrEqual(1);
        out.push(...page.BackupJobs!.map((j) => j.BackupJobId!));
      }
      return out;
    };
    expect(await listed({ ByResourceArn: arn(1), ByBackupVaultName: 'vault', ByCreatedAfter: before })).toEqual([first.BackupJobId]);
    expect(await listed({ ByBackupVaultName: 'vault' })).toHaveLength(2);
    expect(await listed({ ByBackupVaultName: 'other' })).toEqual([]);
    expect(await listed({ ByResourceArn: arn(1), ByCreatedAfter: new Date(Date.now() + 60_000) })).toEqual([]);
    const [job] = (await backup.send(new ListBackupJobsCommand({ ByResourceArn: arn(1) }))).BackupJobs!;
    expect(job).toMatchObject({ ResourceArn: arn(1), BackupVaultName: 'vault', ResourceType: 'EC2', IamRoleArn: 'arn:aws:iam::123456789012:role/backup' });
    expect(job.CreationDate).toBeInstanceOf(Date);
    await expect(backup.send(new ListBackupJobsCommand({ MaxResults: 1001 }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
  });

  test('a lost StartBackupJob answer: the job is started, the caller gets a 500; StartCopyJob and ListCopyJobs likewise', async () => {
    world.addInstance({ id: id(1), faults: { startBackupAnswerLost: 1, startCopyAnswerLost: 1 } });
    await expect(start(id(1), 'tok-1')).rejects.toMatchObject({ name: 'ServiceUnavailableException', $metadata: { httpStatusCode: 500 } });
    const [job] = world.backupJobsFor(id(1));
    expect(job).toBeDefined();
    expect((await start(id(1), 'tok-1')).BackupJobId).toBe(job.backupJobId);
    for (let k = 0; k < 8; k++) await backup.send(new DescribeBackupJobCommand({ BackupJobId: job.backupJobId }));
    const copy = () => backup.send(new StartCopyJobCommand({
      RecoveryPointArn: job.recoveryPointArn,
      SourceBackupVaultName: 'vault',
      IamRoleArn: 'arn:aws:iam::123456789012:role/backup',
      DestinationBackupVaultArn: 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr',
      IdempotencyToken: 'copy-tok',
    }));
    await expect(copy()).rejects.toMatchObject({ name: 'ServiceUnavailableException' });
    const copyJobId = world.copyJobsFor(id(1))[0].copyJobId;
    expect((await copy()).CopyJobId).toBe(copyJobId);
    world.clock.advance(id(1), 300);
    const listed = await backup.send(new ListCopyJobsCommand({
      ByResourceArn: `arn:aws:ec2:us-east-1:123456789012:instance/${id(1)}`, ByDestinationVaultArn: 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr',
    }));
    expect(listed.CopyJobs!.map((c) => [c.CopyJobId, c.SourceRecoveryPointArn])).toEqual([[copyJobId, job.recoveryPointArn]]);
  });

  test('failure states, hang, unknown job, throttling', async () => {
    world.addInstance({ id: id(1), faults: { backup: 'EXPIRED' } });
    world.addInstance({ id: id(2), faults: { backup: { state: 'FAILED', statusMessage: 'snapshot quota' } } });
    world.addInstance({ id: id(3), faults: { backup: 'hang' } });
    const final = async (jobId: string, polls = 8) => {
      let r;
      for (let k = 0; k < polls; k++) r = await backup.send(new DescribeBackupJobCommand({ BackupJobId: jobId }));
      return r!;
    };
    expect(await final((await start(id(1))).BackupJobId!)).toMatchObject({ State: 'EXPIRED', StatusMessage: expect.stringMatching(/expired/) });
    expect(await final((await start(id(2))).BackupJobId!)).toMatchObject({ State: 'FAILED', StatusMessage: 'snapshot quota' });
    expect((await final((await start(id(3))).BackupJobId!, 20)).State).toBe('RUNNING');
    await expect(backup.send(new DescribeBackupJobCommand({ BackupJobId: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    world.throttle('backup', 'StartBackupJob', 1);
    await expect(start(id(1))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    await expect(start(id(1))).resolves.toHaveProperty('BackupJobId');
  });
});

describe('World.injectFault', () => {
  test('nth picks which matching calls fail (counted per fault), times caps how many; other calls pass', () => {
    const w = new World();
    w.injectFault({ service: 'backup', action: 'DescribeBackupJob', instanceId: id(1), throttle: true, nth: (n) => n % 2 === 0, times: 2 });
    const outcomes = Array.from({ length: 7 }, () => {
      try {
        w.recordCall('backup', 'DescribeBackupJob', [id(1)], {});
        return 'ok';
      } catch (e) {
        return (e as { code: string }).code;
      }
    });
    expect(outcomes).toEqual(['ok', 'ThrottlingException', 'ok', 'ThrottlingException', 'ok', 'ok', 'ok']);
    expect(() => w.recordCall('backup', 'DescribeBackupJob', [id(2)], {})).not.toThrow();
  });
});
