/**
 * stop-instance and start-instance: bring one instance to a target state, idempotently, one check per call.
 * Each call looks at the instance, asks EC2 for the change when it can be asked, and says where things are.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeInstancesCommand, type EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import type { InstancePowerEvent, InstancePowerResult, PollState } from './contracts';
import { AwsPermanentError, ConfigurationError, errorCode, rethrowClassified } from './errors';
import { awaitCompletion, waitClients } from './event-wait';
import { POWER_REQUESTED, recordResource } from './journal';
import { journalTarget } from './journal-target';
import type { Logger } from './log';
import { INSTANCE_POWER_POLICY, nextPoll } from './poll';
import { EC2_GONE_STATES } from './status';

export type PowerTarget = 'stopped' | 'running';

/** Error codes of StopInstances / StartInstances that mean "not now": look again on the next poll. */
const TRY_AGAIN_LATER: Record<PowerTarget, readonly string[]> = {
  stopped: ['IncorrectInstanceState'],
  running: ['IncorrectInstanceState', 'InsufficientInstanceCapacity'],
};

async function currentState(ec2: EC2Client, instanceId: string): Promise<string | undefined> {
  let output;
  try {
    output = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (err) {
    rethrowClassified(err, `DescribeInstances ${instanceId}`);
  }
  for (const reservation of output.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId === instanceId) {
        return instance.State?.Name;
      }
    }
  }
  return undefined;
}

/** Asks EC2 to stop or start the instance. Returns the state EC2 reports, or undefined when it said "not now". */
async function requestChange(ec2: EC2Client, instanceId: string, target: PowerTarget, log: Logger): Promise<string | undefined> {
  const action = target === 'stopped' ? 'StopInstances' : 'StartInstances';
  try {
    const output = target === 'stopped'
      ? await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }))
      : await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
    const change = (target === 'stopped'
      ? (output as { StoppingInstances?: Array<{ InstanceId?: string; CurrentState?: { Name?: string } }> }).StoppingInstances
      : (output as { StartingInstances?: Array<{ InstanceId?: string; CurrentState?: { Name?: string } }> }).StartingInstances) ?? [];
    const state = change.find((c) => c.InstanceId === instanceId)?.CurrentState?.Name;
    log.info(`${action} requested`, { instanceId, state });
    return state;
  } catch (err) {
    const code = errorCode(err);
    if (TRY_AGAIN_LATER[target].includes(code)) {
      log.info(`${action} refused for now; looking again on the next poll`, { instanceId, code });
      return undefined;
    }
    if (code === 'UnauthorizedOperation') {
      throw new AwsPermanentError(code, `${action} ${instanceId} is not authorized: the instance probably lacks the backup tag `
        + 'the workflow role is restricted to (or an SCP or permissions boundary denies it)');
    }
    rethrowClassified(err, `${action} ${instanceId}`);
  }
}

/** How one step of `ensurePowerState` behaves beyond its event. */
export interface PowerStepOptions {
  /** The wait's progress. @default - the next poll after the event's */
  readonly poll?: PollState;
  /** Whether the step may ask EC2 for the change, or only look (an event told of a change). @default true */
  readonly mayRequestChange?: boolean;
}

/** One step of bringing an instance to `target`. */
export async function ensurePowerState(
  ec2: EC2Client,
  event: InstancePowerEvent,
  target: PowerTarget,
  log: Logger,
  options: PowerStepOptions = {},
): Promise<InstancePowerResult> {
  const instanceId = event.instanceId;
  const poll = options.poll ?? nextPoll(event.poll, INSTANCE_POWER_POLICY);
  const verb = target === 'stopped' ? 'stop' : 'start';
  let state = await currentState(ec2, instanceId);

  if (state === undefined) {
    log.warn('instance not found', { instanceId });
    return { instanceId, state: 'unknown', status: 'Failed', message: `instance ${instanceId} not found: cannot ${verb} it`, done: true, poll };
  }
  if (state === target) {
    log.info(`instance ${target}`, { instanceId, attempt: poll.attempt });
    return { instanceId, state, status: 'Success', message: '', done: true, poll, observedAt: new Date().toISOString() };
  }
  if (EC2_GONE_STATES.includes(state)) {
    log.warn(`instance is ${state}: cannot ${verb} it`, { instanceId });
    return { instanceId, state, status: 'Failed', message: `instance is ${state}: cannot ${verb} it`, done: true, poll };
  }

  // Ask for the change only from the state it can start from; otherwise wait for the transition in progress.
  // Once the wait is over, never stop an instance any more (the workflow moved on), but still ask for a start:
  // an instance this run stopped must end up running even when it is slow to get there.
  const from = target === 'stopped' ? 'running' : 'stopped';
  if (state === from && options.mayRequestChange !== false && (!poll.expired || target === 'running')) {
    const accepted = await requestChange(ec2, instanceId, target, log);
    await journalRequested(event, verb, accepted);
    state = accepted ?? state;
  }
  if (state === target) {
    return { instanceId, state, status: 'Success', message: '', done: true, poll, observedAt: new Date().toISOString() };
  }
  if (poll.expired) {
    const message = `instance did not reach ${target} within ${poll.elapsedSeconds} s (last state ${state})`;
    log.warn(message, { instanceId });
    return { instanceId, state, status: 'Failed', message, done: true, poll };
  }
  log.info(`waiting for the instance to be ${target}`, { instanceId, state, attempt: poll.attempt });
  return { instanceId, state, status: 'InProgress', message: '', done: false, poll };
}

/**
 * The stop-instance / start-instance step: one look (polling), or, with a task token, the wait registered and the
 * Task answered once the instance is in the target state (waiting on EC2's state-change events).
 */
export async function powerStep(ec2: EC2Client, event: InstancePowerEvent, target: PowerTarget, log: Logger): Promise<InstancePowerResult> {
  if (!event.taskToken) {
    return ensurePowerState(ec2, event, target, log);
  }
  if (!event.execution) {
    throw new ConfigurationError('a power step waiting on events needs the run\'s execution in its event');
  }
  return awaitCompletion(waitClients(), {
    kind: target === 'stopped' ? 'stop' : 'start',
    taskToken: event.taskToken,
    execution: event.execution,
    instanceId: event.instanceId,
    resourceId: event.instanceId,
    previous: { instanceId: event.instanceId },
    maxSeconds: INSTANCE_POWER_POLICY.maxSeconds,
    check: (poll) => ensurePowerState(ec2, event, target, log, { poll }),
    log,
  });
}

// ---- RECOVERY JOURNAL (docs/workflow.md, "Recovering a chain that died") ----------------------------------------
/**
 * Records in the instance journal that EC2 accepted the stop / start (resource `requested`; the intent was journaled by
 * the stop-instance / start-instance handler before). A start is only asked of a `stopped` instance, so a requested
 * start tells the run's recovery that this run's stop did reach `stopped`.
 */
async function journalRequested(event: InstancePowerEvent, action: 'stop' | 'start', accepted: string | undefined): Promise<void> {
  if (accepted === undefined || !event.execution) {
    return;
  }
  await recordResource(waitClients().doc, journalTarget(event.execution, event.instanceId), action, POWER_REQUESTED);
}
// ---- end RECOVERY JOURNAL -----------------------------------------------------------------------------------------
