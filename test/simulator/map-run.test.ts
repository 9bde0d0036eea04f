import { App, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CfnTemplate } from './asl';
import { Simulator } from './simulator';

/**
 * The simulator's model of a Distributed Map's Map Run (map-run.ts): each item a child execution; the tolerated
 * failure threshold (default 0); when it is exceeded the Map fails and the children still running are STOPPED
 * mid-chain; a tolerated failed child leaves its execution's metadata in the Map's result; a chain killed uncaught.
 */
interface Shape {
  readonly tolerance?: number;
  readonly maxConcurrency?: number;
}

function template(shape: Shape): CfnTemplate {
  const app = new App();
  const stack = new Stack(app, 'MapRunTest');
  const step = (id: string) => new sfn.CustomState(stack, id, {
    stateJson: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ec2:describeInstances', Parameters: { 'InstanceIds.$': 'States.Array($.instance.instanceId)' }, ResultPath: '$.out' },
  });
  const begin = step('Begin');
  const finish = step('Finish');
  // A Catch of States.ALL inside the chain: a killed chain must not be caught by it.
  begin.addCatch(new sfn.Pass(stack, 'Caught'), { errors: [sfn.Errors.ALL] });
  const map = new sfn.DistributedMap(stack, 'For each', {
    itemsPath: '$.items',
    itemSelector: { instance: { 'instanceId.$': '$$.Map.Item.Value' } },
    maxConcurrency: shape.maxConcurrency,
    toleratedFailurePercentage: shape.tolerance,
    resultPath: '$.results',
  });
  map.itemProcessor(begin.next(finish));
  map.addCatch(new sfn.Pass(stack, 'Map failed'), { errors: [sfn.Errors.ALL], resultPath: '$.mapError' });
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(map) });
  return app.synth().getStackByName(stack.stackName).template;
}

const ITEMS = ['i-00000000000000001', 'i-00000000000000002', 'i-00000000000000003'];

async function runWith(shape: Shape, kill: boolean, output?: (id: string) => unknown) {
  const seen: string[] = [];
  const handler = (phase: string) => async (input: any) => {
    const id = input.InstanceIds[0];
    seen.push(`${phase}:${id}`);
    await new Promise((r) => setTimeout(r, 30)); // the other chains are mid-way when one dies
    return output ? output(id) : {};
  };
  const sim = await Simulator.start({ template: template(shape), taskHandlers: { Begin: handler('begin'), Finish: handler('finish') } });
  try {
    if (kill) sim.chainKills.push({ stateName: 'Begin', instanceId: ITEMS[0] });
    const r = await sim.run({ items: ITEMS }, { keepEvents: false });
    return { r, seen };
  } finally {
    await sim.stop();
  }
}

test('no tolerated failure (AWS\'s default): one chain killed fails the Map Run and stops the others mid-chain', async () => {
  const { r, seen } = await runWith({}, true);
  expect(r.status).toBe('SUCCEEDED'); // the Map's Catch
  expect(r.output.mapError.Error).toBe('States.ExceedToleratedFailureThreshold');
  // The killed chain never ran its state; the others began and were stopped before their next state.
  expect(seen.sort()).toEqual([`begin:${ITEMS[1]}`, `begin:${ITEMS[2]}`]);
  expect(r.mapRuns![0]).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', total: 3 });
  expect(r.mapRuns![0].children.map((c) => [c.instanceId, c.status]).sort()).toEqual([
    [ITEMS[0], 'FAILED'], [ITEMS[1], 'ABORTED'], [ITEMS[2], 'ABORTED'],
  ]);
  expect(r.mapRuns![0].children.find((c) => c.status === 'FAILED')).toMatchObject({ error: 'States.Runtime' });
  // Each child is an execution of its own: started, then failed or aborted.
  expect(r.stats.historyEventsByType).toMatchObject({ ExecutionAborted: 2, MapRunFailed: 1 });
}, 60_000);

test('no tolerated failure, MaxConcurrency 1: the items after the failed one are never started', async () => {
  const { r, seen } = await runWith({ maxConcurrency: 1 }, true);
  expect(r.output.mapError.Error).toBe('States.ExceedToleratedFailureThreshold');
  expect(seen).toEqual([]);
  expect(r.mapRuns![0].children).toHaveLength(1);
}, 60_000);

test('100 % tolerated: the others finish, and the killed child\'s entry is its execution\'s metadata', async () => {
  const { r, seen } = await runWith({ tolerance: 100 }, true);
  expect(r.status).toBe('SUCCEEDED');
  expect(r.output.mapError).toBeUndefined();
  expect(seen.sort()).toEqual([`begin:${ITEMS[1]}`, `begin:${ITEMS[2]}`, `finish:${ITEMS[1]}`, `finish:${ITEMS[2]}`]);
  const [failed, ok1, ok2] = r.output.results;
  expect(failed).toMatchObject({ Status: 'FAILED', Error: 'States.Runtime', InputDetails: { Included: true } });
  expect(JSON.parse(failed.Input)).toEqual({ instance: { instanceId: ITEMS[0] } });
  expect(failed.Cause).toMatch(/Begin/);
  expect(failed.ExecutionArn).toMatch(/^arn:aws:states:/);
  expect([ok1, ok2]).toEqual([{ instance: { instanceId: ITEMS[1] }, out: {} }, { instance: { instanceId: ITEMS[2] }, out: {} }]);
  expect(r.mapRuns![0]).toMatchObject({ status: 'SUCCEEDED' });
}, 60_000);

test('nothing killed: every child succeeds, results in item order, one history per child', async () => {
  const { r } = await runWith({}, false);
  expect(r.status).toBe('SUCCEEDED');
  expect(r.output.results.map((x: any) => x.instance.instanceId)).toEqual(ITEMS);
  expect(Object.keys(r.stats.historyEventsByExecution).sort()).toEqual(['For each[0]', 'For each[1]', 'For each[2]', 'execution']);
  expect(r.stats.historyEventsByType).toMatchObject({ ExecutionStarted: 4, ExecutionSucceeded: 4, MapRunSucceeded: 1 });
}, 60_000);

test('a Map result over 256 KiB fails the execution with States.DataLimitExceeded, which the Map\'s Catch does not see', async () => {
  const { r } = await runWith({ tolerance: 100 }, false, () => ({ blob: 'x'.repeat(100_000) }));
  expect(r.status).toBe('FAILED');
  expect(r.error).toBe('States.DataLimitExceeded');
}, 60_000);
