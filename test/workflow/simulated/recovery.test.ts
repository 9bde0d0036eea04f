import { App, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import { assertInvariants, callsAbout, commandPhase, entryOf, Harness, newInstanceIds, startingState, timeline } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * A chain that dies where no Catch sees it (States.Runtime, as AWS reports a runtime error or a Lambda killed outside a
 * Catch), at each step, while the other instances of the page are worked on: the Map Run does not fail (every failure is
 * tolerated), the others are unaffected, and the run recovers the instance: started again when this run stopped it, its
 * post-script run when its pre-script was sent, its entry truthful (the chain died, with its error, and what recovery
 * did). The run fails (BackupRunFailed) after the cleanup and the audit write.
 */
const polling = process.env.PPSB_SIM_WAITS === 'polling';
const STEPS: Array<[string, string]> = [
  ['lease', 'Instance: acquire lease'],
  ['pre-script', startingState('pre')],
  ['stop', 'Stop instance'],
  ['backup', startingState('backup')],
  ['start', 'Released: Start instance'],
  ['post-script', startingState('post')],
  ['copy', polling ? 'Copy: start job' : 'Copy job'],
  ['audit entry', 'Instance: write audit entry'],
];

/** What the killed instance received from the chain and the recovery, in order, per step it died at. */
const EXPECTED: Record<string, { timeline: string[]; recovery: RegExp }> = {
  'lease': { timeline: [], recovery: /found nothing left to undo/ },
  'pre-script': { timeline: [], recovery: /found nothing left to undo/ },
  'stop': { timeline: ['pre', 'post'], recovery: /ran the post-backup script \(Success\)/ },
  'backup': { timeline: ['pre', 'stop', 'start', 'post'], recovery: /started the instance again \(Success\) and ran the post-backup script \(Success\)/ },
  'start': { timeline: ['pre', 'stop', 'backup', 'start', 'post'], recovery: /started the instance again \(Success\) and ran the post-backup script \(Success\)/ },
  'post-script': { timeline: ['pre', 'stop', 'backup', 'start', 'post'], recovery: /recovery ran the post-backup script \(Success\)/ },
  'copy': { timeline: ['pre', 'stop', 'backup', 'start', 'post'], recovery: /found nothing left to undo/ },
  'audit entry': { timeline: ['pre', 'stop', 'backup', 'start', 'post'], recovery: /found nothing left to undo/ },
};

describe('a chain killed uncaught at each step, with the other instances running', () => {
  let h: Harness;
  beforeAll(async () => {
    const other = new Stack(new App(), 'Other');
    h = await Harness.start({
      props: fullProps({ copyToVault: backup.BackupVault.fromBackupVaultArn(other, 'Dr', 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr') }),
    });
  }, 120_000);
  afterAll(async () => h?.stop());

  test.each(STEPS)('killed at %s (%s)', async (step, stateName) => {
    const [ok1, victim, ok2] = newInstanceIds(3);
    const run = await h.run({
      instances: [{ id: ok1 }, { id: victim }, { id: ok2 }],
      kills: [{ stateName, instanceId: victim }],
      healthy: [ok1, ok2],
    });
    assertInvariants(run);

    // The chain did die, and its Map Run did not fail: the others were not stopped.
    const map = run.result.mapRuns!.find((m) => m.stateName === 'For each instance')!;
    expect(map.status).toBe('SUCCEEDED');
    expect(map.children.map((c) => [c.instanceId, c.status]).sort()).toEqual([[ok1, 'SUCCEEDED'], [ok2, 'SUCCEEDED'], [victim, 'FAILED']].sort());
    const recovery = run.result.mapRuns!.find((m) => m.stateName === 'For each instance whose chain died')!;
    expect(recovery.children.map((c) => [c.instanceId, c.status])).toEqual([[victim, 'SUCCEEDED']]);

    // Every instance is running, the killed one after what it needed; the others are unaffected.
    expect(run.world.instanceStates()).toEqual({ [ok1]: 'running', [victim]: 'running', [ok2]: 'running' });
    for (const id of [ok1, ok2]) {
      expect(timeline(run, id)).toEqual(['pre', 'stop', 'backup', 'start', 'post']);
      expect(entryOf(run, id)).toMatchObject({ Outcome: 'SUCCEEDED', FailureMessage: '' });
    }
    expect(timeline(run, victim)).toEqual(EXPECTED[step].timeline);
    // At most one script of each phase, one backup job.
    for (const phase of ['pre', 'post']) {
      expect(callsAbout(run, victim, 'ssm:SendCommand').filter((c) => !c.error && commandPhase(c) === phase).length).toBeLessThanOrEqual(1);
    }
    expect(run.newJobIds.filter((j) => run.world.backupJobs.get(j)!.resourceArn.endsWith(victim)).length).toBeLessThanOrEqual(1);

    // The entry: the chain died, with its error, and what the recovery did; the run failed after writing it.
    const entry = entryOf(run, victim)!;
    expect(entry.Outcome).toBe('FAILED');
    expect(entry.FailureMessage).toMatch(new RegExp(`^the instance's chain died \\(States.Runtime: .*'${stateName}'`));
    expect(entry.FailureMessage).toMatch(EXPECTED[step].recovery);
    expect(run.result.status).toBe('FAILED');
    expect(run.result.error).toBe('BackupRunFailed');
    expect(run.auditItem).toMatchObject({ Run_Status: 'FAILED', InstanceCount: 3, FailedCount: 1, SucceededCount: 2 });
  }, 180_000);
});
