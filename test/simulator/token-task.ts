/**
 * `arn:aws:states:::lambda:invoke.waitForTaskToken` Task states, run the way Step Functions runs them: issue a task
 * token (the run's context holds a placeholder for `$$.Task.Token`, replaced in the payload by the real token),
 * invoke the Lambda in-process, then wait until the token is answered through the fake Step Functions endpoint.
 *
 * While waiting, the world is driven: the payload's `instanceId` names the instance; its in-flight operations
 * complete one at a time (soonest first), their state-change events are delivered through the default bus rules when
 * due (events/delivery.ts: AWS Backup's at its next 5-minute batch, EC2's and SSM's within a minute; some are lost,
 * some come twice), and the rule's Lambda answers the token. The wait moves the instance's clock to whichever comes
 * first, the next completion or the next event due. When neither comes before the state's TimeoutSeconds (of
 * virtual time), the task fails with `States.Timeout`, so the state's Retry / Catch apply.
 */
import { TaskToken, TokenRegistry } from './tokens';
import { World } from './world';

/** What `$$.Task.Token` resolves to in the run's context; replaced by a fresh token in each attempt's payload. */
export const TOKEN_PLACEHOLDER = '__SIMULATOR_TASK_TOKEN__';

export const WAIT_FOR_TOKEN_RESOURCE = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** A failure reported with SendTaskFailure (or a Lambda error): Step Functions' Error and Cause. */
export class TokenTaskFailure extends Error {
  constructor(error: string, cause: string) {
    super(cause);
    this.name = error;
  }
}

export interface TokenTaskDeps {
  readonly world: World;
  readonly tokens: TokenRegistry;
  /** Invoke a loaded function in-process (counted); throws the task error when it fails. */
  invoke(functionNameOrArn: string, payload: unknown): Promise<unknown>;
  /** Deliver the events that are due (of this instance, or of every instance) through the default bus rules. */
  deliver(instanceId?: string): Promise<void>;
  /** The wait took virtual seconds (moves the instance's iteration clock, or the run clock). */
  waited(instanceId: string | undefined, seconds: number): void;
  /** A `States.Timeout` error the interpreter treats as its own (not matched by `States.TaskFailed`). */
  timeoutError(): Error;
}

export interface TokenTaskState {
  readonly executionArn: string;
  readonly stateName: string;
  readonly timeoutSeconds?: number;
}

/** Problems that make a state unrunnable as a token task (checked before any run). */
export function tokenTaskProblems(name: string, state: Record<string, any>): string[] {
  const problems: string[] = [];
  if (!JSON.stringify(state.Parameters ?? {}).includes('$$.Task.Token')) problems.push(`${name}: .waitForTaskToken without $$.Task.Token in Parameters`);
  if (state.TimeoutSecondsPath !== undefined) problems.push(`${name}: TimeoutSecondsPath on a token task is not supported by the simulator`);
  return problems;
}

function replaceToken(value: unknown, token: string): unknown {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  }
  return value;
}

/** Run one attempt of a token task; `input` is the state's effective input (Parameters applied). */
export async function runTokenTask(deps: TokenTaskDeps, state: TokenTaskState, input: any): Promise<unknown> {
  // Let the run's timeline take in the events before this state (iteration start, Waits, retries): the clocks.
  await new Promise((resolve) => setImmediate(resolve));
  const payload = input?.Payload ?? {};
  const instanceId = typeof payload?.instanceId === 'string' ? payload.instanceId : undefined;
  const t: TaskToken = deps.tokens.issue({ executionArn: state.executionArn, stateName: state.stateName, instanceId });
  const start = deps.world.now(instanceId ?? '');
  const deadline = start + (state.timeoutSeconds ?? Infinity);
  try {
    await deps.invoke(String(input?.FunctionName ?? ''), replaceToken(payload, t.token));
  } catch (e) {
    // The task fails with the Lambda's error, unless the token was answered first (that answer ends the task).
    if (t.status === 'waiting') {
      deps.tokens.invokeFailed(t);
      throw e;
    }
  }
  await deps.deliver(instanceId);
  let clock = start;
  for (let steps = 0; t.status === 'waiting'; steps++) {
    if (steps > 10_000) throw new Error(`${state.stateName}: more than 10000 world steps in one token wait`);
    const known = instanceId !== undefined && deps.world.instances.has(instanceId);
    const next = known ? deps.world.pendingCompletions(instanceId)[0] : undefined;
    const eventAt = instanceId !== undefined ? deps.world.nextDeliveryAt(instanceId) : undefined;
    const at = Math.min(next?.at ?? Infinity, eventAt ?? Infinity);
    if (at === Infinity || at > deadline) {
      if (deadline === Infinity) {
        deps.tokens.timeOut(t);
        throw new Error(`${state.stateName}: the token of ${instanceId ?? '(no instanceId in the payload)'} can never be answered and the state has no TimeoutSeconds (it would wait a year in AWS)`);
      }
      deps.waited(instanceId, deadline - clock);
      deps.tokens.timeOut(t);
      throw deps.timeoutError();
    }
    if (at > clock) {
      deps.waited(instanceId, at - clock);
      clock = at;
    }
    // A completion due no later than the next event first (its own events are then due at the earliest with it).
    if (next && next.at <= (eventAt ?? Infinity)) next.apply();
    await deps.deliver(instanceId);
  }
  if (t.status === 'succeeded') return t.output;
  throw new TokenTaskFailure(t.error ?? '', t.cause ?? '');
}
