import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { CfnTemplate } from './asl';
import { Simulator } from './simulator';

/**
 * A small stack shaped like the real workflow: validate (throws InvalidInputError, caught by name), a flaky step
 * (throws TransientError twice, retried), a Wait with SecondsPath, discovery through the EC2 fake, a Map with a
 * per-instance Wait -> check loop, a handler writing DynamoDB through the SDK, and a DynamoDB putItem integration.
 */
const HANDLERS: Record<string, string> = {
  validate: `
    class InvalidInputError extends Error { constructor(m) { super(m); this.name = 'InvalidInputError'; } }
    exports.handler = async (event) => {
      if (event.input.bad) throw new InvalidInputError('TargetEC2Instances must be a list');
      if (event.input.crash) throw new Error('unexpected');
      return { tagKey: process.env.TAG_KEY, wait: event.input.wait ?? 5, execution: event.execution };
    };`,
  flaky: `
    class TransientError extends Error { constructor(m) { super(m); this.name = 'TransientError'; } }
    let calls = 0;
    exports.handler = async () => {
      calls++;
      if (calls % 3 !== 0) throw new TransientError('try again (' + calls + ')');
      return { flakyCalls: calls };
    };`,
  discover: `
    const { EC2Client, DescribeInstancesCommand } = require('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({});
    exports.handler = async (event) => {
      const r = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:' + event.tagKey, Values: ['true'] }] }));
      return r.Reservations.flatMap((x) => x.Instances).map((i) => ({ instanceId: i.InstanceId, state: i.State.Name }));
    };`,
  check: `
    const { EC2Client, DescribeInstancesCommand, StopInstancesCommand } = require('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({});
    exports.handler = async (event) => {
      if (!event.stopRequested) {
        await ec2.send(new StopInstancesCommand({ InstanceIds: [event.instanceId] }));
      }
      const r = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [event.instanceId] }));
      const state = r.Reservations[0].Instances[0].State.Name;
      return { ...event, stopRequested: true, state, done: state === 'stopped', nextWait: 10 };
    };`,
  record: `
    const { DynamoDBClient, UpdateItemCommand } = require('@aws-sdk/client-dynamodb');
    const ddb = new DynamoDBClient({});
    exports.handler = async (event) => {
      await ddb.send(new UpdateItemCommand({
        TableName: process.env.TABLE_NAME,
        Key: { SM_Execution_ID: { S: event.executionId } },
        UpdateExpression: 'SET Instances = :n',
        ExpressionAttributeValues: { ':n': { N: String(event.results.length) } },
      }));
      return { recorded: event.results.length };
    };`,
};

function buildStack(codeDir: string, outdir: string): { app: App; stack: Stack } {
  const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'SimTest');
  const table = new dynamodb.Table(stack, 'Audit', {
    partitionKey: { name: 'SM_Execution_ID', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  });
  const fn = (name: string, env: Record<string, string> = {}) => new lambda.Function(stack, name, {
    runtime: lambda.Runtime.NODEJS_20_X,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(path.join(codeDir, name)),
    environment: { TAG_KEY: 'backup', ...env },
  });
  const validate = fn('validate');
  const flaky = fn('flaky');
  const discover = fn('discover');
  const check = fn('check');
  const record = fn('record', { TABLE_NAME: table.tableName });

  const failed = new sfn.Pass(stack, 'Invalid', { parameters: { 'error.$': '$.error' } });
  const validateStep = new tasks.LambdaInvoke(stack, 'Validate', {
    lambdaFunction: validate,
    payload: sfn.TaskInput.fromObject({ 'input.$': '$', 'execution': { 'id.$': '$$.Execution.Id', 'name.$': '$$.Execution.Name' } }),
    payloadResponseOnly: true,
    resultPath: '$', // CDK emits "ResultPath": "$"
  }).addCatch(failed, { errors: ['InvalidInputError'], resultPath: '$.error' });
  const flakyStep = new tasks.LambdaInvoke(stack, 'Flaky', {
    lambdaFunction: flaky,
    resultSelector: { 'calls.$': '$.Payload.flakyCalls' },
    resultPath: '$.flaky',
    retryOnServiceExceptions: false,
  }).addRetry({ errors: ['TransientError'], interval: Duration.seconds(2), backoffRate: 3, maxAttempts: 3 });
  const pause = new sfn.Wait(stack, 'Pause', { time: sfn.WaitTime.secondsPath('$.wait') });
  const discoverStep = new tasks.LambdaInvoke(stack, 'Discover', {
    lambdaFunction: discover, payloadResponseOnly: true, resultPath: '$.instances',
  });
  const checkStep = new tasks.LambdaInvoke(stack, 'Check', { lambdaFunction: check, payloadResponseOnly: true });
  const waitStep = new sfn.Wait(stack, 'WaitForStop', { time: sfn.WaitTime.secondsPath('$.nextWait') });
  const loop = checkStep.next(new sfn.Choice(stack, 'Stopped?')
    .when(sfn.Condition.booleanEquals('$.done', true), new sfn.Succeed(stack, 'InstanceDone'))
    .otherwise(waitStep.next(checkStep)));
  const map = new sfn.Map(stack, 'PerInstance', {
    itemsPath: '$.instances',
    itemSelector: { 'instanceId.$': '$$.Map.Item.Value.instanceId', 'nextWait': 0 },
    resultPath: '$.results',
    maxConcurrency: 10,
  });
  map.itemProcessor(new sfn.Wait(stack, 'Settle', { time: sfn.WaitTime.duration(Duration.seconds(7)) }).next(loop));
  const recordStep = new tasks.LambdaInvoke(stack, 'Record', {
    lambdaFunction: record,
    payload: sfn.TaskInput.fromObject({ 'executionId.$': '$$.Execution.Id', 'results.$': '$.results' }),
    payloadResponseOnly: true,
    resultPath: sfn.JsonPath.DISCARD,
  });
  const put = new tasks.DynamoPutItem(stack, 'PutAudit', {
    table,
    item: {
      SM_Execution_ID: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.Id')),
      Name: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$$.Execution.Name')),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(
      validateStep.next(flakyStep).next(pause).next(discoverStep).next(map).next(put).next(recordStep),
    ),
    timeout: Duration.minutes(5),
  });
  return { app, stack };
}

/** Logical ids without CDK's hash suffix. */
const short = (counts: Record<string, number>) => Object.fromEntries(Object.entries(counts).map(([k, v]) => [k.replace(/[0-9A-F]{8}$/, ''), v]));

let tmp: string;
let sim: Simulator;
let template: CfnTemplate;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-test-'));
  const codeDir = path.join(tmp, 'code');
  for (const [name, code] of Object.entries(HANDLERS)) {
    fs.mkdirSync(path.join(codeDir, name), { recursive: true });
    fs.writeFileSync(path.join(codeDir, name, 'index.js'), code);
  }
  const outdir = path.join(tmp, 'cdk.out');
  const { app, stack } = buildStack(codeDir, outdir);
  const assembly = app.synth();
  template = assembly.getStackByName(stack.stackName).template;
  sim = await Simulator.start({ template, assetDir: outdir });
});

afterAll(async () => {
  await sim?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Simulator', () => {
  test('runs the synthesized workflow end to end against the fakes and dynalite', async () => {
    sim.world.addInstances([
      { id: 'i-00000000000000001', tags: { backup: 'true' } },
      { id: 'i-00000000000000002', tags: { backup: 'true' } },
      { id: 'i-00000000000000003', tags: { backup: 'false' } },
    ]);
    const r = await sim.run({ wait: 30 }, { executionName: 'nightly' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    expect(r.executionArn).toMatch(/^arn:aws:states:us-east-1:123456789012:execution:Machine[0-9A-F]{8}:nightly$/);
    // ResultPath "$" on Validate replaced the input with the handler's result (normalized), and the context reached it.
    expect(r.output).toMatchObject({ tagKey: 'backup', wait: 30, execution: { id: r.executionArn, name: 'nightly' } });
    expect(r.output).not.toHaveProperty('$');
    // Retry on TransientError: two failures, then success.
    expect(r.output.flaky).toEqual({ calls: 3 });
    expect(r.stats.retries).toBe(2);
    expect(r.output.results.map((x: any) => [x.instanceId, x.state])).toEqual([
      ['i-00000000000000001', 'stopped'], ['i-00000000000000002', 'stopped'],
    ]);
    expect(sim.world.instanceStates()).toEqual({
      'i-00000000000000001': 'stopped', 'i-00000000000000002': 'stopped', 'i-00000000000000003': 'running',
    });
    // Each instance: check (stop + describe: stopping), wait 10, check (stopping), wait 10, check (stopped).
    expect(short(r.stats.lambdaInvocations)).toEqual({ validate: 1, flaky: 3, discover: 1, check: 6, record: 1 });
    expect(r.stats.apiCalls).toEqual({
      'ec2:DescribeInstances': 7, 'ec2:StopInstances': 2, 'dynamodb:PutItem': 1, 'dynamodb:UpdateItem': 1,
    });
    // Virtual time: Pause 30 + retry back-off 2 + 6, then the longest iteration: Settle 7 + WaitForStop 0 + 10 + 10.
    expect(r.stats.topLevel).toMatchObject({ waitSeconds: 30, retrySeconds: 8, byState: { Pause: 30 } });
    expect(r.stats.iterations.PerInstance.map((b) => b.byState)).toEqual([
      { Settle: 7, WaitForStop: 20 }, { Settle: 7, WaitForStop: 20 },
    ]);
    expect(r.stats.virtualSeconds).toBe(30 + 8 + 27);
    expect(r.stats.exceedsTimeout).toBe(false);
    expect(r.stats.stateTransitions).toBeGreaterThan(20);
    expect(r.stats.largestStatePayloadBytes).toBeGreaterThan(100);
    expect(r.stats.warnings).toEqual([]);
    // The putItem integration and the handler's UpdateItem landed in dynalite.
    expect(await sim.getAuditItem(r.executionArn)).toEqual({ SM_Execution_ID: r.executionArn, Name: 'nightly', Instances: 2 });
    expect(await sim.scanTable()).toHaveLength(1);
    expect(sim.unexpectedCalls).toEqual([]);
  });

  test('a Lambda error is caught by its name, with the Lambda-style Cause', async () => {
    const r = await sim.run({ bad: true });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output.error.Error).toBe('InvalidInputError');
    expect(JSON.parse(r.output.error.Cause)).toEqual({
      errorType: 'InvalidInputError', errorMessage: 'TargetEC2Instances must be a list', trace: [],
    });
    expect(short(r.stats.lambdaInvocations)).toEqual({ validate: 1 });
  });

  test('an uncaught error fails the execution with Error and Cause; names cannot be reused', async () => {
    const r = await sim.run({ crash: true }, { executionName: 'crash' });
    expect(r).toMatchObject({ status: 'FAILED', error: 'Error' });
    expect(JSON.parse(r.cause!)).toMatchObject({ errorType: 'Error', errorMessage: 'unexpected' });
    await expect(sim.run({}, { executionName: 'crash' })).rejects.toThrow(/ExecutionAlreadyExists/);
  });

  test('throttling injected into the fakes reaches the handler (AWS_MAX_ATTEMPTS=1) and fails the Task', async () => {
    sim.world.throttle('ec2', 'DescribeInstances', 1);
    const r = await sim.run({ wait: 1 });
    expect(r).toMatchObject({ status: 'FAILED', error: 'RequestLimitExceeded' });
    expect(JSON.parse(r.cause!).errorMessage).toMatch(/Request limit exceeded/);
  });

  test('a Task without a handler refuses to start', async () => {
    const t = JSON.parse(JSON.stringify(template));
    const smId = Object.keys(t.Resources).find((k) => t.Resources[k].Type === 'AWS::StepFunctions::StateMachine')!;
    const def = t.Resources[smId].Properties.DefinitionString;
    const text = JSON.stringify(def).replace(':states:::dynamodb:putItem', ':states:::aws-sdk:ec2:describeInstances');
    t.Resources[smId].Properties.DefinitionString = JSON.parse(text);
    await expect(Simulator.start({ template: t, assetDir: path.join(tmp, 'cdk.out') }))
      .rejects.toThrow(/no handler for these Task states[\s\S]*PutAudit: arn:aws:states:::aws-sdk:ec2:describeInstances/);
  });

  test('hand-written template: payload-only Lambda ARN, explicit lambdaCode, Parallel branches on the virtual clock', async () => {
    const dir = path.join(tmp, 'echo');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'main.js'), 'exports.run = async (e) => ({ echoed: e, region: process.env.AWS_REGION, greeting: process.env.GREETING });');
    const definition = {
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Next: 'Echo',
          ResultPath: '$.branches',
          Branches: [
            { StartAt: 'Short', States: { Short: { Type: 'Wait', Seconds: 5, End: true } } },
            { StartAt: 'Long', States: { Long: { Type: 'Wait', SecondsPath: '$.long', Next: 'Longer' }, Longer: { Type: 'Wait', Seconds: 1, End: true } } },
          ],
        },
        Echo: { Type: 'Task', Resource: '__ECHO_ARN__', Parameters: { 'name.$': '$$.Execution.Name' }, End: true },
      },
    };
    const [before, after] = JSON.stringify(definition).split('__ECHO_ARN__');
    const t: CfnTemplate = {
      Resources: {
        Echo: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'main.run', Environment: { Variables: { GREETING: { 'Fn::Join': ['-', ['hi', { Ref: 'AWS::Region' }]] } } } } },
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: { 'Fn::Join': ['', [before, { 'Fn::GetAtt': ['Echo', 'Arn'] }, after]] } } },
      },
    };
    const s = await Simulator.start({ template: t, lambdaCode: { Echo: dir } });
    try {
      const r = await s.run({ long: 20 }, { executionName: 'hand' });
      expect(r.status).toBe('SUCCEEDED');
      expect(r.output).toEqual({ echoed: { name: 'hand' }, region: 'us-east-1', greeting: 'hi-us-east-1' });
      expect(r.stats.iterations.Both.map((b) => b.seconds)).toEqual([5, 21]);
      expect(r.stats.virtualSeconds).toBe(21);
      expect(r.stats.lambdaInvocations).toEqual({ Echo: 1 });
    } finally {
      await s.stop();
    }
  });

  test('a Task\'s TimeoutSeconds is not the wall clock\'s: a handler slow in wall time (queued in this process) does not time out', async () => {
    const dir = path.join(tmp, 'slow');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'main.js'), 'exports.run = async () => { await new Promise((r) => setTimeout(r, 1500)); return { done: true }; };');
    const definition = { StartAt: 'Slow', States: { Slow: { Type: 'Task', Resource: '__SLOW_ARN__', TimeoutSeconds: 1, End: true } } };
    const [before, after] = JSON.stringify(definition).split('__SLOW_ARN__');
    const t: CfnTemplate = {
      Resources: {
        Slow: { Type: 'AWS::Lambda::Function', Properties: { Handler: 'main.run' } },
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: { 'Fn::Join': ['', [before, { 'Fn::GetAtt': ['Slow', 'Arn'] }, after]] } } },
      },
    };
    const s = await Simulator.start({ template: t, lambdaCode: { Slow: dir } });
    try {
      const r = await s.run({});
      // The interpreter alone fails this run with States.Timeout after 1 s of wall time.
      expect({ status: r.status, error: r.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
      expect(r.output).toEqual({ done: true });
    } finally {
      await s.stop();
    }
  });
});

describe('Simulator in time mode (durations)', () => {
  test('a polling loop sees the stop in progress until stopSeconds have passed on the instance clock', async () => {
    await sim.stop(); // one simulator at a time
    const s = await Simulator.start({
      template,
      assetDir: path.join(tmp, 'cdk.out'),
      world: { durations: { scriptSeconds: 60, backupSeconds: 600, copySeconds: 600, stopSeconds: 25, startSeconds: 45, agentReconnectSeconds: 10 } },
    });
    try {
      s.world.addInstances([
        { id: 'i-00000000000000001', tags: { backup: 'true' } },
        { id: 'i-00000000000000002', tags: { backup: 'true' }, faults: { durations: { stopSeconds: 5 } } },
      ]);
      const r = await s.run({ wait: 1 });
      expect(r.status).toBe('SUCCEEDED');
      // Settle 7, stop at t=7: checks at 7, 17, 27 see stopping (ends at 32), the one at 37 sees stopped.
      // The second instance stops in 5 s: checks at 7 (stopping) and 17 (stopped).
      expect(r.stats.iterations.PerInstance.map((b) => b.byState)).toEqual([{ Settle: 7, WaitForStop: 30 }, { Settle: 7, WaitForStop: 10 }]);
      expect(short(r.stats.lambdaInvocations).check).toBe(6);
      // Its clock started at the run clock (retry back-off 8 + Pause 1 = 9): stopped at 9 + 32, still stopped at 9 + 37.
      expect(r.stats.instances['i-00000000000000001']).toEqual({ clockSeconds: 9 + 37, chainSeconds: 37, downtimeSeconds: 5, stillStopped: true });
    } finally {
      await s.stop();
    }
  });
});
