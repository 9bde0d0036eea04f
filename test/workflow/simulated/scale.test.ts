import { checkInvariants, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { InstanceSpec } from '../../simulator/world';

/**
 * Scale: a run of 1,000 tagged instances (every toggle on) in pages of 250, with a few injected failures. The six
 * invariants hold for every instance, the run's record counts every instance, stays under DynamoDB's 400 KB item
 * limit, and each instance's full entry is in the table.
 */
const FLEET = 1000;
const PAGE_SIZE = 250;

let h: Harness;
beforeAll(async () => {
  // Handlers read DISCOVERY_PAGE_SIZE at each call; the simulator restores the environment when it stops.
  h = await Harness.start({ props: fullProps({ maxConcurrency: 100 }), env: { DISCOVERY_PAGE_SIZE: String(PAGE_SIZE) } });
}, 300_000);
afterAll(async () => h?.stop());

/**
 * The run as the invariant checker reads it, with the whole audit record: the run item lists as many entries as
 * its 400 KB budget holds (failed first), every entry is an instance item of the run in the table.
 */
async function withEveryEntry(run: SimRun): Promise<SimRun> {
  const entries = (await h.sim.scanTable())
    .filter((i) => i.RecordType === 'INSTANCE' && i.Run_Execution_ID === run.result.executionArn);
  return { ...run, auditItem: { ...run.auditItem, Workflow_Overall_Status: entries, Workflow_Overall_Status_Complete: true } };
}

test(`${FLEET} instances in pages of ${PAGE_SIZE}, a few failing: every invariant holds, the record is complete`, async () => {
  const ids = newInstanceIds(FLEET);
  const failing: Record<number, Partial<InstanceSpec>> = {
    10: { faults: { pre: 'Failed' } },
    260: { faults: { backup: 'EXPIRED' } },
    510: { faults: { stopError: { code: 'UnsupportedOperation', message: 'The instance does not support stopping' } } },
    760: { agent: 'ConnectionLost' },
    999: { faults: { post: 'TimedOut' } },
  };
  const terminated = newInstanceIds(5);
  const started = Date.now();
  const run = await h.run({
    instances: [
      ...ids.map((id, i) => ({ id, ...(failing[i] ?? {}) })),
      ...terminated.map((id) => ({ id, state: 'terminated' as const })),
    ],
  });
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`${FLEET} instances: ${seconds.toFixed(1)} s wall time, ${run.result.stats.stateTransitions} state transitions, `
    + `largest state payload ${run.result.stats.largestStatePayloadBytes} B (${run.result.stats.largestStatePayloadState}), `
    + `run item ${Buffer.byteLength(JSON.stringify(run.auditItem))} B\n`);

  const violations = checkInvariants(await withEveryEntry(run));
  expect(violations).toEqual([]);

  const failedIds = Object.keys(failing).map((i) => ids[Number(i)]).sort();
  expect(run.result.status).toBe('FAILED');
  expect(run.result.error).toBe('BackupRunFailed');
  const item = run.auditItem!;
  expect(item).toMatchObject({
    Run_Status: 'FAILED',
    InstanceCount: FLEET,
    FailedCount: failedIds.length,
    SucceededCount: FLEET - failedIds.length,
    SkippedCount: 0,
    ExcludedCount: terminated.length,
    DiscoveryPages: Math.ceil((FLEET + terminated.length) / PAGE_SIZE),
    Run_FailureMessage: `${failedIds.length} of ${FLEET} instances failed: ${failedIds.join(', ')}`,
  });
  // The run item stays under DynamoDB's 400 KB; it lists the failed instances first and points at the rest.
  expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(400 * 1024);
  const listed: Array<Record<string, any>> = item.Workflow_Overall_Status;
  expect(listed.slice(0, failedIds.length).map((e) => e.InstanceId).sort()).toEqual(failedIds);
  if (!item.Workflow_Overall_Status_Complete) {
    expect(item.Instance_Records).toContain(`holds ${listed.length} of ${FLEET} entries`);
  }
  // The payloads stay far below Step Functions' 256 KB whatever the fleet.
  expect(run.result.stats.largestStatePayloadBytes).toBeLessThan(64 * 1024);
}, 1_200_000);
