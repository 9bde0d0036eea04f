import { assertInvariants, entryOf, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { World } from '../../simulator/world';

/**
 * An instance whose chain cannot have its audit entry written by record-instance (the Lambda throttled past its
 * retries, DynamoDB refusing the write): the chain leaves its raw results in the instance's item, straight from the
 * workflow, and returns the same small outcome as a recorded one; the page then writes the entry. A whole page of
 * such chains fits in the Map's output as easily as a healthy page (256 KB is Step Functions' limit, and
 * States.DataLimitExceeded cannot be caught).
 */
const WRITE_ENTRY = 'Instance: write audit entry';
const FLEET = 40;

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({ props: fullProps({ maxConcurrency: 10 }), intercept: [WRITE_ENTRY] });
}, 120_000);
afterAll(async () => h?.stop());

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'Lambda.TooManyRequestsException' });

async function instanceItems(run: SimRun): Promise<Array<Record<string, any>>> {
  return (await h.sim.scanTable()).filter((i) => i.RecordType === 'INSTANCE' && i.Run_Execution_ID === run.result.executionArn);
}

function fleet(ids: string[]) {
  return ids.map((id, i) => ({ id, ...(i === 7 ? { faults: { pre: 'Failed' as const } } : {}), ...(i === 21 ? { faults: { backup: 'ABORTED' as const } } : {}) }));
}

const STATUS_FIELDS = ['Outcome', 'InstanceStateAtStart', 'Platform', 'PreBackupScriptStatus', 'StopEc2InstanceStatus',
  'BackupJobStatus', 'StartEc2InstanceStatus', 'PostBackupScriptStatus', 'FailureMessage'];
const statusOf = (entry: Record<string, any> | undefined) => Object.fromEntries(STATUS_FIELDS.map((f) => [f, entry?.[f]]));

test(`record-instance throttled for all ${FLEET} instances: every entry written by the page, as record-instance would have; the payload as small as a healthy run's`, async () => {
  const healthyIds = newInstanceIds(FLEET);
  const healthy = await h.run({ instances: fleet(healthyIds) });
  assertInvariants(healthy);

  const ids = newInstanceIds(FLEET);
  const before = h.attemptsOf(WRITE_ENTRY);
  const run = await h.run({
    instances: fleet(ids),
    hooks: { [WRITE_ENTRY]: { before: () => { throw throttled(); } } },
  });
  assertInvariants(run);
  // Every invocation throttled: each chain retried (5 retries), then left its results to the page.
  expect(h.attemptsOf(WRITE_ENTRY) - before).toBe(FLEET * 6);

  expect(run.result.status).toBe('FAILED');
  expect(run.auditItem).toMatchObject({ InstanceCount: FLEET, FailedCount: 2, SucceededCount: FLEET - 2 });
  // Each entry says what record-instance says of the same instance in the healthy run (the failing two included).
  ids.forEach((id, i) => expect({ i, ...statusOf(entryOf(run, id)) }).toEqual({ i, ...statusOf(entryOf(healthy, healthyIds[i])) }));
  expect(entryOf(run, ids[7])).toMatchObject({ Outcome: 'FAILED', PreBackupScriptStatus: 'Failed' });
  expect(entryOf(run, ids[21])).toMatchObject({ Outcome: 'FAILED', BackupJobStatus: 'ABORTED', StartEc2InstanceStatus: 'Success' });
  const items = await instanceItems(run);
  expect(items).toHaveLength(FLEET);
  for (const item of items) {
    // The page replaced each item of raw results with the entry derived from them.
    expect(item).not.toHaveProperty('Unrecorded_Steps_Json');
    expect(item.Outcome).toBe(item.InstanceId === ids[7] || item.InstanceId === ids[21] ? 'FAILED' : 'SUCCEEDED');
    expect(item.BackupJobId === '').toBe(item.InstanceId === ids[7]);
  }

  // The outcomes carry no step results: a page of unrecorded chains is no bigger than a healthy page.
  const { largestStatePayloadBytes: unrecordedBytes } = run.result.stats;
  const { largestStatePayloadBytes: healthyBytes } = healthy.result.stats;
  expect(unrecordedBytes).toBeLessThan(healthyBytes + FLEET * 40);
}, 300_000);

test('the workflow cannot leave the results in the table either: they travel in the outcome, and the page writes the entry', async () => {
  const [id] = newInstanceIds(1);
  const run = await h.run({
    instances: [{ id }],
    hooks: {
      [WRITE_ENTRY]: {
        // The next PutItem is the workflow's own (nothing else of this one-instance run writes then); not retried.
        before: (_input: unknown, world: World) => {
          world.injectFault({ service: 'dynamodb', action: 'PutItem', times: 1, error: { code: 'ValidationException', message: 'Item size has exceeded the maximum allowed size' } });
          throw Object.assign(new Error('the function was deleted'), { name: 'Lambda.ResourceNotFoundException' });
        },
      },
    },
  });
  assertInvariants(run);
  const refused = run.calls.filter((c) => c.service === 'dynamodb' && c.action === 'PutItem' && c.error);
  expect(refused).toHaveLength(1);
  expect(run.result.status).toBe('SUCCEEDED');
  expect(entryOf(run, id)).toMatchObject({ Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED', StartEc2InstanceStatus: 'Success' });
  const [item] = await instanceItems(run);
  expect(item).toMatchObject({ InstanceId: id, Outcome: 'SUCCEEDED' });
  expect(item).not.toHaveProperty('Unrecorded_Steps_Json');
}, 120_000);

test('a step message holding a line break, quotes and backslashes comes back from the raw results as it was', async () => {
  // The workflow stores the raw results with States.JsonToString; Step Functions returns a JSON text of the data, its
  // escapes kept (docs/fidelity/stepfunctions.md). The page parses it back: nothing of the message may be lost.
  const statusMessage = 'Snapshot of vol-0a1b2c3d failed:\nthe volume is "busy" (lock file C:\\data\\db.lock)';
  const [recordedId, unrecordedId] = newInstanceIds(2);
  const faults = { backup: { state: 'FAILED' as const, statusMessage } };
  const recorded = await h.run({ instances: [{ id: recordedId, faults }] });
  const run = await h.run({
    instances: [{ id: unrecordedId, faults }],
    hooks: { [WRITE_ENTRY]: { before: () => { throw throttled(); } } },
  });
  assertInvariants(run);
  const entry = entryOf(run, unrecordedId);
  expect(entry).toMatchObject({ Outcome: 'FAILED', BackupJobStatus: 'FAILED' });
  expect(entry?.FailureMessage).toContain(statusMessage);
  // The same words as record-instance writes for the same failure.
  expect(statusOf(entry)).toEqual(statusOf(entryOf(recorded, recordedId)));
  const [item] = await instanceItems(run);
  expect(item).not.toHaveProperty('Unrecorded_Steps_Json');
}, 120_000);
