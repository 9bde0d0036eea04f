import { CancelCommandCommand, GetCommandInvocationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { awsError, throttling } from './fixtures';
import { handler } from '../../src/handlers/get-script-status/get-script-status.lambda';
import type { ScriptStatusResult } from '../../src/runtime/contracts';
import { nextPoll, scriptPolicy } from '../../src/runtime/poll';

const ssm = mockClient(SSMClient);
const ID = 'i-0123456789abcdef0';

const first: ScriptStatusResult = {
  commandId: 'cmd-1',
  instanceId: ID,
  status: 'Pending',
  statusDetails: 'Pending',
  responseCode: -1,
  timeoutSeconds: 60,
  outputLocation: 's3://b/p',
  outputExcerpt: '',
  done: false,
  poll: nextPoll(null, scriptPolicy(60)),
};

beforeEach(() => ssm.reset());

describe('get-script-status', () => {
  test('Success: done, exit code, no excerpt', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StatusDetails: 'Success', ResponseCode: 0, StandardOutputContent: 'frozen' });
    const result = await handler({ previous: first });
    expect(ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: 'cmd-1', InstanceId: ID });
    expect(result).toEqual({
      ...first,
      status: 'Success',
      statusDetails: 'Success',
      responseCode: 0,
      outputExcerpt: '',
      done: true,
      poll: { attempt: 2, elapsedSeconds: 5, nextWaitSeconds: 10, maxSeconds: 360, expired: false },
    });
  });

  test.each([
    ['Failed', 'Failed', 1],
    ['TimedOut', 'ExecutionTimedOut', -1],
    ['TimedOut', 'DeliveryTimedOut', -1],
    ['Cancelled', 'Cancelled', -1],
    ['Failed', 'InvalidPlatform', -1],
  ])('%s (%s) is final and keeps the last 500 characters of stderr', async (status, details, code) => {
    const stderr = `${'x'.repeat(1000)}END`;
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: status as any, StatusDetails: details, ResponseCode: code, StandardErrorContent: stderr, StandardOutputContent: 'out',
    });
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status, statusDetails: details, responseCode: code, done: true });
    expect(result.outputExcerpt.length).toBeLessThanOrEqual(500);
    expect(result.outputExcerpt.endsWith('END')).toBe(true);
  });

  test('stdout is the excerpt when stderr is empty', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 2, StandardErrorContent: '', StandardOutputContent: 'disk full' });
    expect((await handler({ previous: first })).outputExcerpt).toBe('disk full');
  });

  test('a missing Status with a final StatusDetails is final', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ StatusDetails: 'Undeliverable' });
    expect(await handler({ previous: first })).toMatchObject({ status: 'Undeliverable', done: true });
  });

  test.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('%s is not final', async (status) => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: status as any, StatusDetails: status, ResponseCode: -1 });
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status, done: false, poll: { attempt: 2 } });
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  test('InvocationDoesNotExist right after SendCommand means Pending, not an error', async () => {
    ssm.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist'));
    expect(await handler({ previous: first })).toMatchObject({ status: 'Pending', done: false, responseCode: -1 });
  });

  test('the wait is bounded: no final status before the bound cancels the command and reports TimedOut', async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress', StatusDetails: 'InProgress', StandardOutputContent: 'still going' });
    ssm.on(CancelCommandCommand).resolves({});
    let previous = first;
    let calls = 0;
    while (!previous.done && calls < 100) {
      previous = await handler({ previous });
      calls++;
    }
    expect(calls).toBeLessThan(100);
    expect(previous).toMatchObject({
      status: 'TimedOut',
      statusDetails: 'no final status within 360 s (last status InProgress); command cancelled',
      done: true,
      outputExcerpt: 'still going',
      poll: { expired: true, elapsedSeconds: 360 },
    });
    expect(ssm).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-1', InstanceIds: [ID] });
  });

  test('a never-registered invocation is bounded too', async () => {
    ssm.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist'));
    ssm.on(CancelCommandCommand).rejects(awsError('InvalidCommandId'));
    const expiring = { ...first, poll: { attempt: 9, elapsedSeconds: 300, nextWaitSeconds: 60, maxSeconds: 360, expired: false } };
    expect(await handler({ previous: expiring })).toMatchObject({ status: 'TimedOut', done: true });
  });

  test('throttling: TransientError', async () => {
    ssm.on(GetCommandInvocationCommand).rejects(throttling());
    await expect(handler({ previous: first })).rejects.toMatchObject({ name: 'TransientError' });
  });
});
