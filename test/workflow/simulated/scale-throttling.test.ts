import { Duration } from 'aws-cdk-lib';
import { ReleaseTiming } from '../../../src';
import { assertInvariants, FAST_WORLD, Harness, newInstanceIds } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { DEFAULT_BUCKETS, throttledCalls } from '../../simulator/fakes/throttling';
import { BucketRate, Durations, WorldOptions } from '../../simulator/world';

/**
 * Fleet scale under AWS's request limits (docs/design.md "Fleet scale"): a page of chains started together, at the
 * default maxConcurrency's proportions, against token buckets that refuse calls as EC2, AWS Backup and SSM document
 * (test/simulator/fakes/throttling.ts, docs/fidelity/ec2.md and backup.md). The default is 1,000 chains against the
 * account's buckets; here 200 chains against every bucket scaled to 200/1,000 of its documented capacity and rate, so
 * the calls per second per token are the same. Every instance must finish, none failed on throttling, every
 * application released at its point in time (no look given up on).
 */
const FLEET = 200;
const SCALE = FLEET / 1000;
const DURATIONS: Durations = { scriptSeconds: 300, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30 };

function scaledBuckets(): Record<string, BucketRate> {
  return Object.fromEntries(Object.entries(DEFAULT_BUCKETS).map(([name, b]) => [name, {
    capacity: Math.max(1, b.capacity * SCALE),
    refillPerSecond: b.refillPerSecond * SCALE,
  }]));
}

const WORLD: WorldOptions = {
  ...FAST_WORLD,
  durations: DURATIONS,
  backupStartDelaySeconds: { min: 30, max: 600 },
  throttling: scaledBuckets(),
};

let h: Harness;
beforeAll(async () => {
  h = await Harness.start({
    props: fullProps({ maxConcurrency: FLEET, releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.hours(2) }),
    world: WORLD,
  });
}, 120_000);
afterAll(async () => h?.stop());

test(`${FLEET} chains at once against the documented request limits (scaled): none fails, none released blind`, async () => {
  const ids = newInstanceIds(FLEET);
  const started = Date.now();
  const run = await h.run({ instances: ids.map((id) => ({ id })), healthy: ids });
  const throttled = throttledCalls(run.world);
  process.stdout.write(`${FLEET} instances under throttling: ${((Date.now() - started) / 1000).toFixed(0)} s wall, throttled calls `
    + `${JSON.stringify(throttled)}\n`);
  assertInvariants(run);
  expect(run.result.status).toBe('SUCCEEDED');
  const entries: Array<Record<string, any>> = run.auditItem!.Workflow_Overall_Status;
  expect(entries.filter((e) => e.Outcome !== 'SUCCEEDED').map((e) => `${e.InstanceId}: ${e.Notes}`)).toEqual([]);
  // A look that failed after its retries releases the application without its point in time: none may.
  expect(entries.filter((e) => String(e.Notes ?? '').includes('look-failed')).map((e) => e.InstanceId)).toEqual([]);
  // Every job started once (a throttled StartBackupJob retried with its idempotency token starts no second job).
  for (const id of ids) expect(run.world.backupJobsFor(id)).toHaveLength(1);
}, 600_000);
