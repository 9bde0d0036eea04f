import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { runConfig, throttling } from './fixtures';
import { handler } from '../../src/handlers/discover-instances/discover-instances.lambda';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

function ec2Instance(id: string, state: string, platform?: string): Instance {
  return { InstanceId: id, State: { Name: state as any }, ...(platform ? { Platform: platform as any } : {}) };
}
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
});

const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

describe('discover-instances', () => {
  test('filters on the tag and every state, paginates, reads every reservation and instance', async () => {
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce({
        Reservations: [
          { Instances: [ec2Instance(id(3), 'running'), ec2Instance(id(1), 'stopped', 'windows')] },
          { Instances: [ec2Instance(id(5), 'terminated')] },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Reservations: [{ Instances: [ec2Instance(id(2), 'pending'), ec2Instance(id(4), 'shutting-down')] }, { Instances: [ec2Instance(id(6), 'stopping')] }],
      });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: id(3), PingStatus: 'Online' }, { InstanceId: id(1), PingStatus: 'ConnectionLost' }],
    });

    const result = await handler({ config: runConfig() });

    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
    const calls = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      Filters: [
        { Name: 'tag:backup-job-pre-post-script', Values: ['true'] },
        { Name: 'instance-state-name', Values: STATES },
      ],
      MaxResults: 1000,
    });
    expect(calls[1]).toEqual({ ...calls[0], NextToken: 'page-2' });

    expect(result.instances).toEqual([
      { instanceId: id(1), state: 'stopped', platform: 'Windows', ssmPingStatus: 'ConnectionLost' },
      { instanceId: id(2), state: 'pending', platform: 'Linux', ssmPingStatus: 'NotManaged' },
      { instanceId: id(3), state: 'running', platform: 'Linux', ssmPingStatus: 'Online' },
      { instanceId: id(6), state: 'stopping', platform: 'Linux', ssmPingStatus: 'NotManaged' },
    ]);
    expect(result.excluded).toEqual([
      { instanceId: id(4), state: 'shutting-down', reason: expect.stringContaining('shutting-down') },
      { instanceId: id(5), state: 'terminated', reason: expect.stringContaining('terminated') },
    ]);
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: [id(1), id(2), id(3), id(6)] }],
    });
  });

  test('a narrowing tag pair adds a second tag filter', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await handler({ config: runConfig({ filterTagKey: 'tier', filterTagValue: 'db' }) });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: expect.arrayContaining([
        { Name: 'tag:backup-job-pre-post-script', Values: ['true'] },
        { Name: 'tag:tier', Values: ['db'] },
      ]),
    });
  });

  test('without scripts SSM is not asked', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [ec2Instance(id(1), 'running')] }] });
    const config = runConfig({ scriptsEnabled: false });
    const result = await handler({ config });
    expect(result.instances[0].ssmPingStatus).toBe('NotChecked');
    expect(ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });

  test('requested ids: an instance-id filter (chunks of 200), never InstanceIds', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => id(i + 1));
    ec2.on(DescribeInstancesCommand).callsFake((input) => {
      const filter = input.Filters.find((f: any) => f.Name === 'instance-id');
      return { Reservations: [{ Instances: filter.Values.map((v: string) => ec2Instance(v, 'running')) }] };
    });
    const result = await handler({ config: runConfig({ instanceIds: ids, scriptsEnabled: false }) });
    const calls = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.Filters!.find((f) => f.Name === 'instance-id')!.Values!.length)).toEqual([200, 200, 50]);
    expect(calls.every((c) => c.InstanceIds === undefined)).toBe(true);
    expect(calls.every((c) => c.Filters!.some((f) => f.Name === 'tag:backup-job-pre-post-script'))).toBe(true);
    expect(result.instances).toHaveLength(450);
  });

  test('requested ids that do not carry the tag: InvalidInputError, naming them', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [ec2Instance(id(1), 'running')] }] });
    await expect(handler({ config: runConfig({ instanceIds: [id(1), id(2), id(3)] }) })).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: `TargetEC2Instances: instances ${id(2)}, ${id(3)} do not carry the tag backup-job-pre-post-script=true (or do not exist); no instance was touched`,
    });
    expect(ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
  });

  test('SSM status of 120 instances: chunks of 50, paginated', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => id(i + 1));
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: ids.map((i) => ec2Instance(i, 'running')) }] });
    ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
      const values: string[] = input.Filters[0].Values;
      // Two pages per chunk: the first half, then the rest.
      const half = Math.ceil(values.length / 2);
      const page = input.NextToken ? values.slice(half) : values.slice(0, half);
      return {
        InstanceInformationList: page.filter((v) => v !== id(7)).map((v) => ({ InstanceId: v, PingStatus: 'Online' })),
        NextToken: input.NextToken ? undefined : 'more',
      };
    });
    const result = await handler({ config: runConfig() });
    const calls = ssm.commandCalls(DescribeInstanceInformationCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(6);
    expect(calls.filter((c) => !c.NextToken).map((c) => c.Filters![0].Values!.length)).toEqual([50, 50, 20]);
    expect(calls.every((c) => c.Filters![0].Key === 'InstanceIds')).toBe(true);
    expect(result.instances.filter((i) => i.ssmPingStatus === 'Online')).toHaveLength(119);
    expect(result.instances.find((i) => i.instanceId === id(7))!.ssmPingStatus).toBe('NotManaged');
  });

  test('throttling surfaces as TransientError', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    await expect(handler({ config: runConfig() })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('throttling of SSM surfaces as TransientError', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [ec2Instance(id(1), 'running')] }] });
    ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    await expect(handler({ config: runConfig() })).rejects.toMatchObject({ name: 'TransientError' });
  });
});
