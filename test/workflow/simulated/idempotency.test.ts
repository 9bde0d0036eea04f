import { assertInvariants, callsAbout, commandPhase, entryOf, Harness, newInstanceIds, startingState, TaskHook } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * Idempotency: two executions each start one backup job and one command per phase per instance; within one
 * execution, a call that reached the service but whose answer was lost (Step Functions retries the Lambda) does
 * not start a second job (the job id in the instance journal: the retry only looks) or send a second command.
 */
const lostAnswer = (instanceId: string): TaskHook => {
  let lost = false;
  return {
    after: (input: any) => {
      if (input.instanceId !== instanceId || lost) return;
      lost = true;
      throw Object.assign(new Error('socket hang up after the request was sent'), { name: 'TransientError' });
    },
  };
};

describe('idempotency', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps(),
      intercept: [startingState('backup'), startingState('pre'), startingState('post')],
    });
  });
  afterAll(async () => h?.stop());

  test('the same input twice: each execution starts one backup job and sends one command per phase per instance', async () => {
    const ids = newInstanceIds(3);
    const input = { StartStopEC2Required: true };
    const first = await h.run({ instances: ids.map((id) => ({ id })), input });
    const second = await h.run({ instances: [], input, keepWorld: true });
    for (const run of [first, second]) {
      assertInvariants(run);
      expect(run.result.status).toBe('SUCCEEDED');
      expect(run.newJobIds).toHaveLength(3);
    }
    for (const id of ids) {
      const jobs = h.sim.world.backupJobsFor(id);
      expect(jobs).toHaveLength(2);
      expect(jobs[0].idempotencyToken).not.toEqual(jobs[1].idempotencyToken);
      expect([entryOf(first, id)!.BackupJobId, entryOf(second, id)!.BackupJobId].sort()).toEqual(jobs.map((j) => j.backupJobId).sort());
      const commands = h.sim.world.commandsFor(id);
      expect(commands.map((c) => c.phase)).toEqual(['pre', 'post', 'pre', 'post']);
      expect(new Set(commands.map((c) => c.comment)).size).toBe(4);
    }
  });

  test('StartBackupJob reached AWS Backup, its answer was lost, the retry starts no second job', async () => {
    const [a, faulty, c] = newInstanceIds(3);
    const run = await h.run({
      instances: [{ id: a }, { id: faulty }, { id: c }],
      hooks: { [startingState('backup')]: lostAnswer(faulty) },
      healthy: [a, faulty, c],
    });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.stats.retries).toBeGreaterThanOrEqual(1);
    // The retry finds the job id in the instance journal: it only looks, it does not call StartBackupJob again.
    expect(callsAbout(run, faulty, 'backup:StartBackupJob').filter((x) => !x.error)).toHaveLength(1);
    const jobs = run.world.backupJobsFor(faulty);
    expect(jobs).toHaveLength(1);
    expect(entryOf(run, faulty)).toMatchObject({ BackupJobId: jobs[0].backupJobId, BackupJobStatus: 'COMPLETED', Outcome: 'SUCCEEDED' });
  });

  test('StartBackupJob throttled before it reached AWS Backup: the retry starts exactly one job', async () => {
    const [faulty] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id: faulty }], faults: [{ service: 'backup', action: 'StartBackupJob', throttle: true, times: 2, instanceId: faulty }], healthy: [faulty] });
    assertInvariants(run);
    expect(callsAbout(run, faulty, 'backup:StartBackupJob').map((x) => x.error ?? 'ok')).toEqual(['ThrottlingException', 'ThrottlingException', 'ok']);
    expect(run.world.backupJobsFor(faulty)).toHaveLength(1);
  });

  test.each(['pre', 'post'] as const)('SendCommand (%s) reached SSM, its answer was lost, the retry sends no second command', async (phase) => {
    const [a, faulty] = newInstanceIds(2);
    const state = startingState(phase);
    const run = await h.run({ instances: [{ id: a }, { id: faulty }], hooks: { [state]: lostAnswer(faulty) }, healthy: [a, faulty] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.result.stats.retries).toBeGreaterThanOrEqual(1);
    // The retry looked the command up instead of sending it again.
    expect(callsAbout(run, faulty, 'ssm:ListCommandInvocations').length).toBeGreaterThanOrEqual(3);
    const sends = callsAbout(run, faulty, 'ssm:SendCommand').filter((x) => commandPhase(x) === phase);
    expect(sends).toHaveLength(1);
    expect(run.world.commandsFor(faulty).filter((i) => i.phase === phase)).toHaveLength(1);
    const entry = entryOf(run, faulty)!;
    const field = phase === 'pre' ? 'PreBackupScriptCommandId' : 'PostBackupScriptCommandId';
    expect(entry[field]).toBe(run.world.commandsFor(faulty).find((i) => i.phase === phase)!.commandId);
    expect(entry.Outcome).toBe('SUCCEEDED');
  });

  test('SendCommand throttled before it reached SSM: the retry sends exactly one command', async () => {
    const [faulty] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id: faulty }], faults: [{ service: 'ssm', action: 'SendCommand', throttle: true, times: 2, instanceId: faulty }], healthy: [faulty] });
    assertInvariants(run);
    expect(run.world.commandsFor(faulty).map((i) => i.phase)).toEqual(['pre', 'post']);
  });
});
