import { Duration } from 'aws-cdk-lib';
import { FreezeBudgetAction, ReleaseTiming } from '../../../src';
import { AGENT_RECONNECT_WAIT_SECONDS } from '../../../src/contract/poll';
import { assertInvariants, callsAbout, entryOf, FAST_WORLD, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { jobAttempts } from '../../simulator/fakes/recovery-points';
import { Durations, WorldOptions } from '../../simulator/world';

/**
 * Issue 14: the application is released (post-script, and the start on the stop path) at the backup's point in time,
 * measured on the stand-ins' clocks (time mode): the time between the pre-script's end and the post-script's
 * SendCommand, and the time the instance was stopped.
 */
const DURATIONS: Durations = {
  scriptSeconds: 300, backupSeconds: 3600, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
const DELAYED: WorldOptions = { ...FAST_WORLD, durations: DURATIONS, backupStartDelaySeconds: { min: 30, max: 600 } };

interface Measured {
  /** Seconds from the pre-script's end to the post-script's SendCommand. */
  readonly frozenSeconds: number;
  /** The job's start delay (CREATED) and when it ended, on the instance's clock. */
  readonly startDelaySeconds: number;
  readonly jobEndedAt: number;
  /** StartBackupJob, on the instance's clock. */
  readonly jobStartedAt: number;
  readonly preEndedAt: number;
  readonly postSentAt: number;
}

function measure(run: SimRun, id: string): Measured {
  const commands = run.world.commandsFor(id);
  const pre = commands.find((c) => c.phase === 'pre')!;
  const post = commands.find((c) => c.phase === 'post')!;
  const [job] = run.world.backupJobsFor(id);
  const preEndedAt = pre.startedAt + DURATIONS.scriptSeconds;
  return {
    frozenSeconds: post.startedAt - preEndedAt,
    startDelaySeconds: job.startDelaySeconds ?? 0,
    jobEndedAt: job.terminalAt!,
    jobStartedAt: job.startedAt,
    preEndedAt,
    postSentAt: post.startedAt,
  };
}

describe('release at the point in time (no stop)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({ stopInstances: false, releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.hours(2) }),
      world: DELAYED,
    });
  });
  afterAll(async () => h?.stop());

  test('delayed jobs: released within about a minute of the job\'s start delay, long before the job ends', async () => {
    const ids = newInstanceIds(3);
    const run = await h.run({ instances: ids.map((id) => ({ id, volumes: 2 })), healthy: ids });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    for (const id of ids) {
      const m = measure(run, id);
      // From the job's start: its start delay, the snapshots' listing lag (30 s, EC2's eventual consistency), the
      // run's snapshot view refreshed every 10 s, one look every 10 s, the post-script's agent check: within the
      // issue's goal of the start delay + 60 s. (Before the job's start, the pre-script's end is seen on its event,
      // late or lost as AWS allows: that part of the freeze is the same with either release timing.)
      expect(m.postSentAt - m.jobStartedAt).toBeLessThanOrEqual(m.startDelaySeconds + 60);
      process.stdout.write(`${id}: start delay ${m.startDelaySeconds} s, job start to post-script ${m.postSentAt - m.jobStartedAt} s\n`);
      expect(m.frozenSeconds).toBeLessThan(DURATIONS.backupSeconds / 2);
      expect(m.postSentAt).toBeLessThan(m.jobEndedAt);
      expect(run.world.backupJobsFor(id).map((j) => j.state)).toEqual(['COMPLETED']);
      // The audit entry tells the same story, on the same clocks (SSM's times, the handlers' virtual clock).
      expect(entryOf(run, id)).toMatchObject({
        FrozenSeconds: m.frozenSeconds,
        ReleaseReason: 'point-in-time-captured',
        Consistency: 'application-consistent',
        Outcome: 'SUCCEEDED',
      });
    }
  });

  test('recovery points without snapshot ids: the run\'s snapshot view sees the volumes\' snapshots, released at the point in time', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { recoveryPoint: { withoutSnapshotIds: true } } }], healthy: [id] });
    assertInvariants(run);
    const m = measure(run, id);
    // The view (DescribeSnapshots by volume) needs no snapshot id from the AMI: released long before the job's end.
    expect(m.postSentAt - m.jobStartedAt).toBeLessThanOrEqual(m.startDelaySeconds + 60);
    expect(m.postSentAt).toBeLessThan(m.jobEndedAt);
    // The completed AMI names its snapshots: the check at the end finds the ones seen at release.
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'point-in-time-captured', Consistency: 'application-consistent', FrozenSeconds: m.frozenSeconds });
  });

  test('recovery points without snapshot ids and DescribeSnapshots denied: no view, released at the job\'s end, the entry says why', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id, faults: { recoveryPoint: { withoutSnapshotIds: true } } }],
      healthy: [id],
      faults: [{ service: 'ec2', action: 'DescribeSnapshots', error: { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' } }],
    });
    assertInvariants(run);
    const m = measure(run, id);
    expect(m.postSentAt).toBeGreaterThanOrEqual(m.jobEndedAt);
    // Frozen for the whole job: application-consistent, and the entry says why it waited.
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'job-ended', Consistency: 'application-consistent', FrozenSeconds: m.frozenSeconds });
    expect(entryOf(run, id)!.Notes).toContain('names no snapshot id');
    expect(entryOf(run, id)!.Notes).toContain('snapshot view off');
    expect(entryOf(run, id)!.Notes).toContain('UnauthorizedOperation');
  });
});

// Its own world: the stand-in's AMI/snapshot index (test/simulator/fakes/recovery-points.ts) is keyed by job ids, which
// restart with each run's fresh world, so a retried job of an earlier run would be seen again under the same ids.
describe('a job AWS Backup retries', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: false, releaseAt: ReleaseTiming.POINT_IN_TIME }), world: DELAYED });
  });
  afterAll(async () => h?.stop());

  test('a job AWS Backup retries after the release: released at the first snapshots, the invariants hold', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { recoveryPoint: { retryAfterSeconds: 900 } } }], healthy: [id] });
    assertInvariants(run);
    const m = measure(run, id);
    const [job] = run.world.backupJobsFor(id);
    const attempts = jobAttempts(run.world, job);
    expect(attempts).toHaveLength(2);
    // Released after the first attempt's snapshots started and before the retry's.
    expect(m.postSentAt).toBeGreaterThan(attempts[0].startedAt);
    expect(m.postSentAt).toBeLessThan(attempts[1].startedAt);
    expect(job.state).toBe('COMPLETED');
    // The recovery point the job ended with was taken after the release: crash-consistent, and said so.
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'point-in-time-captured', Consistency: 'crash-consistent', Outcome: 'SUCCEEDED' });
    expect(entryOf(run, id)!.ConsistencyReason).toContain('after the release');
  });

});

describe('release at the point in time (stop path)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: true, releaseAt: ReleaseTiming.POINT_IN_TIME }), world: DELAYED });
  });
  afterAll(async () => h?.stop());

  test('the instance is started again at the point in time, not at the job\'s end', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }], healthy: [id] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const m = measure(run, id);
    expect(m.postSentAt).toBeLessThan(m.jobEndedAt);
    const downtime = run.result.stats.instances[id].downtimeSeconds!;
    expect(downtime).toBeLessThan(DURATIONS.backupSeconds);
    expect(run.world.instanceStates()[id]).toBe('running');
  });

  test('after the start, the SSM agent is first looked at 20 s after the instance runs (it reconnects 30 s after): two looks', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }], healthy: [id] });
    assertInvariants(run);
    const runningAt = run.world.instances.get(id)!.power.filter((p) => p.event === 'running').pop()!.at;
    const looks = callsAbout(run, id, 'ssm:DescribeInstanceInformation').filter((c) => c.at >= runningAt).map((c) => c.at - runningAt);
    // Not at once (the instance has just booted): AGENT_RECONNECT_WAIT_SECONDS, then the after-start policy's 10 s.
    expect(looks).toHaveLength(2);
    expect(looks[0]).toBeGreaterThanOrEqual(AGENT_RECONNECT_WAIT_SECONDS);
    expect(looks[0]).toBeLessThan(DURATIONS.agentReconnectSeconds);
    expect(looks[1]).toBeGreaterThanOrEqual(DURATIONS.agentReconnectSeconds);
    expect(measure(run, id).postSentAt - runningAt).toBeLessThan(DURATIONS.agentReconnectSeconds + 5);
  });
});

describe('the freeze budget', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({ stopInstances: false, releaseAt: ReleaseTiming.POINT_IN_TIME, freezeBudget: Duration.minutes(2) }),
      // The job waits 5 minutes to start (its snapshots too), more than the budget; the RecoveryPointArn only at
      // COMPLETED: neither the snapshot view nor a look of the chain's own sees the point in time within the budget.
      world: { ...DELAYED, recoveryPointArnAt: 'completed', backupStartDelaySeconds: { min: 300, max: 300 } },
    });
  });
  afterAll(async () => h?.stop());

  test('spent: released anyway, the job goes on to its end', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }], healthy: [id] });
    assertInvariants(run);
    const m = measure(run, id);
    // The budget counts from the job's start: 120 s of looks, the agent check.
    expect(m.postSentAt - m.jobStartedAt).toBeLessThanOrEqual(120 + 20);
    expect(m.postSentAt - m.jobStartedAt).toBeGreaterThanOrEqual(120);
    expect(m.postSentAt).toBeLessThan(m.jobEndedAt);
    expect(run.world.backupJobsFor(id).map((j) => j.state)).toEqual(['COMPLETED']);
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'budget-spent', Outcome: 'SUCCEEDED' });
    // Whether the backup is consistent depends on when its snapshots started: the entry says which, never blank.
    expect(['application-consistent', 'crash-consistent']).toContain(entryOf(run, id)!.Consistency);
  });
});

describe('the freeze budget, spent, with FreezeBudgetAction.STOP_BACKUP_JOB', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({ stopInstances: true, freezeBudget: Duration.minutes(2), onFreezeBudgetSpent: FreezeBudgetAction.STOP_BACKUP_JOB }),
      // A job that waits 10 minutes to start: the budget (counted from the job's start call) is spent first.
      world: { ...DELAYED, backupStartDelaySeconds: { min: 600, max: 600 } },
    });
  });
  afterAll(async () => h?.stop());

  test('released (started again, post-script) within the budget, then the job stopped and the instance failed', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }], healthy: [] });
    assertInvariants(run);
    const m = measure(run, id);
    expect(m.postSentAt - m.jobStartedAt).toBeLessThanOrEqual(120 + 60 + 60);
    expect(run.world.instanceStates()[id]).toBe('running');
    const [job] = run.world.backupJobsFor(id);
    expect(['ABORTING', 'ABORTED']).toContain(job.state);
    expect(run.calls.filter((c) => c.action === 'StopBackupJob')).toHaveLength(1);
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'budget-spent', Consistency: 'none', Outcome: 'FAILED' });
    expect(entryOf(run, id)!.FailureMessage).toContain('freeze budget spent');
  });
});

describe('ReleaseTiming.JOB_COMPLETION (the old behaviour, kept as a choice)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: false, releaseAt: ReleaseTiming.JOB_COMPLETION }), world: DELAYED });
  });
  afterAll(async () => h?.stop());

  test('released only once the job ended: frozen for the whole job, application-consistent', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id }], healthy: [id] });
    assertInvariants(run);
    const m = measure(run, id);
    expect(m.postSentAt).toBeGreaterThanOrEqual(m.jobEndedAt);
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'job-ended', Consistency: 'application-consistent', FrozenSeconds: m.frozenSeconds });
  });
  test('DescribeBackupJob throttled for a dozen looks: still released at the job\'s end, not before (no look-failed)', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id }],
      healthy: [id],
      faults: [{ service: 'backup', action: 'DescribeBackupJob', instanceId: id, throttle: true, times: 12 }],
    });
    assertInvariants(run);
    const m = measure(run, id);
    const refused = callsAbout(run, id, 'backup:DescribeBackupJob').filter((c) => c.error);
    expect(refused).toHaveLength(12);
    // More refusals than one look's retries: before, the loop released the application there (look-failed).
    expect(m.postSentAt).toBeGreaterThanOrEqual(m.jobEndedAt);
    expect(entryOf(run, id)).toMatchObject({ ReleaseReason: 'job-ended', Consistency: 'application-consistent', Outcome: 'SUCCEEDED' });
  });
});
