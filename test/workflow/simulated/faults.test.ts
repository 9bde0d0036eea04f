import { assertInvariants, checkInvariants, entryOf, Harness, newInstanceIds, SimRun, startingState, TAG_KEY, TAG_VALUE, TaskHook } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';
import { ApiError, InjectedFault, InstanceFaults, InstanceSpec, PingStatus, World } from '../../simulator/world';

/**
 * The fault matrix: every step × every fault the fakes can inject, all toggles on, a fleet of 3 where only the
 * middle instance is faulty. Each case checks the six invariants from the outside, then the faulty instance's
 * audit entry.
 */
const NOT_RUN = 'NotRun: earlier step failed';
const POST_SCRIPT_SEND = startingState('post');

interface Fault {
  readonly faults?: InstanceFaults;
  readonly agent?: PingStatus | 'absent';
  /** API faults about the faulty instance (instanceId is filled in). */
  readonly api?: Array<Omit<InjectedFault, 'instanceId'>>;
  /** Hooks around intercepted states, given the faulty instance's id. */
  readonly hooks?: (faulty: string) => Record<string, TaskHook>;
}

interface Case {
  readonly fault: Fault;
  /** The faulty instance's audit entry (a subset); undefined: it succeeds like the others. */
  readonly entry?: Record<string, unknown>;
  /** Pattern the faulty instance's FailureMessage must match. */
  readonly message?: RegExp;
  /** Final EC2 state of the faulty instance (default running). */
  readonly finalState?: string;
}

const internal: ApiError = { code: 'InternalServerError', message: 'We encountered an internal error', httpStatus: 500 };
const denied: ApiError = { code: 'AccessDeniedException', message: 'User is not authorized to perform this action' };
const unauthorized: ApiError = { code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' };

const afterPreFailure = (pre: string) => ({
  PreBackupScriptStatus: pre,
  StopEc2InstanceStatus: NOT_RUN,
  BackupJobStatus: NOT_RUN,
  StartEc2InstanceStatus: NOT_RUN,
  PostBackupScriptStatus: 'Success',
  Outcome: 'FAILED',
});
const afterBackupFailure = (backup: string) => ({
  PreBackupScriptStatus: 'Success',
  StopEc2InstanceStatus: 'Success',
  BackupJobStatus: backup,
  StartEc2InstanceStatus: 'Success',
  PostBackupScriptStatus: 'Success',
  Outcome: 'FAILED',
});
const agentNotOnline = {
  PreBackupScriptStatus: NOT_RUN,
  StopEc2InstanceStatus: NOT_RUN,
  BackupJobStatus: NOT_RUN,
  StartEc2InstanceStatus: NOT_RUN,
  PostBackupScriptStatus: NOT_RUN,
  Outcome: 'FAILED',
};
const postFailure = (post: string) => ({ ...afterBackupFailure('COMPLETED'), PostBackupScriptStatus: post });
const startFailure = {
  PreBackupScriptStatus: 'Success',
  StopEc2InstanceStatus: 'Success',
  BackupJobStatus: 'COMPLETED',
  StartEc2InstanceStatus: 'Failed',
  PostBackupScriptStatus: NOT_RUN,
  Outcome: 'FAILED',
};
/** The start of an instance whose stop never took effect: not run (EC2's LaunchTime is before the run), and why. */
const NEVER_STOPPED = expect.stringMatching(/^NotRun: instance never stopped \(running since \S+, before the run began\)$/);
const stopFailure = {
  PreBackupScriptStatus: 'Success',
  StopEc2InstanceStatus: 'Failed',
  BackupJobStatus: NOT_RUN,
  StartEc2InstanceStatus: NEVER_STOPPED,
  PostBackupScriptStatus: 'Success',
  Outcome: 'FAILED',
};

/** A fault injected into the world just before an intercepted state's handler first runs for the faulty instance. */
const injectBefore = (state: string, fault: Omit<InjectedFault, 'instanceId'>, perInstance = true) => (faulty: string) => {
  let injected = false;
  return {
    [state]: {
      before: (input: any, world: World) => {
        if (!injected && (input.instanceId === faulty || input.instance?.instanceId === faulty)) {
          injected = true;
          world.injectFault({ ...fault, ...(perInstance ? { instanceId: faulty } : {}) });
        }
      },
    },
  };
};

/** StopInstances reaches EC2, the handler's answer is lost (Step Functions retries), and EC2 throttles the next 5 looks. */
const stopResponseLost = (faulty: string): Record<string, TaskHook> => {
  let lost = false;
  return {
    'Stop instance': {
      after: (input: any, _output: unknown, world: World) => {
        if (input.instanceId !== faulty || lost) return;
        lost = true;
        world.injectFault({ service: 'ec2', action: 'DescribeInstances', instanceId: faulty, throttle: true, times: 5 });
        throw Object.assign(new Error('connection reset before the response arrived'), { name: 'TransientError' });
      },
    },
  };
};

const CASES: Array<[string, Case]> = [
  // ---- pre-backup script
  ['pre-script Failed', { fault: { faults: { pre: 'Failed' } }, entry: afterPreFailure('Failed'), message: /pre-backup script Failed \(exit 1\)/ }],
  ['pre-script TimedOut', { fault: { faults: { pre: 'TimedOut' } }, entry: afterPreFailure('TimedOut'), message: /pre-backup script TimedOut/ }],
  ['pre-script Cancelled', { fault: { faults: { pre: 'Cancelled' } }, entry: afterPreFailure('Cancelled'), message: /pre-backup script Cancelled/ }],
  ['pre-script hangs', { fault: { faults: { pre: 'hang' } }, entry: afterPreFailure('TimedOut'), message: /no final status.*cancelled/ }],
  ['pre-script delayed, then Success', { fault: { faults: { pre: { status: 'Success', inProgressPolls: 6 } } } }],
  ['agent ConnectionLost', { fault: { agent: 'ConnectionLost' }, entry: agentNotOnline, message: /SSM agent not online \(PingStatus ConnectionLost\)/ }],
  ['agent Inactive', { fault: { agent: 'Inactive' }, entry: agentNotOnline, message: /SSM agent not online \(PingStatus Inactive\)/ }],
  ['agent absent (not managed)', { fault: { agent: 'absent' }, entry: agentNotOnline, message: /SSM agent not online/ }],
  ['SendCommand API error (both phases)', {
    fault: { api: [{ service: 'ssm', action: 'SendCommand', error: denied }] },
    entry: { ...afterPreFailure('Failed'), PostBackupScriptStatus: 'Failed' },
    message: /pre-backup script Failed: .*not authorized.*post-backup script Failed/,
  }],
  ['SendCommand throttled, recovers', { fault: { api: [{ service: 'ssm', action: 'SendCommand', throttle: true, times: 2 }] } }],
  ['SendCommand throttled, never recovers', {
    fault: { api: [{ service: 'ssm', action: 'SendCommand', throttle: true }] },
    entry: { ...afterPreFailure('Failed'), PostBackupScriptStatus: 'Failed' },
    message: /pre-backup script Failed: .*Rate exceeded/,
  }],
  // The script status is read with ListCommandInvocations (Details): AWS-RunRemoteScript has several steps.
  ['ListCommandInvocations throttled, recovers', { fault: { api: [{ service: 'ssm', action: 'ListCommandInvocations', throttle: true, times: 3 }] } }],
  // Every look refused (a server error is transient): the wait looks again until its bound, where the look fails for
  // the Task's retries and the step fails, never having seen the invocation end (the fake ends it Success meanwhile).
  ['ListCommandInvocations API error, never recovers', {
    fault: { api: [{ service: 'ssm', action: 'ListCommandInvocations', error: internal }] },
    entry: { ...afterPreFailure('Failed'), PostBackupScriptStatus: 'Failed' },
    message: /pre-backup script Failed/,
  }],
  // ---- stop
  ['StopInstances API error', { fault: { faults: { stopError: unauthorized } }, entry: stopFailure, message: /stop instance Failed: .*not authorized/ }],
  ['StopInstances refused with IncorrectInstanceState: failed at once, with EC2\'s words', {
    fault: { faults: { stopError: { code: 'IncorrectInstanceState', message: 'The instance is not in a state from which it can be stopped.' } } },
    entry: stopFailure,
    message: /^stop instance Failed: StopInstances refused: IncorrectInstanceState: The instance is not in a state from which it can be stopped\. \(instance running\)$/,
  }],
  ['stop never completes', {
    fault: { faults: { stopNeverCompletes: true } },
    entry: { ...stopFailure, StartEc2InstanceStatus: 'Failed', PostBackupScriptStatus: NOT_RUN },
    message: /stop instance Failed: .*stopping.*start instance Failed/,
    finalState: 'stopping',
  }],
  ['StopInstances throttled, recovers', { fault: { api: [{ service: 'ec2', action: 'StopInstances', throttle: true, times: 2 }] } }],
  ['StopInstances throttled, never recovers', {
    fault: { api: [{ service: 'ec2', action: 'StopInstances', throttle: true }] },
    entry: stopFailure,
    message: /stop instance Failed: .*Request limit exceeded/,
  }],
  ['stop: the look at the instance fails (not authorized)', {
    fault: { hooks: injectBefore('Stop instance', { service: 'ec2', action: 'DescribeInstances', times: 1, error: unauthorized }) },
    entry: stopFailure,
    message: /stop instance Failed: .*not authorized/,
  }],
  // The retry after the lost response is the wait's second look (the first completed): refused, it leaves the wait
  // going on (src/lambda-shared/event-wait.ts, stillWaiting), and the stop's event or a later look ends it.
  ['stop: StopInstances accepted, the response lost, the looks after it throttled: the wait goes on', { fault: { hooks: stopResponseLost } }],
  // The first look refused every time (6 invocations: the Task's 5 retries), before any StopInstances: the step fails.
  ['stop: the first look throttled through every retry', {
    fault: { hooks: injectBefore('Stop instance', { service: 'ec2', action: 'DescribeInstances', throttle: true, times: 6 }) },
    entry: stopFailure,
    message: /stop instance Failed: .*Request limit exceeded/,
  }],
  // EC2 refuses the instance's looks through the stop's retries and the start's first six: the stop fails; the start,
  // refused, looks again a fallback interval later (a start must happen whatever the rate it meets) and sees that the
  // instance never stopped; the post-script runs.
  ['stop and start: 12 looks throttled, through the stop\'s retries and into the start\'s', {
    fault: { hooks: injectBefore('Stop instance', { service: 'ec2', action: 'DescribeInstances', throttle: true, times: 12 }) },
    entry: stopFailure,
    message: /stop instance Failed: .*Request limit exceeded/,
  }],
  // EC2 refuses every look at the instance from the stop on: the start defers until its bound, where the look fails
  // through the Task's retries; it could not see that the instance never stopped, so the post-script is still tried
  // (the application is not left frozen), and runs.
  ['stop and start: every look throttled, to the start\'s bound', {
    fault: { hooks: injectBefore('Stop instance', { service: 'ec2', action: 'DescribeInstances', throttle: true }) },
    entry: { ...stopFailure, StartEc2InstanceStatus: 'Failed' },
    message: /stop instance Failed: .*Request limit exceeded/,
  }],
  // The agent's looks after the start (the first DescribeInstanceInformation calls after the stop) refused 8 times in a
  // row (more than a Task's 5 retries): each is a look that did not see the agent, and the loop looks again within its
  // bound; the post-script runs.
  ['SSM agent after the start: its looks throttled 8 times, recovers', {
    fault: { hooks: injectBefore('Stop instance', { service: 'ssm', action: 'DescribeInstanceInformation', throttle: true, times: 8 }) },
  }],
  ['DescribeInstances (power) throttled, recovers', { fault: { api: [{ service: 'ec2', action: 'DescribeInstances', throttle: true, times: 3 }] } }],
  // ---- backup start
  ['StartBackupJob API error', {
    fault: { faults: { startBackupError: { code: 'InvalidParameterValueException', message: 'Invalid resource' } } },
    entry: afterBackupFailure('Failed'),
    message: /backup job Failed: .*Invalid resource/,
  }],
  ['StartBackupJob throttled, recovers', { fault: { api: [{ service: 'backup', action: 'StartBackupJob', throttle: true, times: 2 }] } }],
  ['StartBackupJob throttled, never recovers', {
    fault: { api: [{ service: 'backup', action: 'StartBackupJob', throttle: true }] },
    entry: afterBackupFailure('Failed'),
    message: /backup job Failed: .*Rate exceeded/,
  }],
  // ---- backup wait
  ['backup COMPLETED', { fault: { faults: { backup: 'COMPLETED' } } }],
  ...(['FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'] as const).map((state): [string, Case] => [`backup ${state}`, {
    fault: { faults: { backup: { state, statusMessage: `job ended ${state}` } } },
    entry: afterBackupFailure(state),
    message: new RegExp(`backup job ${state}: job ended ${state}`),
  }]),
  ['backup hangs', { fault: { faults: { backup: 'hang' } }, entry: afterBackupFailure('RUNNING'), message: /backup job RUNNING: still RUNNING after \d+ s/ }],
  ['DescribeBackupJob throttled, recovers', { fault: { api: [{ service: 'backup', action: 'DescribeBackupJob', throttle: true, times: 3 }] } }],
  ['DescribeBackupJob API error, never recovers', {
    fault: { api: [{ service: 'backup', action: 'DescribeBackupJob', error: denied }] },
    entry: afterBackupFailure('Failed'),
    message: /backup job Failed/,
  }],
  // ---- start
  ['StartInstances capacity error, never recovers', {
    fault: { faults: { startError: { code: 'InsufficientInstanceCapacity', message: 'no capacity' } } },
    entry: startFailure,
    message: /start instance Failed.*post-backup script not run: instance could not be started/,
    finalState: 'stopped',
  }],
  ['StartInstances API error', {
    fault: { faults: { startError: unauthorized } },
    entry: startFailure,
    message: /start instance Failed: .*not authorized/,
    finalState: 'stopped',
  }],
  ['start never completes', { fault: { faults: { startNeverCompletes: true } }, entry: startFailure, message: /start instance Failed/, finalState: 'pending' }],
  ['StartInstances throttled, recovers', { fault: { api: [{ service: 'ec2', action: 'StartInstances', throttle: true, times: 2 }] } }],
  // ---- post-backup script
  ['post-script Failed', { fault: { faults: { post: 'Failed' } }, entry: postFailure('Failed'), message: /post-backup script Failed \(exit 1\)/ }],
  ['post-script TimedOut', { fault: { faults: { post: 'TimedOut' } }, entry: postFailure('TimedOut'), message: /post-backup script TimedOut/ }],
  ['post-script hangs', { fault: { faults: { post: 'hang' } }, entry: postFailure('TimedOut'), message: /post-backup script TimedOut.*cancelled/ }],
  ['post-script delayed, then Success', { fault: { faults: { post: { status: 'Success', inProgressPolls: 6 } } } }],
  ['agent never reconnects after start', {
    fault: { faults: { agentNeverReconnects: true } },
    entry: postFailure(NOT_RUN),
    message: /SSM agent not online after start/,
  }],
  ['agent reconnects slowly after start', { fault: { faults: { agentReconnectPolls: 4 } } }],
  ['post SendCommand API error', {
    fault: { hooks: injectBefore(POST_SCRIPT_SEND, { service: 'ssm', action: 'SendCommand', error: denied }) },
    entry: postFailure('Failed'),
    message: /post-backup script Failed: .*not authorized/,
  }],
  // ---- audit write (the instance's own entry)
  ['instance audit entry PutItem fails: the run record writes it', {
    fault: { hooks: injectBefore('Instance: write audit entry', { service: 'dynamodb', action: 'PutItem', times: 1, error: { code: 'ValidationException', message: 'boom' } }, false) },
  }],
  ['instance audit entry PutItem throttled, recovers', {
    fault: { hooks: injectBefore('Instance: write audit entry', { service: 'dynamodb', action: 'PutItem', times: 2, throttle: true }, false) },
  }],
];

describe('fault matrix: one faulty instance in a fleet of 3, all toggles on', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({
      props: fullProps(),
      intercept: ['Stop instance', POST_SCRIPT_SEND, 'Instance: write audit entry', 'Write run audit record'],
    });
  });
  afterAll(async () => h?.stop());

  test.each(CASES)('%s', async (_name, c) => {
    const [ok1, faulty, ok2] = newInstanceIds(3);
    const run = await h.run({
      instances: [
        { id: ok1 },
        { id: faulty, faults: c.fault.faults, agent: c.fault.agent },
        { id: ok2 },
      ],
      faults: (c.fault.api ?? []).map((f) => ({ ...f, instanceId: faulty })),
      hooks: c.fault.hooks?.(faulty),
      healthy: c.entry ? [ok1, ok2] : [ok1, faulty, ok2],
    });
    assertInvariants(run);
    expect(run.world.instanceStates()).toEqual({ [ok1]: 'running', [faulty]: c.finalState ?? 'running', [ok2]: 'running' });
    expect(run.result.status).toBe(c.entry ? 'FAILED' : 'SUCCEEDED');
    if (c.entry) {
      expect(run.result.error).toBe('BackupRunFailed');
      expect(run.auditItem).toMatchObject({ Run_Status: 'FAILED', FailedCount: 1, SucceededCount: 2 });
      expect(run.auditItem!.Run_FailureMessage).toContain(faulty);
      expect(entryOf(run, faulty)).toMatchObject(c.entry);
      expect(entryOf(run, faulty)!.FailureMessage).toMatch(c.message!);
    } else {
      expect(entryOf(run, faulty)).toMatchObject({ Outcome: 'SUCCEEDED', FailureMessage: '', BackupJobStatus: 'COMPLETED' });
    }
  });

  describe('discovery', () => {
    const fleet = (): InstanceSpec[] => newInstanceIds(3).map((id) => ({ id }));

    test('DescribeInstances throttled, recovers', async () => {
      const instances = fleet();
      const run = await h.run({
        instances,
        faults: [{ service: 'ec2', action: 'DescribeInstances', throttle: true, times: 2 }],
        healthy: instances.map((i) => i.id),
      });
      assertInvariants(run);
      expect(run.result.status).toBe('SUCCEEDED');
      expect(run.result.stats.retries).toBeGreaterThanOrEqual(2);
    });

    test('DescribeInstanceInformation throttled, recovers', async () => {
      const instances = fleet();
      const run = await h.run({
        instances,
        faults: [{ service: 'ssm', action: 'DescribeInstanceInformation', throttle: true, times: 1 }],
        healthy: instances.map((i) => i.id),
      });
      assertInvariants(run);
      expect(run.result.status).toBe('SUCCEEDED');
    });

    test.each<[string, Omit<InjectedFault, 'instanceId'>, RegExp]>([
      ['DescribeInstances API error', { service: 'ec2', action: 'DescribeInstances', error: unauthorized }, /DescribeInstances.*not authorized/],
      ['DescribeInstances throttled, never recovers', { service: 'ec2', action: 'DescribeInstances', throttle: true }, /DescribeInstances.*Request limit exceeded/],
      ['DescribeInstanceInformation API error', { service: 'ssm', action: 'DescribeInstanceInformation', error: denied }, /DescribeInstanceInformation.*not authorized/],
    ])('%s: the run fails before any instance, with the reason in the audit', async (_name, fault, message) => {
      const run = await h.run({ instances: fleet(), faults: [fault], failsBeforeInstances: true });
      assertInvariants(run);
      expect(run.result.status).toBe('FAILED');
      expect(run.auditItem).toMatchObject({ Run_Status: 'FAILED', Workflow_Overall_Status: [] });
      expect(run.auditItem!.Run_FailureMessage).toMatch(message);
      expect(Object.values(run.world.instanceStates())).toEqual(['running', 'running', 'running']);
    });
  });

  test('a backup job COMPLETED with a status message (completed with issues): a success that keeps the message', async () => {
    const [ok1, issues] = newInstanceIds(2);
    const statusMessage = 'Backup job completed with issues: Windows VSS backup attempt failed';
    const run = await h.run({
      instances: [{ id: ok1 }, { id: issues, faults: { backup: { state: 'COMPLETED', statusMessage } } }],
      healthy: [ok1, issues],
    });
    assertInvariants(run);
    expect(entryOf(run, issues)).toMatchObject({ BackupJobStatus: 'COMPLETED', Outcome: 'SUCCEEDED', FailureMessage: '' });
    expect(entryOf(run, issues)!.Notes).toContain(`backup job COMPLETED: ${statusMessage}`);
  });

  test('a step turned off for the run stays skipped when an earlier step failed', async () => {
    const [faulty] = newInstanceIds(1);
    const run = await h.run({
      instances: [{ id: faulty, faults: { pre: 'Failed' } }],
      input: { StartStopEC2Required: false },
      healthy: [],
    });
    assertInvariants(run);
    expect(entryOf(run, faulty)).toMatchObject({
      PreBackupScriptStatus: 'Failed',
      StopEc2InstanceStatus: 'skipped',
      BackupJobStatus: NOT_RUN,
      StartEc2InstanceStatus: 'skipped',
      PostBackupScriptStatus: 'Success',
      Outcome: 'FAILED',
    });
  });

  test('the run record write fails: a fallback record is written, then the execution fails', async () => {
    const instances = newInstanceIds(3).map((id) => ({ id }));
    const run = await h.run({
      instances,
      hooks: {
        'Write run audit record': {
          before: (_input, world) => world.injectFault({ service: 'dynamodb', action: 'PutItem', times: 1, error: { code: 'ValidationException', message: 'item too large' } }),
        },
      },
    });
    expect(run.result.status).toBe('FAILED');
    expect(run.result.error).toBe('AuditWriteFailed');
    // The fallback record exists and says what happened; each instance's own entry is in the table.
    expect(run.auditItem).toMatchObject({ Run_Status: 'FAILED' });
    expect(run.auditItem!.Run_FailureMessage).toMatch(/could not be written.*item too large/);
    // The fallback carries what discovery found (the pages' counts by outcome are on their manifests, which record-run
    // could not sum into a record): no count by outcome it does not know.
    expect(run.auditItem).toMatchObject({ InstanceCount: 3 });
    expect(run.auditItem!.FailedCount).toBeUndefined();
    expect(JSON.parse(run.auditItem!.Run_Tally_Json)).toEqual({ instanceCount: 3, excludedCount: 0 });
    const items = await h.sim.scanTable();
    for (const { id } of instances) {
      expect(items.find((i) => i.RecordType === 'INSTANCE' && i.InstanceId === id && String(i.SM_Execution_ID).includes(run.result.executionName)))
        .toMatchObject({ Outcome: 'SUCCEEDED' });
    }
    expect(Object.values(run.world.instanceStates())).toEqual(['running', 'running', 'running']);
  });
});

describe('the checker itself', () => {
  /** A fabricated run: one instance, all toggles on, whose audit says everything succeeded. */
  function fabricated(mutate: (world: World, entry: Record<string, any>) => void): SimRun {
    const world = new World();
    const id = 'i-0000000000000abc';
    world.addInstance({ id, tags: { [TAG_KEY]: TAG_VALUE } });
    const seq = (service: any, action: string, params: unknown = {}) => world.recordCall(service, action, [id], params);
    seq('ssm', 'SendCommand', { Comment: 'ppsb:fab:pre' });
    const pre = world.sendCommand(world.requireInstance(id), { commandId: 'c-pre', documentName: 'AWS-RunRemoteScript', comment: 'ppsb:fab:pre', parameters: {} });
    pre.status = 'Success';
    seq('ec2', 'StopInstances');
    const job = world.startBackupJob({ BackupVaultName: 'v', ResourceArn: 'arn' }, id);
    job.state = 'COMPLETED';
    seq('backup', 'StartBackupJob');
    seq('backup', 'DescribeBackupJob');
    seq('ec2', 'StartInstances');
    seq('ssm', 'SendCommand', { Comment: 'ppsb:fab:post' });
    const post = world.sendCommand(world.requireInstance(id), { commandId: 'c-post', documentName: 'AWS-RunRemoteScript', comment: 'ppsb:fab:post', parameters: {} });
    post.status = 'Success';
    const entry: Record<string, any> = {
      InstanceId: id,
      PreBackupScriptStatus: 'Success',
      StopEc2InstanceStatus: 'Success',
      BackupJobStatus: 'COMPLETED',
      StartEc2InstanceStatus: 'Success',
      PostBackupScriptStatus: 'Success',
      FailureMessage: '',
      BackupJobId: job.backupJobId,
      RecoveryPointArn: job.recoveryPointArn,
      PreBackupScriptCommandId: 'c-pre',
      PostBackupScriptCommandId: 'c-post',
      Outcome: 'SUCCEEDED',
    };
    mutate(world, entry);
    return {
      result: { status: 'SUCCEEDED', executionArn: 'arn:fab', executionName: 'fab', startTime: '', stats: { exceedsTimeout: false } as any },
      auditItem: { Run_Status: 'SUCCEEDED', Run_FailureMessage: '', StartTime: 't0', EndTime: 't1', Workflow_Overall_Status: [entry] },
      world,
      calls: [...world.calls],
      instances: [{ id, tags: { [TAG_KEY]: TAG_VALUE } }],
      discovered: [id],
      toggles: { pre: true, stop: true, post: true },
      failsBeforeInstances: false,
      healthy: [id],
      stateHistory: { [id]: ['running', 'stopping', 'stopped', 'pending', 'running'] },
      newJobIds: [job.backupJobId],
      seqAfter: world.callCount,
      unexpectedCalls: 0,
    };
  }

  test('a sound fabricated run passes', () => {
    expect(checkInvariants(fabricated(() => undefined))).toEqual([]);
  });

  test('an instance stopped by the run and never started again is flagged (as if "Start instance" were skipped)', () => {
    const run = fabricated((world) => {
      world.calls.splice(world.calls.findIndex((c) => c.action === 'StartInstances'), 1);
      world.requireInstance('i-0000000000000abc').state = 'stopped';
    });
    expect(checkInvariants(run)).toEqual(expect.arrayContaining([expect.stringMatching(/^1: .* stopped by the run and is stopped at the end/)]));
    expect(() => assertInvariants(run)).toThrow(/Invariants violated/);
  });

  test('a pre-script without its post-script is flagged', () => {
    const run = fabricated((world) => {
      world.invocationsByInstance.get('i-0000000000000abc')!.pop();
    });
    expect(checkInvariants(run)).toEqual(expect.arrayContaining([expect.stringMatching(/^2: .* never the post-script/)]));
  });

  test('an audit entry that does not match the fakes is flagged', () => {
    const run = fabricated((world, entry) => {
      world.backupJobsFor('i-0000000000000abc')[0].state = 'EXPIRED';
      entry.BackupJobStatus = 'COMPLETED';
    });
    expect(checkInvariants(run)).toEqual(expect.arrayContaining([expect.stringMatching(/BackupJobStatus is COMPLETED, the fake job is EXPIRED/)]));
  });

  test('a script sent to an offline agent is flagged', () => {
    const run = fabricated((world) => {
      (world.commandsFor('i-0000000000000abc')[0] as any).agentAtSend = 'ConnectionLost';
    });
    expect(checkInvariants(run)).toEqual(expect.arrayContaining([expect.stringMatching(/^6: .* while its agent was ConnectionLost/)]));
  });

  test('a missing audit record is flagged', () => {
    const run = { ...fabricated(() => undefined), auditItem: undefined };
    expect(checkInvariants(run)).toEqual(['3: no audit run item in the table']);
  });
});
