import { Duration } from 'aws-cdk-lib';
import { ReleaseTiming } from '../../../src';
import { assertInvariants, FAST_WORLD, Harness, newInstanceIds } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { throttledCalls } from '../../simulator/fakes/throttling';
import { Durations, WorldOptions } from '../../simulator/world';

/**
 * Fleet scale under AWS's request limits (docs/design.md "Fleet scale"): a page of chains started together against
 * token buckets that refuse calls at the rates EC2, AWS Backup and SSM document (test/simulator/fakes/throttling.ts,
 * docs/fidelity/ec2.md and backup.md), each call judged at its chain's virtual time. The calls per second a wave makes
 * do not grow with maxConcurrency: the chains enter at ENTRY_PER_SECOND (src/workflow/definition.ts) and each stays
 * frozen, looking every 10 s, for its job's start delay, so about ENTRY_PER_SECOND x the mean freeze chains look at
 * once (here 0.25/s x about 400 s = 100 < 200 chains: the steady state of a page of 1,000 is reached). Every instance
 * must finish, none failed on throttling, none released because its looks were refused.
 */
const FLEET = 200;
const DURATIONS: Durations = {
  scriptSeconds: 300, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};

const WORLD: WorldOptions = {
  ...FAST_WORLD,
  durations: DURATIONS,
  backupStartDelaySeconds: { min: 30, max: 600 },
  throttling: true,
};

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({
    props: fullProps({ maxConcurrency: FLEET, releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.hours(2) }),
    world: WORLD,
  });
}, 120_000);
afterAll(async () => h?.stop());

test(`${FLEET} chains at once against the documented request limits: none fails, none released blind`, async () => {
  const ids = newInstanceIds(FLEET);
  const started = Date.now();
  const run = await h.run({ instances: ids.map((id) => ({ id })), healthy: ids });
  const throttled = throttledCalls(run.world);
  process.stdout.write(`${FLEET} instances under throttling: ${((Date.now() - started) / 1000).toFixed(0)} s wall, throttled calls `
    + `${JSON.stringify(throttled)}\n`);
  const entries: Array<Record<string, any>> = run.auditItem!.Workflow_Overall_Status;
  const reasons: Record<string, number> = {};
  for (const e of entries) {
    const reason = /released (\S+)/.exec(String(e.Notes ?? ''))?.[1] ?? 'none';
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  process.stdout.write(`release reasons: ${JSON.stringify(reasons)}\n`);
  expect(entries.filter((e) => e.Outcome !== 'SUCCEEDED').map((e) => `${e.InstanceId}: ${e.Notes}`)).toEqual([]);
  // A look that failed after its retries releases the application without its point in time: none may.
  expect(entries.filter((e) => String(e.Notes ?? '').includes('look-failed')).map((e) => e.InstanceId)).toEqual([]);
  assertInvariants(run);
  expect(run.result.status).toBe('SUCCEEDED');
  // Every job started once (a throttled StartBackupJob retried with its idempotency token starts no second job).
  for (const id of ids) expect(run.world.backupJobsFor(id)).toHaveLength(1);
}, 600_000);
