import { Duration } from 'aws-cdk-lib';
import { ReleaseTiming } from '../../../src';
import { assertInvariants, FAST_WORLD, Harness, newInstanceIds, whereItEnded } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { throttledCalls } from '../../simulator/fakes/throttling';
import { Durations, WorldOptions } from '../../simulator/world';

/**
 * Fleet scale under AWS's request limits (docs/design.md "Fleet scale"): a page of chains started together against
 * token buckets that refuse calls at the rates EC2, AWS Backup and SSM document (test/simulator/fakes/throttling.ts,
 * docs/fidelity/ec2.md and backup.md), each call judged at its chain's virtual time. The calls per second a wave makes
 * do not grow with maxConcurrency: the chains enter at ENTRY_PER_SECOND (src/workflow/definition.ts, 1.25 per s at the
 * point in time) and each stays frozen, looking every 10 s, for its job's start delay, so all 200 chains (entering over
 * 160 s, frozen for 30 to 600 s and more) are frozen nearly together, and their jobs end together. Every instance must
 * finish, none failed on throttling, none released because its looks were refused.
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
  expect(entries.filter((e) => e.Outcome !== 'SUCCEEDED').map(whereItEnded)).toEqual([]);
  // A look that failed after its retries releases the application without its point in time: none may.
  expect(entries.filter((e) => String(e.Notes ?? '').includes('look-failed')).map((e) => e.InstanceId)).toEqual([]);
  assertInvariants(run);
  expect(run.result.status).toBe('SUCCEEDED');
  // Every job started once (a throttled StartBackupJob retried with its idempotency token starts no second job).
  for (const id of ids) expect(run.world.backupJobsFor(id)).toHaveLength(1);
}, 600_000);

/**
 * Issue 14, the run's shared snapshot view (docs/design.md "Fleet scale", "The snapshot view"): 300 chains entering at
 * 1.5 per second (the page's entry window set to 300 / 1.5 = 200 s; the lead's ENTRY_PER_SECOND is not this test's
 * subject), start delays of 30 to 600 s, so nearly all 300 are frozen at once: each chain's looks read the view (one
 * DescribeSnapshots refresh per run and 10 s) and call DescribeBackupJob on every 6th look only. None released without
 * its point in time because a look was throttled; DescribeBackupJob within its 15 per s; p99 of (job start to
 * post-script) minus the job's start delay within 60 s on this no-stop path; consistency checked by the harness.
 */
describe('300 chains entering at 1.5 per s, frozen together', () => {
  const CHAINS = 300;
  const ENTRY_PER_SECOND = 1.5;
  let hv: Harness;
  beforeAll(async () => {
    hv = await Harness.start({
      props: fullProps({ maxConcurrency: CHAINS, stopInstances: false, releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.hours(2) }),
      world: WORLD,
      intercept: ['Discover instances'],
    });
  }, 120_000);
  afterAll(async () => hv?.stop());

  test('released at the point in time within the documented rates', async () => {
    const ids = newInstanceIds(CHAINS);
    const started = Date.now();
    const run = await hv.run({
      instances: ids.map((id) => ({ id })),
      healthy: ids,
      hooks: {
        'Discover instances': {
          after: (_input, output) => {
            // One page: its descriptor (what the page's child execution reads) gets the 200-s window.
            const window = { entryFromSeconds: 0, entryToSeconds: Math.ceil(CHAINS / ENTRY_PER_SECOND) };
            Object.assign(output, window);
            output.pages = output.pages.map((d: Record<string, unknown>) => ({ ...d, ...window }));
          },
        },
      },
    });
    const throttled = throttledCalls(run.world);
    const entries: Array<Record<string, any>> = run.auditItem!.Workflow_Overall_Status;
    // Per second of virtual time (each call at its chain's clock): the busiest second of DescribeBackupJob.
    const perSecond = new Map<number, number>();
    for (const c of run.calls) {
      if (c.service === 'backup' && c.action === 'DescribeBackupJob' && !c.error) perSecond.set(Math.floor(c.at), (perSecond.get(Math.floor(c.at)) ?? 0) + 1);
    }
    const busiest = Math.max(0, ...perSecond.values());
    const beyondDelay = ids.map((id) => {
      const post = run.world.commandsFor(id).find((c) => c.phase === 'post')!;
      const [job] = run.world.backupJobsFor(id);
      return post.startedAt - job.startedAt - (job.startDelaySeconds ?? 0);
    }).sort((a, b) => a - b);
    const p = (q: number) => beyondDelay[Math.min(beyondDelay.length - 1, Math.ceil(q * beyondDelay.length) - 1)];
    const listings = run.calls.filter((c) => c.action === 'DescribeSnapshots' && !c.error).length;
    // Where the freeze beyond the start delay goes: snapshots started (RUNNING) -> the look that released -> post-script.
    const origin = run.world.clock.origin;
    const parts = ids.map((id) => {
      const [job] = run.world.backupJobsFor(id);
      const e = entries.find((x) => x.InstanceId === id)!;
      const released = (Date.parse(e.ReleasedAt) - origin) / 1000;
      const post = run.world.commandsFor(id).find((c) => c.phase === 'post')!;
      return { toRelease: released - (job.startedAt + (job.startDelaySeconds ?? 0)), toPost: post.startedAt - released };
    });
    const refused = new Map<number, number>();
    for (const c of run.calls) {
      if (c.service === 'backup' && c.action === 'DescribeBackupJob' && c.error) refused.set(Math.floor(c.at), (refused.get(Math.floor(c.at)) ?? 0) + 1);
    }
    process.stdout.write(`snapshots started -> release: max ${Math.max(...parts.map((x) => x.toRelease))} s; release -> post-script: max `
      + `${Math.max(...parts.map((x) => x.toPost))} s; DescribeBackupJob refused at seconds ${JSON.stringify([...refused.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8))}\n`);
    process.stdout.write(`${CHAINS} chains at ${ENTRY_PER_SECOND}/s: ${((Date.now() - started) / 1000).toFixed(0)} s wall; `
      + `job start to post-script beyond the start delay p50 ${p(0.5)} s, p99 ${p(0.99)} s, max ${beyondDelay[beyondDelay.length - 1]} s; `
      + `busiest second of DescribeBackupJob ${busiest}; DescribeSnapshots calls ${listings}; throttled ${JSON.stringify(throttled)}\n`);
    expect(entries.filter((e) => e.Outcome !== 'SUCCEEDED').map(whereItEnded)).toEqual([]);
    expect(entries.filter((e) => String(e.Notes ?? '').includes('look-failed')).map((e) => e.InstanceId)).toEqual([]);
    // Every chain used the view and was released at its point in time, application-consistent.
    expect(entries.filter((e) => e.ReleaseReason !== 'point-in-time-captured').map((e) => `${e.InstanceId}: ${e.Notes}`)).toEqual([]);
    expect(entries.filter((e) => String(e.Notes ?? '').includes('snapshot view off')).map((e) => e.InstanceId)).toEqual([]);
    expect(entries.filter((e) => e.Consistency !== 'application-consistent').map((e) => `${e.InstanceId}: ${e.ConsistencyReason}`)).toEqual([]);
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(busiest).toBeLessThanOrEqual(15);
    // No DescribeBackupJob refused while its instance was frozen (job start call to release): the looks stay within
    // the quota. (Refusals at the jobs' ends come from the terminal events AWS Backup delivers in 5-minute batches: the
    // job waits' looks, retried; not the release's.)
    const frozenRefusals = run.calls.filter((c) => c.service === 'backup' && c.action === 'DescribeBackupJob' && c.error && c.instanceIds.some((id) => {
      const [job] = run.world.backupJobsFor(id);
      const e = entries.find((x) => x.InstanceId === id)!;
      return c.at >= job.startedAt && c.at <= (Date.parse(e.ReleasedAt) - origin) / 1000;
    }));
    expect(frozenRefusals.map((c) => `${c.seq} ${c.instanceIds.join(',')} at ${c.at}`)).toEqual([]);
    expect(throttled['ec2:DescribeSnapshots'] ?? 0).toBe(0);
    expect(p(0.99)).toBeLessThanOrEqual(60);
  }, 900_000);
});
