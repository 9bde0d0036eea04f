import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CfnTemplate } from './asl';
import { Simulator } from './simulator';
import { WorldOptions } from './world';

/**
 * A small event-driven workflow: per instance (Map, item selector `{ instance: { instanceId } }`), Wait 30 s, stop
 * and wait for the token, Wait 60 s, start and wait for the token. The `power` Lambda stores the token, acts, and
 * answers itself when the instance is already there; the `resume` Lambda, target of a default-bus rule on EC2 state
 * changes, answers with the stored token. A rule on a custom bus targets `spy`, which must never run.
 */
const HANDLERS: Record<string, string> = {
  power: `
    const { EC2Client, DescribeInstancesCommand, StopInstancesCommand, StartInstancesCommand } = require('@aws-sdk/client-ec2');
    const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');
    const { SFNClient, SendTaskSuccessCommand, SendTaskFailureCommand } = require('@aws-sdk/client-sfn');
    const ec2 = new EC2Client({}); const ddb = new DynamoDBClient({}); const sfn = new SFNClient({});
    const describe = async (id) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations[0].Instances[0];
    exports.handler = async (e) => {
      const before = await describe(e.instanceId);
      if ((before.Tags || []).some((t) => t.Key === 'refuse')) {
        await sfn.send(new SendTaskFailureCommand({ taskToken: e.taskToken, error: 'StopRefused', cause: 'tagged refuse' }));
        return { ignored: true };
      }
      await ddb.send(new PutItemCommand({ TableName: process.env.TABLE_NAME, Item: { SM_Execution_ID: { S: e.instanceId + ':' + e.action }, token: { S: e.taskToken } } }));
      const Cmd = e.action === 'stop' ? StopInstancesCommand : StartInstancesCommand;
      await ec2.send(new Cmd({ InstanceIds: [e.instanceId] }));
      const state = (await describe(e.instanceId)).State.Name;
      if (state === (e.action === 'stop' ? 'stopped' : 'running')) {
        await sfn.send(new SendTaskSuccessCommand({ taskToken: e.taskToken, output: JSON.stringify({ state, by: 'handler' }) }));
      }
      return { ignored: true };
    };`,
  resume: `
    const { DynamoDBClient, GetItemCommand } = require('@aws-sdk/client-dynamodb');
    const { SFNClient, SendTaskSuccessCommand } = require('@aws-sdk/client-sfn');
    const ddb = new DynamoDBClient({}); const sfn = new SFNClient({});
    exports.handler = async (ev) => {
      const id = ev.detail['instance-id'];
      const action = ev.detail.state === 'stopped' ? 'stop' : 'start';
      const r = await ddb.send(new GetItemCommand({ TableName: process.env.TABLE_NAME, Key: { SM_Execution_ID: { S: id + ':' + action } } }));
      if (!r.Item) return;
      try {
        await sfn.send(new SendTaskSuccessCommand({ taskToken: r.Item.token.S, output: JSON.stringify({ state: ev.detail.state, by: 'event' }) }));
      } catch (e) {
        if (e.name !== 'TaskTimedOut') throw e;
      }
    };`,
  spy: 'exports.handler = async () => { throw new Error("a custom-bus rule must not receive default-bus events"); };',
};

function buildStack(codeDir: string, outdir: string): App {
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'TokenTest');
  const table = new dynamodb.Table(stack, 'Tokens', {
    partitionKey: { name: 'SM_Execution_ID', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const fn = (name: string) => new lambda.Function(stack, name, {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(codeDir, name)),
    environment: { TABLE_NAME: table.tableName },
  });
  const power = fn('power');
  const resume = fn('resume');
  const spy = fn('spy');
  const pattern: events.EventPattern = {
    source: ['aws.ec2'], detailType: ['EC2 Instance State-change Notification'], detail: { state: ['stopped', 'running'] },
  };
  new events.Rule(stack, 'PowerChanged', { eventPattern: pattern, targets: [new targets.LambdaFunction(resume)] });
  const bus = new events.EventBus(stack, 'Custom');
  new events.Rule(stack, 'OnCustomBus', { eventBus: bus, eventPattern: pattern, targets: [new targets.LambdaFunction(spy)] });

  const refused = new sfn.Pass(stack, 'Refused', { parameters: { 'outcome': 'refused', 'error.$': '$.error' } });
  const gaveUp = new sfn.Pass(stack, 'GaveUp', { parameters: { 'outcome': 'gave up', 'error.$': '$.error' } });
  const powerTask = (id: string, action: string) => new tasks.LambdaInvoke(stack, id, {
    lambdaFunction: power,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({ 'instanceId.$': '$.instance.instanceId', action, 'taskToken': sfn.JsonPath.taskToken }),
    resultPath: `$.${action}`,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(300)),
    retryOnServiceExceptions: false,
  }).addRetry({ errors: [sfn.Errors.TIMEOUT], interval: Duration.seconds(1), backoffRate: 1, maxAttempts: 1 })
    .addCatch(refused, { errors: [sfn.Errors.TASKS_FAILED], resultPath: '$.error' })
    .addCatch(gaveUp, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
  const chain = new sfn.Wait(stack, 'Settle', { time: sfn.WaitTime.duration(Duration.seconds(30)) })
    .next(powerTask('Stop', 'stop'))
    .next(new sfn.Wait(stack, 'Hold', { time: sfn.WaitTime.duration(Duration.seconds(60)) }))
    .next(powerTask('Start', 'start'))
    .next(new sfn.Succeed(stack, 'Done'));
  const map = new sfn.Map(stack, 'PerInstance', {
    itemsPath: '$.instances',
    itemSelector: { instance: { 'instanceId.$': '$$.Map.Item.Value' } },
    maxConcurrency: 10,
    resultPath: '$.results',
  }).itemProcessor(chain);
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(map) });
  return app;
}

let tmp: string;
let template: CfnTemplate;
let outdir: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-token-'));
  const codeDir = path.join(tmp, 'code');
  for (const [name, code] of Object.entries(HANDLERS)) {
    fs.mkdirSync(path.join(codeDir, name), { recursive: true });
    fs.writeFileSync(path.join(codeDir, name, 'index.js'), code);
  }
  outdir = path.join(tmp, 'cdk.out');
  template = buildStack(codeDir, outdir).synth().getStackByName('TokenTest').template;
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * These tests are about routing and the clocks themselves: every event is delivered at once, exactly once (the
 * `lostEvents` fault still drops events). event-delivery.test.ts covers the default, realistic delivery.
 */
const IDEAL = { events: { mode: 'ideal' } } as const;

async function withSim<T>(world: WorldOptions, body: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await Simulator.start({ template, assetDir: outdir, world: { ...IDEAL, ...world } });
  try {
    return await body(sim);
  } finally {
    await sim.stop();
  }
}

const A = 'i-0000000000000000a';
const B = 'i-0000000000000000b';
const short = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.replace(/[0-9A-F]{8}$/, ''), v]));

describe('.waitForTaskToken tasks driven by state-change events', () => {
  test('count mode: tokens are issued, the events reach the default-bus rule, its Lambda answers; counts and history', async () => {
    await withSim({}, async (sim) => {
      sim.world.addInstances([{ id: A }, { id: B }]);
      const r = await sim.run({ instances: [A, B] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results.map((x: any) => [x.instance.instanceId, x.stop, x.start])).toEqual([
        [A, { state: 'stopped', by: 'event' }, { state: 'running', by: 'event' }],
        [B, { state: 'stopped', by: 'event' }, { state: 'running', by: 'event' }],
      ]);
      expect(sim.world.instanceStates()).toEqual({ [A]: 'running', [B]: 'running' });
      // The token reached the Lambda in place of the placeholder; every token was answered.
      const issued = sim.tokens.all(r.executionArn);
      expect(issued).toHaveLength(4);
      expect(new Set(issued.map((t) => t.token)).size).toBe(4);
      expect(r.stats.tokens).toEqual({ issued: 4, succeeded: 4, failed: 0, timedOut: 0, invokeFailed: 0, waiting: 0 });
      expect(r.stats.apiCalls['sfn:SendTaskSuccess']).toBe(4);
      // stopping, stopped, pending, running per instance; the rule takes stopped and running.
      expect(r.stats).toMatchObject({
        eventsEmitted: 8, eventsDelivered: 4, eventsUnmatched: 4, eventsLost: 0, eventsPending: 0, eventTargetErrors: [],
      });
      expect(short(r.stats.lambdaInvocations)).toEqual({ power: 4, resume: 4 });
      // Count mode: operations take no time; only the Wait states count.
      expect(r.stats.iterations.PerInstance.map((b) => [b.seconds, b.taskSeconds])).toEqual([[90, 0], [90, 0]]);
      expect(r.stats.virtualSeconds).toBe(90);
      // Map + 5 states per iteration, no retry.
      expect(r.stats.stateTransitions).toBe(11);
      expect(r.stats.billedTransitions).toBe(11);
      // Child: Started, Settle 2, Stop 6 (Entered, Scheduled, Started, Submitted, Succeeded, Exited), Hold 2, Start 6, Done 2, Succeeded.
      expect(r.stats.historyEventsByExecution).toEqual({ 'execution': 6, 'PerInstance[0]': 20, 'PerInstance[1]': 20 });
      expect(r.stats.maxHistoryEvents).toBe(20);
      expect(r.stats.historyEventsByType).toMatchObject({
        TaskSubmitted: 4, TaskSucceeded: 4, MapRunStarted: 1, MapRunSucceeded: 1, ExecutionStarted: 3,
      });
      expect(sim.router.rules.map((x) => x.logicalId)).toEqual([expect.stringMatching(/^PowerChanged/)]);
    });
  });

  test('time mode: a token wait jumps the instance clock to the completion, or to the timeout; per-instance durations; downtime', async () => {
    const durations = { scriptSeconds: 60, backupSeconds: 600, copySeconds: 600, stopSeconds: 120, startSeconds: 45, agentReconnectSeconds: 10 };
    await withSim({ durations }, async (sim) => {
      sim.world.addInstances([{ id: A }, { id: B, faults: { durations: { stopSeconds: 400 } } }]);
      const r = await sim.run({ instances: [A, B] });
      expect(r.status).toBe('SUCCEEDED');
      // A: 30 + 120 (stop) + 60 + 45 (start).
      // B: 30 + 300 (timeout) + 1 (retry) + 99 (stop ends at 30 + 400) + 60 + 45; its second attempt found it stopping.
      expect(r.stats.iterations.PerInstance.map((b) => [b.seconds, b.waitSeconds, b.retrySeconds, b.taskSeconds])).toEqual([
        [255, 90, 0, 165], [535, 90, 1, 444],
      ]);
      expect(r.stats.virtualSeconds).toBe(535);
      expect(r.output.results[1].stop).toEqual({ state: 'stopped', by: 'event' });
      expect(r.stats.tokens).toEqual({ issued: 5, succeeded: 4, failed: 0, timedOut: 1, invokeFailed: 0, waiting: 0 });
      expect(r.stats.retries).toBe(1);
      expect(r.stats.billedTransitions).toBe(12);
      expect(r.stats.historyEventsByExecution['PerInstance[1]']).toBe(24);
      expect(r.stats.historyEventsByType.TaskTimedOut).toBe(1);
      // Stopped at 150 (A) / 430 (B), StartInstances 60 s later.
      // Clocks catch up with the run clock when the Map ends (the longest iteration).
      const each = { clockSeconds: 535, chainSeconds: 535, downtimeSeconds: 60 };
      expect(r.stats.instances).toEqual({ [A]: each, [B]: each });
    });
  });

  test('lost events: the wait times out after TimeoutSeconds of virtual time, the Retry looks again and the handler answers', async () => {
    await withSim({}, async (sim) => {
      sim.world.addInstances([{ id: A }, { id: B, faults: { lostEvents: ['ec2'] } }]);
      const r = await sim.run({ instances: [A, B] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results[0]).toMatchObject({ stop: { by: 'event' }, start: { by: 'event' } });
      expect(r.output.results[1]).toMatchObject({ stop: { state: 'stopped', by: 'handler' }, start: { state: 'running', by: 'handler' } });
      expect(r.stats.eventsLost).toBe(4);
      expect(r.stats.eventsDelivered).toBe(2);
      expect(r.stats.tokens).toMatchObject({ issued: 6, succeeded: 4, timedOut: 2, waiting: 0 });
      expect(r.stats.iterations.PerInstance.map((b) => b.seconds)).toEqual([90, 90 + 2 * 301]);
    });
  });

  test('a wait nothing can end (hang) times out on every attempt and is caught by States.ALL, not States.TaskFailed', async () => {
    await withSim({}, async (sim) => {
      sim.world.addInstances([{ id: A, faults: { stopNeverCompletes: true } }]);
      const r = await sim.run({ instances: [A] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results[0]).toMatchObject({ outcome: 'gave up', error: { Error: 'States.Timeout' } });
      expect(r.stats.tokens).toMatchObject({ issued: 2, timedOut: 2, waiting: 0 });
      expect(r.stats.iterations.PerInstance[0].seconds).toBe(30 + 300 + 1 + 300);
      expect(sim.world.instanceStates()[A]).toBe('stopping');
    });
  });

  test('SendTaskFailure fails the task with its Error and Cause (caught by States.TaskFailed)', async () => {
    await withSim({}, async (sim) => {
      sim.world.addInstances([{ id: A, tags: { refuse: 'yes' } }]);
      const r = await sim.run({ instances: [A] });
      expect(r.output.results[0]).toEqual({ outcome: 'refused', error: { Error: 'StopRefused', Cause: 'tagged refuse' } });
      expect(r.stats.tokens).toMatchObject({ issued: 1, failed: 1, waiting: 0 });
      expect(r.stats.apiCalls['sfn:SendTaskFailure']).toBe(1);
      expect(r.stats.historyEventsByType.TaskFailed).toBe(1);
      expect(sim.world.callsFor(A, 'ec2', 'StopInstances')).toEqual([]);
    });
  });

  test('a token task whose Lambda throws fails with the Lambda error; the token is not left waiting', async () => {
    await withSim({}, async (sim) => {
      sim.world.addInstances([{ id: A }]);
      sim.world.throttle('ec2', 'DescribeInstances', 1, A);
      const r = await sim.run({ instances: [A] });
      expect(r.output.results[0]).toMatchObject({ outcome: 'refused', error: { Error: 'RequestLimitExceeded' } });
      expect(r.stats.tokens).toMatchObject({ issued: 1, invokeFailed: 1, waiting: 0 });
    });
  });
});

describe('realistic delivery (the default): late, lost and duplicated events', () => {
  async function withRealisticSim<T>(world: WorldOptions, body: (sim: Simulator) => Promise<T>): Promise<T> {
    const sim = await Simulator.start({ template, assetDir: outdir, world });
    try {
      return await body(sim);
    } finally {
      await sim.stop();
    }
  }

  test('each wait lasts until its event is due: count mode charges the delivery delay of the stopped and running events', async () => {
    await withRealisticSim({ events: { lossRate: 0, duplicateRate: 0 } }, async (sim) => {
      sim.world.addInstances([{ id: A }, { id: B }]);
      const r = await sim.run({ instances: [A, B] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results.map((x: any) => [x.stop.by, x.start.by])).toEqual([['event', 'event'], ['event', 'event']]);
      // Per instance its EC2 events: stopping (1), stopped (2), pending (3), running (4); the stop is requested at 30 s
      // (after Settle) and settles at once (count mode), the start at 30 + d(stopped) + 60.
      const delay = (index: number, ordinal: number) => sim.world.delivery.plan('ec2', index, ordinal, 0).deliverAt;
      const expected = [0, 1].map((i) => [90 + delay(i, 2) + delay(i, 4), delay(i, 2) + delay(i, 4)]);
      expect(r.stats.iterations.PerInstance.map((b) => [b.seconds, b.taskSeconds])).toEqual(expected);
      for (const [, task] of expected) expect(task).toBeGreaterThanOrEqual(2);
      expect(r.stats.tokens).toEqual({ issued: 4, succeeded: 4, failed: 0, timedOut: 0, invokeFailed: 0, waiting: 0 });
    });
  });

  test('at least once: events delivered twice; the second answer finds the task closed (TaskTimedOut) and changes nothing', async () => {
    await withRealisticSim({ events: { lossRate: 0, duplicateRate: 1 } }, async (sim) => {
      sim.world.addInstances([{ id: A }, { id: B }]);
      const r = await sim.run({ instances: [A, B] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results.map((x: any) => [x.stop, x.start])).toEqual([0, 1].map(() => [
        { state: 'stopped', by: 'event' }, { state: 'running', by: 'event' },
      ]));
      expect(r.stats.tokens).toEqual({ issued: 4, succeeded: 4, failed: 0, timedOut: 0, invokeFailed: 0, waiting: 0 });
      // Every copy delivered answered a closed task: Step Functions said TaskTimedOut, and the resume Lambda let it be.
      const stale = sim.world.calls.filter((c) => c.action === 'SendTaskSuccess' && c.error === 'TaskTimedOut');
      expect(r.stats.eventsDuplicated).toBeGreaterThanOrEqual(1);
      expect(stale).toHaveLength(r.stats.eventsDuplicated);
      expect(r.stats.apiCalls['sfn:SendTaskSuccess']).toBe(4 + r.stats.eventsDuplicated);
      expect(r.stats.eventTargetErrors).toEqual([]);
      // The copies not yet due when the run ended are pending, not delivered.
      expect(r.stats.eventsDuplicated + r.stats.eventsPending).toBeGreaterThanOrEqual(4);
    });
  });

  test('a rule target that fails is run again by Lambda 1 minute later (asynchronous invocation), and the wait with it', async () => {
    await withRealisticSim({ events: { lossRate: 0, duplicateRate: 0 } }, async (sim) => {
      sim.world.addInstances([{ id: A }]);
      // The resume Lambda's first GetItem is throttled: its first invocation fails.
      sim.world.throttle('dynamodb', 'GetItem', 1);
      const r = await sim.run({ instances: [A] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results[0]).toMatchObject({ stop: { by: 'event' }, start: { by: 'event' } });
      expect(r.stats.eventTargetErrors).toEqual([expect.stringMatching(/^PowerChanged.* \(attempt 1\): ThrottlingException/)]);
      const delay = (ordinal: number) => sim.world.delivery.plan('ec2', 0, ordinal, 0).deliverAt;
      expect(r.stats.iterations.PerInstance[0].taskSeconds).toBe(delay(2) + 60 + delay(4));
      expect(short(r.stats.lambdaInvocations)).toEqual({ power: 2, resume: 3 });
    });
  });

  test('best effort: every event lost; each wait ends with its fallback look (the Task\'s timeout and Retry)', async () => {
    await withRealisticSim({ events: { lossRate: 1 } }, async (sim) => {
      sim.world.addInstances([{ id: A }]);
      const r = await sim.run({ instances: [A] });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output.results[0]).toMatchObject({ stop: { state: 'stopped', by: 'handler' }, start: { state: 'running', by: 'handler' } });
      expect(r.stats).toMatchObject({ eventsLost: 4, eventsDelivered: 0, eventsDuplicated: 0 });
      expect(r.stats.tokens).toMatchObject({ issued: 4, succeeded: 2, timedOut: 2, waiting: 0 });
      expect(r.stats.iterations.PerInstance[0].seconds).toBe(90 + 2 * 301);
    });
  });
});

test('a .waitForTaskToken state that does not pass $$.Task.Token refuses to start (it could never be answered)', async () => {
  const t = JSON.parse(JSON.stringify(template));
  const smId = Object.keys(t.Resources).find((k) => t.Resources[k].Type === 'AWS::StepFunctions::StateMachine')!;
  const text = JSON.stringify(t.Resources[smId].Properties.DefinitionString).split('$$.Task.Token').join('$.instance.instanceId');
  t.Resources[smId].Properties.DefinitionString = JSON.parse(text);
  await expect(Simulator.start({ template: t, assetDir: outdir })).rejects.toThrow(/Stop: .waitForTaskToken without \$\$.Task.Token in Parameters/);
});

test('taskHandlers stand in for a token state\'s Lambda; a token answered before the Lambda fails ends the task with that answer', async () => {
  let tokensOf: Simulator['tokens'] | undefined;
  const seen: any[] = [];
  const sim = await Simulator.start({
    template,
    assetDir: outdir,
    world: IDEAL,
    taskHandlers: {
      Stop: (payload: any) => {
        seen.push(payload);
        tokensOf!.succeed(payload.taskToken, JSON.stringify({ by: 'stand-in' }));
        throw new Error('the response was lost after the answer');
      },
    },
  });
  tokensOf = sim.tokens;
  try {
    sim.world.addInstances([{ id: A }]);
    const r = await sim.run({ instances: [A] });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.results[0]).toMatchObject({ stop: { by: 'stand-in' }, start: { state: 'running', by: 'handler' } });
    expect(seen).toEqual([{ instanceId: A, action: 'stop', taskToken: sim.tokens.all(r.executionArn)[0].token }]);
    expect(short(r.stats.lambdaInvocations)).toEqual({ power: 1 });
  } finally {
    await sim.stop();
  }
});
