import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type PollState } from '../../../src/contract/messages';
import { SSM_AGENT_NOT_SEEN } from '../../../src/contract/status';
import { handler } from '../../../src/functions/check-agent/check-agent.lambda';
import { awsError, throttling } from '../../helpers/handler-fixtures';

const ssm = mockClient(SSMClient);
const ID = 'i-0123456789abcdef0';

beforeEach(() => ssm.reset());

describe('check-agent', () => {
  test('online: done at the first check', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'Online' }] });
    const result = await handler({ instanceId: ID, purpose: 'beforeScript' });
    expect(result).toEqual({
      online: true,
      pingStatus: 'Online',
      done: true,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 15, maxSeconds: 60, expired: false },
    });
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: [ID] }] });
  });

  test('offline: not done until the wait expires', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'ConnectionLost' }] });
    let poll: PollState | null = null;
    const results = [];
    for (let i = 0; i < 20; i++) {
      const result = await handler({ instanceId: ID, purpose: 'beforeScript', poll });
      results.push(result);
      poll = result.poll;
      if (result.done) break;
    }
    const last = results[results.length - 1];
    expect(last).toMatchObject({ online: false, pingStatus: 'ConnectionLost', done: true, poll: { expired: true, elapsedSeconds: 60 } });
    expect(results.slice(0, -1).every((r) => !r.done)).toBe(true);
    expect(results).toHaveLength(4);
  });

  test('afterStart uses the longer wait', async () => {
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const result = await handler({ instanceId: ID, purpose: 'afterStart', poll: null });
    expect(result).toMatchObject({ online: false, pingStatus: 'NotManaged', done: false, poll: { maxSeconds: 900 } });
  });

  test('throttled before the bound: a look that did not see the agent (not done), the loop looks again', async () => {
    ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    const result = await handler({ instanceId: ID, purpose: 'afterStart' });
    expect(result).toEqual({
      online: false,
      pingStatus: SSM_AGENT_NOT_SEEN,
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 10, maxSeconds: 900, expired: false },
    });
    // The next look sees it online.
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'Online' }] });
    await expect(handler({ instanceId: ID, purpose: 'afterStart', poll: result.poll })).resolves.toMatchObject({ online: true, done: true });
  });

  test('throttled at the bound: TransientError (the Task retries the look that decides)', async () => {
    ssm.on(DescribeInstanceInformationCommand).rejects(throttling());
    const atBound: PollState = { attempt: 3, elapsedSeconds: 45, nextWaitSeconds: 15, maxSeconds: 60, expired: false };
    await expect(handler({ instanceId: ID, purpose: 'beforeScript', poll: atBound })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('a permanent error keeps its code', async () => {
    ssm.on(DescribeInstanceInformationCommand).rejects(awsError('InvalidInstanceId'));
    await expect(handler({ instanceId: ID, purpose: 'beforeScript' })).rejects.toMatchObject({ name: 'InvalidInstanceId' });
  });
});
