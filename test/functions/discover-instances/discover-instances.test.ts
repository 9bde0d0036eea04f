import { DescribeInstancesCommand, EC2Client, type Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, MAX_DISCOVERY_PAGES } from '../../../src/functions/discover-instances/discover-instances.lambda';
import { runConfig, throttling } from '../../helpers/handler-fixtures';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

function ec2Instance(id: string, state: string, platform?: string): Instance {
  return { InstanceId: id, State: { Name: state as any }, ...(platform ? { Platform: platform as any } : {}) };
}
const id = (n: number) => `i-${n.toString(16).padStart(17, '0')}`;

beforeEach(() => {
  delete process.env.DISCOVERY_PAGE_SIZE;
  ec2.reset();
  ssm.reset();
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
});

const STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

describe('discover-instances', () => {
  test('fleet scale: the page\'s spread window is its chains that start together (at most maxConcurrency) times the seconds per chain', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: Array.from({ length: 30 }, (_, k) => ec2Instance(id(k + 1), 'running')) }],
    });
    const entry = (maxConcurrency: number, secondsPerChain: number) => ({ config: runConfig(), entry: { maxConcurrency, secondsPerChain } });
    const window = (r: { entryFromSeconds: number; entryToSeconds: number }) => r.entryToSeconds - r.entryFromSeconds;
    // 30 instances, 4 s each (releasing at the point in time: 0.25 chains per s): 120 s, not maxConcurrency x 4.
    expect(window(await handler(entry(1000, 4)))).toBe(120);
    // Only maxConcurrency of them start together.
    expect(window(await handler(entry(10, 4)))).toBe(40);
    expect(window(await handler(entry(1000, 0.5)))).toBe(15);
    // No spread asked for: a window of 1 s (States.MathRandom(0, 1)).
    expect(await handler({ config: runConfig() })).toMatchObject({ entryFromSeconds: 0, entryToSeconds: 1 });
  });

  test('fleet scale: pages that run together share one entry schedule; a page that waits for a free slot starts its own', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: Array.from({ length: 30 }, (_, k) => ec2Instance(id(k + 1), 'running')) }],
    });
    const spread = { maxConcurrency: 1000, secondsPerChain: 0.5, concurrentPages: 2 };
    const first = await handler({ config: runConfig(), entry: spread });
    expect(first).toMatchObject({ pageNumber: 0, entryFromSeconds: 0, entryToSeconds: 15 });
    expect(first.pages).toEqual([{ pageNumber: 0, instanceCount: 30, excludedCount: 0, entryFromSeconds: 0, entryToSeconds: 15 }]);
    // The second page runs beside the first: its window starts where the first's ends.
    const second = await handler({ config: runConfig(), entry: spread, pageNumber: 1, nextToken: 'tag:x', pages: first.pages });
    expect(second).toMatchObject({ pageNumber: 1, entryFromSeconds: 15, entryToSeconds: 30, discovered: { instanceCount: 60, excludedCount: 0 } });
    expect(second.pages.map((p) => p.pageNumber)).toEqual([0, 1]);
    // Only two pages run at once: the third starts when one of them ends, with a window of its own from 0.
    const third = await handler({ config: runConfig(), entry: spread, pageNumber: 2, nextToken: 'tag:y', pages: second.pages });
    expect(third).toMatchObject({ pageNumber: 2, entryFromSeconds: 0, entryToSeconds: 15 });
    expect(third.pages).toHaveLength(3);
  });

  test('one page per call: filters on the tag and every state, reads every reservation and instance, hands on the token', async () => {
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

    const first = await handler({ config: runConfig() });
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(first).toEqual({
      items: [
        { instanceId: id(1), state: 'stopped', platform: 'Windows', ssmPingStatus: 'ConnectionLost' },
        { instanceId: id(3), state: 'running', platform: 'Linux', ssmPingStatus: 'Online' },
      ],
      excluded: [{ instanceId: id(5), state: 'terminated', reason: expect.stringContaining('terminated') }],
      excludedCount: 1,
      nextToken: 'tag:page-2',
      pageNumber: 0,
      entryFromSeconds: 0,
      entryToSeconds: 1,
      pages: [{ pageNumber: 0, instanceCount: 2, excludedCount: 1, entryFromSeconds: 0, entryToSeconds: 1 }],
      discovered: { instanceCount: 2, excludedCount: 1 },
    });
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: [id(1), id(3)] }],
    });

    const second = await handler({ config: runConfig(), nextToken: first.nextToken, pageNumber: 1 });
    const calls = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input);
    expect(calls[0]).toEqual({
      Filters: [
        { Name: 'tag:backup-job-pre-post-script', Values: ['true'] },
        { Name: 'instance-state-name', Values: STATES },
      ],
      MaxResults: 1000,
    });
    expect(calls[1]).toEqual({ ...calls[0], NextToken: 'page-2' });
    expect(second.items.map((i) => [i.instanceId, i.ssmPingStatus])).toEqual([[id(2), 'NotManaged'], [id(6), 'NotManaged']]);
    expect(second.excluded).toEqual([{ instanceId: id(4), state: 'shutting-down', reason: expect.stringContaining('shutting-down') }]);
    expect(second.nextToken).toBe('');
  });

  test('the page size comes from DISCOVERY_PAGE_SIZE, within DescribeInstances\' 5..1000', async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const maxResults = async (value: string | undefined) => {
      ec2.resetHistory();
      if (value === undefined) delete process.env.DISCOVERY_PAGE_SIZE;
      else process.env.DISCOVERY_PAGE_SIZE = value;
      await handler({ config: runConfig() });
      return ec2.commandCalls(DescribeInstancesCommand)[0].args[0].input.MaxResults;
    };
    expect(await maxResults(undefined)).toBe(1000);
    expect(await maxResults('10')).toBe(10);
    expect(await maxResults('2')).toBe(5);
    expect(await maxResults('5000')).toBe(1000);
    process.env.DISCOVERY_PAGE_SIZE = 'ten';
    await expect(handler({ config: runConfig() })).rejects.toMatchObject({ name: 'ConfigurationError' });
  });

  test('a tag scan in pages of 10: 25 instances, 3 pages, every instance once', async () => {
    process.env.DISCOVERY_PAGE_SIZE = '10';
    const fleet = Array.from({ length: 25 }, (_, i) => ec2Instance(id(i + 1), 'running'));
    ec2.on(DescribeInstancesCommand).callsFake((input) => {
      const start = input.NextToken ? Number(input.NextToken) : 0;
      const page = fleet.slice(start, start + input.MaxResults);
      const end = start + input.MaxResults;
      return { Reservations: [{ Instances: page }], NextToken: end < fleet.length ? String(end) : undefined };
    });
    const seen: string[] = [];
    const sizes: number[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await handler({ config: runConfig({ scriptsEnabled: false }), nextToken: token, pageNumber: pages++ });
      seen.push(...page.items.map((i) => i.instanceId));
      sizes.push(page.items.length);
      token = page.nextToken;
    } while (token !== '');
    expect(sizes).toEqual([10, 10, 5]);
    expect(seen).toEqual(fleet.map((i) => i.InstanceId));
    expect(ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.MaxResults)).toEqual([10, 10, 10]);
  });

  test('excluded instances: a sample of 100 per page and the count', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: Array.from({ length: 150 }, (_, i) => ec2Instance(id(i + 1), 'terminated')).concat([ec2Instance(id(999), 'running')]) }],
    });
    const page = await handler({ config: runConfig({ scriptsEnabled: false }) });
    expect(page.items.map((i) => i.instanceId)).toEqual([id(999)]);
    expect(page.excluded).toHaveLength(100);
    expect(page.excludedCount).toBe(150);
  });

  test('the page loop is bounded', async () => {
    await expect(handler({ config: runConfig(), nextToken: 'tag:x', pageNumber: MAX_DISCOVERY_PAGES })).rejects.toMatchObject({ name: 'DiscoveryLimitError' });
    expect(ec2).not.toHaveReceivedCommand(DescribeInstancesCommand);
  });

  test('a token of the other kind is refused', async () => {
    await expect(handler({ config: runConfig(), nextToken: 'ids:10' })).rejects.toMatchObject({ name: 'ConfigurationError' });
    await expect(handler({ config: runConfig({ instanceIds: [id(1)] }), nextToken: 'tag:abc' })).rejects.toMatchObject({ name: 'ConfigurationError' });
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
    expect(result.items[0].ssmPingStatus).toBe('NotChecked');
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
    expect(result.items).toHaveLength(450);
    expect(result.nextToken).toBe('');
  });

  test('requested ids in pages of 10: the first page checks all 25, each page describes its own ids again', async () => {
    process.env.DISCOVERY_PAGE_SIZE = '10';
    const ids = Array.from({ length: 25 }, (_, i) => id(25 - i)); // unsorted on purpose
    let gone = '';
    ec2.on(DescribeInstancesCommand).callsFake((input) => {
      const filter = input.Filters.find((f: any) => f.Name === 'instance-id');
      return { Reservations: [{ Instances: filter.Values.filter((v: string) => v !== gone).map((v: string) => ec2Instance(v, 'running')) }] };
    });
    const config = runConfig({ instanceIds: ids, scriptsEnabled: false });
    const first = await handler({ config });
    expect(first.items.map((i) => i.instanceId)).toEqual(Array.from({ length: 10 }, (_, i) => id(i + 1)));
    expect(first.nextToken).toBe('ids:10');
    const idFilters = () => ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters!.find((f) => f.Name === 'instance-id')!.Values!);
    expect(idFilters().map((v) => v.length)).toEqual([25]);

    gone = id(12); // untagged or terminated and gone between pages
    const second = await handler({ config, nextToken: first.nextToken, pageNumber: 1 });
    expect(second.items.map((i) => i.instanceId)).toEqual(Array.from({ length: 10 }, (_, i) => id(i + 11)).filter((v) => v !== id(12)));
    expect(second.excluded).toEqual([{ instanceId: id(12), state: 'unknown', reason: expect.stringContaining('no longer carries the tag') }]);
    expect(second.nextToken).toBe('ids:20');
    const third = await handler({ config, nextToken: second.nextToken, pageNumber: 2 });
    expect(third.items).toHaveLength(5);
    expect(third.nextToken).toBe('');
    expect(idFilters().map((v) => v.length)).toEqual([25, 10, 5]);
    expect(ec2.commandCalls(DescribeInstancesCommand).every((c) => c.args[0].input.InstanceIds === undefined)).toBe(true);
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
    // Each request as sent (the SDK's paginator reuses one input object for a list's pages: the mock's recorded
    // inputs show its last token).
    const calls: Array<{ NextToken?: string; Filters?: Array<{ Key?: string; Values?: string[] }> }> = [];
    ssm.on(DescribeInstanceInformationCommand).callsFake((input) => {
      calls.push(structuredClone(input));
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
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(6);
    expect(calls).toHaveLength(6);
    expect(calls.filter((c) => !c.NextToken).map((c) => c.Filters![0].Values!.length)).toEqual([50, 50, 20]);
    expect(calls.every((c) => c.Filters![0].Key === 'InstanceIds')).toBe(true);
    expect(result.items.filter((i) => i.ssmPingStatus === 'Online')).toHaveLength(119);
    expect(result.items.find((i) => i.instanceId === id(7))!.ssmPingStatus).toBe('NotManaged');
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
