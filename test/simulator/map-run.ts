/**
 * The Map Run of a DISTRIBUTED Map state, modelled the way Step Functions documents it (docs/fidelity/stepfunctions.md):
 * aws-local-stepfunctions would run a distributed Map inline (ignoring ToleratedFailurePercentage), so the simulator
 * replaces each top-level distributed Map by a Task whose local handler is `runMapRun`:
 *
 * - every item runs as its own child execution of the ItemProcessor (its own interpreter run, its own history),
 *   at most MaxConcurrency at a time (0 or absent: all at once);
 * - a child that fails (or times out) counts against ToleratedFailurePercentage / ToleratedFailureCount (default 0:
 *   one failed child fails the Map Run); the percentage is failed items / all items;
 * - when the threshold is exceeded, the Map fails with `States.ExceedToleratedFailureThreshold`, no further child is
 *   started, and the children still running are STOPPED where they are (ABORTED, "stopped ... by Step Functions
 *   because the Map Run failed"): the worst the documentation allows;
 * - the Map's result is the children's outputs in item order; a failed child's entry is its execution's metadata
 *   (`Transformation: NONE`: ExecutionArn, Input, Name, Status, Error, Cause, ...);
 * - a result larger than 256 KiB fails the Map with `States.DataLimitExceeded`, which no Catch sees.
 *
 * A chain can be killed at a named state for an instance (`ChainKill`): its child fails with `States.Runtime`, which
 * no Retry or Catch of the chain sees, as AWS reports a Lambda killed outside a Catch or a runtime error.
 */
import { AslDefinition, AslState } from './asl';
import { readPath } from './json-path';
import { defaultIterationInstance } from './timeline';
import { ACCOUNT_ID, REGION } from './world';

/** Step Functions' payload limit of a state's input or output (256 KiB). */
export const PAYLOAD_LIMIT_BYTES = 262_144;

export const MAP_RUN_RESOURCE = 'arn:aws:states:::simulator:mapRun';
/**
 * The longest wall-clock timeout node's timers allow (about 24 days): what the interpreter gets in place of a Task's
 * TimeoutSeconds (the simulator enforces those in virtual time), and the Map Run's Task's.
 */
export const LONGEST_WALL_CLOCK_TIMEOUT_SECONDS = 2_147_483;

/** Kill an instance's chain, uncaught, when it reaches a Task state. */
export interface ChainKill {
  /** The Task state of the item processor where the chain dies (before the state's work is done). */
  readonly stateName: string;
  readonly instanceId: string;
  /** @default 'States.Runtime' */
  readonly error?: string;
  readonly cause?: string;
  /**
   * Issue 15: instead of killing the chain, the whole run is stopped there (StopExecution of the parent, by hand): the
   * parent ends ABORTED and every child still running is stopped where it is (ABORTED); nothing runs after (no cleanup,
   * no audit write). docs/fidelity/ready-made.md.
   */
  readonly stopExecution?: boolean;
}

/** What happened to one child execution. */
export interface ChildRecord {
  readonly index: number;
  readonly instanceId?: string;
  status: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  error?: string;
  cause?: string;
}

/** One Map Run: its counts as DescribeMapRun's executionCounts would give them. */
export interface MapRunRecord {
  readonly stateName: string;
  readonly total: number;
  readonly children: ChildRecord[];
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  error?: string;
}

/** An error the interpreter neither retries nor catches (it reads `isRetryable` / `isCatchable`). */
export function uncatchableError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, isRetryable: false, isCatchable: false });
}

/** A distributed Map state (at any level: a child execution may run a distributed Map of its own). */
export function isDistributedMap(state: AslState): boolean {
  return state.Type === 'Map' && (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED');
}

/** The definition the interpreter runs: each top-level distributed Map replaced by a Task of the Map Run model. */
export function withMapRunTasks(def: AslDefinition): { definition: AslDefinition; maps: Record<string, AslState> } {
  const maps: Record<string, AslState> = {};
  const states: Record<string, AslState> = {};
  for (const [name, state] of Object.entries(def.States)) {
    if (!isDistributedMap(state)) {
      states[name] = state;
      continue;
    }
    maps[name] = state;
    // A Map state has no timeout of its own; the interpreter would give a Task 60 s of wall-clock time (the largest
    // setTimeout delay node accepts is 2^31-1 ms).
    const task: AslState = { Type: 'Task', Resource: MAP_RUN_RESOURCE, TimeoutSeconds: LONGEST_WALL_CLOCK_TIMEOUT_SECONDS };
    for (const k of ['Comment', 'InputPath', 'ResultPath', 'ResultSelector', 'OutputPath', 'Retry', 'Catch', 'Next', 'End']) {
      if (k in state) task[k] = state[k];
    }
    states[name] = task;
  }
  return { definition: { ...def, States: states }, maps };
}

/** Payload template evaluation (ItemSelector): `.$` keys read `$` (the Map's input) or `$$.Map.Item.Value|Index`. */
export function selectItem(template: unknown, input: unknown, item: unknown, index: number): unknown {
  if (Array.isArray(template)) return template.map((t) => selectItem(t, input, item, index));
  if (template === null || typeof template !== 'object') return template;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(template as Record<string, unknown>)) {
    if (!key.endsWith('.$')) {
      out[key] = selectItem(value, input, item, index);
      continue;
    }
    const path = String(value);
    let v: unknown;
    if (path === '$$.Map.Item.Index') v = index;
    else if (path === '$$.Map.Item.Value') v = item;
    else if (path.startsWith('$$.Map.Item.Value')) v = readPath(`$${path.slice('$$.Map.Item.Value'.length)}`, item);
    else if (path.startsWith('$') && !path.startsWith('$$')) v = readPath(path, input);
    else throw new Error(`ItemSelector ${key}: ${path} is not supported by the simulator's Map Run model`);
    if (v === undefined) throw uncatchableError('States.Runtime', `The JSONPath '${path}' specified for the field '${key}' could not be found in the input`);
    out[key.slice(0, -2)] = v;
  }
  return out;
}

export interface MapRunDeps {
  /** aws-local-stepfunctions' StateMachine class. */
  readonly StateMachine: new (def: any, options?: any) => any;
  /** Task handlers by state name (shared with the parent run). */
  readonly handlers: Record<string, (input: any) => Promise<unknown>>;
  readonly waitTimeOverrides: Record<string, number>;
  readonly retryIntervalOverrides: Record<string, number>;
  readonly context: Record<string, unknown>;
  /** The parent run's ARN and the state machine's name (child ARNs are built from them). */
  readonly executionArn: string;
  readonly stateMachineName: string;
  /** Feed one event of a child execution (or a synthesized iteration event) to the run's timeline. */
  readonly onEvent: (ev: any) => void;
  /** Chains to kill; a kill that fires is removed. */
  readonly kills: ChainKill[];
  /** Stops the parent execution (a ChainKill with `stopExecution`). */
  readonly stopExecution?: () => void;
  /** Map Runs of this run (appended). */
  readonly records: MapRunRecord[];
  /**
   * Set for a Map Run started inside a child execution (a nested distributed Map): the events of its children are
   * tagged with it (`mapRun`), so the timeline keeps each Map Run's children apart from other Map Runs of the same
   * state running at the same time.
   */
  readonly mapRunTag?: string;
  /** The run's stop (StopExecution): shared by every Map Run of the run, nested ones included. */
  readonly stop?: StopSignal;
}

/** StopExecution of the parent: every Map Run of the run stops its children where they are, none starts after. */
export class StopSignal {
  public stopped = false;
  private readonly listeners = new Set<() => void>();
  constructor(private readonly stopParent?: () => void) {}
  public onStop(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  public stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const l of [...this.listeners]) l();
    this.stopParent?.();
  }
}

function thresholdExceeded(state: AslState, input: unknown, failed: number, total: number): boolean {
  const count = typeof state.ToleratedFailureCountPath === 'string' ? readPath(state.ToleratedFailureCountPath, input) : state.ToleratedFailureCount;
  const pct = typeof state.ToleratedFailurePercentagePath === 'string'
    ? readPath(state.ToleratedFailurePercentagePath, input) : state.ToleratedFailurePercentage;
  if (count === undefined && pct === undefined) return failed > 0; // the default: 0 %
  if (typeof count === 'number' && failed > count) return true;
  if (typeof pct === 'number' && total > 0 && (failed / total) * 100 > pct) return true;
  return false;
}

/** Runs one Map Run; resolves with the Map's result, rejects with the Map's error. */
export async function runMapRun(deps: MapRunDeps, name: string, state: AslState, input: unknown): Promise<unknown> {
  // Let the timeline take in the Map's own StateEntered before the children's events.
  await new Promise((resolve) => setImmediate(resolve));
  const items = readPath(state.ItemsPath ?? '$', input);
  if (!Array.isArray(items)) throw uncatchableError('States.Runtime', `Map ${name}: ItemsPath ${state.ItemsPath ?? '$'} is not an array`);
  const processor = state.ItemProcessor ?? state.Iterator;
  const { ProcessorConfig: _config, ...childDefinition } = processor;
  const template = state.ItemSelector ?? state.Parameters;
  const maxConcurrency = typeof state.MaxConcurrency === 'number' && state.MaxConcurrency > 0 ? state.MaxConcurrency : items.length;
  const record: MapRunRecord = { stateName: name, total: items.length, children: [], status: 'RUNNING' };
  deps.records.push(record);
  const results: unknown[] = new Array(items.length);
  const running = new Map<number, any>();
  let failed = 0;
  let exceeded = false;
  const signal = deps.stop ?? new StopSignal(deps.stopExecution);
  const unsubscribe = signal.onStop(() => {
    for (const other of running.values()) other.abort();
  });
  const mapRunId = `${deps.records.length}`;
  const tag = (ev: any) => (deps.mapRunTag ? { ...ev, mapRun: deps.mapRunTag } : ev);

  const runChild = async (index: number): Promise<void> => {
    const childInput = template === undefined ? items[index] : selectItem(template, input, items[index], index);
    const instanceId = defaultIterationInstance(childInput);
    const child: ChildRecord = { index, instanceId, status: 'RUNNING' };
    record.children.push(child);
    const childName = `${name.replace(/[^\w-]/g, '')}-${mapRunId}-${index}`;
    const childArn = `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:${deps.stateMachineName}/${name.replace(/[^\w-]/g, '')}:${childName}`;
    const handlers: Record<string, (input: any) => Promise<unknown>> = {};
    for (const [stateName, h] of Object.entries(deps.handlers)) {
      handlers[stateName] = async (taskInput) => {
        const k = deps.kills.findIndex((x) => x.stateName === stateName && x.instanceId === instanceId);
        if (k >= 0) {
          const kill = deps.kills.splice(k, 1)[0];
          if (kill.stopExecution) {
            // StopExecution: every child of every Map Run is stopped where it is, none starts after, then the parent.
            signal.stop();
            // The stopped Task's own end is never seen: its execution was aborted first.
            throw uncatchableError('States.Runtime', `The execution was stopped at '${stateName}' of ${instanceId} (StopExecution, simulated).`);
          }
          throw uncatchableError(kill.error ?? 'States.Runtime', kill.cause
            ?? `An error occurred while executing the state '${stateName}'. The chain of ${instanceId} was killed (simulated fault).`);
        }
        return h(taskInput);
      };
    }
    // A distributed Map inside the child runs as a Map Run of its own (its children tagged with its Map Run).
    const { definition: runnableChild, maps: nested } = withMapRunTasks(childDefinition as AslDefinition);
    for (const [nestedName, nestedState] of Object.entries(nested)) {
      handlers[nestedName] = (nestedInput) => runMapRun({
        ...deps,
        handlers: deps.handlers,
        stop: signal,
        // The timeline finds the nested Map Run's children by the enclosing iteration: `<this Map>[<this index>]`.
        mapRunTag: `${name}[${index}]`,
      }, nestedName, nestedState, nestedInput);
    }
    const machine = new deps.StateMachine(runnableChild, { validationOptions: { noValidate: true } });
    const execution = machine.run(childInput, {
      overrides: {
        taskResourceLocalHandlers: handlers,
        waitTimeOverrides: deps.waitTimeOverrides,
        retryIntervalOverrides: deps.retryIntervalOverrides,
      },
      context: { ...deps.context, Execution: { ...(deps.context.Execution as object), Id: childArn, Name: childName, Input: childInput } },
    });
    running.set(index, execution);
    deps.onEvent(tag({ type: 'MapIterationStarted', parentState: { name }, index, input: childInput }));
    const consumer = (async () => {
      for await (const ev of execution.eventLogs) {
        if (String(ev.type).startsWith('Execution')) continue; // the child's own start/end: synthesized below
        deps.onEvent(tag(ev.index === undefined ? { ...ev, index } : ev));
      }
    })();
    const startDate = new Date().toISOString();
    try {
      results[index] = await execution.result;
      child.status = 'SUCCEEDED';
    } catch (e) {
      const c = (e as { cause?: Error }).cause;
      if ((e as Error).name === 'ExecutionAbortedError') {
        child.status = 'ABORTED';
      } else {
        child.status = 'FAILED';
        child.error = c?.name ?? (e as Error).name;
        child.cause = c?.message ?? (e as Error).message;
        failed++;
        // Transformation NONE: a failed child's entry is its execution's metadata (the ResultWriter page).
        results[index] = {
          ExecutionArn: childArn,
          Input: JSON.stringify(childInput),
          InputDetails: { Included: true },
          Name: childName,
          RedriveCount: 0,
          RedriveStatus: 'NOT_REDRIVABLE',
          RedriveStatusReason: 'Execution is FAILED and cannot be redriven',
          StartDate: startDate,
          StateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${deps.stateMachineName}/${name.replace(/[^\w-]/g, '')}`,
          Status: 'FAILED',
          StopDate: new Date().toISOString(),
          Error: child.error,
          Cause: child.cause,
        };
      }
    }
    await consumer;
    running.delete(index);
    deps.onEvent(tag({
      type: child.status === 'SUCCEEDED' ? 'MapIterationSucceeded' : child.status === 'ABORTED' ? 'MapIterationAborted' : 'MapIterationFailed',
      parentState: { name },
      index,
    }));
    if (!exceeded && child.status === 'FAILED' && thresholdExceeded(state, input, failed, items.length)) {
      exceeded = true;
      // The Map Run fails: Step Functions stops the children still running (they count as aborted).
      for (const other of running.values()) other.abort();
    }
  };

  let next = 0;
  const workers: Promise<void>[] = [];
  const worker = async () => {
    while (!exceeded && !signal.stopped && next < items.length) {
      await runChild(next++);
    }
  };
  for (let w = 0; w < Math.min(maxConcurrency, items.length); w++) workers.push(worker());
  await Promise.all(workers);
  unsubscribe();

  if (exceeded) {
    record.status = 'FAILED';
    record.error = 'States.ExceedToleratedFailureThreshold';
    const counts = (s: ChildRecord['status']) => record.children.filter((c) => c.status === s).length;
    throw Object.assign(new Error(`The specified tolerated failure threshold was exceeded: ${failed} of ${items.length} child executions failed `
      + `(${counts('ABORTED')} aborted, ${items.length - record.children.length} not started)`), { name: 'States.ExceedToleratedFailureThreshold' });
  }
  const bytes = Buffer.byteLength(JSON.stringify(results));
  if (bytes > PAYLOAD_LIMIT_BYTES) {
    record.status = 'FAILED';
    record.error = 'States.DataLimitExceeded';
    throw uncatchableError('States.DataLimitExceeded', `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} bytes).`);
  }
  record.status = 'SUCCEEDED';
  return results;
}
