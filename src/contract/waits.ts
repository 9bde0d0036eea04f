/**
 * Waiting on events. Each long wait of an instance (a script, a stop, a start, a backup job, a copy job) is one
 * `.waitForTaskToken` Task: the handler that starts the step registers the task token in the audit table under
 * `WAIT#<kind>#<resource id>`, and the state-change event of that resource (EC2, SSM Run Command, AWS Backup) resumes
 * the task through resume-wait. When an event is lost, the Task times out after the kind's fallback interval, and
 * its Retry calls the starting handler again: it looks at the resource itself, registers a new token, and declares
 * the wait over once the attempts have covered the wait's bound.
 */
import { type PollState } from './messages';
import type { PollPolicy } from './poll';

/** The waits that are resumed by events. */
export type WaitKind = 'script' | 'stop' | 'start' | 'backup' | 'copy';

export const WAIT_KINDS: readonly WaitKind[] = ['script', 'stop', 'start', 'backup', 'copy'];


/**
 * Seconds a waiting Task lasts before its fallback look (the Task's TimeoutSeconds): the longest a lost event can
 * delay the workflow. A stop and a start happen while the application is frozen or the instance down, and take about
 * a minute: a lost event must not add five. A script's end starts the freeze (the pre-script) or ends the chain (the
 * post-script); its looks share SSM's read quota with every other chain's, so a script looks every 5 minutes. A
 * backup's is the most a lost "job completed" event can add once the job's point in time is passed.
 */
export const FALLBACK_SECONDS: Readonly<Record<WaitKind, number>> = {
  script: 300,
  stop: 60,
  start: 60,
  backup: 900,
  copy: 1800,
};


/** The resource id of a script's wait: one invocation is one command on one instance. */
export function scriptResourceId(commandId: string, instanceId: string): string {
  return `${commandId}:${instanceId}`;
}

/** The command id of a script's resource id (`scriptResourceId`). */
export function commandIdOf(scriptResource: string): string {
  return scriptResource.split(':')[0];
}

/**
 * The wait's progress at the `attempt`-th registration: every earlier attempt ended with the Task's timeout, so
 * `(attempt - 1)` fallback intervals have passed. Expired once they cover `maxSeconds`.
 */
export function pollAtAttempt(attempt: number, kind: WaitKind, maxSeconds: number): PollState {
  const interval = FALLBACK_SECONDS[kind];
  const bound = Math.max(0, Math.floor(maxSeconds));
  const n = Math.max(1, Math.floor(attempt));
  const elapsedSeconds = (n - 1) * interval;
  return {
    attempt: n,
    elapsedSeconds,
    nextWaitSeconds: Math.max(1, Math.min(interval, bound - elapsedSeconds)),
    maxSeconds: bound,
    expired: elapsedSeconds >= bound,
  };
}

/**
 * Retries of a waiting Task on `States.Timeout` that cover the wait's bound with room to spare: the handler ends the
 * wait at its bound, so the Retry running out (its error then caught into the failure path) is only a safety net.
 */
export function fallbackRetries(kind: WaitKind, policy: Pick<PollPolicy, 'maxSeconds'>): number {
  return Math.ceil(Math.max(0, policy.maxSeconds) / FALLBACK_SECONDS[kind]) + 2;
}

const WAITED_RESOURCE = /\[wait (script|stop|start|backup|copy) ([^\]\s]+)\]/;

const RECOVERY_POINT = /\[recovery point ([^\]\s]+)\]/;

/**
 * The error, its message ending with `[wait <kind> <resource id>]` and, for a backup job, `[recovery point <arn>]`
 * (its name, hence its retry class, unchanged).
 */
export function withWaitedResource(err: unknown, kind: WaitKind, resourceId: string, recoveryPointArn?: string): unknown {
  if (err instanceof Error && !WAITED_RESOURCE.test(err.message)) {
    err.message = `${err.message} [wait ${kind} ${resourceId}]${recoveryPointArn ? ` [recovery point ${recoveryPointArn}]` : ''}`;
  }
  return err;
}

/** The recovery point a caught error's message names with `withWaitedResource`, if any. */
export function waitedRecoveryPoint(message: string): string | undefined {
  return RECOVERY_POINT.exec(message)?.[1];
}

/** The resource id a caught error's message names with `withWaitedResource`, if it is of `kind`. */
export function waitedResource(message: string, kind: WaitKind): string | undefined {
  const match = WAITED_RESOURCE.exec(message);
  return match && match[1] === kind ? match[2] : undefined;
}
