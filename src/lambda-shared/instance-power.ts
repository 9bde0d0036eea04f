/**
 * stop-instance and start-instance: bring one instance to a target state, idempotently, one check per call.
 * Each call looks at the instance, asks EC2 for the change when it can be asked, and says where things are.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { DescribeInstancesCommand, type EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { AwsPermanentError, ConfigurationError, errorCode, rethrowClassified } from './errors';
import { awaitCompletion, waitClients } from './event-wait';
import { recordResource } from './journal';
import { journalTarget } from './journal-target';
import type { Logger } from './log';
import { POWER_REQUESTED } from '../contract/audit-schema';
import { type InstancePowerEvent, type InstancePowerResult, type PollState } from '../contract/messages';
import { INSTANCE_POWER_POLICY, nextPoll } from '../contract/poll';
import { EC2_GONE_STATES, EC2_PENDING, EC2_RUNNING, EC2_STOPPED, EC2_STOPPING, FAILED, IN_PROGRESS, SUCCESS } from '../contract/status';

export type PowerTarget = typeof EC2_STOPPED | typeof EC2_RUNNING;

/** EC2's error code when an instance is not in a state the requested change can start from. */
const INCORRECT_INSTANCE_STATE = 'IncorrectInstanceState';

/**
 * Error codes of StopInstances / StartInstances that mean "not now": look again on the next poll (bounded by the
 * wait). A stop refused with IncorrectInstanceState is not among them: see `STOP_REFUSED_PENDING_SECONDS`.
 */
const TRY_AGAIN_LATER: Record<PowerTarget, readonly string[]> = {
  stopped: [],
  running: [INCORRECT_INSTANCE_STATE, 'InsufficientInstanceCapacity'],
};

/**
 * How long, from the step's start, a stop refused with IncorrectInstanceState is tried again while the instance is
 * `pending` (EC2 refuses to stop an instance that has not reached `running` yet; it gets there within minutes). Any
 * other refusal with that code is permanent: the instance is shutting down or terminated, or in a state EC2 does not
 * say, and the failure keeps EC2's own words. See docs/fidelity/ec2.md.
 */
export const STOP_REFUSED_PENDING_SECONDS = 300;

/** What DescribeInstances says about one instance. */
/** One DescribeInstances look at an instance. */
export interface InstanceLook {
  readonly state?: string;
  /** EC2's LaunchTime: "the time that the instance was last launched" (a start from stopped sets it again). */
  readonly launchTime?: Date;
}

/** The instance's state and launch time, as one DescribeInstances call sees them (undefined when EC2 lists it not). */
export async function lookAt(ec2: EC2Client, instanceId: string): Promise<InstanceLook | undefined> {
  let output;
  try {
    output = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  } catch (err) {
    rethrowClassified(err, `DescribeInstances ${instanceId}`);
  }
  for (const reservation of output.Reservations ?? []) {
    for (const instance of reservation.Instances ?? []) {
      if (instance.InstanceId === instanceId) {
        return { state: instance.State?.Name, launchTime: instance.LaunchTime };
      }
    }
  }
  return undefined;
}

/** The answer to a change request: the state EC2 reports, or why it refused for now. */
interface ChangeAnswer {
  readonly state?: string;
  /** EC2's refusal (a code of TRY_AGAIN_LATER, or IncorrectInstanceState on a stop), with its message. */
  readonly refusal?: { readonly code: string; readonly text: string };
}

/** Asks EC2 to stop or start the instance. */
async function requestChange(ec2: EC2Client, instanceId: string, target: PowerTarget, log: Logger): Promise<ChangeAnswer> {
  const action = target === EC2_STOPPED ? 'StopInstances' : 'StartInstances';
  try {
    const output = target === EC2_STOPPED
      ? await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }))
      : await ec2.send(new StartInstancesCommand({ InstanceIds: [instanceId] }));
    const change = (target === EC2_STOPPED
      ? (output as { StoppingInstances?: Array<{ InstanceId?: string; CurrentState?: { Name?: string } }> }).StoppingInstances
      : (output as { StartingInstances?: Array<{ InstanceId?: string; CurrentState?: { Name?: string } }> }).StartingInstances) ?? [];
    const state = change.find((c) => c.InstanceId === instanceId)?.CurrentState?.Name;
    log.info(`${action} requested`, { instanceId, state });
    return { state };
  } catch (err) {
    const code = errorCode(err);
    if (TRY_AGAIN_LATER[target].includes(code) || (target === EC2_STOPPED && code === INCORRECT_INSTANCE_STATE)) {
      const message = err instanceof Error ? err.message : String(err);
      log.info(`${action} refused`, { instanceId, code, message });
      return { refusal: { code, text: `${action} refused: ${code}${message && message !== code ? `: ${message}` : ''}` } };
    }
    if (code === 'UnauthorizedOperation') {
      throw new AwsPermanentError(code, `${action} ${instanceId} is not authorized: the instance probably lacks the backup tag `
        + 'the workflow role is restricted to (or an SCP or permissions boundary denies it)');
    }
    rethrowClassified(err, `${action} ${instanceId}`);
  }
}

/**
 * Why a start step asks EC2 for nothing: the instance is running and was last launched before the run began, so this
 * run never stopped it (the stop failed before it took effect). Undefined when that cannot be told.
 */
function neverStoppedReason(look: InstanceLook, runStartTime: string | undefined): string | undefined {
  const started = runStartTime ? Date.parse(runStartTime) : NaN;
  const launched = look.launchTime instanceof Date ? look.launchTime.getTime() : NaN;
  if (!Number.isFinite(started) || !Number.isFinite(launched) || launched >= started) {
    return undefined;
  }
  return `instance never stopped (running since ${new Date(launched).toISOString()}, before the run began)`;
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
  const verb = target === EC2_STOPPED ? 'stop' : 'start';
  const look = await lookAt(ec2, instanceId);
  let state = look?.state;

  if (look === undefined || state === undefined) {
    log.warn('instance not found', { instanceId });
    return { instanceId, state: 'unknown', status: FAILED, message: `instance ${instanceId} not found: cannot ${verb} it`, done: true, poll };
  }
  if (state === target) {
    log.info(`instance ${target}`, { instanceId, attempt: poll.attempt });
    const notRun = target === EC2_RUNNING ? neverStoppedReason(look, event.execution?.startTime) : undefined;
    return {
      instanceId, state, status: SUCCESS, message: '', done: true, poll, observedAt: new Date().toISOString(), ...(notRun ? { notRun } : {}),
    };
  }
  if (EC2_GONE_STATES.includes(state)) {
    log.warn(`instance is ${state}: cannot ${verb} it`, { instanceId });
    return { instanceId, state, status: FAILED, message: `instance is ${state}: cannot ${verb} it`, done: true, poll };
  }

  // Ask for the change only from the state it can start from; otherwise wait for the transition in progress.
  // Once the wait is over, never stop an instance any more (the workflow moved on), but still ask for a start:
  // an instance this run stopped must end up running even when it is slow to get there.
  const from = target === EC2_STOPPED ? EC2_RUNNING : EC2_STOPPED;
  let refused = '';
  if (state === from && options.mayRequestChange !== false && (!poll.expired || target === EC2_RUNNING)) {
    const answer = await requestChange(ec2, instanceId, target, log);
    // EC2 accepted the request (no refusal): journalled for the run's recovery.
    await journalRequested(event, verb, answer.refusal ? undefined : (answer.state ?? target));
    state = answer.state ?? state;
    refused = answer.refusal?.text ?? '';
    if (answer.refusal?.code === INCORRECT_INSTANCE_STATE && target === EC2_STOPPED) {
      // EC2 and the look disagree on the state (DescribeInstances is eventually consistent): look again.
      state = (await lookAt(ec2, instanceId))?.state ?? state;
      if (state === EC2_PENDING && poll.elapsedSeconds < STOP_REFUSED_PENDING_SECONDS) {
        log.info('stop refused while the instance is pending; trying again', { instanceId, attempt: poll.attempt });
        return { instanceId, state, status: IN_PROGRESS, message: `${refused} (instance pending: trying again)`, done: false, poll };
      }
      if (state !== target && state !== EC2_STOPPING) {
        const why = state === EC2_PENDING ? `instance still pending after ${poll.elapsedSeconds} s` : `instance ${state}`;
        log.warn('stop refused', { instanceId, state, refused });
        return { instanceId, state, status: FAILED, message: `${refused} (${why})`, done: true, poll };
      }
      refused = '';
    }
  }
  if (state === target) {
    return { instanceId, state, status: SUCCESS, message: '', done: true, poll, observedAt: new Date().toISOString() };
  }
  if (poll.expired) {
    const message = `instance did not reach ${target} within ${poll.elapsedSeconds} s (last state ${state})${refused ? `; ${refused}` : ''}`;
    log.warn(message, { instanceId });
    return { instanceId, state, status: FAILED, message, done: true, poll };
  }
  log.info(`waiting for the instance to be ${target}`, { instanceId, state, attempt: poll.attempt });
  return { instanceId, state, status: IN_PROGRESS, message: refused, done: false, poll };
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
    kind: target === EC2_STOPPED ? 'stop' : 'start',
    taskToken: event.taskToken,
    execution: event.execution,
    instanceId: event.instanceId,
    resourceId: event.instanceId,
    previous: { instanceId: event.instanceId },
    maxSeconds: INSTANCE_POWER_POLICY.maxSeconds,
    check: (poll) => ensurePowerState(ec2, event, target, log, { poll }),
    // A throttled fallback look: the state-change event or the next look (which asks EC2 again for the change while
    // the instance is not there) ends the wait. At fleet scale, thousands of power waits look together when EC2's
    // events are late, and a refused look must not spend the Task's retries (docs/design.md "Fleet scale").
    stillWaiting: (poll) => ({
      instanceId: event.instanceId, state: 'unknown', status: IN_PROGRESS, message: 'look refused (transient error): still waiting', done: false, poll,
    }),
    // A start refused at its first look (StartInstances throttled: 2 per s for the account, met when many jobs end
    // together) is asked again at the next look, a minute later, until the wait's bound, rather than failing after the
    // Task's quick retries and leaving the instance stopped (docs/design.md "Fleet scale"). A stop is not: failing it
    // soon thaws the application without its backup, rather than keeping it frozen for a stop that may not come.
    deferFirstLook: target === EC2_RUNNING,
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
