import { FALLBACK_SECONDS } from '../../../src/contract/waits';
import { assertInvariants, entryOf, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { EventDeliveryOptions } from '../../simulator/events/delivery';
import { Durations } from '../../simulator/world';

/**
 * The real bound of "the job's end seen by its chain" (its final state, then the copy, the lease, the audit entry),
 * with events delivered as AWS documents them
 * (docs/fidelity/events.md): AWS Backup's job event comes with its next 5-minute batch (the simulator lets a share
 * miss it and come with the next: up to 2 batches), and when it is lost the Task's fallback look, every
 * FALLBACK_SECONDS.backup (+ the Retry's 1 s), finds the job over. Duplicated events change nothing.
 */
/**
 * A 50-minute job: its end falls 604 s before the next fallback look (every 901 s from the job's start), so what
 * starts the instance again is the job's event, not a look that happens to come just after the end (a 60-minute job
 * ends 4 s before the 5th look).
 */
const TYPICAL: Durations = {
  scriptSeconds: 300, backupSeconds: 3000, copySeconds: 600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};
const BATCH = 300;
/** The Retry of a waiting Task waits 1 s before the fallback look (src/workflow/waiting-task.ts). */
const RETRY_INTERVAL = 1;

async function runWith(events: EventDeliveryOptions, size: number, durations: Durations = TYPICAL, lostBackupEvents = false): Promise<SimRun> {
  const h = await Harness.start({ props: fullProps({ maxConcurrency: 10 }), world: { durations, events } });
  try {
    const run = await h.run({
      instances: newInstanceIds(size).map((id) => ({ id, ...lostBackupEvents ? { faults: { lostEvents: ['backup' as const] } } : {} })),
      healthy: [],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    for (const id of run.discovered) expect(run.world.backupJobsFor(id)).toHaveLength(1);
    return run;
  } finally {
    await h.stop();
  }
}

/**
 * Seconds after its backup job ended that each chain saw the end: the first DescribeBackupJob about the instance once
 * the job was terminal (the released chain's wait for the job's end, resumed by the job's event or its fallback look).
 */
function beyond(run: SimRun): number[] {
  return run.discovered.map((id) => {
    const [job] = run.world.backupJobsFor(id);
    const seen = run.calls.find((c) => c.action === 'DescribeBackupJob' && c.instanceIds.includes(id) && c.seq > job.terminalSeq!);
    return seen!.at - job.terminalAt!;
  });
}

/** Instances whose final backup job event was lost. */
function lostFinalBackupEvent(run: SimRun, id: string): boolean {
  return run.world.lostEvents.some((e) => e.instanceId === id && e.kind === 'backup' && e.envelope.detail.state === 'COMPLETED');
}

// The suites run against the polling workflow too (PPSB_SIM_WAITS=polling): these bounds are the event-driven one's.
const eventsOnly = process.env.PPSB_SIM_WAITS === 'polling' ? describe.skip : describe;
/** The released chain's wait for its job's end (src/workflow/instance-chain.ts). */
const JOB_END_WAIT = 'Released: backup job';

eventsOnly('late, lost and duplicated events (the simulator\'s default delivery)', () => {
  test('default delivery, 10 instances: each chain saw its job\'s end within 2 batches, or one fallback interval when its event was lost', async () => {
    const run = await runWith({}, 10);
    const figures = beyond(run);
    process.stdout.write(`job end seen after (s): ${figures.join(', ')}; events lost ${run.result.stats.eventsLost}, `
      + `duplicated ${run.result.stats.eventsDuplicated}\n`);
    run.discovered.forEach((id, i) => {
      const bound = lostFinalBackupEvent(run, id) ? FALLBACK_SECONDS.backup + RETRY_INTERVAL : 2 * BATCH;
      expect({ id, beyond: figures[i] }).toEqual({ id, beyond: expect.any(Number) });
      expect(figures[i]).toBeGreaterThanOrEqual(0);
      expect(figures[i]).toBeLessThanOrEqual(bound);
    });
    // Nobody sees the end the moment the job ends: the event comes with AWS Backup's next batch, or the look 604 s later.
    expect(Math.min(...figures)).toBeGreaterThan(0);
  }, 300_000);

  test('an event that misses its batch (every one here): the end seen 5 to 10 minutes after the job ended', async () => {
    const run = await runWith({ lossRate: 0, duplicateRate: 0, lateBatchRate: 1 }, 2);
    // The wait for the job's end starts at the release (minutes into the job), so its fallback look (every 901 s from
    // then) may come before the late event: the end is seen by whichever is first, never later than the late batch.
    for (const b of beyond(run)) {
      expect(b).toBeGreaterThan(0);
      expect(b).toBeLessThanOrEqual(2 * BATCH);
    }
  }, 300_000);

  test('the job\'s events lost: the fallback look finds the job over, at most FALLBACK_SECONDS.backup + 1 s after its end', async () => {
    // A job ending 10 s after a fallback look (the 5th, 4 x 901 s after the start): the next one, 901 s later, sees it over.
    const backupSeconds = 4 * (FALLBACK_SECONDS.backup + RETRY_INTERVAL) + 10;
    const run = await runWith({ lossRate: 0, duplicateRate: 0 }, 1, { ...TYPICAL, backupSeconds }, true);
    const [b] = beyond(run);
    // Only a fallback look can see it (no event comes): at most one fallback interval after the end, never at once.
    expect(b).toBeGreaterThan(0);
    expect(b).toBeLessThanOrEqual(FALLBACK_SECONDS.backup + RETRY_INTERVAL);
    expect(run.result.stats.tokens.timedOut).toBeGreaterThanOrEqual(4);
  }, 300_000);

  test('the job\'s events lost and its fallback looks throttled over a 2-hour job: each refused look leaves the wait going on', async () => {
    // Step Functions counts a retrier's attempts over the whole waiting state (docs/fidelity/stepfunctions.md): if a
    // refused fallback look failed the invocation, each would spend one of the Task's 5 TransientError retries, and
    // the 6th would fail the chain with its job still running. Here, from the released chain's wait for the job's
    // end, 3 DescribeBackupJob calls in 4 are refused (the simulator's handlers make one attempt per call,
    // AWS_MAX_ATTEMPTS=1): the first look's 3 refusals are retried by the Task within seconds, and then 6 of the
    // 9 fallback looks, 901 s apart, are refused.
    const h = await Harness.start({
      props: fullProps({ maxConcurrency: 10 }),
      world: {
        durations: { ...TYPICAL, backupSeconds: 8 * (FALLBACK_SECONDS.backup + RETRY_INTERVAL) + 10 },
        events: { lossRate: 0, duplicateRate: 0 },
      },
      intercept: [JOB_END_WAIT],
    });
    try {
      const [id] = newInstanceIds(1);
      let injected = false;
      const run = await h.run({
        instances: [{ id, faults: { lostEvents: ['backup'] } }],
        healthy: [id],
        hooks: {
          [JOB_END_WAIT]: {
            before: (_input, world) => {
              if (injected) return;
              injected = true;
              world.injectFault({ service: 'backup', action: 'DescribeBackupJob', instanceId: id, throttle: true, nth: (n) => n % 4 !== 0 });
            },
          },
        },
      });
      assertInvariants(run);
      expect(injected).toBe(true);
      const looks = run.calls.filter((c) => c.action === 'DescribeBackupJob' && c.instanceIds.includes(id));
      const firstAnswered = looks.findIndex((c, k) => !c.error && k > 0 && looks[k - 1].error === 'ThrottlingException');
      const refusedFallbackLooks = looks.slice(firstAnswered + 1).filter((c) => c.error === 'ThrottlingException');
      expect(refusedFallbackLooks.length).toBeGreaterThanOrEqual(6);
      expect(entryOf(run, id)).toMatchObject({ Outcome: 'SUCCEEDED', BackupJobStatus: 'COMPLETED', ReleaseReason: 'point-in-time-captured' });
      expect(run.world.backupJobsFor(id)).toHaveLength(1);
    } finally {
      await h.stop();
    }
  }, 300_000);

  test('every event delivered twice: each Task answered once, the copies find it closed; one job, one script of each phase', async () => {
    const run = await runWith({ lossRate: 0, duplicateRate: 1 }, 3);
    const s = run.result.stats;
    expect(s.eventsDuplicated).toBeGreaterThan(0);
    expect(s.tokens.waiting).toBe(0);
    expect(s.eventTargetErrors).toEqual([]);
    // A copy that reached a registered wait answered a closed task: TaskTimedOut, which resume-wait takes as done.
    const stale = run.calls.filter((c) => c.action === 'SendTaskSuccess' && c.error);
    expect(stale.every((c) => c.error === 'TaskTimedOut')).toBe(true);
    for (const id of run.discovered) {
      expect(run.world.commandsFor(id).map((c) => c.phase)).toEqual(['pre', 'post']);
      expect(run.calls.filter((c) => c.action === 'StartInstances' && c.instanceIds.includes(id) && !c.error)).toHaveLength(1);
    }
  }, 300_000);
});
