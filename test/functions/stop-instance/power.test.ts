import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type InstancePowerResult, type PollState } from '../../../src/contract/messages';
import { handler as startInstance } from '../../../src/functions/start-instance/start-instance.lambda';
import { handler as stopInstance } from '../../../src/functions/stop-instance/stop-instance.lambda';
import { awsError, EXECUTION, throttling, withEnvironment } from '../../helpers/handler-fixtures';

const ec2 = mockClient(EC2Client);

// Every acting handler journals its action first (src/lambda-shared/journal.ts): the journal's UpdateItem answers.
const journal = mockClient(DynamoDBDocumentClient);
withEnvironment({ AUDIT_TABLE_NAME: 'audit-table' });
beforeEach(() => {
  journal.reset();
  journal.on(UpdateCommand).resolves({});
});

const ID = 'i-0123456789abcdef0';

function state(name: string, launchTime?: string) {
  const launched = launchTime ? { LaunchTime: new Date(launchTime) } : {};
  return { Reservations: [{ Instances: [{ InstanceId: ID, State: { Name: name as any }, ...launched }] }] };
}
const expiring: PollState = { attempt: 30, elapsedSeconds: 880, nextWaitSeconds: 20, maxSeconds: 900, expired: false };

beforeEach(() => {
  ec2.reset();
  ec2.on(StopInstancesCommand).resolves({ StoppingInstances: [{ InstanceId: ID, CurrentState: { Name: 'stopping' } }] });
  ec2.on(StartInstancesCommand).resolves({ StartingInstances: [{ InstanceId: ID, CurrentState: { Name: 'pending' } }] });
});

describe('stop-instance', () => {
  test('running: StopInstances, then InProgress', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    const result = await stopInstance({ instanceId: ID, execution: EXECUTION });
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: [ID] });
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [ID] });
    expect(result).toEqual({
      instanceId: ID,
      state: 'stopping',
      status: 'InProgress',
      message: '',
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 10, maxSeconds: 900, expired: false },
    });
  });

  test('stopped: Success without a call (idempotent)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    const before = Date.now();
    const stopped = await stopInstance({ instanceId: ID, execution: EXECUTION, poll: null });
    expect(stopped).toMatchObject({ status: 'Success', state: 'stopped', done: true });
    // When the target state was seen: the stop's and the start's give the instance's downtime.
    expect(Date.parse(stopped.observedAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(stopped.observedAt!)).toBeLessThanOrEqual(Date.now());
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test.each(['stopping', 'pending'])('%s: InProgress without a call', async (name) => {
    ec2.on(DescribeInstancesCommand).resolves(state(name));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', state: name, done: false });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test.each(['terminated', 'shutting-down'])('%s: Failed, done', async (name) => {
    ec2.on(DescribeInstancesCommand).resolves(state(name));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'Failed', done: true, message: `instance is ${name}: cannot stop it` });
  });

  test('IncorrectInstanceState on an instance EC2 still describes running: Failed at once, with EC2\'s own words', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    ec2.on(StopInstancesCommand).rejects(awsError('IncorrectInstanceState', `The instance '${ID}' is not in a state from which it can be stopped.`));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({
      status: 'Failed',
      state: 'running',
      done: true,
      message: `StopInstances refused: IncorrectInstanceState: The instance '${ID}' is not in a state from which it can be stopped. (instance running)`,
    });
    // The refusal made the handler look again: DescribeInstances is eventually consistent.
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
  });

  test('IncorrectInstanceState while the instance is really pending: tried again, within a bound, keeping the cause', async () => {
    const refusal = `Instance '${ID}' cannot be stopped as it has never reached the 'running' state.`;
    ec2.on(DescribeInstancesCommand).resolvesOnce(state('running')).resolvesOnce(state('pending'))
      .resolvesOnce(state('running')).resolves(state('pending'));
    ec2.on(StopInstancesCommand).rejects(awsError('IncorrectInstanceState', refusal));
    const first = await stopInstance({ instanceId: ID, execution: EXECUTION });
    expect(first).toMatchObject({
      status: 'InProgress',
      state: 'pending',
      done: false,
      message: `StopInstances refused: IncorrectInstanceState: ${refusal} (instance pending: trying again)`,
    });
    const late: PollState = { attempt: 12, elapsedSeconds: 290, nextWaitSeconds: 30, maxSeconds: 900, expired: false };
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION, poll: late })).toMatchObject({
      status: 'Failed',
      state: 'pending',
      done: true,
      message: `StopInstances refused: IncorrectInstanceState: ${refusal} (instance still pending after 320 s)`,
    });
  });

  test('IncorrectInstanceState when the instance is in fact already stopping: the stop goes on', async () => {
    ec2.on(DescribeInstancesCommand).resolvesOnce(state('running')).resolves(state('stopping'));
    ec2.on(StopInstancesCommand).rejects(awsError('IncorrectInstanceState'));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', state: 'stopping', done: false, message: '' });
  });

  test('UnauthorizedOperation: a permanent error that says why', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    ec2.on(StopInstancesCommand).rejects(awsError('UnauthorizedOperation', 'You are not authorized'));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION })).rejects.toMatchObject({
      name: 'UnauthorizedOperation', message: expect.stringContaining('lacks the backup tag'),
    });
  });

  test('bounded: still stopping at the bound is Failed, and no StopInstances after the bound', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopping'));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION, poll: expiring })).toEqual({
      instanceId: ID,
      state: 'stopping',
      status: 'Failed',
      done: true,
      message: 'instance did not reach stopped within 900 s (last state stopping)',
      poll: { attempt: 31, elapsedSeconds: 900, nextWaitSeconds: 1, maxSeconds: 900, expired: true },
    });
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    expect(await stopInstance({ instanceId: ID, execution: EXECUTION, poll: expiring })).toMatchObject({ status: 'Failed', done: true });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('a whole wait: pending -> running (stop requested) -> stopping -> stopped', async () => {
    ec2.on(DescribeInstancesCommand)
      .resolvesOnce(state('pending'))
      .resolvesOnce(state('running'))
      .resolvesOnce(state('stopping'))
      .resolves(state('stopped'));
    let result: InstancePowerResult | undefined;
    const statuses: string[] = [];
    do {
      result = await stopInstance({ instanceId: ID, execution: EXECUTION, poll: result?.poll });
      statuses.push(result.status);
    } while (!result.done);
    expect(statuses).toEqual(['InProgress', 'InProgress', 'InProgress', 'Success']);
    expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 1);
  });

  test('throttling: TransientError', async () => {
    ec2.on(DescribeInstancesCommand).rejects(throttling());
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('an unknown instance: InvalidInstanceID.NotFound is permanent', async () => {
    ec2.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION })).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
  });
});

describe('start-instance', () => {
  test('stopped: StartInstances, then InProgress', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', state: 'pending', done: false });
    expect(ec2).toHaveReceivedCommandWith(StartInstancesCommand, { InstanceIds: [ID] });
  });

  test('running: Success without a call', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    const result = await startInstance({ instanceId: ID, execution: EXECUTION });
    expect(result).toMatchObject({ status: 'Success', done: true });
    expect(result.notRun).toBeUndefined();
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
  });

  test('running since before the run began: the start was never needed, and the result says so', async () => {
    const before = new Date(Date.parse(EXECUTION.startTime) - 3600_000).toISOString();
    ec2.on(DescribeInstancesCommand).resolves(state('running', before));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({
      status: 'Success',
      done: true,
      notRun: `instance never stopped (running since ${before}, before the run began)`,
    });
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
  });

  test('running, launched after the run began (started by this run, an earlier look): a plain Success', async () => {
    const after = new Date(Date.parse(EXECUTION.startTime) + 600_000).toISOString();
    ec2.on(DescribeInstancesCommand).resolves(state('running', after));
    const result = await startInstance({ instanceId: ID, execution: EXECUTION });
    expect(result).toMatchObject({ status: 'Success', done: true });
    expect(result.notRun).toBeUndefined();
  });

  test.each(['stopping', 'pending'])('%s: InProgress without a call', async (name) => {
    ec2.on(DescribeInstancesCommand).resolves(state(name));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', done: false });
    expect(ec2).not.toHaveReceivedCommand(StartInstancesCommand);
  });

  test('terminated: Failed', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('terminated'));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'Failed', done: true });
  });

  test('IncorrectInstanceState and InsufficientInstanceCapacity: try again next poll', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    ec2.on(StartInstancesCommand).rejectsOnce(awsError('IncorrectInstanceState')).rejectsOnce(awsError('InsufficientInstanceCapacity'));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', state: 'stopped' });
    expect(await startInstance({ instanceId: ID, execution: EXECUTION })).toMatchObject({ status: 'InProgress', state: 'stopped' });
  });

  test('a start still refused at the bound: Failed, and the refusal is kept in the message', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    ec2.on(StartInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient capacity'));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION, poll: expiring })).toMatchObject({
      status: 'Failed',
      done: true,
      message: 'instance did not reach running within 900 s (last state stopped); '
        + 'StartInstances refused: InsufficientInstanceCapacity: We currently do not have sufficient capacity',
    });
  });

  test('at the bound a stopped instance is still asked to start (it must end up running), and reported Failed', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    expect(await startInstance({ instanceId: ID, execution: EXECUTION, poll: expiring })).toMatchObject({
      status: 'Failed', done: true, message: 'instance did not reach running within 900 s (last state pending)',
    });
    expect(ec2).toHaveReceivedCommandTimes(StartInstancesCommand, 1);
  });

  test('throttling of StartInstances: TransientError', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    ec2.on(StartInstancesCommand).rejects(awsError('RequestLimitExceeded'));
    await expect(startInstance({ instanceId: ID, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
  });
});

describe('the instance journal (src/lambda-shared/journal.ts)', () => {
  const keyOf = (call: any) => call.args[0].input.Key.SM_Execution_ID;
  test('stop: the intent is journaled before StopInstances, the accepted request after it', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    await stopInstance({ instanceId: ID, execution: EXECUTION });
    const [intent, requested] = journal.commandCalls(UpdateCommand);
    const stop = ec2.commandCalls(StopInstancesCommand)[0];
    expect(keyOf(intent)).toBe(`JOURNAL#${EXECUTION.id}#${ID}`);
    expect(intent.args[0].input.ExpressionAttributeNames).toMatchObject({ '#intent': 'Stop_IntentAt' });
    expect(intent.calledBefore(stop)).toBe(true);
    expect(requested.args[0].input).toMatchObject({ ExpressionAttributeNames: { '#resource': 'Stop_ResourceId' }, ExpressionAttributeValues: { ':id': 'requested' } });
    expect(stop.calledBefore(requested)).toBe(true);
  });

  test('start: a start EC2 accepted is journaled as requested; an instance already running records the intent only', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('stopped'));
    await startInstance({ instanceId: ID, execution: EXECUTION });
    expect(journal.commandCalls(UpdateCommand).map((c) => Object.values(c.args[0].input.ExpressionAttributeNames!)[0]))
      .toEqual(['Start_IntentAt', 'Start_ResourceId']);
    journal.resetHistory();
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    await startInstance({ instanceId: ID, execution: EXECUTION });
    expect(journal.commandCalls(UpdateCommand)).toHaveLength(1);
  });

  test('a journal that cannot be written: nothing is asked of EC2', async () => {
    journal.on(UpdateCommand).rejects(throttling());
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    await expect(stopInstance({ instanceId: ID, execution: EXECUTION })).rejects.toMatchObject({ name: 'TransientError' });
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('without the run\'s execution the step refuses to act (it could not journal)', async () => {
    ec2.on(DescribeInstancesCommand).resolves(state('running'));
    await expect(stopInstance({ instanceId: ID })).rejects.toThrow(/journaled/);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });
});
