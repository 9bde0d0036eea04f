/**
 * End-to-end harness: synthesizes a consumer stack holding PrePostScriptBackup, runs its state machine in the
 * local simulator against the fakes, and checks the invariants of docs/design.md FROM THE OUTSIDE: the fakes' final
 * instance states, the calls they received, and the audit record in DynamoDB. The workflow's own output is never
 * used as evidence.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { consumerStack } from './stacks';
import { PrePostScriptBackupProps } from '../../src';
import { formatViolations } from '../simulator/api-model';
import { walkStates } from '../simulator/asl';
import { jobAttempts, recoveryPointArnOf } from '../simulator/fakes/recovery-points';
import { everyStepSkipped } from '../simulator/fakes/ssm';
import { Handler, loadHandler, toTaskError } from '../simulator/lambda';
import { ChainKill } from '../simulator/map-run';
import { RunResult, Simulator } from '../simulator/simulator';
import { WAIT_FOR_TOKEN_RESOURCE } from '../simulator/token-task';
import { ApiCall, Ec2StateName, InjectedFault, InstanceSpec, World, WorldOptions } from '../simulator/world';

export const TAG_KEY = 'backup-job-pre-post-script';
export const TAG_VALUE = 'true';

/** Small poll counts: the whole suite stays fast. */
export const FAST_WORLD: WorldOptions = {
  stopPolls: 1,
  startPolls: 1,
  ssmRacePolls: 1,
  scriptInProgressPolls: 1,
  deliveryTimeoutPolls: 1,
  agentReconnectPolls: 1,
  backupPolls: { created: 1, pending: 0, running: 1 },
};

/** Most calls of one action about one instance in one run: every wait is bounded (invariant 4). */
export const MAX_CALLS_PER_INSTANCE_ACTION = 200;

/** The mutating calls: none may happen when the input is rejected. */
export const MUTATING_ACTIONS = ['ssm:SendCommand', 'ssm:CancelCommand', 'ec2:StopInstances', 'ec2:StartInstances', 'backup:StartBackupJob'];

let idCounter = 0x1000;
/** Fresh, unique instance ids (17 hex digits), so instances of earlier runs can never be confused with these. */
export function newInstanceIds(n: number): string[] {
  return Array.from({ length: n }, () => `i-${(idCounter++).toString(16).padStart(17, '0')}`);
}

export interface Toggles {
  readonly pre: boolean;
  readonly stop: boolean;
  readonly post: boolean;
}

/**
 * The Task state that starts a step, in the workflow the suites run against (PPSB_SIM_WAITS): one waiting Task per
 * step with event-driven waits (the default), or the first state of a bounded poll. The backup job is started by one
 * Lambda step before the release loop; the post-script of an instance whose job started runs after the release loop
 * (`Released: ...`), the post-script of a path that failed before the job (a failed pre-script) without that prefix.
 */
export function startingState(step: 'pre' | 'post' | 'backup', onPath: 'released' | 'before-job' = 'released'): string {
  const polling = process.env.PPSB_SIM_WAITS === 'polling';
  if (step === 'backup') return 'Backup: start job';
  const prefix = step === 'pre' ? 'Pre-backup script' : `${onPath === 'released' ? 'Released: ' : ''}Post-backup script`;
  return polling ? `${prefix}: send command` : `${prefix}: run`;
}

/** Called around the real handler of an intercepted Task state. */
export interface TaskHook {
  /** Before the real handler (e.g. inject a fault into the world); may throw (the invocation failed). */
  readonly before?: (input: any, world: World, attempt: number) => void;
  /** After the real handler succeeded; may throw (e.g. a response lost on its way back: Step Functions retries). */
  readonly after?: (input: any, output: any, world: World, attempt: number) => void;
}

export interface HarnessOptions {
  readonly props: PrePostScriptBackupProps;
  readonly world?: WorldOptions;
  /** Task states whose Lambda the harness calls itself, so per-run hooks can act around it. */
  readonly intercept?: string[];
  /**
   * Extra CDK context for the consumer app. Default: the environment variable PPSB_SIM_WAITS (`events` | `polling`),
   * when set, chooses how the chain waits, so that every suite can run against either workflow.
   */
  readonly context?: Record<string, unknown>;
  /** Extra environment of the handlers (set while the simulator runs, restored when it stops). */
  readonly env?: Record<string, string>;
}

export interface RunSpec {
  /** Instances of this run; tags default to the construct's tag pair. */
  readonly instances: InstanceSpec[];
  readonly input?: unknown;
  readonly faults?: InjectedFault[];
  readonly hooks?: Record<string, TaskHook>;
  /** Instance chains killed uncaught at a state (States.Runtime, as AWS reports it; simulator/map-run.ts). */
  readonly kills?: ChainKill[];
  /** Keep the previous run's world (same instances, calls, jobs): a second execution on the same fleet. */
  readonly keepWorld?: boolean;
  /** The run must end before any instance is worked on (rejected input, discovery failure). */
  readonly failsBeforeInstances?: boolean;
  /** Instances expected to succeed whatever happens to the others (default: those with no fault at all). */
  readonly healthy?: string[];
  readonly executionName?: string;
}

export interface SimRun {
  readonly result: RunResult;
  /** The run item in the audit table (undefined when not written: a violation of invariant 3). */
  readonly auditItem: Record<string, any> | undefined;
  readonly world: World;
  /** The calls the fakes received during this run. */
  readonly calls: ApiCall[];
  readonly instances: InstanceSpec[];
  /** Instances the run should have worked on (tag, state, TargetEC2Instances). */
  readonly discovered: string[];
  readonly toggles: Toggles;
  readonly failsBeforeInstances: boolean;
  readonly healthy: string[];
  /** Every EC2 state each instance went through (its initial state first). */
  readonly stateHistory: Record<string, Ec2StateName[]>;
  /** Backup job ids created during this run. */
  readonly newJobIds: string[];
  /** Sequence numbers of the first and last call of this run. */
  readonly seqAfter: number;
  readonly unexpectedCalls: number;
  /** Task tokens of this run still waiting at its end (`state name (instance)`): must be none. */
  readonly waitingTokens?: string[];
  /** Requests of this run that broke AWS's API models (test/simulator/api-model.ts): must be none. */
  readonly modelViolations?: string[];
}

function parseBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ['true', 'false'].includes(v.trim().toLowerCase())) return v.trim().toLowerCase() === 'true';
  return undefined;
}

/** The toggles a run has: the props, overridden by the execution input. */
export function expectedToggles(props: PrePostScriptBackupProps, input: unknown): Toggles {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  return {
    pre: !!props.preScript && (parseBool(i.RunPreBackupScript) ?? props.runPreScript ?? true),
    post: !!props.postScript && (parseBool(i.RunPostBackupScript) ?? props.runPostScript ?? true),
    stop: parseBool(i.StartStopEC2Required) ?? props.stopInstances ?? false,
  };
}

/** Forget every instance, invocation, job, call and injected fault of earlier runs (one simulator serves a file). */
function resetWorld(world: World): void {
  world.reset();
}

/** Record every EC2 state an instance goes through (the world mutates `state` in place). */
function trackStates(world: World, ids: string[], history: Record<string, Ec2StateName[]>): void {
  for (const id of ids) {
    const inst = world.requireInstance(id);
    let state = inst.state;
    history[id] = [state];
    Object.defineProperty(inst, 'state', {
      get: () => state,
      set: (v: Ec2StateName) => {
        if (v !== state) history[id].push(v);
        state = v;
      },
      enumerable: true,
      configurable: true,
    });
  }
}

export class Harness {
  public static async start(options: HarnessOptions): Promise<Harness> {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppsb-sim-'));
    const waits = process.env.PPSB_SIM_WAITS;
    const app = new App({
      outdir,
      context: {
        'aws:cdk:enable-asset-metadata': true,
        ...(waits ? { 'cdk-pre-post-script-backup:waits': waits } : {}),
        ...options.context,
      },
    });
    const { stack } = consumerStack(options.props, app);
    const template = app.synth().getStackByName(stack.stackName).template;
    const h = new Harness(options, outdir, template);
    await h.init();
    return h;
  }

  public sim!: Simulator;
  /** The validate-input handler's SETTINGS: the configured bucket, key, command line, vault, role. */
  public settings: any;
  private hooks: Record<string, TaskHook> = {};
  private readonly attempts: Record<string, number> = {};
  private readonly realHandlers = new Map<string, Handler>();
  private history: Record<string, Ec2StateName[]> = {};
  private specs: InstanceSpec[] = [];

  private constructor(private readonly options: HarnessOptions, private readonly outdir: string, private readonly template: any) {}

  private async init(): Promise<void> {
    const taskHandlers: Record<string, (input: any) => Promise<unknown>> = {};
    for (const name of this.options.intercept ?? []) {
      taskHandlers[name] = (input) => this.intercepted(name, input);
    }
    this.sim = await Simulator.start({
      template: this.template,
      assetDir: this.outdir,
      env: { LOG_LEVEL: 'silent', ...this.options.env },
      world: this.options.world ?? FAST_WORLD,
      taskHandlers,
    });
    const validate = [...this.sim.functions.values()].find((f) => f.logicalId.includes('ValidateInput'));
    this.settings = JSON.parse(validate!.environment.SETTINGS);
  }

  private async intercepted(stateName: string, input: any): Promise<unknown> {
    let handler = this.realHandlers.get(stateName);
    if (!handler) {
      let resource = '';
      walkStates(this.sim.stateMachine.definition, (name, state) => {
        // A token task's function is its FunctionName; the simulator hands the hook its Payload (token included).
        if (name === stateName) resource = String(state.Resource === WAIT_FOR_TOKEN_RESOURCE ? state.Parameters?.FunctionName : state.Resource);
      });
      const fnName = resource.split(':').pop();
      const fn = [...this.sim.functions.values()].find((f) => f.functionName === fnName);
      if (!fn) throw new Error(`intercepted state ${stateName}: no function for ${resource}`);
      handler = loadHandler(fn);
      this.realHandlers.set(stateName, handler);
    }
    const attempt = (this.attempts[stateName] = (this.attempts[stateName] ?? 0) + 1);
    const hook = this.hooks[stateName];
    let output: unknown;
    try {
      // A hook may throw before the handler runs: the Lambda invocation itself failed (throttled, say).
      hook?.before?.(input, this.sim.world, attempt);
      output = await handler(JSON.parse(JSON.stringify(input)), { getRemainingTimeInMillis: () => 60_000, functionName: stateName });
    } catch (e) {
      throw toTaskError(e);
    }
    try {
      hook?.after?.(input, output, this.sim.world, attempt);
    } catch (e) {
      throw toTaskError(e);
    }
    return JSON.parse(JSON.stringify(output ?? null));
  }

  /** How many times an intercepted state's handler was called since the harness started. */
  public attemptsOf(stateName: string): number {
    return this.attempts[stateName] ?? 0;
  }

  public get props(): PrePostScriptBackupProps {
    return this.options.props;
  }

  /** The cloud assembly folder (the synthesized assets: what SSM downloads, for an instance shell). */
  public get assetDir(): string {
    return this.outdir;
  }

  public async run(spec: RunSpec): Promise<SimRun> {
    const world = this.sim.world;
    if (!spec.keepWorld) {
      resetWorld(world);
      this.history = {};
      this.specs = [];
    }
    const specs = spec.instances.map((s) => ({ ...s, tags: s.tags ?? { [TAG_KEY]: TAG_VALUE } }));
    world.addInstances(specs);
    trackStates(world, specs.map((s) => s.id), this.history);
    this.specs.push(...specs);
    for (const f of spec.faults ?? []) world.injectFault(f);
    this.hooks = spec.hooks ?? {};
    this.sim.chainKills.push(...spec.kills ?? []);

    const seqBefore = world.callCount;
    const jobsBefore = new Set(world.backupJobs.keys());
    const unexpectedBefore = this.sim.unexpectedCalls.length;
    const modelViolationsBefore = this.sim.modelViolations.length;
    const result = await this.sim.run(spec.input ?? {}, { executionName: spec.executionName });
    // A request that breaks AWS's API model fails the test, even when the handler swallowed AWS's refusal.
    const modelViolations = formatViolations(this.sim.modelViolations.slice(modelViolationsBefore));
    if (modelViolations.length > 0) {
      throw new Error(`${result.executionName}: requests that AWS's API models refuse (test/simulator/api-model.ts):\n- ${modelViolations.join('\n- ')}`);
    }
    this.hooks = {};
    const auditItem = await this.sim.getAuditItem(result.executionArn);
    const calls = world.calls.filter((c) => c.seq > seqBefore);

    const input = (typeof spec.input === 'object' && spec.input !== null ? spec.input : {}) as Record<string, any>;
    const targets: string[] | undefined = Array.isArray(input.TargetEC2Instances) ? input.TargetEC2Instances : undefined;
    const discovered = spec.failsBeforeInstances ? [] : this.specs
      .filter((s) => s.tags?.[TAG_KEY] === TAG_VALUE)
      .filter((s) => !['shutting-down', 'terminated'].includes(s.state ?? 'running'))
      .filter((s) => !targets || targets.includes(s.id))
      .filter((s) => !input.TargetEC2TagKey || input.TargetEC2TagKey === TAG_KEY || s.tags?.[input.TargetEC2TagKey] === input.TargetEC2TagValue)
      .map((s) => s.id);
    const healthy = spec.healthy ?? specs
      .filter((s) => discovered.includes(s.id) && !s.faults && (s.agent ?? 'Online') === 'Online' && (s.state ?? 'running') === 'running'
        && (s.platform ?? 'Linux') === 'Linux')
      .filter((s) => !(spec.faults ?? []).some((f) => !f.instanceId || f.instanceId === s.id))
      .filter((s) => !(spec.kills ?? []).some((k) => k.instanceId === s.id))
      .map((s) => s.id);

    return {
      result,
      auditItem,
      world,
      calls,
      instances: [...this.specs],
      discovered,
      toggles: expectedToggles(this.options.props, spec.input),
      failsBeforeInstances: !!spec.failsBeforeInstances,
      healthy,
      stateHistory: JSON.parse(JSON.stringify(this.history)),
      newJobIds: [...world.backupJobs.keys()].filter((id) => !jobsBefore.has(id)),
      seqAfter: world.callCount,
      unexpectedCalls: this.sim.unexpectedCalls.length - unexpectedBefore,
      waitingTokens: this.sim.tokens.all(result.executionArn).filter((t) => t.status === 'waiting')
        .map((t) => `${t.stateName} (${t.instanceId ?? 'no instance'})`),
      modelViolations,
    };
  }

  public async stop(): Promise<void> {
    await this.sim?.stop();
    fs.rmSync(this.outdir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------- reading a run

/** The audit entry of one instance in the run item. */
export function entryOf(run: SimRun, instanceId: string): Record<string, any> | undefined {
  return (run.auditItem?.Workflow_Overall_Status ?? []).find((e: any) => e.InstanceId === instanceId);
}

/** Where an instance's audit entry says its chain ended: one line, its id and each step's status, failure and notes. */
export function whereItEnded(entry: Record<string, any>): string {
  return `${entry.InstanceId} ${entry.Outcome}: pre ${entry.PreBackupScriptStatus}, stop ${entry.StopEc2InstanceStatus}, `
    + `backup ${entry.BackupJobStatus}, start ${entry.StartEc2InstanceStatus}, post ${entry.PostBackupScriptStatus}, `
    + `copy ${entry.CopyJobStatus}; ${entry.FailureMessage ?? ''} ${entry.Notes ?? ''}`.trimEnd();
}

/** The phase of a SendCommand call, from its idempotency comment `ppsb:<execution>:<phase>[:<attempt>]`. */
export function commandPhase(call: ApiCall): 'pre' | 'post' | 'unknown' {
  const comment = String((call.params as any)?.Comment ?? '');
  const m = /:(pre|post)(?::\d+)?$/.exec(comment);
  return m ? m[1] as 'pre' | 'post' : 'unknown';
}

export type TimelineStep = 'pre' | 'stop' | 'backup' | 'start' | 'post';

/** The successful mutating calls about one instance, in the order the fakes received them. */
export function timeline(run: SimRun, instanceId: string): TimelineStep[] {
  const out: TimelineStep[] = [];
  for (const c of run.calls) {
    if (c.error || !c.instanceIds.includes(instanceId)) continue;
    const key = `${c.service}:${c.action}`;
    if (key === 'ssm:SendCommand') out.push(commandPhase(c) === 'post' ? 'post' : 'pre');
    else if (key === 'ec2:StopInstances') out.push('stop');
    else if (key === 'backup:StartBackupJob') out.push('backup');
    else if (key === 'ec2:StartInstances') out.push('start');
  }
  return out;
}

/** Calls of this run about one instance (optionally one `service:action`). */
/** Each run's calls by instance id, built once: the invariant checks look up every instance's calls many times. */
const CALLS_BY_INSTANCE = new WeakMap<readonly ApiCall[], Map<string, ApiCall[]>>();

export function callsAbout(run: SimRun, instanceId: string, serviceAction?: string): ApiCall[] {
  let index = CALLS_BY_INSTANCE.get(run.calls);
  if (!index) {
    index = new Map();
    for (const c of run.calls) {
      for (const id of new Set(c.instanceIds)) {
        const list = index.get(id);
        if (list) list.push(c);
        else index.set(id, [c]);
      }
    }
    CALLS_BY_INSTANCE.set(run.calls, index);
  }
  const calls = index.get(instanceId) ?? [];
  return serviceAction ? calls.filter((c) => `${c.service}:${c.action}` === serviceAction) : [...calls];
}

export function mutatingCalls(run: SimRun): ApiCall[] {
  return run.calls.filter((c) => MUTATING_ACTIONS.includes(`${c.service}:${c.action}`));
}

// ------------------------------------------------------------------------------------------------- invariants

const OK_STATUSES = ['Success', 'COMPLETED', 'skipped'];
/** The FailureMessage of an instance recovered after its chain died (src/functions/record-recovered). */
const CHAIN_DIED = /^the instance's chain died/;
const NOT_RUN = /^NotRun: /;

function scriptExpectation(run: SimRun, id: string, phase: 'pre' | 'post', enabled: boolean, stoppedAtStart: boolean, v: (m: string) => void): void {
  const entry = entryOf(run, id)!;
  const field = phase === 'pre' ? 'PreBackupScriptStatus' : 'PostBackupScriptStatus';
  const status = entry[field];
  const invs = run.world.commandsFor(id).filter((i) => i.phase === phase && i.comment.includes(`:${run.result.executionName}:`));
  // Issue 15: one command per attempt (at most 1 + 3 retries); every attempt but the last ran and failed or timed out
  // (the only ones tried again), each attempt's comment is its own, and the entry counts at least as many attempts.
  if (invs.length > 4) v(`${id}: ${invs.length} ${phase}-script commands in one execution (expected at most 4: 1 + 3 retries)`);
  if (new Set(invs.map((i) => i.comment)).size !== invs.length) v(`${id}: two ${phase}-script commands of one attempt (same comment)`);
  for (const earlier of invs.slice(0, -1)) {
    const retried = (earlier.status === 'Failed' && earlier.statusDetails === 'Failed')
      || (earlier.status === 'TimedOut' && earlier.statusDetails === 'ExecutionTimedOut');
    if (!retried) v(`${id}: the ${phase}-script was tried again after an attempt that ended ${earlier.status} (${earlier.statusDetails}): only a script that ran and failed or timed out is retried`);
  }
  const attemptsField = phase === 'pre' ? 'PreBackupScriptAttempts' : 'PostBackupScriptAttempts';
  if (entry[attemptsField] !== undefined && entry[attemptsField] < invs.length) v(`${id}: ${attemptsField} is ${entry[attemptsField]}, but ${invs.length} commands were sent`);
  const inv = invs[invs.length - 1];
  if (!enabled) {
    if (status !== 'skipped') v(`${id}: ${field} is ${status}, expected skipped (step turned off)`);
    if (inv) v(`${id}: a ${phase}-script command was sent although the step is off`);
    return;
  }
  if (stoppedAtStart) {
    // On, but not run: `skipped` means turned off (DESIGN: a step not run says why).
    if (!NOT_RUN.test(status) || !/stopped/.test(status)) v(`${id}: ${field} is ${status}, expected NotRun saying the instance was stopped when the run began`);
    if (inv) v(`${id}: a ${phase}-script command was sent to an instance stopped when the run began`);
    return;
  }
  if (inv) {
    const commandIdOf = phase === 'pre' ? 'PreBackupScriptCommandId' : 'PostBackupScriptCommandId';
    // SendCommand's answer was lost and SSM never listed the command within the bounded looks: the run cannot know the
    // command, so the truthful entry is Failed, no command id, "CommandFateUnknown" (send-script never sends twice).
    if (!entry[commandIdOf] && status === 'Failed' && String(entry.FailureMessage ?? '').includes('CommandFateUnknown')) {
      const lost = callsAbout(run, id, 'ssm:SendCommand').filter((c) => commandPhase(c) === phase);
      if (lost.length !== 1 || !lost[0].error) v(`${id}: ${phase}-script fate unknown, but SendCommand was not called once with its answer lost`);
      return;
    }
    const terminal = ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(inv.status);
    // Every SSM look at the command. When SSM stopped answering about the invocation, its status is unknown: the step
    // failed.
    const looks = callsAbout(run, id).filter((c) => c.service === 'ssm'
      && ['GetCommandInvocation', 'ListCommandInvocations'].includes(c.action) && (c.params as any)?.CommandId === inv.commandId);
    const lastLook = looks[looks.length - 1];
    // A command the workflow cancelled (its wait reached the bound) is TimedOut in the audit, even when the fake later
    // reports it Cancelled (an event-driven wait on the instance drives its in-flight operations to their end).
    // Issue 15: an invocation SSM reports Success with every step skipped by its precondition ran nothing: Failed.
    const ranNothing = inv.status === 'Success' && everyStepSkipped(inv);
    // A wait whose every look SSM refused never saw the invocation's end, however it ended: its step fails at the bound.
    const neverSeen = looks.length > 0 && looks.every((c) => c.error !== undefined);
    const expected = inv.cancelRequested ? 'TimedOut' : ranNothing || neverSeen ? 'Failed' : terminal ? inv.status : lastLook?.error ? 'Failed' : undefined;
    if (expected === undefined) v(`${id}: the ${phase}-script invocation is still ${inv.status} and was never cancelled (unbounded wait?)`);
    else if (status !== expected) v(`${id}: ${field} is ${status}, the fake invocation ended ${inv.status}${inv.cancelRequested ? ' (cancelled)' : ''}; expected ${expected}`);
    const commandIdField = phase === 'pre' ? 'PreBackupScriptCommandId' : 'PostBackupScriptCommandId';
    if (entry[commandIdField] !== inv.commandId) v(`${id}: ${commandIdField} is ${entry[commandIdField]}, the fake received ${inv.commandId}`);
    return;
  }
  const attempted = callsAbout(run, id, 'ssm:SendCommand').some((c) => commandPhase(c) === phase);
  if (attempted) {
    if (status !== 'Failed') v(`${id}: ${field} is ${status}; SendCommand was refused by SSM, expected Failed`);
  } else if (!NOT_RUN.test(status)) {
    v(`${id}: ${field} is ${status} but no ${phase}-script command reached SSM; expected a NotRun status`);
  }
}

/**
 * Every violation of the invariants of docs/design.md in a run, checked from the fakes' final state, the calls they
 * received and the audit item. Empty when the run is sound.
 */
export function checkInvariants(run: SimRun): string[] {
  const violations: string[] = [];
  const v = (m: string) => violations.push(m);
  const item = run.auditItem;
  const world = run.world;

  // 4. The run finished; every wait is bounded.
  if (!['SUCCEEDED', 'FAILED'].includes(run.result.status)) v(`4: the execution ended ${run.result.status}`);
  if (run.result.stats?.exceedsTimeout) v(`4: the run's nominal duration ${run.result.stats.virtualSeconds} s exceeds the state machine's timeout`);
  const perInstanceAction = new Map<string, number>();
  for (const c of run.calls) {
    for (const id of c.instanceIds.length === 1 ? c.instanceIds : []) {
      const k = `${id} ${c.service}:${c.action}`;
      perInstanceAction.set(k, (perInstanceAction.get(k) ?? 0) + 1);
    }
  }
  for (const [k, n] of perInstanceAction) {
    if (n > MAX_CALLS_PER_INSTANCE_ACTION) v(`4: ${n} calls of ${k} (more than ${MAX_CALLS_PER_INSTANCE_ACTION}: unbounded polling?)`);
  }
  if (run.unexpectedCalls > 0) v(`a handler called a service the simulator does not fake (${run.unexpectedCalls} calls)`);
  for (const m of run.modelViolations ?? []) v(`a request breaks AWS's API model: ${m}`);
  // Every task token the run issued was answered (success or failure) or timed out: no task still waits.
  // (A WAIT# item left in the audit table is no violation: after a lost event it can be legitimate.)
  for (const t of run.waitingTokens ?? []) v(`4: the task ${t} still waits for its token at the end of the run`);
  if ((run.result.stats?.tokens?.waiting ?? 0) !== (run.waitingTokens ?? []).length) v('4: the run stats and the token registry disagree on waiting tokens');

  // 3. The audit record exists and has one entry per discovered instance.
  if (!item) {
    v('3: no audit run item in the table');
    return violations;
  }
  if (!['SUCCEEDED', 'FAILED'].includes(item.Run_Status)) v(`3: Run_Status is ${item.Run_Status}`);
  if (!item.StartTime || !item.EndTime) v('3: StartTime / EndTime missing');
  const entries: any[] = item.Workflow_Overall_Status ?? [];
  if (item.Workflow_Overall_Status_Complete === false) v('3: Workflow_Overall_Status is not complete for a small fleet');
  const ids = entries.map((e) => e.InstanceId).sort();
  const expectedIds = [...run.discovered].sort();
  if (JSON.stringify(ids) !== JSON.stringify(expectedIds)) {
    v(`3: Workflow_Overall_Status holds ${JSON.stringify(ids)}, expected one entry per discovered instance ${JSON.stringify(expectedIds)}`);
  }

  // 5. Execution status and run status. An instance skipped because another run held its lease is no failure.
  const anyFailed = entries.some((e) => e.Outcome !== 'SUCCEEDED' && e.Outcome !== 'SKIPPED');
  const shouldFail = anyFailed || run.failsBeforeInstances;
  const expectedStatus = shouldFail ? 'FAILED' : 'SUCCEEDED';
  if (run.result.status !== expectedStatus) {
    v(`5: the execution ended ${run.result.status} (${run.result.error}: ${run.result.cause}), expected ${expectedStatus}`);
  }
  if (item.Run_Status !== expectedStatus) v(`5: Run_Status is ${item.Run_Status}, expected ${expectedStatus}`);
  if (shouldFail && !item.Run_FailureMessage) v('5: Run_FailureMessage is empty for a failed run');
  if (!shouldFail && item.Run_FailureMessage) v(`5: Run_FailureMessage is "${item.Run_FailureMessage}" for a run where everything succeeded`);
  for (const id of run.healthy) {
    const e = entries.find((x) => x.InstanceId === id);
    if (e && e.Outcome !== 'SUCCEEDED') v(`5: healthy instance ${id} did not succeed: ${e.FailureMessage}`);
  }
  if (run.failsBeforeInstances) {
    for (const c of mutatingCalls(run)) v(`5: the run failed before the instances but ${c.service}:${c.action} was called for ${c.instanceIds.join(',')}`);
  }

  for (const id of run.discovered) {
    const entry = entries.find((e) => e.InstanceId === id);
    if (!entry) continue;
    if (entry.Outcome === 'SKIPPED') {
      // Skipped (another run held the lease): nothing may have been done to it, and the entry says so.
      for (const c of mutatingCalls(run).filter((x) => x.instanceIds.includes(id))) {
        v(`${id} was skipped but received ${c.service}:${c.action}`);
      }
      const statuses = ['PreBackupScriptStatus', 'StopEc2InstanceStatus', 'BackupJobStatus', 'StartEc2InstanceStatus', 'PostBackupScriptStatus'];
      for (const f of statuses.filter((x) => entry[x] !== 'skipped')) v(`${id} was skipped but ${f} is ${entry[f]}`);
      if (entry.FailureMessage !== '') v(`${id} was skipped but FailureMessage is "${entry.FailureMessage}"`);
      if (!/SkippedLeaseHeld/.test(entry.Notes ?? '')) v(`${id} was skipped but its Notes do not say why: "${entry.Notes}"`);
      continue;
    }
    const spec = run.instances.find((s) => s.id === id)!;
    const inst = world.instances.get(id)!;
    const finalState = inst.state;
    const history = run.stateHistory[id] ?? [];
    const stoppedAtStart = (spec.state ?? 'running') === 'stopped';
    const stopCalls = callsAbout(run, id, 'ec2:StopInstances');
    const stoppedByRun = stopCalls.some((c) => !c.error);

    // 1. An instance this run stopped is running at the end, or the audit says why not.
    if (stoppedByRun && finalState !== 'running') {
      if (entry.StartEc2InstanceStatus !== 'Failed' || !/start/i.test(entry.FailureMessage ?? '')) {
        v(`1: ${id} was stopped by the run and is ${finalState} at the end, but the audit says StartEc2InstanceStatus ${entry.StartEc2InstanceStatus} `
          + `(${entry.FailureMessage || 'no failure message'})`);
      }
    }
    if (!stoppedByRun && !stoppedAtStart && (spec.state ?? 'running') === 'running' && finalState !== 'running') {
      v(`1: ${id} was running, the run never stopped it, and it is ${finalState} at the end`);
    }
    if (stoppedAtStart && finalState !== 'stopped') v(`1: ${id} was stopped when the run began and is ${finalState} at the end (expected left stopped)`);
    if (stoppedByRun) {
      // DESIGN: a stopped instance stays stopped until its backup job reaches a terminal state (or the wait ends).
      const startSeq = callsAbout(run, id, 'ec2:StartInstances').find((c) => !c.error)?.seq;
      const lastDescribe = callsAbout(run, id, 'backup:DescribeBackupJob').pop()?.seq;
      // Started before the job was final. When the workflow saw the job's final state (the entry holds it), the start
      // must come after the job reached it; a look after that (a recovery describing the job for the entry) is no
      // violation. When it never saw one (the wait expired, the looks kept failing), it gives up on the job and starts
      // the instance: the start must then come after its last look.
      const terminalSeq = world.backupJobsFor(id).find((j) => run.newJobIds.includes(j.backupJobId))?.terminalSeq;
      const sawFinal = ['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'].includes(entry.BackupJobStatus);
      const startedEarly = startSeq !== undefined && (sawFinal
        ? terminalSeq !== undefined && startSeq <= terminalSeq
        : lastDescribe !== undefined && startSeq < lastDescribe && !CHAIN_DIED.test(entry.FailureMessage ?? ''));
      // Issue 14: releasing at the point in time starts the instance once the job's snapshots have started: allowed when
      // the workflow described this job's snapshots before the start (the look that found the point in time), or when
      // the freeze budget was spent (the entry says so).
      const newJob = world.backupJobsFor(id).find((j) => run.newJobIds.includes(j.backupJobId));
      const jobSnapshots = new Set(newJob ? jobAttempts(world, newJob).flatMap((a) => a.snapshotIds) : []);
      const sawSnapshots = startSeq !== undefined && run.calls.some((c) => c.service === 'ec2' && c.action === 'DescribeSnapshots'
        && !c.error && c.seq < startSeq && (Object.entries((c.params ?? {}) as Record<string, string>)
        .some(([k, val]) => k.startsWith('SnapshotId') && jobSnapshots.has(val))
          // Issue 14, the snapshot view: a listing by volume whose answer held one of this job's snapshots.
          || (c.returned ?? []).some((sid) => jobSnapshots.has(sid))));
      // A budget spent or a look that kept failing releases the application anyway (DESIGN invariant 7), said so.
      const releasedAnyway = ['budget-spent', 'look-failed'].includes(entry.ReleaseReason);
      if (startedEarly && !sawSnapshots && !releasedAnyway) {
        v(`1: ${id} was started again (call ${startSeq}) before its backup job was final (final at call ${terminalSeq ?? 'never'}, last look at call ${lastDescribe})`);
      }
    }

    // 2. Post whenever pre ran (unless turned off or the instance cannot be reached).
    const invs = world.commandsFor(id).filter((i) => i.comment.includes(`:${run.result.executionName}:`));
    // The last pre-script attempt and the first post-script command (issue 15: a script may be tried again).
    const pre = invs.filter((i) => i.phase === 'pre').pop();
    const post = invs.find((i) => i.phase === 'post');
    if (pre && run.toggles.post && !post) {
      const reachable = finalState === 'running' && world.pingStatus(inst, false) === 'Online' && !inst.faults.agentNeverReconnects;
      const refused = callsAbout(run, id, 'ssm:SendCommand').some((c) => c.error && commandPhase(c) === 'post');
      if (refused) {
        if (entry.PostBackupScriptStatus !== 'Failed') v(`2: ${id}: SSM refused the post-script but the audit says ${entry.PostBackupScriptStatus}`);
      } else if (reachable) {
        v(`2: ${id} received the pre-script but never the post-script, and it is running with its agent online`);
      } else if (entry.PostBackupScriptStatus === 'Success' || !/start|agent/i.test(entry.FailureMessage ?? '')) {
        v(`2: ${id} received the pre-script, the post-script could not be sent, but the audit does not say why (${entry.FailureMessage})`);
      }
    }
    if (pre && post && post.requestedAt < pre.requestedAt) v(`2: ${id} received the post-script before the pre-script`);
    // Issue 15: a backup after a pre-script that failed (onPreScriptFailure backup-crash-consistent) comes after the
    // post-script was sent: the application is never left in a failed freeze for the stop and the backup.
    if (pre && pre.status !== 'Success' && run.toggles.post) {
      const postSent = callsAbout(run, id, 'ssm:SendCommand').find((c) => !c.error && commandPhase(c) === 'post')?.seq;
      for (const c of [...callsAbout(run, id, 'ec2:StopInstances'), ...callsAbout(run, id, 'backup:StartBackupJob')]) {
        if (postSent !== undefined && c.seq < postSent) v(`2: ${id}'s pre-script ended ${pre.status}, yet ${c.service}:${c.action} (call ${c.seq}) came before the post-script was sent`);
      }
    }

    // 3. Each status tells what the fakes saw.
    scriptExpectation(run, id, 'pre', run.toggles.pre, stoppedAtStart, v);
    scriptExpectation(run, id, 'post', run.toggles.post, stoppedAtStart, v);

    if (!run.toggles.stop) {
      if (entry.StopEc2InstanceStatus !== 'skipped') v(`${id}: StopEc2InstanceStatus is ${entry.StopEc2InstanceStatus}, expected skipped`);
      if (entry.StartEc2InstanceStatus !== 'skipped') v(`${id}: StartEc2InstanceStatus is ${entry.StartEc2InstanceStatus}, expected skipped`);
      if (stopCalls.length > 0) v(`${id}: StopInstances called although stopping is off`);
    } else if (stoppedAtStart) {
      for (const f of ['StopEc2InstanceStatus', 'StartEc2InstanceStatus']) {
        if (!NOT_RUN.test(entry[f]) || !/stopped/.test(entry[f])) v(`${id}: ${f} is ${entry[f]}, expected NotRun saying the instance was stopped when the run began`);
      }
      if (stopCalls.length > 0 || callsAbout(run, id, 'ec2:StartInstances').length > 0) v(`${id}: StopInstances / StartInstances called on an instance stopped when the run began`);
    } else if (stopCalls.length > 0) {
      const firstStop = history.indexOf('stopping');
      const reachedStopped = firstStop >= 0 && history.indexOf('stopped', firstStop) >= 0;
      const expectedStop = stoppedByRun && reachedStopped ? 'Success' : 'Failed';
      // When EC2 stopped answering, the step fails even if the instance did stop: it could not be seen stopped.
      const ec2Trouble = run.calls.some((c) => c.error && c.service === 'ec2' && c.instanceIds.includes(id));
      if (entry.StopEc2InstanceStatus !== expectedStop && !(ec2Trouble && entry.StopEc2InstanceStatus === 'Failed')) {
        v(`${id}: StopEc2InstanceStatus is ${entry.StopEc2InstanceStatus}; the instance went ${history.join(' > ')}, expected ${expectedStop}`);
      }
      // A start is Success only when one was needed: an instance that never left running was not started (NotRun).
      const neverLeftRunning = !history.includes('stopping') && !history.includes('stopped');
      const startAccepted = callsAbout(run, id, 'ec2:StartInstances').some((c) => !c.error);
      if (neverLeftRunning && !startAccepted && finalState === 'running') {
        if (!NOT_RUN.test(entry.StartEc2InstanceStatus)) {
          v(`${id}: StartEc2InstanceStatus is ${entry.StartEc2InstanceStatus}; the instance never stopped and no start was made, expected NotRun`);
        }
      } else {
        const expectedStart = finalState === 'running' ? 'Success' : 'Failed';
        if (entry.StartEc2InstanceStatus !== expectedStart) {
          v(`${id}: StartEc2InstanceStatus is ${entry.StartEc2InstanceStatus}; the instance is ${finalState} at the end, expected ${expectedStart}`);
        }
      }
    } else {
      if (entry.StopEc2InstanceStatus === 'Success') v(`${id}: StopEc2InstanceStatus Success without any StopInstances call`);
      // When EC2 refused the start step's every look (its last DescribeInstances failed), the step fails without
      // having seen the instance: Failed, not a claim that it never stopped.
      const looks = callsAbout(run, id, 'ec2:DescribeInstances');
      const startBlind = entry.StartEc2InstanceStatus === 'Failed' && looks.length > 0 && looks[looks.length - 1].error !== undefined;
      if (!NOT_RUN.test(entry.StartEc2InstanceStatus) && entry.StartEc2InstanceStatus !== 'Success' && !startBlind) {
        v(`${id}: StartEc2InstanceStatus is ${entry.StartEc2InstanceStatus} although the run never stopped the instance`);
      }
    }

    const jobs = world.backupJobsFor(id).filter((j) => run.newJobIds.includes(j.backupJobId));
    if (jobs.length > 1) v(`${id}: ${jobs.length} backup jobs in one execution (expected at most one)`);
    const job = jobs[0];
    if (job) {
      // When AWS Backup stopped answering about the job, its state is unknown: the step failed.
      const lastLook = callsAbout(run, id, 'backup:DescribeBackupJob').pop();
      const expectedJob = lastLook?.error ? 'Failed' : job.state;
      if (entry.BackupJobStatus !== expectedJob) v(`${id}: BackupJobStatus is ${entry.BackupJobStatus}, the fake job is ${job.state}, expected ${expectedJob}`);
      if (entry.BackupJobId !== job.backupJobId) v(`${id}: BackupJobId is ${entry.BackupJobId}, the fake job is ${job.backupJobId}`);
      // StartBackupJob answers no RecoveryPointArn for EC2: only a look at the job that AWS Backup answered gives it.
      const looked = callsAbout(run, id, 'backup:DescribeBackupJob').some((c) => !c.error);
      // What DescribeBackupJob answers now (issue 14's stand-ins: a retried job has its last attempt's recovery point).
      // A job stopped before it ran never had a recovery point.
      const ran = !world.timed || world.backupAttempts(job).length > 0;
      const answeredPoint = recoveryPointArnOf(world, job) ?? (ran ? job.recoveryPointArn : '');
      const expectedPoint = looked ? answeredPoint : '';
      if ((entry.RecoveryPointArn ?? '') !== expectedPoint) v(`${id}: RecoveryPointArn is ${entry.RecoveryPointArn}, expected ${expectedPoint || 'none'} (the fake's is ${answeredPoint})`);
      // 3. The consistency is the truth on the stand-ins' clocks: application-consistent only when every snapshot of the
      // recovery point the job ended with started while the application was frozen (after the pre-script ended, before
      // the post-script was sent) or the instance stopped (before the start call).
      const final = job.state === 'COMPLETED' ? jobAttempts(world, job).at(-1) : undefined;
      if (job.state !== 'COMPLETED' && entry.Consistency !== 'none' && entry.BackupJobStatus === job.state) {
        v(`3: ${id}: the job ended ${job.state} but Consistency is ${entry.Consistency}`);
      }
      if (final && entry.Consistency === 'application-consistent' && !stoppedAtStart) {
        const preEnd = pre?.endedAt;
        const startedAgainAt = inst.power.find((p) => p.event === 'startRequested')?.at;
        const frozenByScript = pre?.status === 'Success' && preEnd !== undefined && final.startedAt >= preEnd
          && (post === undefined || final.startedAt <= post.startedAt);
        const frozenByStop = stoppedByRun && (startedAgainAt === undefined || final.startedAt <= startedAgainAt);
        if (!frozenByScript && !frozenByStop) {
          v(`3: ${id}: Consistency application-consistent, but the final snapshots started at ${final.startedAt} s, `
            + `pre-script ended at ${preEnd ?? 'never'}, post-script sent at ${post?.startedAt ?? 'never'}, started again at ${startedAgainAt ?? 'never'}`);
        }
      }
    } else if (callsAbout(run, id, 'backup:StartBackupJob').length > 0) {
      if (entry.BackupJobStatus !== 'Failed') v(`${id}: BackupJobStatus is ${entry.BackupJobStatus}; StartBackupJob was refused, expected Failed`);
    } else if (!NOT_RUN.test(entry.BackupJobStatus)) {
      v(`${id}: BackupJobStatus is ${entry.BackupJobStatus} but no backup job was started; expected a NotRun status`);
    }

    // The copy of the recovery point, when the construct has a copy vault: the fake's final copy state.
    const copyJob = run.world.copyJobsFor(id)[0];
    const copies = job ? run.world.copyJobsFor(id).filter((c) => c.params.RecoveryPointArn === job.recoveryPointArn) : [];
    if (copies.length > 1) v(`${id}: ${copies.length} copy jobs of one recovery point (expected at most one)`);
    if (copyJob) {
      const lastCopyLook = callsAbout(run, id, 'backup:DescribeCopyJob').pop();
      const expectedCopy = lastCopyLook?.error ? 'Failed' : copyJob.state;
      if (entry.CopyJobStatus !== expectedCopy) v(`${id}: CopyJobStatus is ${entry.CopyJobStatus}, the fake copy is ${copyJob.state}, expected ${expectedCopy}`);
      if (entry.CopyJobId !== copyJob.copyJobId) v(`${id}: CopyJobId is ${entry.CopyJobId}, the fake copy is ${copyJob.copyJobId}`);
    } else if (callsAbout(run, id, 'backup:StartCopyJob').length > 0) {
      if (entry.CopyJobStatus !== 'Failed') v(`${id}: CopyJobStatus is ${entry.CopyJobStatus}; StartCopyJob was refused, expected Failed`);
    } else if (entry.CopyJobStatus !== undefined && entry.CopyJobStatus !== 'skipped' && !NOT_RUN.test(entry.CopyJobStatus)) {
      v(`${id}: CopyJobStatus is ${entry.CopyJobStatus} but no copy job was started; expected skipped or a NotRun status`);
    }

    const statuses = ['PreBackupScriptStatus', 'StopEc2InstanceStatus', 'BackupJobStatus', 'StartEc2InstanceStatus', 'PostBackupScriptStatus']
      .map((f) => entry[f]);
    if (entry.CopyJobStatus !== undefined && entry.CopyJobStatus !== 'skipped') {
      statuses.push(entry.CopyJobStatus);
    }
    // An instance stopped when the run began has its steps on but not run, which is no failure.
    const allOk = statuses.every((s) => OK_STATUSES.includes(s) || (stoppedAtStart && NOT_RUN.test(s)));
    // An instance whose chain died is a failure whatever its steps did: its entry says so (and the run fails).
    const chainDied = CHAIN_DIED.test(entry.FailureMessage ?? '');
    const expectedOutcome = allOk && !chainDied ? 'SUCCEEDED' : 'FAILED';
    if (entry.Outcome !== expectedOutcome) v(`${id}: Outcome is ${entry.Outcome} with statuses ${statuses.join(', ')}; expected ${expectedOutcome}`);
    if ((entry.Outcome === 'SUCCEEDED') !== (entry.FailureMessage === '')) {
      v(`${id}: FailureMessage "${entry.FailureMessage}" does not match Outcome ${entry.Outcome} (empty iff SUCCEEDED)`);
    }

    // 6. Scripts only where the agent is online; elsewhere the instance fails with that reason.
    for (const i of invs) {
      if (i.agentAtSend !== 'Online') v(`6: ${id} received a ${i.phase}-script while its agent was ${i.agentAtSend}`);
    }
    const agent = spec.agent ?? 'Online';
    if ((run.toggles.pre || run.toggles.post) && !stoppedAtStart && agent !== 'Online') {
      if (entry.Outcome !== 'FAILED' || !/agent/i.test(entry.FailureMessage ?? '')) {
        v(`6: ${id}'s agent is ${agent}; expected the instance to fail with a reason naming the agent, got ${entry.Outcome}: ${entry.FailureMessage}`);
      }
    }
  }
  return violations;
}

/** Throws, listing every violation, when the run breaks an invariant. */
export function assertInvariants(run: SimRun): void {
  const violations = checkInvariants(run);
  if (violations.length > 0) {
    const calls = run.calls.map((c) => `  ${c.seq} ${c.service}:${c.action} ${c.instanceIds.join(',')}${c.error ? ` !${c.error}` : ''}`);
    throw new Error(`Invariants violated (${run.result.executionName}, ${run.result.status}):\n- ${violations.join('\n- ')}\n`
      + `calls:\n${calls.slice(0, 150).join('\n')}`);
  }
}
