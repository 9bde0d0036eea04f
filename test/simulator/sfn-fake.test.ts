import { SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { FakeServer } from './fakes/http';
import { sfnHandler } from './fakes/sfn';
import { TokenRegistry } from './tokens';
import { World } from './world';

let world: World;
let tokens: TokenRegistry;
let server: FakeServer;
let sfn: SFNClient;

beforeEach(async () => {
  world = new World();
  tokens = new TokenRegistry();
  server = await FakeServer.start('sfn', sfnHandler(world, tokens));
  sfn = new SFNClient({ endpoint: server.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' }, maxAttempts: 1 });
});

afterEach(async () => {
  sfn.destroy();
  await server.stop();
});

const issue = (instanceId = 'i-0000000000000000a') => tokens.issue({ executionArn: 'arn:exec', stateName: 'Wait for it', instanceId });

describe('Step Functions fake (task tokens)', () => {
  test('SendTaskSuccess answers a waiting token once; the output is parsed; calls are logged about the instance', async () => {
    const t = issue();
    const u = issue('i-0000000000000000b');
    expect(t.token).not.toBe(u.token);
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: t.token }));
    await sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: '{"state":"stopped"}' }));
    expect(tokens.get(t.token)).toMatchObject({ status: 'succeeded', output: { state: 'stopped' }, heartbeats: 1 });
    // A finished token: TaskTimedOut, as Step Functions answers for a task that is no longer waiting.
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: '{}' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
    await expect(sfn.send(new SendTaskHeartbeatCommand({ taskToken: t.token }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
    expect(world.calls.map((c) => [c.action, c.instanceIds, c.error])).toEqual([
      ['SendTaskHeartbeat', ['i-0000000000000000a'], undefined],
      ['SendTaskSuccess', ['i-0000000000000000a'], undefined],
      ['SendTaskSuccess', ['i-0000000000000000a'], 'TaskTimedOut'],
      ['SendTaskHeartbeat', ['i-0000000000000000a'], 'TaskTimedOut'],
    ]);
    expect(world.callCounts()).toMatchObject({ 'sfn:SendTaskSuccess': 2 });
    expect(tokens.get(u.token)!.status).toBe('waiting');
  });

  test('SendTaskFailure records Error and Cause; unknown tokens are InvalidToken; bad output is InvalidOutput', async () => {
    const t = issue();
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: 'not json' }))).rejects.toMatchObject({ name: 'InvalidOutput' });
    expect(tokens.get(t.token)!.status).toBe('waiting');
    await sfn.send(new SendTaskFailureCommand({ taskToken: t.token, error: 'StopRefused', cause: 'tagged refuse' }));
    expect(tokens.get(t.token)).toMatchObject({ status: 'failed', error: 'StopRefused', cause: 'tagged refuse' });
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: 'never-issued', output: '{}' }))).rejects.toMatchObject({ name: 'InvalidToken' });
    const timedOut = issue();
    tokens.timeOut(timedOut);
    await expect(sfn.send(new SendTaskFailureCommand({ taskToken: timedOut.token, error: 'X' }))).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  test('faults injected for sfn reach the caller', async () => {
    const t = issue();
    world.throttle('sfn', 'SendTaskSuccess', 1);
    await expect(sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: '{}' }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect(tokens.get(t.token)!.status).toBe('waiting');
    await sfn.send(new SendTaskSuccessCommand({ taskToken: t.token, output: '{}' }));
    expect(tokens.get(t.token)!.status).toBe('succeeded');
  });
});
