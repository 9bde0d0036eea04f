import { type InstanceSteps } from '../../src/contract/instance';
import { type BackupJobResult, type CheckAgentResult, type InstancePowerResult, type PollState, type ScriptStatusResult } from '../../src/contract/messages';
import { causeMessage, toAuditEntry } from '../../src/lambda-shared/audit-entry';
import { backupOnlyConfig, backupSteps, instance, runConfig } from '../helpers/handler-fixtures';

const poll: PollState = { attempt: 3, elapsedSeconds: 40, nextWaitSeconds: 20, maxSeconds: 900, expired: false };
const online: CheckAgentResult = { online: true, pingStatus: 'Online', done: true, poll };
const offline: CheckAgentResult = { online: false, pingStatus: 'ConnectionLost', done: true, poll: { ...poll, expired: true } };

function script(commandId: string, overrides: Partial<ScriptStatusResult> = {}): ScriptStatusResult {
  return {
    commandId,
    instanceId: 'i-0123456789abcdef0',
    status: 'Success',
    statusDetails: 'Success',
    responseCode: 0,
    timeoutSeconds: 600,
    outputLocation: '',
    outputExcerpt: '',
    done: true,
    poll,
    ...overrides,
  };
}
function power(status: InstancePowerResult['status'], state: string, message = ''): InstancePowerResult {
  return { instanceId: 'i-0123456789abcdef0', state, status, message, done: status !== 'InProgress', poll };
}
function backup(state: string, overrides: Partial<BackupJobResult> = {}): BackupJobResult {
  return {
    backupJobId: 'job-1',
    state,
    statusMessage: '',
    percentDone: '100',
    recoveryPointArn: state === 'COMPLETED' ? 'arn:aws:ec2:eu-west-1::image/ami-1' : '',
    done: true,
    poll,
    ...overrides,
  };
}

const stopConfig = runConfig({ stopInstances: true });
const allGood: InstanceSteps = {
  agent: online,
  pre: script('cmd-pre'),
  stop: { ...power('Success', 'stopped'), observedAt: '2026-11-22T02:01:00.000Z' },
  backup: backup('COMPLETED'),
  start: { ...power('Success', 'running'), observedAt: '2026-11-22T03:08:30.400Z' },
  agentAfterStart: online,
  post: script('cmd-post'),
};

describe('toAuditEntry', () => {
  test('every step succeeded', () => {
    expect(toAuditEntry(instance(), stopConfig, allGood)).toEqual({
      InstanceId: 'i-0123456789abcdef0',
      InstanceStateAtStart: 'running',
      Platform: 'Linux',
      PreBackupScriptStatus: 'Success',
      StopEc2InstanceStatus: 'Success',
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: 'Success',
      PostBackupScriptStatus: 'Success',
      FailureMessage: '',
      BackupJobId: 'job-1',
      RecoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1',
      PreBackupScriptCommandId: 'cmd-pre',
      PostBackupScriptCommandId: 'cmd-post',
      CopyJobStatus: 'skipped',
      CopyJobId: '',
      CopyRecoveryPointArn: '',
      StoppedSeconds: 4050,
      Outcome: 'SUCCEEDED',
      Notes: '',
      PreBackupScriptOutput: '',
      PostBackupScriptOutput: '',
      SafetyThawFired: '',
      PreBackupScriptAttempts: 1,
      PostBackupScriptAttempts: 1,
      // Issue 14: no release loop and no check at the job's end in these steps: said so, never blank.
      FrozenSeconds: 0,
      ReleasedAt: '',
      ReleaseReason: '',
      Consistency: 'crash-consistent',
      ConsistencyReason: 'not verified: counted crash-consistent',
    });
  });

  test('issue 14: the release fields from the release loop, the pre-script\'s end and the post-script\'s request (SSM\'s clock), the check', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      pre: script('cmd-pre', { endedAt: '2026-12-03T02:05:00.000Z' }),
      post: script('cmd-post', { requestedAt: '2026-12-03T02:06:15.400Z' }),
      release: {
        state: 'captured',
        reason: '',
        backupJobId: 'job-1',
        volumeIds: ['vol-1'],
        jobState: 'RUNNING',
        recoveryPointArn: 'arn:aws:ec2:eu-west-1::image/ami-1',
        snapshotIds: ['snap-1'],
        capturedAt: '2026-12-03T02:05:40.000Z',
        observedAt: '2026-12-03T02:05:50.000Z',
        mode: 'point-in-time',
        lookSeconds: 10,
        waitedSeconds: 40,
        looks: 4,
        fallbackReason: '',
        releaseReason: 'point-in-time-captured',
      },
      consistency: { consistency: 'application-consistent', reason: 'every volume\'s snapshot started while the application was frozen' },
    });
    expect(entry).toMatchObject({
      FrozenSeconds: 75,
      ReleasedAt: '2026-12-03T02:05:50.000Z',
      ReleaseReason: 'point-in-time-captured',
      Consistency: 'application-consistent',
    });
    // A backup that did not complete has none; a stopped job after a spent budget fails the instance.
    const stopped = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      backup: { ...(allGood.backup as any), state: 'ABORTED' },
      budgetStop: { backupJobId: 'job-1', outcome: 'stop-requested', message: 'freeze budget spent: StopBackupJob accepted' },
    });
    expect(stopped.Consistency).toBe('none');
    expect(stopped.Outcome).toBe('FAILED');
    expect(stopped.FailureMessage).toContain('freeze budget spent: backup job job-1 stopped');
  });

  test('SafetyThawFired is what the post-script reported, and empty when it did not report (issue 15)', () => {
    expect(toAuditEntry(instance(), stopConfig, { ...allGood, post: script('cmd-post', { safetyThawFired: false }) }).SafetyThawFired).toBe(false);
    const fired = toAuditEntry(instance(), stopConfig, { ...allGood, post: script('cmd-post', { safetyThawFired: true }) });
    expect(fired.SafetyThawFired).toBe(true);
    // A safety thaw that fired is not a failure of the instance: the post-script says how it ended.
    expect(fired.Outcome).toBe('SUCCEEDED');
    // Only the post-script's report counts.
    expect(toAuditEntry(instance(), stopConfig, { ...allGood, pre: script('cmd-pre', { safetyThawFired: true }) }).SafetyThawFired).toBe('');
    expect(toAuditEntry(instance(), stopConfig, { ...allGood, post: { status: 'skipped' } }).SafetyThawFired).toBe('');
  });

  test('StoppedSeconds is the time from seen stopped to seen running, only when this run did both', () => {
    expect(toAuditEntry(instance(), stopConfig, { ...allGood, start: power('Failed', 'stopped', 'never started') }).StoppedSeconds).toBe(0);
    expect(toAuditEntry(instance(), runConfig(), { ...allGood, stop: { status: 'skipped' }, start: { status: 'skipped' } }).StoppedSeconds).toBe(0);
    expect(toAuditEntry(instance(), stopConfig, { ...allGood, stop: power('Success', 'stopped') }).StoppedSeconds).toBe(0);
  });

  describe('the copy to another vault', () => {
    const copyConfig = runConfig({ ...stopConfig, backup: { ...stopConfig.backup, copyVaultArn: 'arn:aws:backup:us-west-2:111122223333:backup-vault:dr' } });
    const copy = (state: string, statusMessage = '') => ({
      copyJobId: 'copy-1',
      state,
      statusMessage,
      destinationRecoveryPointArn: state === 'COMPLETED' ? 'arn:aws:ec2:us-west-2::image/ami-9' : '',
      done: true,
      poll: (allGood.backup as BackupJobResult).poll,
    });

    test('a completed copy: the instance succeeded, with the copy\'s ids', () => {
      expect(toAuditEntry(instance(), copyConfig, { ...allGood, copy: copy('COMPLETED') })).toMatchObject({
        CopyJobStatus: 'COMPLETED',
        CopyJobId: 'copy-1',
        CopyRecoveryPointArn: 'arn:aws:ec2:us-west-2::image/ami-9',
        Outcome: 'SUCCEEDED',
        FailureMessage: '',
      });
    });

    test.each(['FAILED', 'PARTIAL', 'RUNNING'])('a copy that ended %s fails the instance, saying why', state => {
      const entry = toAuditEntry(instance(), copyConfig, { ...allGood, copy: copy(state, state === 'RUNNING' ? '' : 'access denied to the destination vault') });
      expect(entry).toMatchObject({ CopyJobStatus: state, Outcome: 'FAILED' });
      expect(entry.FailureMessage).toBe(state === 'RUNNING'
        ? 'copy job RUNNING: no final state (last state RUNNING)'
        : `copy job ${state}: access denied to the destination vault`);
    });

    test('a copy that could not start is Failed with the error', () => {
      const entry = toAuditEntry(instance(), copyConfig, { ...allGood, errors: { copy: { Error: 'AccessDeniedException', Cause: 'not allowed' } } });
      expect(entry).toMatchObject({ CopyJobStatus: 'Failed', Outcome: 'FAILED' });
      expect(entry.FailureMessage).toBe('copy job Failed: AccessDeniedException: not allowed');
    });

    test('no copy when the backup failed: not run because of it', () => {
      const entry = toAuditEntry(instance(), copyConfig, { ...allGood, backup: backup('FAILED') });
      expect(entry.CopyJobStatus).toBe('NotRun: earlier step failed');
    });
  });

  test('steps turned off are skipped, whether absent or set by the workflow', () => {
    const config = runConfig({
      stopInstances: false,
      preScript: { ...runConfig().preScript, enabled: false },
      postScript: { ...runConfig().postScript, enabled: false },
      scriptsEnabled: false,
    });
    const absent = toAuditEntry(instance(), config, { backup: backup('COMPLETED') });
    const outcomes = toAuditEntry(instance(), config, {
      agent: { status: 'skipped' },
      pre: { status: 'skipped' },
      stop: { status: 'skipped' },
      backup: backup('COMPLETED'),
      start: { status: 'skipped' },
      post: { status: 'skipped', message: 'turned off by the input' },
    });
    for (const entry of [absent, outcomes]) {
      expect(entry).toMatchObject({
        PreBackupScriptStatus: 'skipped',
        StopEc2InstanceStatus: 'skipped',
        BackupJobStatus: 'COMPLETED',
        StartEc2InstanceStatus: 'skipped',
        PostBackupScriptStatus: 'skipped',
        Outcome: 'SUCCEEDED',
        FailureMessage: '',
      });
    }
    expect(outcomes.Notes).toBe('turned off by the input');
  });

  test('a failed pre-backup script: later steps not reached say so', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      agent: online,
      pre: script('cmd-pre', { status: 'Failed', statusDetails: 'Failed', responseCode: 1, outputExcerpt: 'fsfreeze: /data: busy' }),
    });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      StopEc2InstanceStatus: 'NotRun: earlier step failed',
      BackupJobStatus: 'NotRun: earlier step failed',
      StartEc2InstanceStatus: 'NotRun: earlier step failed',
      PostBackupScriptStatus: 'NotRun: earlier step failed',
      FailureMessage: 'pre-backup script Failed (exit 1): fsfreeze: /data: busy',
      PreBackupScriptCommandId: 'cmd-pre',
      Outcome: 'FAILED',
    });
  });

  test('a timed-out script keeps its SSM status and the reason', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      post: script('cmd-post', { status: 'TimedOut', statusDetails: 'no final status within 900 s; command cancelled', responseCode: -1 }),
    });
    expect(entry.PostBackupScriptStatus).toBe('TimedOut');
    expect(entry.FailureMessage).toBe('post-backup script TimedOut: no final status within 900 s; command cancelled');
    expect(entry.Outcome).toBe('FAILED');
  });

  test.each(['FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'])('backup job %s is a failure; start and post still recorded', (state) => {
    const entry = toAuditEntry(instance(), stopConfig, { ...allGood, backup: backup(state, { statusMessage: 'snapshot error' }) });
    expect(entry).toMatchObject({
      BackupJobStatus: state,
      StartEc2InstanceStatus: 'Success',
      PostBackupScriptStatus: 'Success',
      FailureMessage: `backup job ${state}: snapshot error`,
      Outcome: 'FAILED',
    });
  });

  test('a backup job still running when the wait expired is a failure', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      backup: backup('RUNNING', { statusMessage: 'still RUNNING after 36900 s: the workflow stopped waiting' }),
    });
    expect(entry.BackupJobStatus).toBe('RUNNING');
    expect(entry.FailureMessage).toBe('backup job RUNNING: still RUNNING after 36900 s: the workflow stopped waiting');
    expect(entry.Outcome).toBe('FAILED');
  });

  test('an offline agent: no script, and the instance fails with that reason', () => {
    const entry = toAuditEntry(instance({ ssmPingStatus: 'ConnectionLost' }), runConfig(), { agent: offline });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'NotRun: earlier step failed',
      BackupJobStatus: 'NotRun: earlier step failed',
      FailureMessage: 'SSM agent not online (PingStatus ConnectionLost)',
      Outcome: 'FAILED',
    });
  });

  test('an agent that did not come back after the start', () => {
    const entry = toAuditEntry(instance(), stopConfig, { ...allGood, agentAfterStart: offline, post: undefined });
    expect(entry.PostBackupScriptStatus).toBe('NotRun: earlier step failed');
    expect(entry.FailureMessage).toBe('post-backup script not run: SSM agent not online after start (PingStatus ConnectionLost)');
  });

  test('a start that failed: the post-backup script could not run', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      start: power('Failed', 'stopped', 'instance did not reach running within 900 s (last state stopped)'),
      agentAfterStart: undefined,
      post: undefined,
    });
    expect(entry).toMatchObject({
      StartEc2InstanceStatus: 'Failed',
      PostBackupScriptStatus: 'NotRun: earlier step failed',
      FailureMessage: 'start instance Failed: instance did not reach running within 900 s (last state stopped); '
        + 'post-backup script not run: instance could not be started',
      Outcome: 'FAILED',
    });
  });

  test('a start never needed (the stop failed, the instance never stopped) is not run, not Success, and says why', () => {
    const reason = 'instance never stopped (running since 2026-11-20T08:00:00.000Z, before the run began)';
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      stop: power('Failed', 'running', 'StopInstances refused: IncorrectInstanceState: The instance \'i-0123456789abcdef0\' is not in a state from which it can be stopped. (instance running)'),
      backup: undefined,
      start: { ...power('Success', 'running'), observedAt: '2026-11-22T02:05:00.000Z', notRun: reason },
    });
    expect(entry).toMatchObject({
      StopEc2InstanceStatus: 'Failed',
      BackupJobStatus: 'NotRun: earlier step failed',
      StartEc2InstanceStatus: `NotRun: ${reason}`,
      PostBackupScriptStatus: 'Success',
      FailureMessage: 'stop instance Failed: StopInstances refused: IncorrectInstanceState: The instance \'i-0123456789abcdef0\' is not in a state from which it can be stopped. (instance running)',
      Outcome: 'FAILED',
      StoppedSeconds: 0,
    });
    expect(entry.Notes).toBe(`start instance not run: ${reason}`);
  });

  test('a step turned off stays skipped after an earlier failure (never "NotRun: earlier step failed")', () => {
    const noStop = runConfig({ stopInstances: false });
    const entry = toAuditEntry(instance(), noStop, {
      agent: online,
      pre: script('cmd-pre', { status: 'Failed', statusDetails: 'Failed', responseCode: 1 }),
      agentAfterStart: online,
      post: script('cmd-post'),
    });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      StopEc2InstanceStatus: 'skipped',
      BackupJobStatus: 'NotRun: earlier step failed',
      StartEc2InstanceStatus: 'skipped',
      PostBackupScriptStatus: 'Success',
      Outcome: 'FAILED',
    });
    const postOff = runConfig({ stopInstances: true, postScript: { ...runConfig().postScript, enabled: false } });
    const withoutPost = toAuditEntry(instance(), postOff, { ...allGood, backup: backup('FAILED'), agentAfterStart: undefined, post: undefined });
    expect(withoutPost.PostBackupScriptStatus).toBe('skipped');
    expect(withoutPost.FailureMessage).toBe('backup job FAILED');
  });

  test('a job COMPLETED with a status message (completed with issues) keeps the message, as a note', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      backup: backup('COMPLETED', { statusMessage: 'Backup job completed with issues: Windows VSS backup attempt failed' }),
    });
    expect(entry).toMatchObject({ BackupJobStatus: 'COMPLETED', Outcome: 'SUCCEEDED', FailureMessage: '' });
    expect(entry.Notes).toBe('backup job COMPLETED: Backup job completed with issues: Windows VSS backup attempt failed');
  });

  test('an instance stopped when the run began, whose backup failed: its steps that were on say why they did not run', () => {
    const message = 'instance was stopped when the run began: backed up without scripts and left stopped';
    const noPre = runConfig({ stopInstances: true, preScript: { ...runConfig().preScript, enabled: false } });
    const entry = toAuditEntry(instance({ state: 'stopped' }), noPre, {
      eligibility: { status: 'NotApplicable', message },
      backup: backup('FAILED', { statusMessage: 'snapshot error' }),
    });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'skipped',
      StopEc2InstanceStatus: `NotRun: ${message}`,
      BackupJobStatus: 'FAILED',
      StartEc2InstanceStatus: `NotRun: ${message}`,
      PostBackupScriptStatus: `NotRun: ${message}`,
      FailureMessage: 'backup job FAILED: snapshot error',
      Outcome: 'FAILED',
    });
  });

  test('a power step left InProgress counts as Failed', () => {
    const entry = toAuditEntry(instance(), stopConfig, { ...allGood, stop: power('InProgress', 'stopping') });
    expect(entry.StopEc2InstanceStatus).toBe('Failed');
    expect(entry.FailureMessage).toBe('stop instance Failed: did not finish (last state stopping)');
  });

  test('an error caught by the workflow fails its step with the cause', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      agent: online,
      pre: script('cmd-pre'),
      errors: {
        stop: {
          Error: 'UnauthorizedOperation',
          Cause: JSON.stringify({ errorType: 'UnauthorizedOperation', errorMessage: 'StopInstances i-1 is not authorized', trace: [] }),
        },
      },
      start: power('Success', 'running'),
      agentAfterStart: online,
      post: script('cmd-post'),
    });
    expect(entry).toMatchObject({
      StopEc2InstanceStatus: 'Failed',
      BackupJobStatus: 'NotRun: earlier step failed',
      StartEc2InstanceStatus: 'Success',
      PostBackupScriptStatus: 'Success',
      FailureMessage: 'stop instance Failed: UnauthorizedOperation: StopInstances i-1 is not authorized',
      Outcome: 'FAILED',
    });
  });

  test('every failed step is listed in order', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      pre: script('cmd-pre', { status: 'Failed', statusDetails: 'Failed', responseCode: 2, outputExcerpt: 'oops' }),
      backup: backup('FAILED', { statusMessage: 'vault locked' }),
      post: script('cmd-post', { status: 'Failed', responseCode: 3, statusDetails: 'Failed', outputExcerpt: '' }),
    });
    expect(entry.FailureMessage).toBe('pre-backup script Failed (exit 2): oops; backup job FAILED: vault locked; post-backup script Failed (exit 3)');
  });

  test('an instance not eligible: nothing ran, every step says why', () => {
    const entry = toAuditEntry(instance({ state: 'pending' }), stopConfig, {
      eligibility: { status: 'NotEligible', message: 'instance was pending at start: not touched' },
    });
    expect(entry).toMatchObject({
      InstanceStateAtStart: 'pending',
      PreBackupScriptStatus: 'NotRun: instance was pending at start: not touched',
      StopEc2InstanceStatus: 'NotRun: instance was pending at start: not touched',
      BackupJobStatus: 'NotRun: instance was pending at start: not touched',
      FailureMessage: 'instance was pending at start: not touched',
      Outcome: 'FAILED',
    });
  });

  test('an instance whose lease another run holds: every step skipped, no failure, SKIPPED, the holder noted', () => {
    const message = 'instance is being worked on by run arn:aws:states:eu-west-1:111122223333:execution:Backup:adhoc until 2024-05-01T04:00:00.000Z';
    const entry = toAuditEntry(instance(), stopConfig, { eligibility: { status: 'SkippedLeaseHeld', message }, errors: {} });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: 'skipped',
      StopEc2InstanceStatus: 'skipped',
      BackupJobStatus: 'skipped',
      StartEc2InstanceStatus: 'skipped',
      PostBackupScriptStatus: 'skipped',
      CopyJobStatus: 'skipped',
      FailureMessage: '',
      BackupJobId: '',
      RecoveryPointArn: '',
      Outcome: 'SKIPPED',
      Notes: `SkippedLeaseHeld: ${message}`,
    });
  });

  test('a lease that could not be released is a note, never a failure', () => {
    const steps: InstanceSteps = {
      backup: backup('COMPLETED'),
      errors: { leaseRelease: { Error: 'TransientError', Cause: JSON.stringify({ errorMessage: 'DeleteItem lease failed: ThrottlingException' }) } },
    };
    const off = { enabled: false };
    const noScripts = runConfig({ preScript: { ...runConfig().preScript, ...off }, postScript: { ...runConfig().postScript, ...off } });
    const entry = toAuditEntry(instance(), noScripts, steps);
    expect(entry.Outcome).toBe('SUCCEEDED');
    expect(entry.FailureMessage).toBe('');
    expect(entry.Notes).toBe('instance lease not released (it expires by itself): TransientError: DeleteItem lease failed: ThrottlingException');
  });

  test('an eligibility error caught by the workflow', () => {
    const entry = toAuditEntry(instance(), stopConfig, { errors: { eligibility: { Error: 'States.Runtime', Cause: 'bad path' } } });
    expect(entry.FailureMessage).toBe('instance lease not acquired, instance not touched: States.Runtime: bad path');
    expect(entry.BackupJobStatus).toBe('NotRun: instance lease not acquired, instance not touched: States.Runtime: bad path');
    expect(entry.Outcome).toBe('FAILED');
  });

  test('a stopped instance backed up without scripts: a success, with a note', () => {
    const message = 'instance was stopped at start: backed up as it is, without scripts, and left stopped';
    const entry = toAuditEntry(instance({ state: 'stopped' }), stopConfig, {
      eligibility: { status: 'NotApplicable', message },
      backup: backup('COMPLETED'),
    });
    expect(entry).toMatchObject({
      PreBackupScriptStatus: `NotRun: ${message}`,
      StopEc2InstanceStatus: `NotRun: ${message}`,
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: `NotRun: ${message}`,
      PostBackupScriptStatus: `NotRun: ${message}`,
      FailureMessage: '',
      Outcome: 'SUCCEEDED',
      Notes: message,
    });
  });

  test('NotApplicable without a backup is not a success', () => {
    const entry = toAuditEntry(instance({ state: 'stopped' }), stopConfig, { eligibility: { status: 'NotApplicable', message: 'stopped' } });
    expect(entry.Outcome).toBe('FAILED');
    expect(entry.FailureMessage).toBe('backup job not run: stopped');
  });

  test('a step that should have run but is absent without reason is a failure', () => {
    const entry = toAuditEntry(instance(), stopConfig, { ...allGood, start: undefined, agentAfterStart: undefined, post: undefined });
    expect(entry.StartEc2InstanceStatus).toBe('NotRun: step not reached');
    expect(entry.Outcome).toBe('FAILED');
  });

  test('no steps at all (null) is a failure, not a crash', () => {
    expect(toAuditEntry(instance(), runConfig(), null).Outcome).toBe('FAILED');
  });

  test('Windows platform is recorded', () => {
    expect(toAuditEntry(instance({ platform: 'Windows' }), stopConfig, allGood).Platform).toBe('Windows');
  });
});

describe('causeMessage', () => {
  test.each([
    [{ Error: 'TransientError', Cause: '{"errorType":"TransientError","errorMessage":"TransientError: slow down"}' }, 'TransientError: slow down'],
    [{ Error: 'Ec2.Ec2Exception', Cause: 'IncorrectInstanceState' }, 'Ec2.Ec2Exception: IncorrectInstanceState'],
    [{ Error: 'States.Timeout' }, 'States.Timeout'],
    [{ Error: 'X', Cause: '   ' }, 'X'],
  ])('%p', (error, expected) => {
    expect(causeMessage(error)).toBe(expected);
  });
});

describe('toAuditEntry: script output (issue 15)', () => {
  test('a script that did not succeed keeps the end of its output, at most 2,000 characters; one that succeeded keeps none', () => {
    const long = `${'a'.repeat(1000)}${'b'.repeat(1500)}`;
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      pre: script('cmd-pre', { outputTail: 'ignored: it succeeded' }),
      post: script('cmd-post', { status: 'Failed', statusDetails: 'Failed', responseCode: 202, outputExcerpt: 'x', outputTail: long }),
    });
    expect(entry.PreBackupScriptOutput).toBe('');
    expect(entry.PostBackupScriptOutput).toBe(long.slice(long.length - 2000));
  });

  test('a timed-out script keeps what SSM returned; no result at all, nothing', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      agent: online,
      pre: script('cmd-pre', { status: 'TimedOut', statusDetails: 'no final status', responseCode: -1, outputTail: 'froze /data\n' }),
    });
    expect(entry.PreBackupScriptOutput).toBe('froze /data\n');
    expect(entry.PostBackupScriptOutput).toBe('');
  });
});

describe('issue 15: script attempts and the crash-consistent policy', () => {
  test('attempts come from the workflow\'s count; each failed attempt tried again is noted with its command', () => {
    const entry = toAuditEntry(instance(), stopConfig, {
      ...allGood,
      pre: script('cmd-pre-3'),
      preAttempts: { count: 3, failed: 'attempt 1: command cmd-pre-1 Failed (Failed, exit 1); attempt 2: command cmd-pre-2 TimedOut (ExecutionTimedOut, exit -1); ' },
      postAttempts: { count: 1, failed: '' },
    });
    expect(entry).toMatchObject({ PreBackupScriptAttempts: 3, PostBackupScriptAttempts: 1, PreBackupScriptCommandId: 'cmd-pre-3', Outcome: 'SUCCEEDED', FailureMessage: '' });
    expect(entry.Notes).toBe('pre-backup script attempts 3, tried again after attempt 1: command cmd-pre-1 Failed (Failed, exit 1); '
      + 'attempt 2: command cmd-pre-2 TimedOut (ExecutionTimedOut, exit -1)');
  });

  test('no attempt when the script is off or never reached; one for steps recorded without a count', () => {
    const off = toAuditEntry(instance(), backupOnlyConfig(), backupSteps('COMPLETED'));
    expect([off.PreBackupScriptAttempts, off.PostBackupScriptAttempts]).toEqual([0, 0]);
    const old = toAuditEntry(instance(), stopConfig, allGood);
    expect([old.PreBackupScriptAttempts, old.PostBackupScriptAttempts]).toEqual([1, 1]);
    // The chain's input counts attempt 1 before any script: an instance never reached has made none.
    const counters = { preAttempts: { count: 1, failed: '' }, postAttempts: { count: 1, failed: '' } };
    const notEligible = toAuditEntry(instance({ state: 'pending' }), stopConfig, { ...counters, eligibility: { status: 'Failed', message: 'instance was pending' } });
    expect([notEligible.PreBackupScriptAttempts, notEligible.PostBackupScriptAttempts]).toEqual([0, 0]);
    // An agent offline before the first attempt: one attempt begun, no command.
    const agentOffline = toAuditEntry(instance(), stopConfig, { ...counters, agent: offline });
    expect([agentOffline.PreBackupScriptAttempts, agentOffline.PostBackupScriptAttempts]).toEqual([1, 0]);
  });

  test('a backup after a failed pre-script under backup-crash-consistent: failed instance, the pre-script failure kept, the backup noted', () => {
    const config = { ...stopConfig, onPreScriptFailure: 'backup-crash-consistent' as const };
    const entry = toAuditEntry(instance(), config, {
      ...allGood,
      pre: script('cmd-pre', { status: 'Failed', statusDetails: 'Failed', responseCode: 1 }),
      preAttempts: { count: 1, failed: '' },
    });
    expect(entry).toMatchObject({ PreBackupScriptStatus: 'Failed', BackupJobStatus: 'COMPLETED', PostBackupScriptStatus: 'Success', Outcome: 'FAILED' });
    expect(entry.FailureMessage).toBe('pre-backup script Failed (exit 1)');
    expect(entry.Notes).toContain('backed up crash-consistent: the pre-backup script failed');
    // The same steps under skip-backup cannot happen (no backup); without a backup nothing is noted.
    const skipped = toAuditEntry(instance(), config, { ...allGood, pre: script('cmd-pre', { status: 'Failed', statusDetails: 'Failed', responseCode: 1 }), backup: undefined, stop: undefined, start: undefined });
    expect(skipped.Notes).not.toContain('crash-consistent');
  });
});
