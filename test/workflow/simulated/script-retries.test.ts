import { BackupScript, PreScriptFailurePolicy, ReleaseTiming } from '../../../src';
import { assertInvariants, callsAbout, commandPhase, entryOf, Harness, newInstanceIds, SimRun } from '../../helpers/harness';
import { fixture, fullProps } from '../../helpers/stacks';

/**
 * Issue 15: retries per script with Data Lifecycle Manager's semantics (a failed pre-script repeats the whole attempt,
 * a failed post-script only itself; only a script that ran and failed or timed out is tried again), and the
 * pre-script failure policy (skip the backup, or back up crash-consistent after the post-script). The SSM stand-in
 * fails the Nth command of a phase on an instance (`preAttempts` / `postAttempts`, test/simulator/README.md).
 */

/** The commands of one phase this run sent to the instance, in order. */
function commandsOf(run: SimRun, id: string, phase: 'pre' | 'post') {
  return run.world.commandsFor(id).filter((c) => c.phase === phase && c.comment.includes(`:${run.result.executionName}:`));
}

/** The sequence number of the first successful call of `serviceAction` about the instance (post: the post-script's SendCommand). */
function firstSeq(run: SimRun, id: string, serviceAction: string, phase?: 'pre' | 'post'): number | undefined {
  return callsAbout(run, id, serviceAction).find((c) => !c.error && (!phase || commandPhase(c) === phase))?.seq;
}

const withRetries = (retries: number) => ({
  preScript: BackupScript.fromAsset(fixture('freeze.sh'), { retries }),
  postScript: BackupScript.fromAsset(fixture('thaw.sh'), { retries }),
});

describe('script retries (one retry each; default policy: skip the backup)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps({ stopInstances: true, ...withRetries(1) }) });
  });
  afterAll(async () => h?.stop());

  test('a pre-script failing once with one retry succeeds: one backup, two attempts, the failed one noted', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { preAttempts: ['Failed'] } }], healthy: [id] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    const pre = commandsOf(run, id, 'pre');
    expect(pre.map((c) => c.status)).toEqual(['Failed', 'Success']);
    // Each attempt is its own command, marked with its attempt number.
    expect(pre[1].comment).toMatch(/:pre:2$/);
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    expect(run.world.backupJobsFor(id).filter((j) => run.newJobIds.includes(j.backupJobId))).toHaveLength(1);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Success',
      PreBackupScriptAttempts: 2,
      PreBackupScriptCommandId: pre[1].commandId,
      PostBackupScriptAttempts: 1,
      BackupJobStatus: 'COMPLETED',
      StopEc2InstanceStatus: 'Success',
      StartEc2InstanceStatus: 'Success',
      Outcome: 'SUCCEEDED',
      FailureMessage: '',
    });
    expect(entry.Notes).toContain(`pre-backup script attempts 2, tried again after attempt 1: command ${pre[0].commandId} Failed (Failed, exit 1)`);
    // The lead's Consistency field (computed from the steps): the pre-script's last attempt succeeded.
    if (entry.Consistency !== undefined) expect(entry.Consistency).toBe('application-consistent');
    // The retry came before any stop: the whole attempt again, then the stop.
    expect(firstSeq(run, id, 'ec2:StopInstances')!).toBeGreaterThan(callsAbout(run, id, 'ssm:SendCommand').filter((c) => commandPhase(c) === 'pre').pop()!.seq);
  });

  test('a pre-script that ran past its timeout is tried again too', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { preAttempts: ['TimedOut'] } }], healthy: [id] });
    assertInvariants(run);
    expect(commandsOf(run, id, 'pre').map((c) => c.statusDetails)).toEqual(['ExecutionTimedOut', 'Success']);
    expect(entryOf(run, id)).toMatchObject({ PreBackupScriptAttempts: 2, Outcome: 'SUCCEEDED' });
  });

  test('a pre-script failing every attempt: retries spent, no stop, no backup, the post-script runs once', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { pre: 'Failed' } }], healthy: [] });
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(commandsOf(run, id, 'pre')).toHaveLength(2);
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    expect(callsAbout(run, id, 'ec2:StopInstances')).toHaveLength(0);
    expect(callsAbout(run, id, 'backup:StartBackupJob')).toHaveLength(0);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      PreBackupScriptAttempts: 2,
      StopEc2InstanceStatus: 'NotRun: earlier step failed',
      BackupJobStatus: 'NotRun: earlier step failed',
      PostBackupScriptStatus: 'Success',
      PostBackupScriptAttempts: 1,
      Outcome: 'FAILED',
    });
    expect(entry.FailureMessage).toMatch(/^pre-backup script Failed \(exit 1\)/);
    if (entry.Consistency !== undefined) expect(entry.Consistency).toBe('none');
  });

  test('a command that did not run to a failure (Cancelled) is not tried again', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { preAttempts: ['Cancelled'] } }], healthy: [] });
    assertInvariants(run);
    expect(commandsOf(run, id, 'pre').map((c) => c.status)).toEqual(['Cancelled']);
    expect(entryOf(run, id)).toMatchObject({ PreBackupScriptStatus: 'Cancelled', PreBackupScriptAttempts: 1, Outcome: 'FAILED' });
  });

  test('a post-script failing once with one retry: only the post-script again, the instance succeeds', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { postAttempts: ['Failed'] } }], healthy: [id] });
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(commandsOf(run, id, 'pre')).toHaveLength(1);
    const post = commandsOf(run, id, 'post');
    expect(post.map((c) => c.status)).toEqual(['Failed', 'Success']);
    expect(callsAbout(run, id, 'backup:StartBackupJob')).toHaveLength(1);
    expect(callsAbout(run, id, 'ec2:StartInstances').filter((c) => !c.error)).toHaveLength(1);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptAttempts: 1,
      PostBackupScriptStatus: 'Success',
      PostBackupScriptAttempts: 2,
      PostBackupScriptCommandId: post[1].commandId,
      Outcome: 'SUCCEEDED',
    });
    expect(entry.Notes).toContain(`post-backup script attempts 2, tried again after attempt 1: command ${post[0].commandId} Failed`);
  });

  test('the execution input may lower the retries: Retries 0 tries once', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id, faults: { preAttempts: ['Failed'] } }],
      input: { RemoteRunCommandDetails: { PreBackupScriptDetails: { Retries: 0 } } },
      healthy: [],
    });
    assertInvariants(run);
    expect(commandsOf(run, id, 'pre')).toHaveLength(1);
    expect(entryOf(run, id)).toMatchObject({ PreBackupScriptAttempts: 1, BackupJobStatus: 'NotRun: earlier step failed', Outcome: 'FAILED' });
  });
});

describe('pre-script failure policy BACKUP_CRASH_CONSISTENT', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({ stopInstances: true, onPreScriptFailure: PreScriptFailurePolicy.BACKUP_CRASH_CONSISTENT, ...withRetries(1) }),
    });
  });
  afterAll(async () => h?.stop());

  test('a pre-script failing every attempt: the post-script runs first, then stop, backup and start; audit truthful', async () => {
    const [id, ok] = newInstanceIds(2);
    const run = await h.run({ instances: [{ id, faults: { pre: 'Failed' } }, { id: ok }], healthy: [ok] });
    assertInvariants(run);
    // The pre-script failed: the instance fails (alarms fire), but it has its crash-consistent backup.
    expect(run.result.status).toBe('FAILED');
    expect(commandsOf(run, id, 'pre')).toHaveLength(2);
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    const postSent = firstSeq(run, id, 'ssm:SendCommand', 'post')!;
    expect(firstSeq(run, id, 'ec2:StopInstances')!).toBeGreaterThan(postSent);
    expect(firstSeq(run, id, 'backup:StartBackupJob')!).toBeGreaterThan(postSent);
    expect(run.world.instances.get(id)!.state).toBe('running');
    // After the start, the post-script that already ran is not gone through again (no agent check, no look at SSM).
    const startedAgain = firstSeq(run, id, 'ec2:StartInstances')!;
    expect(callsAbout(run, id).filter((c) => c.service === 'ssm' && c.seq > startedAgain).map((c) => c.action)).toEqual([]);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      PreBackupScriptAttempts: 2,
      StopEc2InstanceStatus: 'Success',
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: 'Success',
      PostBackupScriptStatus: 'Success',
      PostBackupScriptAttempts: 1,
      Outcome: 'FAILED',
    });
    expect(entry.RecoveryPointArn).toMatch(/^arn:aws:/);
    expect(entry.FailureMessage).toMatch(/^pre-backup script Failed \(exit 1\)/);
    expect(entry.Notes).toContain('backed up crash-consistent: the pre-backup script failed');
    // The lead's rule gives crash-consistent when the pre-script failed and the instance was not stopped; stopped, the
    // backup of a stopped instance is consistent by itself.
    if (entry.Consistency !== undefined) expect(entry.Consistency).toBe('application-consistent');
    expect(entryOf(run, ok)).toMatchObject({ Outcome: 'SUCCEEDED', PreBackupScriptAttempts: 1 });
  });

  test('without the stop: post-script, then the backup; the instance never stopped', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { pre: 'Failed' } }], input: { StartStopEC2Required: false }, healthy: [] });
    assertInvariants(run);
    expect(callsAbout(run, id, 'ec2:StopInstances')).toHaveLength(0);
    expect(firstSeq(run, id, 'backup:StartBackupJob')!).toBeGreaterThan(firstSeq(run, id, 'ssm:SendCommand', 'post')!);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed', StopEc2InstanceStatus: 'skipped', BackupJobStatus: 'COMPLETED', PostBackupScriptStatus: 'Success', Outcome: 'FAILED',
    });
    if (entry.Consistency !== undefined) expect(entry.Consistency).toBe('crash-consistent');
  });

  test('a pre-script failing once with one retry is not a crash-consistent backup', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { preAttempts: ['Failed'] } }], healthy: [id] });
    assertInvariants(run);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Success', PreBackupScriptAttempts: 2, Outcome: 'SUCCEEDED', FailureMessage: '' });
    expect(entry.Notes).not.toContain('crash-consistent');
    // The post-script ran once, after the start.
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    expect(firstSeq(run, id, 'ssm:SendCommand', 'post')!).toBeGreaterThan(firstSeq(run, id, 'ec2:StartInstances')!);
  });
});

describe('a retry that cannot be sent', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({ stopInstances: true, ...withRetries(1) }),
      intercept: ['Pre-backup script: check SSM agent', 'Post-backup script: check SSM agent'],
    });
  });
  afterAll(async () => h?.stop());

  test('the agent goes offline before the second pre-script attempt: the first attempt ran, so the post-script still runs', async () => {
    const [id] = newInstanceIds(1);
    let preChecks = 0;
    const run = await h.run({
      instances: [{ id, faults: { preAttempts: ['Failed'] } }],
      healthy: [],
      hooks: {
        'Pre-backup script: check SSM agent': {
          before: (_input, world) => {
            // The second attempt's agent check finds the agent gone (and it stays gone for the bounded re-checks).
            if (++preChecks === 2) world.instances.get(id)!.agent = 'ConnectionLost';
          },
        },
        'Post-backup script: check SSM agent': { before: (_input, world) => { world.instances.get(id)!.agent = 'Online'; } },
      },
    });
    assertInvariants(run);
    expect(preChecks).toBe(2);
    expect(commandsOf(run, id, 'pre')).toHaveLength(1);
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    expect(callsAbout(run, id, 'backup:StartBackupJob')).toHaveLength(0);
    const entry = entryOf(run, id)!;
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      PreBackupScriptAttempts: 2,
      PreBackupScriptCommandId: commandsOf(run, id, 'pre')[0].commandId,
      PostBackupScriptStatus: 'Success',
      Outcome: 'FAILED',
    });
    expect(entry.FailureMessage).toMatch(/SSM agent not online \(PingStatus ConnectionLost\).*pre-backup script Failed \(exit 1\)/);
  });
});

describe('BACKUP_CRASH_CONSISTENT with releaseAt POINT_IN_TIME', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps({
        stopInstances: false, releaseAt: ReleaseTiming.POINT_IN_TIME, onPreScriptFailure: PreScriptFailurePolicy.BACKUP_CRASH_CONSISTENT,
      }),
    });
  });
  afterAll(async () => h?.stop());

  test('the post-script runs once, before the backup; the release after the job\'s start runs no second post-script', async () => {
    const [id] = newInstanceIds(1);
    const run = await h.run({ instances: [{ id, faults: { pre: 'Failed' } }], healthy: [] });
    assertInvariants(run);
    expect(commandsOf(run, id, 'post')).toHaveLength(1);
    expect(firstSeq(run, id, 'backup:StartBackupJob')!).toBeGreaterThan(firstSeq(run, id, 'ssm:SendCommand', 'post')!);
    expect(entryOf(run, id)).toMatchObject({
      PreBackupScriptStatus: 'Failed', PreBackupScriptAttempts: 1, BackupJobStatus: 'COMPLETED', PostBackupScriptStatus: 'Success', Outcome: 'FAILED',
    });
  });
});
