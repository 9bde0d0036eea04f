/**
 * Follows the interpreter's event log of one run and keeps its virtual time and counts: Wait seconds, Retry
 * back-offs and token waits per top level and per Map iteration / Parallel branch, each iteration's instance clock,
 * state transitions and history events.
 */
import { AslState } from './asl';
import { Clocks } from './clock';
import { attemptEndEvent, attemptStartEvents, HistoryCounter, taskKind } from './history';
import { readPath } from './json-path';

/** Nominal seconds spent in one place (the top level, or one Map iteration / Parallel branch). */
export interface WaitBucket {
  /** Wait states' seconds plus Retry back-off seconds plus token waits' seconds. */
  seconds: number;
  waitSeconds: number;
  retrySeconds: number;
  /** Virtual seconds spent in `.waitForTaskToken` tasks (time mode: until the completion or the timeout). */
  taskSeconds: number;
  /** Seconds per Wait state. */
  byState: Record<string, number>;
}

export const emptyBucket = (): WaitBucket => ({ seconds: 0, waitSeconds: 0, retrySeconds: 0, taskSeconds: 0, byState: {} });

export interface StateInfo {
  readonly state: AslState;
  /** Outermost enclosing Map/Parallel state, or undefined at the top level. */
  readonly container?: { readonly name: string; readonly kind: 'Map' | 'Parallel'; readonly branch: number };
}

/** The parts of RunStats the timeline fills. */
export interface TimelineStats {
  stateTransitions: number;
  retries: number;
  largestStatePayloadBytes: number;
  largestStatePayloadState: string;
  topLevel: WaitBucket;
  iterations: Record<string, WaitBucket[]>;
  virtualSeconds: number;
  warnings: string[];
}

/** The instance a Map iteration works on, from its input (default `$.instance.instanceId`, else `$.instanceId`). */
export type IterationInstance = (iterationInput: any) => string | undefined;
export const defaultIterationInstance: IterationInstance = (input) => {
  const id = input?.instance?.instanceId ?? input?.instanceId;
  return typeof id === 'string' ? id : undefined;
};

interface Slot { group: string; index: number; bucket: WaitBucket; instanceId?: string; active: boolean }

export class Timeline {
  public readonly history = new HistoryCounter();
  private readonly runs: Record<string, number> = {};
  private readonly slots = new Map<string, Slot>();
  private readonly activeByInstance = new Map<string, Slot>();
  private readonly groupStart: Record<string, number> = {};
  /** Per execution key and state: the last event was a caught failure (its Exited is no success). */
  private readonly caught = new Set<string>();

  constructor(
    private readonly info: Map<string, StateInfo>,
    private readonly stats: TimelineStats,
    private readonly clocks: Clocks,
    private readonly iterationInstance: IterationInstance = defaultIterationInstance,
  ) {}

  private topLevelMap(name: string): boolean {
    const i = this.info.get(name);
    return !!i && !i.container && (i.state.Type === 'Map' || i.state.Type === 'Parallel');
  }

  private groupOf(container: string): string {
    const run = this.runs[container] ?? 1;
    return run > 1 ? `${container}#${run}` : container;
  }

  /**
   * The group of a Map's iterations: its name (and run) for a top-level Map; for a distributed Map inside a child
   * execution (a nested Map Run, map-run.ts), its name and the child execution that runs it (`mapRun`), because several
   * such Map Runs of the same state run at the same time.
   */
  private groupFor(container: string, mapRun?: string): string {
    return mapRun ? `${container}@${mapRun}` : this.groupOf(container);
  }

  private slot(stateName: string, index: number | undefined, mapRun?: string): Slot | undefined {
    const c = this.info.get(stateName)?.container;
    if (!c) return undefined;
    return this.slotOf(c.name, c.kind === 'Map' ? index ?? 0 : c.branch, mapRun);
  }

  private slotOf(container: string, i: number, mapRun?: string): Slot {
    const group = this.groupFor(container, mapRun);
    const key = `${group}|${i}`;
    let s = this.slots.get(key);
    if (!s) {
      s = { group, index: i, bucket: emptyBucket(), active: true };
      this.slots.set(key, s);
    }
    return s;
  }

  /** The execution whose history an event of this state belongs to. */
  private executionOf(stateName: string, index: number | undefined, mapRun?: string): string {
    const c = this.info.get(stateName)?.container;
    if (!c || c.kind !== 'Map') return 'execution';
    return `${this.groupFor(c.name, mapRun)}[${index ?? 0}]`;
  }

  private advance(slot: Slot | undefined, seconds: number, field: 'waitSeconds' | 'retrySeconds' | 'taskSeconds'): void {
    const b = slot ? slot.bucket : this.stats.topLevel;
    b[field] += seconds;
    b.seconds += seconds;
    if (slot?.instanceId) this.clocks.advance(slot.instanceId, seconds);
    else if (!slot) this.clocks.advanceRun(seconds);
  }

  /** A token wait about an instance took `seconds`: its iteration's bucket and clock (or the run's) move on. */
  public taskWaited(instanceId: string | undefined, seconds: number): void {
    const slot = instanceId ? this.activeByInstance.get(instanceId) : undefined;
    if (slot) {
      this.advance(slot, seconds, 'taskSeconds');
    } else {
      this.advance(undefined, seconds, 'taskSeconds');
      if (instanceId && this.clocks.hasInstance(instanceId)) this.clocks.advance(instanceId, seconds);
    }
  }

  private payload(stateName: string, value: unknown): void {
    if (value === undefined) return;
    const bytes = Buffer.byteLength(JSON.stringify(value) ?? '');
    if (bytes > this.stats.largestStatePayloadBytes) {
      this.stats.largestStatePayloadBytes = bytes;
      this.stats.largestStatePayloadState = stateName;
    }
  }

  public onEvent(ev: any): void {
    switch (ev.type) {
      case 'ExecutionStarted':
        this.payload('(execution input)', ev.input);
        this.history.add('execution', 'ExecutionStarted');
        break;
      case 'ExecutionSucceeded':
        this.history.add('execution', 'ExecutionSucceeded');
        break;
      case 'ExecutionFailed':
        this.history.add('execution', 'ExecutionFailed');
        break;
      case 'ExecutionTimeout':
        this.history.add('execution', 'ExecutionTimedOut');
        break;
      case 'ExecutionAborted':
        this.history.add('execution', 'ExecutionAborted');
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed':
      case 'MapIterationAborted': // a child execution stopped because its Map Run failed (map-run.ts)
        this.onIteration(ev);
        break;
      case 'StateEntered':
        this.onEntered(ev);
        break;
      case 'StateExited':
        this.onExited(ev);
        break;
      case 'StateFailed':
        this.onFailed(ev);
        break;
      case 'StateCaught':
        this.caught.add(`${this.executionOf(ev.state.name, ev.index, ev.mapRun)}|${ev.state.name}`);
        break;
      case 'StateRetried':
        this.onRetried(ev);
        break;
    }
  }

  private onIteration(ev: any): void {
    const mapName: string = ev.parentState?.name;
    if (this.topLevelMap(mapName) || ev.mapRun) {
      const key = `${this.groupFor(mapName, ev.mapRun)}[${ev.index}]`;
      const slot = this.slotOf(mapName, ev.index, ev.mapRun);
      if (ev.type === 'MapIterationStarted') {
        this.history.add(key, 'ExecutionStarted');
        const id = this.iterationInstance(ev.input);
        if (id) {
          slot.instanceId = id;
          this.clocks.startInstance(id);
          this.activeByInstance.set(id, slot);
        }
      } else {
        this.history.add(key, ev.type === 'MapIterationSucceeded' ? 'ExecutionSucceeded'
          : ev.type === 'MapIterationAborted' ? 'ExecutionAborted' : 'ExecutionFailed');
        slot.active = false;
        if (slot.instanceId && this.activeByInstance.get(slot.instanceId) === slot) this.activeByInstance.delete(slot.instanceId);
      }
    } else if (this.info.has(mapName)) {
      // An inline Map inside an iteration: its iterations are events of the enclosing execution.
      const exec = this.executionOf(mapName, ev.index, ev.mapRun);
      this.history.add(exec, ev.type);
    }
  }

  private onEntered(ev: any): void {
    this.stats.stateTransitions++;
    const name: string = ev.state.name;
    const info = this.info.get(name);
    if (!info) return;
    const type = info.state.Type as string;
    const exec = this.executionOf(name, ev.index, ev.mapRun);
    this.caught.delete(`${exec}|${name}`);
    this.history.add(exec, `${type}StateEntered`);
    if (type === 'Task') this.history.add(exec, ...attemptStartEvents(taskKind(String(info.state.Resource))));
    if (type === 'Map') this.history.add(exec, info.container ? 'MapStateStarted' : 'MapRunStarted');
    if (type === 'Parallel') this.history.add(exec, 'ParallelStateStarted');
    if (this.topLevelMap(name)) {
      this.runs[name] = (this.runs[name] ?? 0) + 1;
      this.groupStart[this.groupOf(name)] = this.clocks.runSeconds;
    }
    if (type === 'Wait') {
      const seconds = this.waitSeconds(name, info.state, ev.state.input);
      const slot = this.slot(name, ev.index, ev.mapRun);
      this.advance(slot, seconds, 'waitSeconds');
      const b = slot ? slot.bucket : this.stats.topLevel;
      b.byState[name] = (b.byState[name] ?? 0) + seconds;
    }
  }

  private onExited(ev: any): void {
    const name: string = ev.state.name;
    this.payload(name, ev.state.output);
    const info = this.info.get(name);
    if (!info) return;
    const type = info.state.Type as string;
    const exec = this.executionOf(name, ev.index, ev.mapRun);
    const wasCaught = this.caught.delete(`${exec}|${name}`);
    if (!wasCaught) {
      if (type === 'Task') this.history.add(exec, attemptEndEvent(taskKind(String(info.state.Resource)), 'succeeded'));
      if (type === 'Map') this.history.add(exec, info.container ? 'MapStateSucceeded' : 'MapRunSucceeded');
      if (type === 'Parallel') this.history.add(exec, 'ParallelStateSucceeded');
    }
    this.history.add(exec, `${type}StateExited`);
    if (this.topLevelMap(name)) this.closeGroup(name);
    else this.closeNestedRun(name, ev);
  }

  private onFailed(ev: any): void {
    const name: string = ev.state.name;
    const info = this.info.get(name);
    if (!info) return;
    const type = info.state.Type as string;
    const exec = this.executionOf(name, ev.index, ev.mapRun);
    if (type === 'Task') {
      this.history.add(exec, attemptEndEvent(taskKind(String(info.state.Resource)), ev.Error === 'States.Timeout' ? 'timedOut' : 'failed'));
    }
    if (type === 'Map') this.history.add(exec, info.container ? 'MapStateFailed' : 'MapRunFailed');
    if (type === 'Parallel') this.history.add(exec, 'ParallelStateFailed');
    if (this.topLevelMap(name)) this.closeGroup(name);
    else this.closeNestedRun(name, ev);
  }

  private onRetried(ev: any): void {
    this.stats.retries++;
    const name: string = ev.state.name;
    const r = ev.retry.retrier;
    const attempt: number = ev.retry.attempt; // 1 for the first retry
    let s = (r.IntervalSeconds ?? 1) * Math.pow(r.BackoffRate ?? 2, attempt - 1);
    if (r.MaxDelaySeconds !== undefined) s = Math.min(s, r.MaxDelaySeconds);
    this.advance(this.slot(name, ev.index, ev.mapRun), s, 'retrySeconds');
    const info = this.info.get(name);
    const exec = this.executionOf(name, ev.index, ev.mapRun);
    if (info?.state.Type === 'Task') this.history.add(exec, ...attemptStartEvents(taskKind(String(info.state.Resource))));
    if (info?.state.Type === 'Map') this.history.add(exec, info.container ? 'MapStateStarted' : 'MapRunStarted');
    if (info?.state.Type === 'Parallel') this.history.add(exec, 'ParallelStateStarted');
  }

  /**
   * A distributed Map inside a child execution ended (a nested Map Run: its children's events carry
   * `mapRun` = `<enclosing Map>[<enclosing index>]`, map-run.ts): the enclosing iteration waited for its longest child.
   */
  private closeNestedRun(name: string, ev: any): void {
    const info = this.info.get(name);
    const c = info?.container;
    if (!info || info.state.Type !== 'Map' || info.state.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED' || c?.kind !== 'Map') return;
    const group = this.groupFor(name, `${c.name}[${ev.index ?? 0}]`);
    const longest = Math.max(0, ...[...this.slots.values()].filter((x) => x.group === group).map((x) => x.bucket.seconds));
    const enclosing = this.slot(name, ev.index, ev.mapRun);
    if (enclosing) {
      enclosing.bucket.taskSeconds += longest;
      enclosing.bucket.seconds += longest;
    }
  }

  /** A top-level Map / Parallel ended: the run clock moves on by its longest iteration / branch. */
  private closeGroup(name: string): void {
    const group = this.groupOf(name);
    const longest = Math.max(0, ...[...this.slots.values()].filter((s) => s.group === group).map((s) => s.bucket.seconds));
    this.clocks.runAtLeast((this.groupStart[group] ?? this.clocks.runSeconds) + longest);
    for (const s of this.slots.values()) {
      if (s.group === group && s.instanceId) this.clocks.startInstance(s.instanceId); // catch up with the run clock
    }
  }

  private waitSeconds(name: string, state: AslState, rawInput: unknown): number {
    try {
      if (typeof state.Seconds === 'number') return state.Seconds;
      let input = rawInput;
      if (state.InputPath === null) input = {};
      else if (typeof state.InputPath === 'string') input = readPath(state.InputPath, rawInput);
      if (typeof state.SecondsPath === 'string') {
        const v = readPath(state.SecondsPath, input);
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`SecondsPath ${state.SecondsPath} gave ${JSON.stringify(v)}`);
        return v;
      }
      const ts = typeof state.Timestamp === 'string' ? state.Timestamp
        : typeof state.TimestampPath === 'string' ? readPath(state.TimestampPath, input) : undefined;
      if (typeof ts === 'string') return Math.max(0, (Date.parse(ts) - Date.now()) / 1000);
      throw new Error('no Seconds, SecondsPath, Timestamp or TimestampPath');
    } catch (e) {
      this.stats.warnings.push(`Wait ${name}: ${(e as Error).message}; counted as 0 s`);
      return 0;
    }
  }

  /** Fill `iterations` and `virtualSeconds` (the top level + each top-level Map/Parallel's longest iteration). */
  public finish(): void {
    const groups: Record<string, WaitBucket[]> = {};
    for (const { group, index, bucket } of this.slots.values()) {
      (groups[group] ??= [])[index] = bucket;
    }
    let total = this.stats.topLevel.seconds;
    for (const [group, list] of Object.entries(groups)) {
      for (let i = 0; i < list.length; i++) list[i] ??= emptyBucket();
      // A nested Map Run's longest child is already in its enclosing iteration (closeNestedRun).
      if (!group.includes('@')) total += Math.max(0, ...list.map((b) => b.seconds));
      this.stats.iterations[group] = list;
    }
    this.stats.virtualSeconds = total;
  }
}
