/**
 * The shared, per-test "world" behind the fake AWS endpoints: EC2 instances, their SSM agents, the SSM
 * command invocations, the AWS Backup jobs, injected API faults, and an ordered log of every API call.
 *
 * Everything progresses by calls (polls), never by wall-clock time, so a run is deterministic.
 */

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

export type Ec2StateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';
export type Platform = 'Linux' | 'Windows';
export type ServiceName = 'ec2' | 'ssm' | 'backup' | 'dynamodb';

export const EC2_STATE_CODES: Record<Ec2StateName, number> = {
  'pending': 0,
  'running': 16,
  'shutting-down': 32,
  'terminated': 48,
  'stopping': 64,
  'stopped': 80,
};

/** How a script (one SSM command invocation) ends. */
export interface ScriptBehaviour {
  /** Final status; `hang` stays InProgress forever. */
  readonly status: 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'hang';
  /** Observations (GetCommandInvocation / ListCommandInvocations) in InProgress before the final status. */
  readonly inProgressPolls?: number;
  /** Exit code; default 0 for Success, 1 for Failed, -1 otherwise. */
  readonly responseCode?: number;
  readonly stdout?: string;
  readonly stderr?: string;
}
export type ScriptOutcome = ScriptBehaviour['status'] | ScriptBehaviour;

export type BackupFinalState = 'COMPLETED' | 'FAILED' | 'ABORTED' | 'EXPIRED' | 'PARTIAL' | 'hang';
export interface BackupBehaviour {
  readonly state: BackupFinalState;
  readonly statusMessage?: string;
}
export type BackupOutcome = BackupFinalState | BackupBehaviour;

/** An API error as the service would return it. */
export interface ApiError {
  /** Error code, e.g. `UnauthorizedOperation`, `InternalFailure`, `ThrottlingException`. */
  readonly code: string;
  readonly message?: string;
  /** HTTP status; default 400. */
  readonly httpStatus?: number;
}

/** Per-instance faults. */
export interface InstanceFaults {
  /** Outcome of the pre-backup script (default Success). */
  readonly pre?: ScriptOutcome;
  /** Outcome of the post-backup script (default Success). */
  readonly post?: ScriptOutcome;
  /** StopInstances on this instance fails with this API error (every call). */
  readonly stopError?: ApiError;
  /** The instance stays `stopping` forever after StopInstances. */
  readonly stopNeverCompletes?: boolean;
  /** StartInstances on this instance fails with this API error (every call). */
  readonly startError?: ApiError;
  /** The instance stays `pending` forever after StartInstances. */
  readonly startNeverCompletes?: boolean;
  /** DescribeInstanceInformation polls (after the instance is running again) before the agent is back Online. */
  readonly agentReconnectPolls?: number;
  /** The agent never comes back after a stop/start. */
  readonly agentNeverReconnects?: boolean;
  /** Final state of this instance's backup jobs (default COMPLETED). */
  readonly backup?: BackupOutcome;
  /** StartBackupJob for this instance fails with this API error (every call). */
  readonly startBackupError?: ApiError;
  /** Final state of copy jobs of this instance's recovery points (default COMPLETED; `hang` stays RUNNING). */
  readonly copy?: 'COMPLETED' | 'FAILED' | 'PARTIAL' | 'hang';
}

export interface InstanceSpec {
  readonly id: string;
  readonly tags?: Record<string, string>;
  /** Default `running`. */
  readonly state?: Ec2StateName;
  /** Default `Linux`. */
  readonly platform?: Platform;
  /** SSM agent status while the instance runs; `absent` = not managed by SSM. Default `Online`. */
  readonly agent?: PingStatus | 'absent';
  /** Instances with the same reservation id are returned in one reservation. Default: one per instance. */
  readonly reservationId?: string;
  readonly faults?: InstanceFaults;
}

export interface Instance {
  readonly id: string;
  /** Position in insertion order (used for stable pagination). */
  readonly index: number;
  tags: Record<string, string>;
  state: Ec2StateName;
  platform: Platform;
  agent: PingStatus | 'absent';
  reservationId: string;
  faults: InstanceFaults;
  /** Observations left before a transitional state (stopping / pending) settles. */
  transitionPollsLeft: number;
  /** DescribeInstanceInformation polls left before the agent reports its configured status after a start. */
  agentPollsLeft: number;
  /** The instance was started and the agent has not reconnected yet. */
  agentReconnecting: boolean;
  /** Number of SSM commands received. */
  commandCount: number;
  stopCalls: number;
  startCalls: number;
}

export interface CommandInvocation {
  readonly commandId: string;
  readonly instanceId: string;
  readonly phase: 'pre' | 'post' | 'unknown';
  readonly documentName: string;
  readonly comment: string;
  readonly parameters: Record<string, string[]>;
  readonly outputS3BucketName?: string;
  readonly outputS3KeyPrefix?: string;
  readonly timeoutSeconds?: number;
  readonly requestedAt: Date;
  readonly behaviour: ScriptBehaviour;
  /** Agent status at SendCommand time. */
  readonly agentAtSend: PingStatus;
  /** Observations so far (GetCommandInvocation + ListCommandInvocations). */
  observations: number;
  /** GetCommandInvocation calls that still answer InvocationDoesNotExist. */
  racePollsLeft: number;
  status: string;
  statusDetails: string;
  responseCode: number;
  cancelRequested: boolean;
}

export interface CopyJob {
  readonly copyJobId: string;
  readonly instanceId: string;
  readonly params: Record<string, any>;
  readonly finalState: 'COMPLETED' | 'FAILED' | 'PARTIAL' | 'hang';
  readonly destinationRecoveryPointArn: string;
  describeCalls: number;
  state: string;
}

export interface BackupJob {
  readonly backupJobId: string;
  readonly instanceId: string;
  readonly resourceArn: string;
  readonly backupVaultName: string;
  readonly iamRoleArn: string;
  readonly idempotencyToken?: string;
  readonly recoveryPointArn: string;
  readonly creationDate: Date;
  readonly params: Record<string, unknown>;
  readonly behaviour: BackupBehaviour;
  describeCalls: number;
  state: string;
}

export interface ApiCall {
  readonly seq: number;
  readonly service: ServiceName;
  readonly action: string;
  readonly instanceIds: string[];
  readonly params: unknown;
  /** Error code when the fake answered with an error. */
  error?: string;
}

export interface InjectedFault {
  readonly service: ServiceName;
  readonly action: string;
  /** Only calls that concern this instance. */
  readonly instanceId?: string;
  /** Throttle (the service's throttling error) instead of `error`. */
  readonly throttle?: boolean;
  readonly error?: ApiError;
  /** How many matching calls fail; default: all of them. */
  readonly times?: number;
}

export interface WorldOptions {
  /** DescribeInstances calls that see a stopping instance before it is stopped. Default 2. */
  readonly stopPolls?: number;
  /** DescribeInstances calls that see a pending instance before it is running. Default 2. */
  readonly startPolls?: number;
  /** GetCommandInvocation calls answering InvocationDoesNotExist right after SendCommand. Default 1. */
  readonly ssmRacePolls?: number;
  /** Default InProgress observations of a script before its final status. Default 1. */
  readonly scriptInProgressPolls?: number;
  /** Observations of an invocation to an offline agent before it ends DeliveryTimedOut. Default 2. */
  readonly deliveryTimeoutPolls?: number;
  /** Default DescribeInstanceInformation polls before a restarted instance's agent is Online. Default 1. */
  readonly agentReconnectPolls?: number;
  /** DescribeBackupJob calls in CREATED, PENDING, RUNNING before the final state. Default 1, 1, 2. */
  readonly backupPolls?: { readonly created?: number; readonly pending?: number; readonly running?: number };
  /** StopInstances / StartInstances on an instance without this tag fail with UnauthorizedOperation. */
  readonly requireTagForMutation?: { readonly key: string; readonly value: string };
  /** When set, StartBackupJob into another vault fails (AccessDeniedException). */
  readonly allowedBackupVaults?: string[];
}

const THROTTLE: Record<ServiceName, ApiError> = {
  ec2: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', httpStatus: 503 },
  ssm: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 },
  backup: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 429 },
  dynamodb: { code: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.', httpStatus: 400 },
};

/** Thrown by world operations; the fakes turn it into the service's error format. */
export class FakeApiError extends Error {
  public readonly code: string;
  public readonly httpStatus: number;
  constructor(error: ApiError) {
    super(error.message ?? error.code);
    this.name = 'FakeApiError';
    this.code = error.code;
    this.httpStatus = error.httpStatus ?? 400;
  }
}

function normalizeScript(outcome: ScriptOutcome | undefined, defaultPolls: number): ScriptBehaviour {
  const b: ScriptBehaviour = typeof outcome === 'string' ? { status: outcome } : outcome ?? { status: 'Success' };
  return { ...b, inProgressPolls: b.inProgressPolls ?? defaultPolls };
}

function normalizeBackup(outcome: BackupOutcome | undefined): BackupBehaviour {
  return typeof outcome === 'string' ? { state: outcome } : outcome ?? { state: 'COMPLETED' };
}

export class World {
  public readonly options: Required<Omit<WorldOptions, 'requireTagForMutation' | 'allowedBackupVaults' | 'backupPolls'>> &
  Pick<WorldOptions, 'requireTagForMutation' | 'allowedBackupVaults'> & { backupPolls: { created: number; pending: number; running: number } };
  /** Instances by id. */
  public readonly instances = new Map<string, Instance>();
  /** Instances in insertion order. */
  public readonly instanceList: Instance[] = [];
  /** Every API call, in order. */
  public readonly calls: ApiCall[] = [];
  public readonly commands = new Map<string, CommandInvocation[]>();
  /** Invocations by instance id, in order received. */
  public readonly invocationsByInstance = new Map<string, CommandInvocation[]>();
  public readonly backupJobs = new Map<string, BackupJob>();
  public readonly copyJobs = new Map<string, CopyJob>();
  private readonly copyJobsByToken = new Map<string, CopyJob>();
  public readonly backupJobsByToken = new Map<string, BackupJob>();
  private readonly faults: Array<InjectedFault & { used: number }> = [];
  private seq = 0;
  private idCounter = 0;

  constructor(options: WorldOptions = {}) {
    this.options = {
      stopPolls: options.stopPolls ?? 2,
      startPolls: options.startPolls ?? 2,
      ssmRacePolls: options.ssmRacePolls ?? 1,
      scriptInProgressPolls: options.scriptInProgressPolls ?? 1,
      deliveryTimeoutPolls: options.deliveryTimeoutPolls ?? 2,
      agentReconnectPolls: options.agentReconnectPolls ?? 1,
      backupPolls: {
        created: options.backupPolls?.created ?? 1,
        pending: options.backupPolls?.pending ?? 1,
        running: options.backupPolls?.running ?? 2,
      },
      requireTagForMutation: options.requireTagForMutation,
      allowedBackupVaults: options.allowedBackupVaults,
    };
  }

  // ------------------------------------------------------------------------------------------------ setup

  public addInstance(spec: InstanceSpec): Instance {
    if (this.instances.has(spec.id)) {
      throw new Error(`instance ${spec.id} already exists`);
    }
    const inst: Instance = {
      id: spec.id,
      index: this.instanceList.length,
      tags: { ...spec.tags },
      state: spec.state ?? 'running',
      platform: spec.platform ?? 'Linux',
      agent: spec.agent ?? 'Online',
      reservationId: spec.reservationId ?? `r-${spec.id.replace(/^i-/, '')}`,
      faults: { ...spec.faults },
      transitionPollsLeft: 0,
      agentPollsLeft: 0,
      agentReconnecting: false,
      commandCount: 0,
      stopCalls: 0,
      startCalls: 0,
    };
    this.instances.set(inst.id, inst);
    this.instanceList.push(inst);
    return inst;
  }

  public addInstances(specs: InstanceSpec[]): Instance[] {
    return specs.map((s) => this.addInstance(s));
  }

  /** Set or merge faults of one instance. */
  public setFaults(instanceId: string, faults: InstanceFaults): void {
    const inst = this.requireInstance(instanceId);
    inst.faults = { ...inst.faults, ...faults };
  }

  /** Inject an API fault for a (service, action), optionally only for one instance. */
  public injectFault(fault: InjectedFault): void {
    if (!fault.throttle && !fault.error) {
      throw new Error('injectFault needs throttle: true or an error');
    }
    this.faults.push({ ...fault, used: 0 });
  }

  /** Throttle the first `times` calls of an action. */
  public throttle(service: ServiceName, action: string, times: number, instanceId?: string): void {
    this.injectFault({ service, action, throttle: true, times, instanceId });
  }

  public requireInstance(id: string): Instance {
    const inst = this.instances.get(id);
    if (!inst) {
      throw new Error(`no instance ${id} in the world`);
    }
    return inst;
  }

  public nextId(prefix: string, length = 17): string {
    this.idCounter++;
    return `${prefix}${this.idCounter.toString(16).padStart(length, '0')}`;
  }

  // ------------------------------------------------------------------------------------------------ calls and faults

  /** Record a call and raise an injected fault when one applies. */
  public recordCall(service: ServiceName, action: string, instanceIds: string[], params: unknown): ApiCall {
    const call: ApiCall = { seq: ++this.seq, service, action, instanceIds, params };
    this.calls.push(call);
    for (const f of this.faults) {
      if (f.service !== service || f.action !== action) continue;
      if (f.instanceId && !instanceIds.includes(f.instanceId)) continue;
      if (f.times !== undefined && f.used >= f.times) continue;
      f.used++;
      const err = f.throttle ? THROTTLE[service] : f.error!;
      call.error = err.code;
      throw new FakeApiError(err);
    }
    return call;
  }

  public get callCount(): number {
    return this.seq;
  }

  /** Calls per `service:action`, optionally only those after a given sequence number. */
  public callCounts(afterSeq = 0): Record<string, number> {
    const counts: Record<string, number> = {};
    for (let i = this.calls.length - 1; i >= 0 && this.calls[i].seq > afterSeq; i--) {
      const key = `${this.calls[i].service}:${this.calls[i].action}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  public callsFor(instanceId: string, service?: ServiceName, action?: string): ApiCall[] {
    return this.calls.filter((c) => c.instanceIds.includes(instanceId)
      && (!service || c.service === service) && (!action || c.action === action));
  }

  // ------------------------------------------------------------------------------------------------ EC2

  /** The state an observer sees now; advances transitional states by one observation. */
  public observeInstance(inst: Instance): Ec2StateName {
    if (inst.state === 'stopping' || inst.state === 'pending') {
      const never = inst.state === 'stopping' ? inst.faults.stopNeverCompletes : inst.faults.startNeverCompletes;
      if (!never) {
        if (inst.transitionPollsLeft > 0) {
          inst.transitionPollsLeft--;
        } else {
          this.settle(inst);
        }
      }
    } else if (inst.state === 'shutting-down') {
      inst.state = 'terminated';
    }
    return inst.state;
  }

  private settle(inst: Instance): void {
    if (inst.state === 'stopping') {
      inst.state = 'stopped';
    } else if (inst.state === 'pending') {
      inst.state = 'running';
      inst.agentReconnecting = true;
      inst.agentPollsLeft = inst.faults.agentReconnectPolls ?? this.options.agentReconnectPolls;
    }
  }

  private checkMutationAllowed(inst: Instance, action: string): void {
    const req = this.options.requireTagForMutation;
    if (req && inst.tags[req.key] !== req.value) {
      throw new FakeApiError({
        code: 'UnauthorizedOperation',
        message: `You are not authorized to perform this operation. User: arn:aws:sts::${ACCOUNT_ID}:assumed-role/sim/${action} is not authorized to perform: ec2:${action} on resource: arn:aws:ec2:${REGION}:${ACCOUNT_ID}:instance/${inst.id} because no identity-based policy allows the ec2:${action} action`,
      });
    }
  }

  public stopInstance(inst: Instance): { previous: Ec2StateName; current: Ec2StateName } {
    inst.stopCalls++;
    this.checkMutationAllowed(inst, 'StopInstances');
    if (inst.faults.stopError) throw new FakeApiError(inst.faults.stopError);
    const previous = inst.state;
    switch (inst.state) {
      case 'running':
        inst.state = 'stopping';
        inst.transitionPollsLeft = this.options.stopPolls;
        inst.agentReconnecting = false;
        break;
      case 'stopping':
      case 'stopped':
        break;
      default:
        throw new FakeApiError({
          code: 'IncorrectInstanceState',
          message: `The instance '${inst.id}' is not in a state from which it can be stopped.`,
        });
    }
    return { previous, current: inst.state };
  }

  public startInstance(inst: Instance): { previous: Ec2StateName; current: Ec2StateName } {
    inst.startCalls++;
    this.checkMutationAllowed(inst, 'StartInstances');
    if (inst.faults.startError) throw new FakeApiError(inst.faults.startError);
    const previous = inst.state;
    switch (inst.state) {
      case 'stopped':
        inst.state = 'pending';
        inst.transitionPollsLeft = this.options.startPolls;
        break;
      case 'pending':
      case 'running':
        break;
      default:
        throw new FakeApiError({
          code: 'IncorrectInstanceState',
          message: `The instance '${inst.id}' is not in a state from which it can be started.`,
        });
    }
    return { previous, current: inst.state };
  }

  // ------------------------------------------------------------------------------------------------ SSM

  /** PingStatus the agent reports now (undefined = not managed). Advances reconnection by one poll when `advance`. */
  public pingStatus(inst: Instance, advance: boolean): PingStatus | undefined {
    if (inst.agent === 'absent') return undefined;
    if (inst.state !== 'running') return inst.agent === 'Inactive' ? 'Inactive' : 'ConnectionLost';
    if (inst.agentReconnecting) {
      if (inst.faults.agentNeverReconnects) return 'ConnectionLost';
      if (inst.agentPollsLeft > 0) {
        if (advance) inst.agentPollsLeft--;
        return 'ConnectionLost';
      }
      inst.agentReconnecting = false;
    }
    return inst.agent;
  }

  public sendCommand(inst: Instance, cmd: {
    commandId: string;
    documentName: string;
    comment: string;
    parameters: Record<string, string[]>;
    outputS3BucketName?: string;
    outputS3KeyPrefix?: string;
    timeoutSeconds?: number;
  }): CommandInvocation {
    const ping = this.pingStatus(inst, false);
    if (ping === undefined) {
      throw new FakeApiError({ code: 'InvalidInstanceId', message: 'Instances [[' + inst.id + ']] not in a valid state for account ' + ACCOUNT_ID });
    }
    inst.commandCount++;
    const m = /(?:^|:)(pre|post)$/.exec(cmd.comment ?? '');
    const phase: CommandInvocation['phase'] = m ? m[1] as 'pre' | 'post'
      : inst.commandCount === 1 ? 'pre' : inst.commandCount === 2 ? 'post' : 'unknown';
    const outcome = phase === 'post' ? inst.faults.post : phase === 'pre' ? inst.faults.pre : undefined;
    const inv: CommandInvocation = {
      ...cmd,
      instanceId: inst.id,
      phase,
      requestedAt: new Date(),
      behaviour: normalizeScript(outcome, this.options.scriptInProgressPolls),
      agentAtSend: ping,
      observations: 0,
      racePollsLeft: this.options.ssmRacePolls,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      cancelRequested: false,
    };
    let list = this.invocationsByInstance.get(inst.id);
    if (!list) this.invocationsByInstance.set(inst.id, list = []);
    list.push(inv);
    let byCmd = this.commands.get(cmd.commandId);
    if (!byCmd) this.commands.set(cmd.commandId, byCmd = []);
    byCmd.push(inv);
    return inv;
  }

  /** Advance an invocation by one observation and return it. */
  public observeInvocation(inv: CommandInvocation): CommandInvocation {
    if (isTerminalInvocation(inv.status)) return inv;
    inv.observations++;
    if (inv.cancelRequested) {
      if (inv.status === 'Cancelling') {
        this.finish(inv, 'Cancelled', 'Cancelled', -1);
      } else {
        inv.status = inv.statusDetails = 'Cancelling';
      }
      return inv;
    }
    if (inv.agentAtSend !== 'Online') {
      if (inv.agentAtSend === 'Inactive') {
        this.finish(inv, 'Failed', 'Undeliverable', -1);
      } else if (inv.observations > this.options.deliveryTimeoutPolls) {
        this.finish(inv, 'TimedOut', 'DeliveryTimedOut', -1);
      }
      return inv;
    }
    const b = inv.behaviour;
    if (b.status === 'hang' || inv.observations <= (b.inProgressPolls ?? 0)) {
      inv.status = inv.statusDetails = 'InProgress';
      return inv;
    }
    switch (b.status) {
      case 'Success': this.finish(inv, 'Success', 'Success', b.responseCode ?? 0); break;
      case 'Failed': this.finish(inv, 'Failed', 'Failed', b.responseCode ?? 1); break;
      case 'TimedOut': this.finish(inv, 'TimedOut', 'ExecutionTimedOut', b.responseCode ?? -1); break;
      case 'Cancelled': this.finish(inv, 'Cancelled', 'Cancelled', b.responseCode ?? -1); break;
    }
    return inv;
  }

  private finish(inv: CommandInvocation, status: string, details: string, code: number): void {
    inv.status = status;
    inv.statusDetails = details;
    inv.responseCode = code;
  }

  // ------------------------------------------------------------------------------------------------ Backup

  public startBackupJob(params: Record<string, any>, instanceId: string | undefined): BackupJob {
    const token = params.IdempotencyToken as string | undefined;
    if (token) {
      const existing = this.backupJobsByToken.get(token);
      if (existing) return existing;
    }
    const vault = String(params.BackupVaultName ?? '');
    if (this.options.allowedBackupVaults && !this.options.allowedBackupVaults.includes(vault)) {
      throw new FakeApiError({ code: 'AccessDeniedException', message: `Insufficient privileges to perform this action on backup vault ${vault}.` });
    }
    const inst = instanceId ? this.instances.get(instanceId) : undefined;
    if (inst?.faults.startBackupError) throw new FakeApiError(inst.faults.startBackupError);
    const id = this.nextId('', 8).toUpperCase();
    const jobId = `${id}-0000-4000-8000-${id.padStart(12, '0')}`;
    const behaviour: BackupBehaviour = inst ? normalizeBackup(inst.faults.backup)
      : { state: 'FAILED', statusMessage: `Resource ${params.ResourceArn} not found` };
    const job: BackupJob = {
      backupJobId: jobId,
      instanceId: instanceId ?? '',
      resourceArn: String(params.ResourceArn),
      backupVaultName: vault,
      iamRoleArn: String(params.IamRoleArn ?? ''),
      idempotencyToken: token,
      recoveryPointArn: `arn:${PARTITION}:ec2:${REGION}::image/ami-${id.toLowerCase().padStart(17, '0')}`,
      creationDate: new Date(),
      params,
      behaviour,
      describeCalls: 0,
      state: 'CREATED',
    };
    this.backupJobs.set(jobId, job);
    if (token) this.backupJobsByToken.set(token, job);
    return job;
  }

  public observeBackupJob(job: BackupJob): BackupJob {
    job.describeCalls++;
    const { created, pending, running } = this.options.backupPolls;
    const n = job.describeCalls;
    if (n <= created) job.state = 'CREATED';
    else if (n <= created + pending) job.state = 'PENDING';
    else if (n <= created + pending + running || job.behaviour.state === 'hang') job.state = 'RUNNING';
    else job.state = job.behaviour.state;
    return job;
  }

  /** Forgets every instance, invocation, job, call and injected fault: one simulator can serve many runs. */
  public reset(): void {
    this.instances.clear();
    this.instanceList.length = 0;
    this.commands.clear();
    this.invocationsByInstance.clear();
    this.backupJobs.clear();
    this.backupJobsByToken.clear();
    this.copyJobs.clear();
    this.copyJobsByToken.clear();
    this.calls.length = 0;
    this.faults.length = 0;
  }

  /** StartCopyJob of a recovery point this world's backup jobs created; idempotent by token. */
  public startCopyJob(params: Record<string, any>): CopyJob {
    const token = params.IdempotencyToken as string | undefined;
    const existing = token ? this.copyJobsByToken.get(token) : undefined;
    if (existing) return existing;
    const source = [...this.backupJobs.values()].find(j => j.recoveryPointArn === params.RecoveryPointArn && j.state === 'COMPLETED');
    if (!source) {
      throw new FakeApiError({ code: 'InvalidParameterValueException', message: `Recovery point ${params.RecoveryPointArn} is not a completed recovery point` });
    }
    const id = this.nextId('', 8).toUpperCase();
    const job: CopyJob = {
      copyJobId: `${id}-0000-4000-8000-${id.padStart(12, '0')}`,
      instanceId: source.instanceId,
      params,
      finalState: this.instances.get(source.instanceId)?.faults.copy ?? 'COMPLETED',
      describeCalls: 0,
      state: 'CREATED',
      destinationRecoveryPointArn: `arn:${PARTITION}:ec2:us-west-2::image/ami-${id.toLowerCase().padStart(17, '0')}`,
    };
    this.copyJobs.set(job.copyJobId, job);
    if (token) this.copyJobsByToken.set(token, job);
    return job;
  }

  /** CREATED on the first look, RUNNING on the second, then the final state (unless it hangs). */
  public observeCopyJob(job: CopyJob): CopyJob {
    job.describeCalls++;
    if (job.describeCalls <= 1) job.state = 'CREATED';
    else if (job.describeCalls <= 2 || job.finalState === 'hang') job.state = 'RUNNING';
    else job.state = job.finalState;
    return job;
  }

  public copyJobsFor(instanceId: string): CopyJob[] {
    return [...this.copyJobs.values()].filter((j) => j.instanceId === instanceId);
  }

  // ------------------------------------------------------------------------------------------------ reading results

  /** Final EC2 state of every instance. */
  public instanceStates(): Record<string, Ec2StateName> {
    return Object.fromEntries(this.instanceList.map((i) => [i.id, i.state]));
  }

  /** The commands an instance received, in order, with phase and current status. */
  public commandsFor(instanceId: string): CommandInvocation[] {
    return this.invocationsByInstance.get(instanceId) ?? [];
  }

  public backupJobsFor(instanceId: string): BackupJob[] {
    return [...this.backupJobs.values()].filter((j) => j.instanceId === instanceId);
  }
}

export function isTerminalInvocation(status: string): boolean {
  return ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(status);
}
