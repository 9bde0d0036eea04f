/**
 * The shared, per-test "world" behind the fake AWS endpoints: EC2 instances, their SSM agents, the SSM
 * command invocations, the AWS Backup jobs, injected API faults, and an ordered log of every API call.
 *
 * Everything progresses by calls (polls), never by wall-clock time, so a run is deterministic. With
 * `durations`, operations complete by VIRTUAL time instead (each instance's clock, see clock.ts): still
 * deterministic, never the wall clock. State changes emit EventBridge events, delivered once due (see events/).
 */
import { createHash } from 'crypto';
import { Clocks } from './clock';
import { EventDelivery, EventDeliveryOptions, unitHash } from './events/delivery';
import {
  backupJobChange, copyJobChange, ec2StateChange, EmittedEvent, EventEnvelope, EventKind, ssmInvocationChange,
} from './events/envelope';

export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';
export const PARTITION = 'aws';

export type Ec2StateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive';
export type Platform = 'Linux' | 'Windows';
export type ServiceName = 'ec2' | 'ssm' | 'backup' | 'dynamodb' | 'sfn';

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
  /**
   * AWS-RunRemoteScript's `downloadContent` step fails with this output (the script cannot be fetched). The script
   * step still runs after it (the document sets no `onFailure: exit`) and fails: the invocation ends Failed.
   */
  readonly downloadError?: string;
  /** ListCommandInvocations calls that do not list this invocation yet (over the world's `ssmListLagCalls`). */
  readonly listLagCalls?: number;
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
  /**
   * Issue 15: outcomes of this instance's 1st, 2nd, ... pre-backup script commands (of any run), in order; a command
   * past the list ends as `pre` says. `['Failed']` fails the first pre-script only.
   */
  readonly preAttempts?: readonly ScriptOutcome[];
  /** The same for the post-backup script. */
  readonly postAttempts?: readonly ScriptOutcome[];
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
  /**
   * The first N answers of StartBackupJob for this instance are lost after AWS Backup acted on the request (the job is
   * started, or the token found): the caller gets ServiceUnavailableException (HTTP 500) instead of the job id.
   */
  readonly startBackupAnswerLost?: number;
  /** The same for StartCopyJob of this instance's recovery points. */
  readonly startCopyAnswerLost?: number;
  /** Final state of copy jobs of this instance's recovery points (default COMPLETED; `hang` stays RUNNING). */
  readonly copy?: 'COMPLETED' | 'FAILED' | 'PARTIAL' | 'hang';
  /** State-change events about this instance are dropped (all of them, or those of these kinds); counted in `lostEvents`. */
  readonly lostEvents?: true | EventKind[];
  /** Durations of this instance's operations (time mode only), over the world's `durations`. */
  readonly durations?: Partial<Durations>;
  /** What this instance's backup jobs leave as a recovery point (AMI, snapshots); docs/fidelity/backup.md. */
  readonly recoveryPoint?: RecoveryPointFaults;
}

/**
 * How the recovery point of an instance's backup job departs from the plain case (an AMI whose block device mappings
 * carry one snapshot id per volume). Docs are silent on all of these: each is a worst case they allow.
 */
export interface RecoveryPointFaults {
  /** While the AMI is `pending`, its BlockDeviceMappings carry no `Ebs.SnapshotId` (they do once `available`). */
  readonly withoutSnapshotIds?: boolean;
  /** The job's RecoveryPointArn is not an EC2 image (`arn:aws:backup:...:recovery-point:<id>`): no DescribeImages path. */
  readonly notAnAmi?: boolean;
  /**
   * AWS Backup retries the job internally after the first attempt's snapshots were initiated: time mode, this many
   * seconds after the job is RUNNING; count mode, at the job's third RUNNING look (set `backupPolls.running` >= 4). The first attempt's AMI is
   * deregistered and its snapshots deleted; a new AMI (a new RecoveryPointArn) with new snapshots (new ids, later
   * StartTime) becomes the job's recovery point.
   */
  readonly retryAfterSeconds?: number;
}

/** One EBS volume attached to an instance (the first is the root device). */
export interface Volume {
  readonly volumeId: string;
  readonly deviceName: string;
  readonly sizeGiB: number;
}

/** Token-bucket rates of one API family (docs/fidelity/ec2.md, backup.md, ssm.md). */
export interface BucketRate {
  /** Bucket maximum capacity (the burst). */
  readonly capacity: number;
  /** Tokens added per second of simulated time. */
  readonly refillPerSecond: number;
}

/** How long operations take, in virtual seconds on the instance's clock (time mode). */
export interface Durations {
  /** SendCommand -> the script's final status. */
  readonly scriptSeconds: number;
  /** StartBackupJob -> the job's final state. */
  readonly backupSeconds: number;
  /** StartCopyJob -> the copy's final state. */
  readonly copySeconds: number;
  /** StopInstances -> stopped. */
  readonly stopSeconds: number;
  /** StartInstances -> running. */
  readonly startSeconds: number;
  /** running (after a start) -> the SSM agent Online again. */
  readonly agentReconnectSeconds: number;
}

/** One power change of an instance, on its clock. */
export interface PowerRecord {
  readonly event: 'stopRequested' | 'stopped' | 'startRequested' | 'running';
  readonly at: number;
}

/** An operation of an instance that can still complete (what a token wait drives). */
export interface PendingCompletion {
  readonly kind: EventKind | 'agent';
  /** Virtual seconds on the instance's clock when it completes (time mode; in count mode: now). */
  readonly at: number;
  readonly describe: string;
  /** Complete it (state change and its events). */
  apply(): void;
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
  /** EBS volumes attached (the first is the root, /dev/xvda; then /dev/sdf, /dev/sdg...). Default 1. */
  readonly volumes?: number;
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
  /** Issue 15: StopInstances / StartInstances calls with DryRun (they change nothing). */
  dryRunCalls: number;
  /** Time mode: when the current stopping / pending state settles. */
  transitionEndsAt: number;
  /** Time mode: when the agent is back after a start. */
  agentOnlineAt: number;
  /** Stop / start requests and settlements, on the instance's clock. */
  readonly power: PowerRecord[];
  /**
   * EC2's LaunchTime, "the time that the instance was last launched": a day before the world began, set again by
   * each accepted StartInstances from `stopped`, on the instance's virtual clock (the clock the handlers and the
   * execution's start time read too, test/simulator/virtual-date.ts). See docs/fidelity/ec2.md.
   */
  launchTime: Date;
  /** EBS volumes attached (DescribeInstances BlockDeviceMappings); the first is the root device. */
  readonly volumes: readonly Volume[];
}

export interface CommandInvocation {
  readonly commandId: string;
  readonly instanceId: string;
  /** `dry-run-pre` / `dry-run-post`: a dry run's probe of that script (issue 15), from its Comment. */
  readonly phase: 'pre' | 'post' | 'dry-run-pre' | 'dry-run-post' | 'unknown';
  readonly documentName: string;
  readonly comment: string;
  readonly parameters: Record<string, string[]>;
  readonly outputS3BucketName?: string;
  readonly outputS3KeyPrefix?: string;
  readonly timeoutSeconds?: number;
  /** Issue 15: SendCommand's DocumentVersion and CloudWatchOutputConfig, as sent (absent when not sent). */
  readonly documentVersion?: string;
  readonly cloudWatchOutputConfig?: { CloudWatchLogGroupName?: string; CloudWatchOutputEnabled?: boolean };
  readonly requestedAt: Date;
  readonly behaviour: ScriptBehaviour;
  /** Agent status at SendCommand time. */
  readonly agentAtSend: PingStatus;
  /** The instance's platform (the document's step preconditions are evaluated against it). */
  readonly platform: Platform;
  /** ListCommandInvocations calls that still do not list this invocation (listing lag after SendCommand). */
  listLagLeft: number;
  /** Observations so far (GetCommandInvocation + ListCommandInvocations). */
  observations: number;
  /** GetCommandInvocation calls that still answer InvocationDoesNotExist. */
  racePollsLeft: number;
  status: string;
  statusDetails: string;
  responseCode: number;
  cancelRequested: boolean;
  /** Virtual time of SendCommand (and of CancelCommand, when cancelled). */
  readonly startedAt: number;
  cancelAt?: number;
  /** Virtual time the invocation reached its final status (ExecutionEndDateTime). */
  endedAt?: number;
}

export interface CopyJob {
  readonly copyJobId: string;
  readonly instanceId: string;
  /** The source resource's ARN (the instance): a copy job's ResourceArn. */
  readonly resourceArn: string;
  /** Creation time on the virtual clock (what CreationDate answers; the handlers read the same clock). */
  readonly creationDate: Date;
  readonly params: Record<string, any>;
  readonly finalState: 'COMPLETED' | 'FAILED' | 'PARTIAL' | 'hang';
  readonly destinationRecoveryPointArn: string;
  describeCalls: number;
  state: string;
  readonly startedAt: number;
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
  /**
   * Started while another job of the same resource was running: AWS Backup runs one job per resource at a time, so
   * this one ends EXPIRED with RUNNING_JOB_CONFLICT_MESSAGE at the end of its start window (docs/fidelity/backup.md).
   */
  readonly conflict?: boolean;
  describeCalls: number;
  state: string;
  /** Virtual time of StartBackupJob and of reaching a terminal state. */
  readonly startedAt: number;
  terminalAt?: number;
  /** The number of API calls received when it reached a terminal state (orders it among the calls). */
  terminalSeq?: number;
  /** The instance's volumes when the job was started: its snapshots are of these. */
  readonly volumes?: readonly Volume[];
  /** Time mode: seconds from StartBackupJob to RUNNING (drawn from `backupStartDelaySeconds`). */
  readonly startDelaySeconds?: number;
  /** When the job reached RUNNING (virtual seconds on the instance's clock). */
  runningAt?: number;
  /** DescribeBackupJob / ListBackupJobs looks that saw it RUNNING (count mode). */
  runningLooks?: number;
  /** Start times of each attempt that initiated snapshots (an internal retry adds one); count mode only. */
  attemptStarts?: number[];
  /** StopBackupJob was accepted at this time: ABORTING, then ABORTED `abortSeconds` later. */
  stopRequestedAt?: number;
}

export interface ApiCall {
  readonly seq: number;
  readonly service: ServiceName;
  readonly action: string;
  readonly instanceIds: string[];
  readonly params: unknown;
  /** Virtual time of the call: the clock of the one instance it is about, else the run's. */
  readonly at: number;
  /** Error code when the fake answered with an error. */
  error?: string;
  /** Issue 14: the snapshot ids a DescribeSnapshots answer held (what the caller could see). */
  returned?: string[];
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
  /**
   * Which matching calls fail, by their 1-based count among the calls this fault saw (faults are checked in the
   * order they were injected; the first that fails a call ends the check); default every one (up to `times`).
   */
  readonly nth?: (n: number) => boolean;
}

/** A call the service performs whose answer never reaches the caller (see World.loseAnswer). */
export interface LostAnswer {
  readonly service: ServiceName;
  readonly action: string;
  readonly instanceId?: string;
  /** What the caller gets instead; default a 500 InternalServerError. */
  readonly error?: ApiError;
  /** How many matching calls lose their answer; default all of them. */
  readonly times?: number;
}

export interface WorldOptions {
  /** DescribeInstances calls that see a stopping instance before it is stopped. Default 2. */
  readonly stopPolls?: number;
  /** DescribeInstances calls that see a pending instance before it is running. Default 2. */
  readonly startPolls?: number;
  /** GetCommandInvocation calls answering InvocationDoesNotExist right after SendCommand. Default 1. */
  readonly ssmRacePolls?: number;
  /**
   * ListCommandInvocations calls (of any form) that do not list an invocation yet, right after SendCommand: the
   * listing is eventually consistent (docs/fidelity/ssm.md). Default 1.
   */
  readonly ssmListLagCalls?: number;
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
  /**
   * Time mode: operations complete by virtual time on the instance's clock (a poll before then sees them in
   * progress; a token wait jumps the clock to the completion). Without it, they complete by counted observations.
   */
  readonly durations?: Durations;
  /**
   * Virtual seconds (on the instance's clock) before a new backup or copy job shows in ListBackupJobs / ListCopyJobs.
   * AWS documents no bound on this lag; default 300.
   */
  readonly listLagSeconds?: number;
  /** Most jobs per ListBackupJobs / ListCopyJobs page, whatever MaxResults asks (AWS may answer fewer). Default 1. */
  readonly listPageSize?: number;
  /**
   * How state-change events are delivered (events/delivery.ts). Default: as AWS documents them (AWS Backup's in
   * 5-minute batches, EC2's and SSM's within a minute, a seeded share lost or delivered twice); `{ mode: 'ideal' }`
   * delivers every event at once, exactly once.
   */
  readonly events?: EventDeliveryOptions;
  /**
   * Time mode: seconds from StartBackupJob to RUNNING, drawn per job (seeded by `backupSeed`, the instance and the job)
   * uniformly in [min, max]. AWS: an on-demand job "will transition in state of Running within an hour". Default 0 to 0
   * (existing suites); issue 14's scenarios use e.g. `{ min: 30, max: 600 }`.
   */
  readonly backupStartDelaySeconds?: { readonly min: number; readonly max: number };
  /** Seed of the start delays. Default 1. */
  readonly backupSeed?: number;
  /**
   * When DescribeBackupJob shows RecoveryPointArn (undocumented): `running` (default) = `recoveryPointLagSeconds` after
   * the job is RUNNING (count mode: from its second RUNNING look); `completed` = only once the job is COMPLETED.
   */
  readonly recoveryPointArnAt?: 'running' | 'completed';
  /** Time mode: seconds after RUNNING (after each attempt's start) before RecoveryPointArn shows. Default 60. */
  readonly recoveryPointLagSeconds?: number;
  /**
   * EC2 eventual consistency: an AWS Backup AMI is invisible to DescribeImages (InvalidAMIID.NotFound when asked by id)
   * for this many seconds after it was created (time mode). Default 30.
   */
  readonly imageLagSeconds?: number;
  /** Count mode: DescribeImages calls asking for a new AMI that answer InvalidAMIID.NotFound. Default 1. */
  readonly imageLagCalls?: number;
  /**
   * Issue 14, the snapshot view: EC2 eventual consistency for DescribeSnapshots by filter (docs/fidelity/ec2.md): a new
   * snapshot is left out of filtered listings for this many seconds after it started (time mode). Default: imageLagSeconds.
   */
  readonly snapshotLagSeconds?: number;
  /** Count mode: filtered DescribeSnapshots calls that leave a new snapshot out. Default: imageLagCalls. */
  readonly snapshotLagCalls?: number;
  /**
   * DescribeSnapshots page size when MaxResults is given: at most this many snapshots per page (AWS may return fewer
   * than MaxResults). Default 1000 (MaxResults honoured).
   */
  readonly snapshotPageSize?: number;
  /** After an accepted StopBackupJob the job is ABORTING for this long (time mode; count mode: one look). Default 60. */
  readonly abortSeconds?: number;
  /**
   * Token-bucket throttling as AWS documents it, in simulated time (fakes/throttling.ts): `true` = the documented
   * rates; an object overrides some buckets by name. Default false (off).
   */
  readonly throttling?: boolean | Record<string, BucketRate>;
}

/**
 * Seconds an idempotency token of StartBackupJob / StartCopyJob keeps answering the job it started. The older API text
 * of StartBackupJob: "Idempotency tokens time out after one hour"; the current one gives no time (docs/fidelity/backup.md).
 */
export const IDEMPOTENCY_TOKEN_SECONDS = 3600;

/** The status message of a job started while another job of its resource was running (AWS's EventBridge example). */
export const RUNNING_JOB_CONFLICT_MESSAGE = 'Backup job failed because there was a running job for the same resource';

/** The filters of ListBackupJobs / ListCopyJobs the stand-in applies. */
export interface JobListFilter {
  readonly resourceArn?: string;
  readonly state?: string;
  readonly backupVaultName?: string;
  readonly destinationVaultArn?: string;
  readonly sourceRecoveryPointArn?: string;
  readonly createdAfter?: Date;
  readonly createdBefore?: Date;
}

const THROTTLE: Record<ServiceName, ApiError> = {
  ec2: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', httpStatus: 503 },
  ssm: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 },
  backup: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 429 },
  dynamodb: { code: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.', httpStatus: 400 },
  sfn: { code: 'ThrottlingException', message: 'Rate exceeded', httpStatus: 400 },
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
  if (b.downloadError !== undefined) {
    // Nothing was downloaded: the script step runs a command line whose file is missing (shell: exit 127).
    return {
      ...b,
      status: 'Failed',
      responseCode: b.responseCode ?? 127,
      stderr: b.stderr ?? 'command not found: the script file was not downloaded',
      inProgressPolls: b.inProgressPolls ?? defaultPolls,
    };
  }
  return { ...b, inProgressPolls: b.inProgressPolls ?? defaultPolls };
}

function normalizeBackup(outcome: BackupOutcome | undefined): BackupBehaviour {
  return typeof outcome === 'string' ? { state: outcome } : outcome ?? { state: 'COMPLETED' };
}

export class World {
  public readonly options: Required<Omit<WorldOptions, 'requireTagForMutation' | 'allowedBackupVaults' | 'backupPolls' | 'durations' | 'events' | 'backupStartDelaySeconds'>> &
  { backupStartDelaySeconds: { min: number; max: number } } &
  Pick<WorldOptions, 'requireTagForMutation' | 'allowedBackupVaults' | 'durations'> & { backupPolls: { created: number; pending: number; running: number } };
  /** Virtual time: the run's and each instance's clock. */
  public readonly clock = new Clocks();
  /** Events emitted and not yet delivered, by instance id (the simulator routes them once due), duplicates included. */
  private readonly pendingEvents = new Map<string, EmittedEvent[]>();
  /** Events dropped: by a `lostEvents` fault, or lost by best-effort delivery. */
  public readonly lostEvents: EmittedEvent[] = [];
  /** How events are delivered: delays, losses, duplicates (events/delivery.ts). */
  public readonly delivery: EventDelivery;
  /** Events emitted per instance and kind so far: an event's ordinal, which the delivery decisions hash. */
  private readonly eventOrdinals = new Map<string, number>();
  private eventSeq = 0;
  /** Events emitted (delivered, pending or lost). */
  public eventsEmitted = 0;
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
  /** Issue 15: vaults that do not exist (DescribeBackupVault answers AccessDeniedException; every other vault exists). */
  public readonly missingBackupVaults = new Set<string>();
  private readonly faults: Array<InjectedFault & { used: number; seen: number }> = [];
  private readonly lostAnswers: Array<LostAnswer & { used: number }> = [];
  /** Jobs by instance id, in the order started (backupJobsFor / copyJobsFor stay cheap for large fleets). */
  private readonly backupJobIndex = new Map<string, BackupJob[]>();
  private readonly copyJobIndex = new Map<string, CopyJob[]>();
  /** Answers of StartBackupJob / StartCopyJob lost so far, by `action:instance`. */
  private readonly answersLost = new Map<string, number>();

  private seq = 0;
  private idCounter = 0;

  constructor(options: WorldOptions = {}) {
    this.delivery = new EventDelivery(options.events);
    this.options = {
      stopPolls: options.stopPolls ?? 2,
      startPolls: options.startPolls ?? 2,
      ssmRacePolls: options.ssmRacePolls ?? 1,
      ssmListLagCalls: options.ssmListLagCalls ?? 1,
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
      durations: options.durations,
      listLagSeconds: options.listLagSeconds ?? 300,
      listPageSize: options.listPageSize ?? 1,
      backupStartDelaySeconds: options.backupStartDelaySeconds ?? { min: 0, max: 0 },
      backupSeed: options.backupSeed ?? 1,
      recoveryPointArnAt: options.recoveryPointArnAt ?? 'running',
      recoveryPointLagSeconds: options.recoveryPointLagSeconds ?? 60,
      imageLagSeconds: options.imageLagSeconds ?? 30,
      imageLagCalls: options.imageLagCalls ?? 1,
      snapshotLagSeconds: options.snapshotLagSeconds ?? options.imageLagSeconds ?? 30,
      snapshotLagCalls: options.snapshotLagCalls ?? options.imageLagCalls ?? 1,
      snapshotPageSize: options.snapshotPageSize ?? 1000,
      abortSeconds: options.abortSeconds ?? 60,
      throttling: options.throttling ?? false,
    };
    const d = this.options.backupStartDelaySeconds;
    if (!(d.min >= 0 && d.max >= d.min)) throw new Error(`backupStartDelaySeconds must have 0 <= min <= max, got ${JSON.stringify(d)}`);
  }

  /** Operations complete by virtual time (`durations` given). */
  public get timed(): boolean {
    return this.options.durations !== undefined;
  }

  /** An instance's durations (time mode only). */
  public durationsOf(instanceId: string): Durations {
    const base = this.options.durations;
    if (!base) throw new Error('durations are only defined in time mode');
    return { ...base, ...this.instances.get(instanceId)?.faults.durations };
  }

  /** Virtual seconds on an instance's clock. */
  public now(instanceId: string): number {
    return this.clock.now(instanceId);
  }

  // ------------------------------------------------------------------------------------------------ events

  private emit(kind: EventKind, instanceId: string, make: (time: Date) => EventEnvelope): void {
    const at = this.now(instanceId);
    const envelope = make(this.clock.dateAt(at));
    this.eventsEmitted++;
    const seq = ++this.eventSeq;
    const key = `${instanceId}|${kind}`;
    const ordinal = (this.eventOrdinals.get(key) ?? 0) + 1;
    this.eventOrdinals.set(key, ordinal);
    const inst = this.instances.get(instanceId);
    const plan = this.delivery.plan(kind, inst?.index ?? -1, ordinal, at);
    const event: EmittedEvent = { kind, instanceId, at, envelope, seq, deliverAt: plan.deliverAt };
    const lost = inst?.faults.lostEvents;
    if (plan.lost || lost === true || (Array.isArray(lost) && lost.includes(kind))) {
      this.lostEvents.push(event);
      return;
    }
    this.queue(event);
    if (plan.duplicateAt !== undefined) this.queue({ ...event, deliverAt: plan.duplicateAt, duplicate: true });
  }

  /** Deliver an event (again) later: a Lambda target's retry after a function error. */
  public requeue(event: EmittedEvent): void {
    this.queue(event);
  }

  private queue(event: EmittedEvent): void {
    let list = this.pendingEvents.get(event.instanceId);
    if (!list) this.pendingEvents.set(event.instanceId, list = []);
    list.push(event);
  }

  /** Events emitted and not delivered yet (duplicates included), in emission order. */
  public get outbox(): EmittedEvent[] {
    return [...this.pendingEvents.values()].flat().sort((a, b) => a.seq - b.seq || Number(!!a.duplicate) - Number(!!b.duplicate));
  }

  /** Take every event emitted and not delivered yet (in emission order), whether due or not. */
  public takeEvents(): EmittedEvent[] {
    const all = this.outbox;
    this.pendingEvents.clear();
    return all;
  }

  /**
   * Take the events due now (their delivery time reached on their instance's clock), of one instance or of all,
   * soonest first; a duplicate due at the same moment as its original comes right after it.
   */
  public takeDueEvents(instanceId?: string): EmittedEvent[] {
    const due: EmittedEvent[] = [];
    const ids = instanceId !== undefined ? [instanceId] : [...this.pendingEvents.keys()];
    for (const id of ids) {
      const list = this.pendingEvents.get(id);
      if (!list) continue;
      const now = this.now(id);
      const keep = list.filter((ev) => ev.deliverAt > now);
      if (keep.length === list.length) continue;
      due.push(...list.filter((ev) => ev.deliverAt <= now));
      if (keep.length > 0) this.pendingEvents.set(id, keep);
      else this.pendingEvents.delete(id);
    }
    return due.sort((a, b) => a.deliverAt - b.deliverAt || a.seq - b.seq || Number(!!a.duplicate) - Number(!!b.duplicate));
  }

  /** When the next undelivered event about an instance is due (virtual seconds on its clock), if any. */
  public nextDeliveryAt(instanceId: string): number | undefined {
    const list = this.pendingEvents.get(instanceId);
    return list && list.length > 0 ? Math.min(...list.map((ev) => ev.deliverAt)) : undefined;
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
      dryRunCalls: 0,
      transitionEndsAt: 0,
      agentOnlineAt: 0,
      power: [],
      launchTime: new Date(this.clock.origin - 86_400_000),
      volumes: volumesOf(spec.id, spec.volumes ?? 1),
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
    this.faults.push({ ...fault, used: 0, seen: 0 });
  }

  /**
   * The service performs matching calls (the command is sent, the job started...) and then the answer is lost: the
   * caller gets `error` (default a 500 InternalServerError) instead. Only fakes that model it apply it (SSM SendCommand).
   */
  public loseAnswer(lost: LostAnswer): void {
    this.lostAnswers.push({ ...lost, used: 0 });
  }

  /** The error that replaces the answer of a call that was performed, when a `loseAnswer` applies (counted as used). */
  public lostAnswerFor(service: ServiceName, action: string, instanceIds: string[]): ApiError | undefined {
    for (const l of this.lostAnswers) {
      if (l.service !== service || l.action !== action) continue;
      if (l.instanceId && !instanceIds.includes(l.instanceId)) continue;
      if (l.times !== undefined && l.used >= l.times) continue;
      l.used++;
      const err = l.error ?? { code: 'InternalServerError', message: 'We encountered an internal error. Please try again.', httpStatus: 500 };
      const call = this.calls[this.calls.length - 1];
      if (call) call.error = err.code;
      return err;
    }
    return undefined;
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
    const at = this.clock.now(instanceIds.length === 1 ? instanceIds[0] : undefined);
    const call: ApiCall = { seq: ++this.seq, service, action, instanceIds, params, at };
    this.calls.push(call);
    for (const f of this.faults) {
      if (f.service !== service || f.action !== action) continue;
      if (f.instanceId && !instanceIds.includes(f.instanceId)) continue;
      if (f.times !== undefined && f.used >= f.times) continue;
      f.seen++;
      if (f.nth && !f.nth(f.seen)) continue;
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
      if (this.timed) {
        if (!never && this.now(inst.id) >= inst.transitionEndsAt) this.settle(inst);
      } else if (!never) {
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

  private setState(inst: Instance, state: Ec2StateName): void {
    if (inst.state === state) return;
    inst.state = state;
    this.emit('ec2', inst.id, (t) => ec2StateChange(inst.id, state, t));
  }

  private settle(inst: Instance): void {
    const at = this.timed ? inst.transitionEndsAt : this.now(inst.id);
    if (inst.state === 'stopping') {
      this.setState(inst, 'stopped');
      inst.power.push({ event: 'stopped', at });
    } else if (inst.state === 'pending') {
      this.setState(inst, 'running');
      inst.power.push({ event: 'running', at });
      inst.agentReconnecting = true;
      inst.agentPollsLeft = inst.faults.agentReconnectPolls ?? this.options.agentReconnectPolls;
      if (this.timed) inst.agentOnlineAt = at + this.durationsOf(inst.id).agentReconnectSeconds;
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

  /**
   * Issue 15: StopInstances / StartInstances with `DryRun: true`. EC2 documents only a permission check ("Checks whether
   * you have the required permissions ... If you have the required permissions, the error response is DryRunOperation.
   * Otherwise, it is UnauthorizedOperation."), so the worst it allows is modelled: the permission (requireTagForMutation,
   * or a stopError/startError fault whose code is UnauthorizedOperation) is checked, and nothing else is: the instance's
   * state, other faults and counts are untouched; the caller (the fake) then answers DryRunOperation.
   */
  public dryRunPowerChange(inst: Instance, action: 'StopInstances' | 'StartInstances'): void {
    inst.dryRunCalls++;
    this.checkMutationAllowed(inst, action);
    const fault = action === 'StopInstances' ? inst.faults.stopError : inst.faults.startError;
    if (fault?.code === 'UnauthorizedOperation') throw new FakeApiError(fault);
  }

  public stopInstance(inst: Instance): { previous: Ec2StateName; current: Ec2StateName } {
    inst.stopCalls++;
    this.checkMutationAllowed(inst, 'StopInstances');
    if (inst.faults.stopError) throw new FakeApiError(inst.faults.stopError);
    const previous = inst.state;
    switch (inst.state) {
      case 'running':
        this.setState(inst, 'stopping');
        inst.power.push({ event: 'stopRequested', at: this.now(inst.id) });
        inst.transitionPollsLeft = this.options.stopPolls;
        if (this.timed) inst.transitionEndsAt = this.now(inst.id) + this.durationsOf(inst.id).stopSeconds;
        inst.agentReconnecting = false;
        break;
      case 'stopping':
      case 'stopped':
        break;
      case 'pending':
        // EC2's words for a stop before the instance reached running (cloud-custodian PR #6014, docs/fidelity/ec2.md).
        throw new FakeApiError({
          code: 'IncorrectInstanceState',
          message: `Instance '${inst.id}' cannot be stopped as it has never reached the 'running' state.`,
        });
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
        this.setState(inst, 'pending');
        inst.power.push({ event: 'startRequested', at: this.now(inst.id) });
        inst.launchTime = this.clock.dateAt(this.now(inst.id));
        inst.transitionPollsLeft = this.options.startPolls;
        if (this.timed) inst.transitionEndsAt = this.now(inst.id) + this.durationsOf(inst.id).startSeconds;
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
      if (this.timed) {
        if (this.now(inst.id) < inst.agentOnlineAt) return 'ConnectionLost';
      } else if (inst.agentPollsLeft > 0) {
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
    documentVersion?: string;
    cloudWatchOutputConfig?: { CloudWatchLogGroupName?: string; CloudWatchOutputEnabled?: boolean };
  }): CommandInvocation {
    const ping = this.pingStatus(inst, false);
    if (ping === undefined) {
      throw new FakeApiError({ code: 'InvalidInstanceId', message: 'Instances [[' + inst.id + ']] not in a valid state for account ' + ACCOUNT_ID });
    }
    // Issue 15: a dry run's probe (Comment `...:dry-run-pre|post`) downloads that script and tests the file: it fails
    // only where the script's download fails (the script's own outcome is not the probe's); not counted as a script.
    const probe = /(?:^|:)dry-run-(pre|post)$/.exec(cmd.comment ?? '');
    if (!probe) inst.commandCount++;
    // `...:pre` / `...:post`, or `...:pre:<attempt>` for a retried attempt (issue 15).
    const m = /(?:^|:)(pre|post)(?::\d+)?$/.exec(cmd.comment ?? '');
    const phase: CommandInvocation['phase'] = probe ? `dry-run-${probe[1]}` as 'dry-run-pre' | 'dry-run-post' : m ? m[1] as 'pre' | 'post'
      : inst.commandCount === 1 ? 'pre' : inst.commandCount === 2 ? 'post' : 'unknown';
    const probed = probe ? (probe[1] === 'pre' ? inst.faults.pre : inst.faults.post) : undefined;
    // The Nth command of the phase on this instance takes the Nth outcome of `preAttempts` / `postAttempts`, if listed.
    const nth = (this.invocationsByInstance.get(inst.id) ?? []).filter((i) => i.phase === phase).length;
    const listed = phase === 'post' ? inst.faults.postAttempts : phase === 'pre' ? inst.faults.preAttempts : undefined;
    const outcome: ScriptOutcome | undefined = probe
      ? { status: 'Success', downloadError: typeof probed === 'object' ? probed.downloadError : undefined }
      : listed?.[nth] ?? (phase === 'post' ? inst.faults.post : phase === 'pre' ? inst.faults.pre : undefined);
    const inv: CommandInvocation = {
      ...cmd,
      instanceId: inst.id,
      phase,
      requestedAt: this.clock.dateAt(this.now(inst.id)),
      behaviour: normalizeScript(outcome, this.options.scriptInProgressPolls),
      agentAtSend: ping,
      platform: inst.platform,
      listLagLeft: normalizeScript(outcome, 0).listLagCalls ?? this.options.ssmListLagCalls,
      observations: 0,
      racePollsLeft: this.options.ssmRacePolls,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      cancelRequested: false,
      startedAt: this.now(inst.id),
    };
    this.emit('ssm', inst.id, (t) => ssmInvocationChange(inv, 'Pending', t));
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
    if (this.timed) return this.invocationByTime(inv);
    if (inv.cancelRequested) {
      if (inv.status === 'Cancelling') {
        this.finish(inv, 'Cancelled', 'Cancelled', -1);
      } else {
        this.setInvocationStatus(inv, 'Cancelling');
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
      this.setInvocationStatus(inv, 'InProgress');
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

  private finish(inv: CommandInvocation, status: string, details: string, code: number, at = this.now(inv.instanceId)): void {
    inv.endedAt = at;
    this.setInvocationStatus(inv, status, details);
    inv.responseCode = code;
  }

  private setInvocationStatus(inv: CommandInvocation, status: string, details = status): void {
    const changed = inv.status !== status;
    inv.status = status;
    inv.statusDetails = details;
    if (changed) this.emit('ssm', inv.instanceId, (t) => ssmInvocationChange(inv, status, t));
  }

  /** Time mode: when an invocation ends, and how (undefined: never). */
  private invocationEnd(inv: CommandInvocation): { at: number; status: string; details: string; code: number } | undefined {
    if (inv.cancelRequested) return { at: inv.cancelAt ?? inv.startedAt, status: 'Cancelled', details: 'Cancelled', code: -1 };
    if (inv.agentAtSend === 'Inactive') return { at: inv.startedAt, status: 'Failed', details: 'Undeliverable', code: -1 };
    if (inv.agentAtSend !== 'Online') {
      return { at: inv.startedAt + (inv.timeoutSeconds ?? 3600), status: 'TimedOut', details: 'DeliveryTimedOut', code: -1 };
    }
    const b = inv.behaviour;
    const at = inv.startedAt + this.durationsOf(inv.instanceId).scriptSeconds;
    switch (b.status) {
      case 'Success': return { at, status: 'Success', details: 'Success', code: b.responseCode ?? 0 };
      case 'Failed': return { at, status: 'Failed', details: 'Failed', code: b.responseCode ?? 1 };
      case 'TimedOut': return { at, status: 'TimedOut', details: 'ExecutionTimedOut', code: b.responseCode ?? -1 };
      case 'Cancelled': return { at, status: 'Cancelled', details: 'Cancelled', code: b.responseCode ?? -1 };
      default: return undefined;
    }
  }

  private invocationByTime(inv: CommandInvocation): CommandInvocation {
    const end = this.invocationEnd(inv);
    if (end && this.now(inv.instanceId) >= end.at) this.finish(inv, end.status, end.details, end.code, end.at);
    else if (inv.agentAtSend === 'Online' && !inv.cancelRequested) this.setInvocationStatus(inv, 'InProgress');
    return inv;
  }

  // ------------------------------------------------------------------------------------------------ Backup

  /**
   * StartBackupJob. A token answers the job it started for IDEMPOTENCY_TOKEN_SECONDS of the instance's clock, then
   * starts a new job; a job started while another job of the resource is running ends EXPIRED (`conflict`).
   */
  /**
   * Issue 15: DescribeBackupVault (docs/fidelity/ec2.md, the dry run's block): a vault outside `allowedBackupVaults`
   * answers AccessDeniedException (as StartBackupJob does); so does a missing one, as reported from the field (aws-sdk-js
   * issue 2625: "Insufficient privileges to perform this action.", HTTP 403) although the API reference lists
   * ResourceNotFoundException: the worst for a caller, which cannot tell "missing" from "not allowed". The others are
   * AVAILABLE, unlocked, with the recovery points the world's completed jobs made in them.
   */
  public describeBackupVault(vault: string): Record<string, unknown> {
    if ((this.options.allowedBackupVaults && !this.options.allowedBackupVaults.includes(vault)) || this.missingBackupVaults.has(vault)) {
      throw new FakeApiError({ code: 'AccessDeniedException', message: 'Insufficient privileges to perform this action.', httpStatus: 403 });
    }
    return {
      BackupVaultName: vault,
      BackupVaultArn: `arn:aws:backup:${REGION}:${ACCOUNT_ID}:backup-vault:${vault}`,
      VaultType: 'BACKUP_VAULT',
      VaultState: 'AVAILABLE',
      EncryptionKeyArn: `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000`,
      CreationDate: this.clock.origin / 1000 - 86_400,
      NumberOfRecoveryPoints: [...this.backupJobs.values()].filter((j) => j.backupVaultName === vault && j.state === 'COMPLETED').length,
      Locked: false,
    };
  }

  public startBackupJob(params: Record<string, any>, instanceId: string | undefined): BackupJob {
    const token = params.IdempotencyToken as string | undefined;
    if (token) {
      const existing = this.backupJobsByToken.get(token);
      if (existing && this.now(existing.instanceId) - existing.startedAt < IDEMPOTENCY_TOKEN_SECONDS) return existing;
    }
    const vault = String(params.BackupVaultName ?? '');
    if (this.options.allowedBackupVaults && !this.options.allowedBackupVaults.includes(vault)) {
      throw new FakeApiError({ code: 'AccessDeniedException', message: `Insufficient privileges to perform this action on backup vault ${vault}.` });
    }
    const inst = instanceId ? this.instances.get(instanceId) : undefined;
    if (inst?.faults.startBackupError) throw new FakeApiError(inst.faults.startBackupError);
    const id = this.nextId('', 8).toUpperCase();
    const jobId = `${id}-0000-4000-8000-${id.padStart(12, '0')}`;
    const running = [...this.backupJobIndex.get(instanceId ?? '') ?? []]
      .some((j) => j.resourceArn === String(params.ResourceArn) && !isTerminalJob(j.state));
    const behaviour: BackupBehaviour = running ? { state: 'EXPIRED', statusMessage: RUNNING_JOB_CONFLICT_MESSAGE }
      : inst ? normalizeBackup(inst.faults.backup)
        : { state: 'FAILED', statusMessage: `Resource ${params.ResourceArn} not found` };
    const job: BackupJob = {
      backupJobId: jobId,
      instanceId: instanceId ?? '',
      resourceArn: String(params.ResourceArn),
      backupVaultName: vault,
      iamRoleArn: String(params.IamRoleArn ?? ''),
      idempotencyToken: token,
      recoveryPointArn: `arn:${PARTITION}:ec2:${REGION}::image/ami-${id.toLowerCase().padStart(17, '0')}`,
      creationDate: this.clock.dateAt(this.now(instanceId ?? '')),
      params,
      behaviour,
      conflict: running,
      describeCalls: 0,
      state: 'CREATED',
      startedAt: this.now(instanceId ?? ''),
      volumes: inst?.volumes ?? [],
      startDelaySeconds: this.timed ? this.drawStartDelay(inst, (this.backupJobIndex.get(instanceId ?? '')?.length ?? 0) + 1) : 0,
      runningLooks: 0,
      attemptStarts: [],
    };
    this.backupJobs.set(jobId, job);
    this.indexJob(this.backupJobIndex, job.instanceId, job);
    if (token) this.backupJobsByToken.set(token, job);
    this.emit('backup', job.instanceId, (t) => backupJobChange(job, 'CREATED', t));
    return job;
  }

  /** A job's start delay: uniform in `backupStartDelaySeconds`, seeded by `backupSeed`, the instance and the job's ordinal. */
  private drawStartDelay(inst: Instance | undefined, ordinal: number): number {
    const { min, max } = this.options.backupStartDelaySeconds;
    if (max === min) return min;
    return Math.round(min + (max - min) * unitHash('backup-start-delay', this.options.backupSeed, inst?.index ?? -1, ordinal));
  }

  /** Time mode: when the job reaches RUNNING (undefined: never, a job queued behind another one of its resource). */
  public backupRunningAt(job: BackupJob): number | undefined {
    if (!this.timed) return job.runningAt;
    if (job.conflict) return undefined;
    const at = job.startedAt + (job.startDelaySeconds ?? 0);
    const end = this.backupEnd(job);
    if (job.stopRequestedAt !== undefined && job.stopRequestedAt < at) return undefined;
    return end !== undefined && end <= at ? undefined : at;
  }

  /**
   * Start times of the attempts that initiated snapshots so far (an internal retry, `recoveryPoint.retryAfterSeconds`,
   * adds a second one); empty before RUNNING. The last attempt's AMI and snapshots are the job's recovery point.
   */
  public backupAttempts(job: BackupJob): number[] {
    if (!this.timed) return [...job.attemptStarts ?? []];
    const runningAt = this.backupRunningAt(job);
    const now = this.now(job.instanceId);
    if (runningAt === undefined || now < runningAt) return [];
    const out = [runningAt];
    const retry = this.instances.get(job.instanceId)?.faults.recoveryPoint?.retryAfterSeconds;
    const end = this.backupEnd(job);
    if (retry !== undefined && now >= runningAt + retry && (end === undefined || runningAt + retry < end)) out.push(runningAt + retry);
    return out;
  }

  /** The state a job ends in: ABORTED when a StopBackupJob's abort ends before the job would have. */
  public backupFinalState(job: BackupJob): BackupFinalState {
    if (job.stopRequestedAt === undefined) return job.behaviour.state;
    if (!this.timed) return 'ABORTED';
    const natural = this.naturalBackupEnd(job);
    return natural !== undefined && natural <= job.stopRequestedAt + this.options.abortSeconds ? job.behaviour.state : 'ABORTED';
  }

  /**
   * StopBackupJob: a job not yet terminal goes ABORTING, then ABORTED (`abortSeconds` later; count mode: the next look),
   * unless it ends first. Refused (InvalidRequestException) once terminal or already ABORTING.
   */
  public stopBackupJob(job: BackupJob): void {
    if (this.timed) {
      // Bring the job up to now (time mode: its state is a function of time); not counted as a look.
      this.observeBackupJob(job);
      job.describeCalls--;
    }
    if (isTerminalJob(job.state) || job.state === 'ABORTING') {
      throw new FakeApiError({ code: 'InvalidRequestException', message: `Backup job ${job.backupJobId} is in state ${job.state} and cannot be stopped.` });
    }
    const now = this.now(job.instanceId);
    job.stopRequestedAt = now;
    this.setBackupState(job, 'ABORTING', now);
  }

  /**
   * Record that the job ran from `at` (its snapshots started then). A job completed without being seen RUNNING (a token
   * wait, a late look) gets no RUNNING event here: the event streams of the existing suites stay as they were.
   */
  private markRunning(job: BackupJob, at: number): void {
    if (job.runningAt !== undefined) return;
    job.runningAt = at;
    job.attemptStarts?.push(at);
  }

  private setBackupState(job: BackupJob, state: string, at: number): void {
    if (job.state === state) return;
    if (state === 'RUNNING') this.markRunning(job, at);
    job.state = state;
    if (isTerminalJob(state)) {
      job.terminalAt = at;
      job.terminalSeq = this.callCount;
    }
    // A COMPLETED job carries a status message only when it completed with issues (its behaviour says one).
    const message = isTerminalJob(state) ? job.behaviour.statusMessage : undefined;
    this.emit('backup', job.instanceId, (t) => backupJobChange(job, state, t, message));
  }

  /** Time mode: when a backup job ends (undefined: never), StopBackupJob included. */
  private backupEnd(job: BackupJob): number | undefined {
    const natural = this.naturalBackupEnd(job);
    if (job.stopRequestedAt === undefined) return natural;
    const aborted = job.stopRequestedAt + this.options.abortSeconds;
    return natural === undefined ? aborted : Math.min(natural, aborted);
  }

  /** Time mode: when a backup job ends by itself (undefined: never): start delay + backupSeconds. */
  private naturalBackupEnd(job: BackupJob): number | undefined {
    if (job.conflict) return job.startedAt + Number(job.params.StartWindowMinutes ?? 480) * 60;
    return job.behaviour.state === 'hang' ? undefined
      : job.startedAt + (job.startDelaySeconds ?? 0) + this.durationsOf(job.instanceId).backupSeconds;
  }

  /** Whether a job shows in the job lists yet (`listLagSeconds` after its start, on its instance's clock). */
  private listed(job: { instanceId: string; startedAt: number }): boolean {
    return this.now(job.instanceId) - job.startedAt >= this.options.listLagSeconds;
  }

  /** ListBackupJobs: the jobs the filter selects, newest first (AWS documents no order). Looks only. */
  public listBackupJobs(filter: JobListFilter): BackupJob[] {
    return [...this.backupJobs.values()].filter((j) => this.listed(j)
      && (!filter.resourceArn || j.resourceArn === filter.resourceArn)
      && (!filter.state || j.state === filter.state)
      && (!filter.backupVaultName || j.backupVaultName === filter.backupVaultName)
      && (!filter.createdAfter || j.creationDate.getTime() > filter.createdAfter.getTime())
      && (!filter.createdBefore || j.creationDate.getTime() < filter.createdBefore.getTime())).reverse();
  }

  /** ListCopyJobs: the copy jobs the filter selects, newest first. Looks only. */
  public listCopyJobs(filter: JobListFilter): CopyJob[] {
    return [...this.copyJobs.values()].filter((j) => this.listed(j)
      && (!filter.resourceArn || j.resourceArn === filter.resourceArn)
      && (!filter.state || j.state === filter.state)
      && (!filter.destinationVaultArn || j.params.DestinationBackupVaultArn === filter.destinationVaultArn)
      && (!filter.sourceRecoveryPointArn || j.params.RecoveryPointArn === filter.sourceRecoveryPointArn)
      && (!filter.createdAfter || j.creationDate.getTime() > filter.createdAfter.getTime())
      && (!filter.createdBefore || j.creationDate.getTime() < filter.createdBefore.getTime())).reverse();
  }

  /** Whether this answer of StartBackupJob / StartCopyJob about the instance is lost (`startBackupAnswerLost`...). */
  public loseJobAnswer(action: 'StartBackupJob' | 'StartCopyJob', instanceId: string): boolean {
    const faults = this.instances.get(instanceId)?.faults;
    const budget = (action === 'StartBackupJob' ? faults?.startBackupAnswerLost : faults?.startCopyAnswerLost) ?? 0;
    const key = `${action}:${instanceId}`;
    const used = this.answersLost.get(key) ?? 0;
    if (used >= budget) return false;
    this.answersLost.set(key, used + 1);
    return true;
  }

  public observeBackupJob(job: BackupJob): BackupJob {
    job.describeCalls++;
    if (isTerminalJob(job.state)) return job;
    const now = this.now(job.instanceId);
    if (this.timed) {
      const end = this.backupEnd(job);
      const runningAt = this.backupRunningAt(job);
      if (end !== undefined && now >= end) {
        if (runningAt !== undefined) this.markRunning(job, runningAt);
        this.setBackupState(job, this.backupFinalState(job), end);
      } else if (job.stopRequestedAt !== undefined) {
        // ABORTING until the abort ends.
      } else if (runningAt !== undefined && now > job.startedAt && now >= runningAt) {this.setBackupState(job, 'RUNNING', runningAt);}
      return job;
    }
    if (job.state === 'ABORTING') {
      this.setBackupState(job, 'ABORTED', now);
      return job;
    }
    const { created, pending, running } = this.options.backupPolls;
    const n = job.describeCalls;
    const wasRunning = job.state === 'RUNNING';
    if (n <= created) this.setBackupState(job, 'CREATED', now);
    else if (n <= created + pending) this.setBackupState(job, 'PENDING', now);
    else if (n <= created + pending + running || job.behaviour.state === 'hang') this.setBackupState(job, 'RUNNING', now);
    else this.setBackupState(job, job.behaviour.state, now);
    if (wasRunning && job.state === 'RUNNING') {
      // Count mode: an internal retry (recoveryPoint.retryAfterSeconds) happens at the job's third RUNNING look.
      job.runningLooks = (job.runningLooks ?? 0) + 1;
      const retry = this.instances.get(job.instanceId)?.faults.recoveryPoint?.retryAfterSeconds;
      if (retry !== undefined && job.runningLooks === 2 && job.attemptStarts?.length === 1) job.attemptStarts.push(now);
    }
    return job;
  }

  /** Forgets every instance, invocation, job, call and injected fault: one simulator can serve many runs. */
  public reset(): void {
    this.instances.clear();
    this.instanceList.length = 0;
    this.commands.clear();
    this.invocationsByInstance.clear();
    this.backupJobs.clear();
    this.backupJobIndex.clear();
    this.copyJobIndex.clear();
    this.backupJobsByToken.clear();
    this.answersLost.clear();
    this.copyJobs.clear();
    this.copyJobsByToken.clear();
    this.calls.length = 0;
    this.faults.length = 0;
    this.lostAnswers.length = 0;
    this.pendingEvents.clear();
    this.lostEvents.length = 0;
    this.eventsEmitted = 0;
    this.eventOrdinals.clear();
    this.eventSeq = 0;
    this.clock.reset();
  }

  /** StartCopyJob of a recovery point this world's backup jobs created; idempotent by token. */
  public startCopyJob(params: Record<string, any>): CopyJob {
    const token = params.IdempotencyToken as string | undefined;
    const existing = token ? this.copyJobsByToken.get(token) : undefined;
    if (existing && this.now(existing.instanceId) - existing.startedAt < IDEMPOTENCY_TOKEN_SECONDS) return existing;
    const source = [...this.backupJobs.values()].find(j => j.recoveryPointArn === params.RecoveryPointArn && j.state === 'COMPLETED');
    if (!source) {
      throw new FakeApiError({ code: 'InvalidParameterValueException', message: `Recovery point ${params.RecoveryPointArn} is not a completed recovery point` });
    }
    const id = this.nextId('', 8).toUpperCase();
    const job: CopyJob = {
      copyJobId: `${id}-0000-4000-8000-${id.padStart(12, '0')}`,
      instanceId: source.instanceId,
      resourceArn: source.resourceArn,
      creationDate: this.clock.dateAt(this.now(source.instanceId)),
      params,
      finalState: this.instances.get(source.instanceId)?.faults.copy ?? 'COMPLETED',
      describeCalls: 0,
      state: 'CREATED',
      destinationRecoveryPointArn: `arn:${PARTITION}:ec2:us-west-2::image/ami-${id.toLowerCase().padStart(17, '0')}`,
      startedAt: this.now(source.instanceId),
    };
    this.copyJobs.set(job.copyJobId, job);
    this.indexJob(this.copyJobIndex, job.instanceId, job);
    if (token) this.copyJobsByToken.set(token, job);
    this.emit('copy', job.instanceId, (t) => copyJobChange(job, 'CREATED', t));
    return job;
  }

  private setCopyState(job: CopyJob, state: string): void {
    if (job.state === state) return;
    job.state = state;
    this.emit('copy', job.instanceId, (t) => copyJobChange(job, state, t));
  }

  private copyEnd(job: CopyJob): number | undefined {
    return job.finalState === 'hang' ? undefined : job.startedAt + this.durationsOf(job.instanceId).copySeconds;
  }

  /** CREATED on the first look, RUNNING on the second, then the final state (unless it hangs). Time mode: by time. */
  public observeCopyJob(job: CopyJob): CopyJob {
    job.describeCalls++;
    if (isTerminalJob(job.state)) return job;
    if (this.timed) {
      const now = this.now(job.instanceId);
      const end = this.copyEnd(job);
      if (end !== undefined && now >= end) this.setCopyState(job, job.finalState);
      else if (now > job.startedAt) this.setCopyState(job, 'RUNNING');
      return job;
    }
    if (job.describeCalls <= 1) this.setCopyState(job, 'CREATED');
    else if (job.describeCalls <= 2 || job.finalState === 'hang') this.setCopyState(job, 'RUNNING');
    else this.setCopyState(job, job.finalState);
    return job;
  }

  // ------------------------------------------------------------------------------------------------ driving

  /**
   * The in-flight operations of an instance that can still complete, soonest first (count mode: in the order they
   * were started, all "now"). A token wait applies them one at a time until its token is answered.
   */
  public pendingCompletions(instanceId: string): PendingCompletion[] {
    const inst = this.instances.get(instanceId);
    if (!inst) return [];
    const now = this.now(instanceId);
    const out: PendingCompletion[] = [];
    const at = (t: number | undefined) => (this.timed ? t : now);
    if (inst.state === 'stopping' || inst.state === 'pending') {
      const never = inst.state === 'stopping' ? inst.faults.stopNeverCompletes : inst.faults.startNeverCompletes;
      if (!never) {
        out.push({ kind: 'ec2', at: at(inst.transitionEndsAt)!, describe: `${inst.id} ${inst.state}`, apply: () => this.settle(inst) });
      }
    }
    for (const inv of this.commandsFor(instanceId)) {
      if (isTerminalInvocation(inv.status)) continue;
      if (this.timed) {
        const end = this.invocationEnd(inv);
        if (end) out.push({ kind: 'ssm', at: end.at, describe: `command ${inv.commandId}`, apply: () => this.finish(inv, end.status, end.details, end.code, end.at) });
      } else if (inv.behaviour.status !== 'hang' || inv.cancelRequested || inv.agentAtSend !== 'Online') {
        out.push({
          kind: 'ssm',
          at: now,
          describe: `command ${inv.commandId}`,
          apply: () => {
            inv.racePollsLeft = 0;
            inv.listLagLeft = 0;
            for (let i = 0; i < 1000 && !isTerminalInvocation(inv.status); i++) this.observeInvocation(inv);
          },
        });
      }
    }
    for (const job of this.backupJobsFor(instanceId)) {
      if (isTerminalJob(job.state)) continue;
      const end = this.timed ? this.backupEnd(job)
        : job.behaviour.state === 'hang' && job.stopRequestedAt === undefined ? undefined : now;
      if (end !== undefined) {
        out.push({
          kind: 'backup',
          at: end,
          describe: `backup job ${job.backupJobId}`,
          apply: () => {
            const runningAt = this.timed ? this.backupRunningAt(job) : now;
            if (runningAt !== undefined && job.stopRequestedAt === undefined) this.markRunning(job, runningAt);
            this.setBackupState(job, this.backupFinalState(job), end);
          },
        });
      }
    }
    for (const job of this.copyJobsFor(instanceId)) {
      if (isTerminalJob(job.state)) continue;
      const end = this.timed ? this.copyEnd(job) : job.finalState === 'hang' ? undefined : now;
      if (end !== undefined) out.push({ kind: 'copy', at: end, describe: `copy job ${job.copyJobId}`, apply: () => this.setCopyState(job, job.finalState) });
    }
    return out.sort((a, b) => a.at - b.at);
  }

  public copyJobsFor(instanceId: string): CopyJob[] {
    return [...this.copyJobIndex.get(instanceId) ?? []];
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

  private indexJob<T>(index: Map<string, T[]>, instanceId: string, job: T): void {
    let list = index.get(instanceId);
    if (!list) index.set(instanceId, list = []);
    list.push(job);
  }

  public backupJobsFor(instanceId: string): BackupJob[] {
    return [...this.backupJobIndex.get(instanceId) ?? []];
  }
}

/** The EBS volumes of an instance: a root and `count - 1` data volumes, ids derived from the instance id. */
function volumesOf(instanceId: string, count: number): Volume[] {
  if (!(Number.isInteger(count) && count >= 1 && count <= 26)) throw new Error(`volumes must be 1 to 26, got ${count}`);
  return Array.from({ length: count }, (_, k) => ({
    volumeId: `vol-${createHash('sha256').update(`${instanceId}:volume:${k}`).digest('hex').slice(0, 17)}`,
    deviceName: k === 0 ? '/dev/xvda' : `/dev/sd${String.fromCharCode('f'.charCodeAt(0) + k - 1)}`,
    sizeGiB: k === 0 ? 8 : 100,
  }));
}

export function isTerminalJob(state: string): boolean {
  return ['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL'].includes(state);
}

export function isTerminalInvocation(status: string): boolean {
  return ['Success', 'Failed', 'TimedOut', 'Cancelled'].includes(status);
}
