import { App, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import { assertInvariants, callsAbout, entryOf, FAST_WORLD, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { Durations } from '../../simulator/world';

/**
 * One backup job and one copy job per instance and execution, whatever happens (issue 12, defect 2; docs/fidelity/backup.md):
 * - jobs that run for hours while every event is lost: each waiting Task times out and looks again many times, and
 *   every look only describes (the stand-in's idempotency token expires after an hour and a second job of a running
 *   resource ends EXPIRED, so a look that started again would show);
 * - StartBackupJob / StartCopyJob whose answer is lost after the job was started: the job is recovered from the
 *   job list (or, while the list does not show it yet, the start is repeated with the same token within its hour).
 */
const DR_VAULT = 'arn:aws:backup:us-west-2:123456789012:backup-vault:dr-vault';

const LONG: Durations = {
  scriptSeconds: 120, backupSeconds: 5 * 3600, copySeconds: 3 * 3600, stopSeconds: 60, startSeconds: 60, agentReconnectSeconds: 30,
};

function withCopyVault() {
  const other = new Stack(new App(), 'Other');
  return fullProps({ copyToVault: backup.BackupVault.fromBackupVaultArn(other, 'Dr', DR_VAULT) });
}

const count = (run: SimRun, id: string, action: string) => callsAbout(run, id, action).length;

/** Every call about the instance of this action comes before the first call of `later`. */
function allBefore(run: SimRun, id: string, action: string, later: string): boolean {
  const first = callsAbout(run, id, later)[0]?.seq ?? Infinity;
  return callsAbout(run, id, action).every((c) => c.seq < first);
}

describe('jobs of several hours, every event lost (time mode)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: withCopyVault(), world: { ...FAST_WORLD, durations: LONG } });
  });
  afterAll(async () => h?.stop());

  test('many fallback looks, one StartBackupJob and one StartCopyJob per instance; the audit names that job', async () => {
    const ids = newInstanceIds(2);
    const run = await h.run({ instances: ids.map((id) => ({ id, faults: { lostEvents: true } })), healthy: ids });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    for (const id of ids) {
      // The job lasted 5 hours, the copy 3: each look after a 15-minute (30-minute) Task timeout described them.
      expect(count(run, id, 'backup:DescribeBackupJob')).toBeGreaterThanOrEqual(5 * 3600 / 900);
      expect(count(run, id, 'backup:DescribeCopyJob')).toBeGreaterThanOrEqual(3 * 3600 / 1800);
      expect(count(run, id, 'backup:StartBackupJob')).toBe(1);
      expect(count(run, id, 'backup:StartCopyJob')).toBe(1);
      const jobs = run.world.backupJobsFor(id);
      const copies = run.world.copyJobsFor(id);
      expect(jobs.map((j) => j.state)).toEqual(['COMPLETED']);
      expect(copies.map((c) => c.state)).toEqual(['COMPLETED']);
      expect(entryOf(run, id)).toMatchObject({
        BackupJobStatus: 'COMPLETED',
        BackupJobId: jobs[0].backupJobId,
        RecoveryPointArn: jobs[0].recoveryPointArn,
        CopyJobStatus: 'COMPLETED',
        CopyJobId: copies[0].copyJobId,
        Outcome: 'SUCCEEDED',
      });
    }
  }, 300_000);

  test('StartBackupJob\'s answer lost and the job not listed yet: the retry repeats the start with the same token, one job', async () => {
    const [lost, other] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: lost, faults: { startBackupAnswerLost: 3 } }, { id: other }],
      healthy: [lost, other],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const jobs = run.world.backupJobsFor(lost);
    expect(jobs).toHaveLength(1);
    // The retry looked in the job list (which shows a job only 5 minutes after its start here) before starting again.
    expect(count(run, lost, 'backup:ListBackupJobs')).toBeGreaterThanOrEqual(1);
    const tokens = new Set(callsAbout(run, lost, 'backup:StartBackupJob').map((c) => (c.params as any).IdempotencyToken));
    expect(tokens.size).toBe(1);
    expect(entryOf(run, lost)).toMatchObject({ BackupJobStatus: 'COMPLETED', BackupJobId: jobs[0].backupJobId, Outcome: 'SUCCEEDED' });
  }, 300_000);
});

describe('a start whose answer is lost (the job list shows new jobs at once)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: withCopyVault(), world: { ...FAST_WORLD, listLagSeconds: 0 } });
  });
  afterAll(async () => h?.stop());

  test('StartBackupJob started the job but every answer was lost: the retry recovers it from ListBackupJobs, never starts again', async () => {
    const [lost, other] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: lost, faults: { startBackupAnswerLost: 3 } }, { id: other }],
      healthy: [lost, other],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.stats.retries).toBeGreaterThanOrEqual(1);
    const jobs = run.world.backupJobsFor(lost);
    expect(jobs).toHaveLength(1);
    expect(count(run, lost, 'backup:ListBackupJobs')).toBeGreaterThanOrEqual(1);
    expect(allBefore(run, lost, 'backup:StartBackupJob', 'backup:ListBackupJobs')).toBe(true);
    expect(entryOf(run, lost)).toMatchObject({ BackupJobStatus: 'COMPLETED', BackupJobId: jobs[0].backupJobId, Outcome: 'SUCCEEDED' });
    expect(count(run, other, 'backup:ListBackupJobs')).toBe(0);
  }, 300_000);

  test('StartCopyJob started the copy but every answer was lost: the retry recovers it from ListCopyJobs, never starts again', async () => {
    const [lost, other] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: lost, faults: { startCopyAnswerLost: 3 } }, { id: other }],
      healthy: [lost, other],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const copies = run.world.copyJobsFor(lost);
    expect(copies).toHaveLength(1);
    expect(count(run, lost, 'backup:ListCopyJobs')).toBeGreaterThanOrEqual(1);
    expect(allBefore(run, lost, 'backup:StartCopyJob', 'backup:ListCopyJobs')).toBe(true);
    expect(entryOf(run, lost)).toMatchObject({ CopyJobStatus: 'COMPLETED', CopyJobId: copies[0].copyJobId, Outcome: 'SUCCEEDED' });
  }, 300_000);
});
