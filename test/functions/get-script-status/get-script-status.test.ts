import { CancelCommandCommand, GetCommandInvocationCommand, ListCommandInvocationsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type ScriptStatusResult } from '../../../src/contract/messages';
import { nextPoll, scriptPolicy } from '../../../src/contract/poll';
import { handler } from '../../../src/functions/get-script-status/get-script-status.lambda';
import { awsError, throttling } from '../../helpers/handler-fixtures';
import { listed } from '../../helpers/ssm-fixtures';

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

beforeEach(() => {
  ssm.reset();
  // GetCommandInvocation without a step name fails on AWS-RunRemoteScript (several steps): never the way to look.
  ssm.on(GetCommandInvocationCommand).rejects(awsError('InvalidPluginName', ''));
});

describe('get-script-status', () => {
  test('Success: done, exit code, no excerpt; read with ListCommandInvocations and its details, never GetCommandInvocation', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Success', { output: 'frozen' }));
    const result = await handler({ previous: first });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: 'cmd-1', InstanceId: ID, Details: true });
    expect(ssm).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(result).toEqual({
      ...first,
      status: 'Success',
      statusDetails: 'Success',
      responseCode: 0,
      outputExcerpt: '',
      done: true,
      // Issue 14: when the invocation ended, from the steps' ResponseFinishDateTime (none here: the look's time).
      endedAt: expect.any(String),
      poll: { attempt: 2, elapsedSeconds: 5, nextWaitSeconds: 10, maxSeconds: 360, expired: false },
    });
  });

  test.each([
    ['Failed', 'Failed', 1],
    ['TimedOut', 'ExecutionTimedOut', -1],
    ['Cancelled', 'Cancelled', -1],
  ])('%s (%s) is final and keeps the end of the script step\'s output, naming the step', async (status, details, code) => {
    const output = `${'x'.repeat(3000)}END`.slice(-2500);
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, status, { statusDetails: details, responseCode: code, output }));
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status, statusDetails: details, responseCode: code, done: true });
    expect(result.outputExcerpt.length).toBeLessThanOrEqual(500);
    expect(result.outputExcerpt).toMatch(new RegExp(`^step runShellScript ${status}`));
    expect(result.outputExcerpt.endsWith('END')).toBe(true);
  });

  test('a download that failed is what the excerpt names, not the script step that then failed too', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Failed', {
      downloadError: 'AccessDenied: the instance role may not read s3://assets-bucket/scripts/freeze.sh',
      responseCode: 127,
      output: 'bash: freeze.sh: No such file or directory',
    }));
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status: 'Failed', responseCode: 1, done: true });
    expect(result.outputExcerpt).toBe('step downloadContent Failed, exit code 1: AccessDenied: the instance role may not read s3://assets-bucket/scripts/freeze.sh');
  });

  test('the excerpt is one line: the output\'s line breaks become " | "', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Failed', { responseCode: 1, output: 'freezing\n----------ERROR-------\nfsfreeze: busy\n' }));
    expect((await handler({ previous: first })).outputExcerpt).toBe('step runShellScript Failed, exit code 1: freezing | ----------ERROR------- | fsfreeze: busy');
  });

  test('a step skipped by its platform precondition is never the one reported', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'Failed', { responseCode: 2, output: 'disk full' }));
    const result = await handler({ previous: first });
    expect(result.outputExcerpt).toBe('step runShellScript Failed, exit code 2: disk full');
    expect(result.outputExcerpt).not.toContain('skipped');
  });

  test.each(['DeliveryTimedOut', 'Undeliverable'])('never delivered (%s): final, with no step to report', async (details) => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, details === 'Undeliverable' ? 'Failed' : 'TimedOut', { statusDetails: details, plugins: [] }));
    expect(await handler({ previous: first })).toMatchObject({ statusDetails: details, responseCode: -1, outputExcerpt: '', done: true });
  });

  test('a missing Status with a final StatusDetails is final', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ CommandId: 'cmd-1', InstanceId: ID, StatusDetails: 'Undeliverable' }] });
    expect(await handler({ previous: first })).toMatchObject({ status: 'Undeliverable', done: true });
  });

  test.each(['Pending', 'InProgress', 'Delayed', 'Cancelling'])('%s is not final', async (status) => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, status));
    const result = await handler({ previous: first });
    expect(result).toMatchObject({ status, done: false, poll: { attempt: 2 } });
    expect(ssm).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  test('not listed yet right after SendCommand (the listing lags) means Pending, not an error', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    expect(await handler({ previous: first })).toMatchObject({ status: 'Pending', done: false, responseCode: -1 });
  });

  test('the wait is bounded: no final status before the bound cancels the command and reports TimedOut', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves(listed('cmd-1', ID, 'InProgress', { output: 'still going' }));
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
      outputExcerpt: 'step runShellScript InProgress: still going',
      poll: { expired: true, elapsedSeconds: 360 },
    });
    expect(ssm).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: 'cmd-1', InstanceIds: [ID] });
  });

  test('a never-listed invocation is bounded too', async () => {
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [] });
    ssm.on(CancelCommandCommand).rejects(awsError('InvalidCommandId'));
    const expiring = { ...first, poll: { attempt: 9, elapsedSeconds: 300, nextWaitSeconds: 60, maxSeconds: 360, expired: false } };
    expect(await handler({ previous: expiring })).toMatchObject({ status: 'TimedOut', done: true });
  });

  test('throttling: TransientError', async () => {
    ssm.on(ListCommandInvocationsCommand).rejects(throttling());
    await expect(handler({ previous: first })).rejects.toMatchObject({ name: 'TransientError' });
  });
});
