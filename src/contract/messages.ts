import { EntrySpread, PageDescriptor } from './fleet';
import type { CaughtError, DiscoveredInstance, ExcludedInstance, FailedChildEntry, InstanceOutcome, InstanceSteps, RunTally, UnfinishedInstance } from './instance';
import type { RunSummaryDetail } from './run-summary-event';
import type { BackupRun, RunConfig, ScriptPlatform, ScriptRun } from './settings';

/**
 * The data that flows between the state machine and the Lambda handlers.
 *
 * The state machine (src/workflow) builds every handler's event from these shapes with JSONPath, and every
 * handler (src/functions) returns one of them. Field names here are part of the definition: renaming one means
 * changing both sides. Nothing in this file is exported from the package.
 */

/** Execution context the state machine passes to handlers that need it ($$.Execution). */
export interface ExecutionContext {
  /** Execution ARN (`$$.Execution.Id`); the audit record's partition key. */
  readonly id: string;
  /** Execution name (`$$.Execution.Name`). */
  readonly name: string;
  /** ISO-8601 start time (`$$.Execution.StartTime`). */
  readonly startTime: string;
}

/** Progress of one bounded wait. Seconds are the nominal seconds of the Wait states, not wall-clock time. */
export interface PollState {
  /** Number of checks made so far. */
  readonly attempt: number;
  /** Sum of the seconds waited so far. */
  readonly elapsedSeconds: number;
  /** Seconds the workflow waits before the next check. */
  readonly nextWaitSeconds: number;
  /** Most seconds this wait may last. */
  readonly maxSeconds: number;
  /** True when the wait is over its bound: the workflow stops waiting and records a timeout. */
  readonly expired: boolean;
}

/** Result shape shared by every step that the workflow polls. */
export interface PolledResult {
  /** True when the step reached a final state (success or not). */
  readonly done: boolean;
  readonly poll: PollState;
}

// ---------------------------------------------------------------------------------------------------------------
// Handler events and results, one pair per handler.
// ---------------------------------------------------------------------------------------------------------------

/** validate-input: `{ input: $, execution }` -> RunConfig. Throws `InvalidInputError` for bad or disallowed input. */
export interface ValidateInputEvent {
  readonly input: unknown;
  readonly execution: ExecutionContext;
}

/**
 * discover-instances: one page of the tagged instances, with the SSM agent's status when scripts run.
 * The fleet level calls it once per page, so no state ever holds the whole fleet.
 */
export interface DiscoverInstancesEvent {
  readonly config: RunConfig;
  /** Where this page starts: empty (or absent) for the first page, else the previous page's `nextToken`. */
  readonly nextToken?: string;
  /** Pages discovered so far in this run (bounds the loop); absent for 0. */
  readonly pageNumber?: number;
  /** Fleet scale: how the page's wave of chains is spread (src/contract/fleet.ts). @default - a 1 s window */
  readonly entry?: EntrySpread;
  /** The pages discovered before this one (the fleet level runs them after discovery). @default [] */
  readonly pages?: PageDescriptor[];
}

/** One page of discovery: at most the page size (environment `DISCOVERY_PAGE_SIZE`, default 1000) of instances. */
export interface DiscoverInstancesResult {
  /**
   * The page's instances the run works on, one Map iteration each. The Map's results (InstanceOutcome, one per
   * item, in order) replace them at the same path, so the state never holds both.
   */
  readonly items: DiscoveredInstance[];
  /** The first of the page's tagged instances left out (terminated, shutting-down): a bounded sample. */
  readonly excluded: ExcludedInstance[];
  /** How many of the page's tagged instances were left out. */
  readonly excludedCount: number;
  /** Where the next page starts; empty when this page was the last. Opaque to the workflow. */
  readonly nextToken: string;
  /** The page's number in the run, from 0 (its manifest's key). */
  readonly pageNumber: number;
  /** Fleet scale: where the page's chains enter the fleet's schedule (src/contract/fleet.ts). */
  readonly entryFromSeconds: number;
  readonly entryToSeconds: number;
  /** Every page discovered so far, this one last: what the fleet level runs once discovery is done. */
  readonly pages: PageDescriptor[];
  /** Instances and excluded instances of every page so far (what the run's fallback record can say). */
  readonly discovered: { readonly instanceCount: number; readonly excludedCount: number };
}

/**
 * record-page: makes sure every instance of one page has its audit entry in the table (writing those its chain
 * could not write) and adds the page to the run's tally.
 */
export interface RecordPageEvent {
  readonly execution: ExecutionContext;
  readonly config: RunConfig;
  /**
   * The page's Map results (InstanceOutcome), or, when the Map itself failed, the page's discovered instances
   * (DiscoveredInstance: no `recorded` field).
   */
  readonly items: Array<InstanceOutcome | DiscoveredInstance>;
  readonly excluded?: ExcludedInstance[];
  readonly excludedCount?: number;
  /** The tally so far (the workflow starts every run with an empty one). */
  readonly tally?: RunTally;
}

/** check-agent: is the SSM agent of the instance online? Polled: done when Online. */
export interface CheckAgentEvent {
  readonly instanceId: string;
  /** Which bounded wait this is: `beforeScript` (a short one) or `afterStart` (waiting for the agent to reconnect). */
  readonly purpose: 'beforeScript' | 'afterStart';
  /** Previous result's poll state; absent or null on the first check. */
  readonly poll?: PollState | null;
}

export interface CheckAgentResult extends PolledResult {
  readonly online: boolean;
  readonly pingStatus: string;
}

/** send-script: SendCommand AWS-RunRemoteScript to one instance, idempotent per execution, instance and phase. */
export interface SendScriptEvent {
  readonly instanceId: string;
  readonly phase: 'pre' | 'post';
  readonly script: ScriptRun;
  readonly execution: ExecutionContext;
  /** Waiting on events: the Task's token, answered once the script is over (src/contract/waits.ts). */
  readonly taskToken?: string;
  /** Issue 15: which attempt of the script this is (1-4; absent: 1). Each attempt sends its own command. */
  readonly attempt?: number;
}

/** The status of a script invocation; send-script returns the first one (status `Pending`). */
export interface ScriptStatusResult extends PolledResult {
  readonly commandId: string;
  readonly instanceId: string;
  /** SSM invocation status: Pending, InProgress, Delayed, Success, Failed, TimedOut, Cancelled, ... */
  readonly status: string;
  readonly statusDetails: string;
  /** Exit code of the script; -1 when unknown. */
  readonly responseCode: number;
  /** Script timeout, carried so the poll bound can be computed. */
  readonly timeoutSeconds: number;
  /** Where the output went (s3://bucket/prefix) or empty. */
  readonly outputLocation: string;
  /** A short excerpt of stderr (or stdout) when the script did not succeed. */
  readonly outputExcerpt: string;
  /** ISO-8601 time SSM received the command (the invocation's RequestedDateTime, on AWS's clock); absent until seen. */
  readonly requestedAt?: string;
  /**
   * ISO-8601 time the invocation ended, on AWS's clock: the latest ResponseFinishDateTime of the steps that ran; when
   * SSM gives none, the time of the look that saw the final status (a little later). Absent until the end.
   */
  readonly endedAt?: string;
  /**
   * Issue 15: the end (at most SCRIPT_OUTPUT_TAIL_LENGTH characters, src/contract/audit-schema.ts) of the output of
   * the step that decided a script that did not succeed (stdout, then the agent's `----------ERROR-------` and stderr,
   * as ListCommandInvocations gives it); empty otherwise.
   */
  readonly outputTail?: string;
  /**
   * Issue 15: whether an on-instance safety thaw had fired before this (post-)script, as the script reported it
   * (`safety_thaw_fired=true|false` on its stdout, src/lambda-shared/safety-thaw.ts); absent when it did not report.
   */
  readonly safetyThawFired?: boolean;
}

/** get-script-status: ListCommandInvocations (with Details) for the command; cancels the command when the wait expires. */
export interface GetScriptStatusEvent {
  readonly previous: ScriptStatusResult;
}

/** stop-instance / start-instance: bring the instance to stopped / running, idempotently. Polled. */
export interface InstancePowerEvent {
  readonly instanceId: string;
  readonly poll?: PollState | null;
  /** Waiting on events: the Task's token, answered once the target state is reached (src/contract/waits.ts). */
  readonly taskToken?: string;
  /** The run: required with `taskToken`. */
  readonly execution?: ExecutionContext;
}

export interface InstancePowerResult extends PolledResult {
  readonly instanceId: string;
  /** EC2 state name seen at the end of this call. */
  readonly state: string;
  /** `Success` when the target state was reached, `Failed` when it cannot be, `InProgress` otherwise. */
  readonly status: 'Success' | 'Failed' | 'InProgress';
  readonly message: string;
  /** ISO-8601 time the target state was seen (with `Success`): the stop and the start give the downtime. */
  readonly observedAt?: string;
  /**
   * With `Success`: the step asked EC2 for nothing, because the instance never left the target state during the run
   * (a start after a stop that never took effect: EC2's LaunchTime is before the run began). The reason; the audit
   * records the step as `NotRun: <reason>`.
   */
  readonly notRun?: string;
}

/** start-backup-job: StartBackupJob with an idempotency token per execution and instance. */
export interface StartBackupJobEvent {
  readonly instanceId: string;
  readonly platform: ScriptPlatform;
  readonly backup: BackupRun;
  readonly execution: ExecutionContext;
  /** Waiting on events: the Task's token, answered once the job is over (src/contract/waits.ts). */
  readonly taskToken?: string;
}

/** describe-backup-job: DescribeBackupJob. Polled: done in a terminal state. start-backup-job returns the first one. */
export interface BackupJobResult extends PolledResult {
  readonly backupJobId: string;
  /** CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED, PARTIAL. */
  readonly state: string;
  readonly statusMessage: string;
  readonly recoveryPointArn: string;
  readonly percentDone: string;
}

export interface DescribeBackupJobEvent {
  readonly previous: BackupJobResult;
  /** The run's backup settings: the bound of the wait depends on the start and complete windows. */
  readonly backup: BackupRun;
}

/** start-copy-job: StartCopyJob of the instance's recovery point, with an idempotency token per execution and instance. */
export interface StartCopyJobEvent {
  readonly instanceId: string;
  readonly recoveryPointArn: string;
  readonly backup: BackupRun;
  readonly execution: ExecutionContext;
  /** Waiting on events: the Task's token, answered once the copy is over (src/contract/waits.ts). */
  readonly taskToken?: string;
}

/** describe-copy-job: DescribeCopyJob. Polled: done in a final state. start-copy-job returns the first one. */
export interface CopyJobResult extends PolledResult {
  readonly copyJobId: string;
  /** CREATED, RUNNING, COMPLETED, FAILED, PARTIAL. */
  readonly state: string;
  readonly statusMessage: string;
  readonly destinationRecoveryPointArn: string;
}

export interface DescribeCopyJobEvent {
  readonly previous: CopyJobResult;
  readonly backup: BackupRun;
}

/** acquire-lease: takes the instance's lease for this execution, unless another run holds a live one. */
export interface AcquireLeaseEvent {
  readonly instanceId: string;
  readonly execution: ExecutionContext;
  /** How long the lease lasts (RunConfig.leaseSeconds). */
  readonly leaseSeconds: number;
}

export interface AcquireLeaseResult {
  /** True when this execution holds the lease now. */
  readonly acquired: boolean;
  /** The execution ARN holding the lease (this one when acquired); empty when unknown. */
  readonly holder: string;
  /** Epoch seconds the holder's lease expires at; 0 when unknown. */
  readonly leaseExpiresAt: number;
  /** The same as ISO-8601, for messages; empty when unknown. */
  readonly leaseExpiresAtTime: string;
}

/** release-lease: gives the instance's lease back, if this execution still holds it. */
export interface ReleaseLeaseEvent {
  readonly instanceId: string;
  readonly execution: ExecutionContext;
}

export interface ReleaseLeaseResult {
  /** False when the lease was not this execution's (any more): expired and taken over, or never acquired. */
  readonly released: boolean;
}

/** record-instance: turns one instance's steps into its audit entry and writes it. */
export interface RecordInstanceEvent {
  readonly execution: ExecutionContext;
  readonly instance: DiscoveredInstance;
  readonly config: RunConfig;
  readonly steps: InstanceSteps;
}

/** record-run: writes the run's audit record. */
export interface RecordRunEvent {
  readonly execution: ExecutionContext;
  /** Raw execution input, as given. */
  readonly input: unknown;
  /** Absent, or `{}` (the workflow's placeholder), when validation failed. */
  readonly config?: RunConfig;
  /** What the pages recorded (record-page); absent or empty when the run ended before any page. */
  readonly tally?: RunTally;
  /**
   * Set when the run failed before or around the instances (validation, discovery, the Map itself);
   * absent or `{}` (the workflow's placeholder) otherwise.
   */
  readonly runError?: CaughtError;
  /**
   * How many pages the run discovered: each page's tally is read from the item beside its manifest the page wrote when it
   * ended (a page without one ended early, and the run fails saying so). Absent: `tally` is the run's.
   */
  readonly pageCount?: number;
}

export interface RecordRunResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly instanceCount: number;
  readonly failedCount: number;
  /** Instances skipped because another run held their lease. */
  readonly skippedCount: number;
  readonly message: string;
  /** The run's notification (published when the construct has a topic): ASCII, at most 100 characters. */
  readonly notificationSubject: string;
  readonly notificationMessage: string;
  /** The run summary forwarded to a central bus, when the construct forwards (src/contract/run-summary-event.ts). */
  readonly summary: RunSummaryDetail;
}

// ---------------------------------------------------------------------------------------------------------------
// Recovering the instances whose chain died (docs/workflow.md, "Recovering a chain that died").
// ---------------------------------------------------------------------------------------------------------------

/** find-unfinished: after the page's Map, which instances' chains ended without their audit entry. */
export interface FindUnfinishedEvent {
  readonly execution: ExecutionContext;
  /** The page (RunTally.pages before record-page adds it): the key of its manifest. */
  readonly pageNumber: number;
  /** The Map's results (outcomes, failed children's entries), or the discovered instances when the Map itself failed. */
  readonly items: Array<InstanceOutcome | DiscoveredInstance | FailedChildEntry>;
  readonly excluded?: ExcludedInstance[];
  readonly excludedCount?: number;
  readonly nextToken?: string;
  /** The Map's own error when it failed as a whole; `{}` otherwise. */
  readonly mapError?: CaughtError | Record<string, never>;
}

/** The page again (record-page reads it), and the instances to recover. */
export interface FindUnfinishedResult {
  /** One per instance of the page, in the manifest's order: its outcome, or the instance (its entry is in the table). */
  readonly items: Array<InstanceOutcome | Pick<DiscoveredInstance, 'instanceId'> | DiscoveredInstance>;
  readonly excluded: ExcludedInstance[];
  readonly excludedCount: number;
  readonly nextToken: string;
  readonly unfinished: UnfinishedInstance[];
  readonly unfinishedCount: number;
}

/** inspect-chain: what the journal and AWS say of an instance whose chain died. */
export interface InspectChainEvent {
  readonly instance: DiscoveredInstance;
  readonly execution: ExecutionContext;
  readonly config: RunConfig;
}

export interface InspectChainResult {
  /** The steps as the journal and the resources show them (the recovery's own start and post-script are added). */
  readonly steps: InstanceSteps;
  /** What the instance still needs: started again (this run stopped it), its post-script (its pre-script was sent). */
  readonly needs: { readonly start: boolean; readonly post: boolean };
  /** The EC2 state seen. */
  readonly state: string;
  /** The journal's actions, in order, for the entry's note. */
  readonly journaled: string[];
  /** Set by the workflow when the journal could not be read (nothing is then done to the instance). */
  readonly inspectFailed?: boolean;
}

/** record-recovered: the audit entry of a recovered instance. */
export interface RecordRecoveredEvent {
  readonly execution: ExecutionContext;
  readonly instance: DiscoveredInstance;
  readonly config: RunConfig;
  readonly steps: InstanceSteps;
  readonly chainError: CaughtError | Record<string, never>;
  readonly mapError: CaughtError | Record<string, never>;
  readonly recovery: InspectChainResult;
}

// ---------------------------------------------------------------------------------------------------------------
// Issue 14: releasing the application at the backup's point in time (src/lambda-shared/release-point.ts).
// ---------------------------------------------------------------------------------------------------------------

/**
 * What one look at a running backup job says about its point in time:
 * - `captured`: every EBS volume the instance had when the job started has a snapshot in the job's recovery point
 *   (an AMI), `pending` or `completed`, started after the pre-script ended: the application can be released;
 * - `not-yet`: the job has not reached that point (CREATED, no recovery point yet, the AMI not visible yet...);
 * - `unobservable`: this job's point in time cannot be observed (no snapshot ids, not an AMI, a call denied...):
 *   the release waits for the job's terminal state;
 * - `job-ended`: the job is terminal (or ABORTING): the release happens now, whatever the job's end.
 */
export type ReleasePointState = 'captured' | 'not-yet' | 'unobservable' | 'job-ended';

/** The release point's states, as the workflow's Choice compares them. */
export const RELEASE_POINT_STATES = {
  captured: 'captured',
  notYet: 'not-yet',
  unobservable: 'unobservable',
  jobEnded: 'job-ended',
} as const;

/**
 * observe-release: one look at the backup job's point in time. The release loop runs beside the job's own wait (a
 * Parallel branch), so it does not have the job id at first: the handler reads it from the instance journal (recorded
 * by start-backup-job) until it has it, and the instance's volumes from DescribeInstances at its first look after the
 * job exists; the result carries both back for the next look.
 */
export interface ObserveReleaseEvent {
  readonly instanceId: string;
  readonly execution: ExecutionContext;
  /** The job id from an earlier look; empty or absent: read from the journal. */
  readonly backupJobId?: string;
  /** The instance's EBS volume ids from an earlier look; absent or empty: DescribeInstances. */
  readonly volumeIds?: readonly string[];
  /**
   * ISO-8601 time the pre-script ended, on AWS's clock; empty or absent: not checked (the job is started after the
   * pre-script ended and its snapshots after the job started, so the order holds by construction).
   */
  readonly preScriptEndedAt?: string;
  /**
   * `point-in-time` (default): look for the release point; `job-end`: only whether the job ended (after an
   * `unobservable` look, or when the construct releases at job completion): DescribeBackupJob only.
   */
  readonly mode?: ReleaseLookMode;
  /**
   * The release loop's state before this look (src/workflow/release.ts): when given, the job id, volumes and mode come
   * from it and the handler answers the loop's next state (the look, counters advanced, the mode switched to
   * `job-end` after an unobservable look), so the loop needs no state of its own to count.
   */
  readonly loop?: ReleaseLoopState;
}

/** Seconds between two looks once only the job's end is looked for (JOB_COMPLETION, or the point in time unobservable). */
export const JOB_END_LOOK_SECONDS = 60;

/** What the release loop looks for. */
export type ReleaseLookMode = 'point-in-time' | 'job-end';

export interface ObserveReleaseResult {
  readonly state: ReleasePointState;
  /** The job looked at; empty when the journal holds none yet (`not-yet`). */
  readonly backupJobId: string;
  /** The volumes the release point needs a snapshot of (carried to the next look). */
  readonly volumeIds: string[];
  /** Why (for `not-yet`, `unobservable`, `job-ended`); what was seen for `captured`. */
  readonly reason: string;
  /** The job's state seen (DescribeBackupJob). */
  readonly jobState: string;
  /** The job's RecoveryPointArn seen; empty when absent. */
  readonly recoveryPointArn: string;
  /**
   * With `captured`: the snapshot ids, in the order of `volumeIds` (from the run's snapshot view: every snapshot of
   * the volume that started after the job's start was requested, possibly more than one per volume).
   */
  readonly snapshotIds: string[];
  /** With `captured`: the latest snapshot StartTime (ISO-8601): the backup's point in time. Else empty. */
  readonly capturedAt: string;
  /** ISO-8601 time of this look. */
  readonly observedAt: string;
  // Issue 14, the run's shared snapshot view (src/lambda-shared/snapshot-view.ts), carried from look to look:
  /**
   * ISO-8601 time the backup job's start was about to be requested (the instance journal's intent, after the
   * pre-script ended and after the stop): a snapshot of one of the instance's volumes counts only if it started later.
   */
  readonly jobRequestedAt?: string;
  /**
   * `off`: the chain does not use the run's snapshot view and looks on its own, as before the view (`viewOffReason`
   * says why). Absent while it uses the view (registered; `viewRefreshId` once a look has read a refresh).
   */
  readonly view?: SnapshotViewUse;
  /** Why the chain does not use the run's snapshot view (with `view: 'off'`). */
  readonly viewOffReason?: string;
  /** Which refresh of the view this look read (the next look refreshes when it reads the same one again). */
  readonly viewRefreshId?: string;
}

/** How a chain's looks use the run's snapshot view (only `off` is recorded: the chain looks on its own). */
export type SnapshotViewUse = 'off';

/**
 * With the snapshot view, DescribeBackupJob is called on every this many looks only (to notice a job that ended
 * before its snapshots started); the view (EC2) says when the point in time is captured.
 */
export const VIEW_JOB_CHECK_EVERY_LOOKS = 6;

/**
 * Seconds between two refreshes of a run's snapshot view (one refresh per run in each such slot; two when the first is
 * overdue). Half the release loop's look interval: a look reads data at most this old.
 */
export const SNAPSHOT_VIEW_REFRESH_SECONDS = 5;

/** Why the release loop released the application (`$.steps.release.releaseReason`). */
export const RELEASE_REASONS = {
  /** Every volume's snapshot of the recovery point had started. */
  captured: 'point-in-time-captured',
  /** The job ended (terminal or aborting) before the point in time was seen, or the release waited for it. */
  jobEnded: 'job-ended',
  /** The freeze budget was spent. */
  budgetSpent: 'budget-spent',
  /** The look itself kept failing (its error is at `$.steps.errors.release`): released rather than kept frozen. */
  lookFailed: 'look-failed',
} as const;

/** The release loop's state at `$.steps.release`: the last look, the loop's counters, and why it ended. */
export interface ReleaseLoopState extends ObserveReleaseResult {
  readonly mode: ReleaseLookMode;
  readonly lookSeconds: number;
  /** Seconds the loop waited so far (the sum of its Wait states). */
  readonly waitedSeconds: number;
  readonly looks: number;
  /** Why the point in time could not be observed (the first `unobservable` look's reason); empty otherwise. */
  readonly fallbackReason: string;
  /** Set when the loop ended: one of RELEASE_REASONS. */
  readonly releaseReason?: string;
}

/** The backup's consistency, as the audit entry records it (`Consistency`). */
export type Consistency = 'application-consistent' | 'crash-consistent' | 'none';

/** The consistency words, as written in the audit entry. */
export const CONSISTENCY = {
  application: 'application-consistent',
  crash: 'crash-consistent',
  none: 'none',
} as const satisfies Record<string, Consistency>;

/**
 * observe-release, at the job's end: was the recovery point the job ended with taken while the application was
 * frozen? (src/lambda-shared/release-point.ts `verifyConsistency`.)
 */
export interface VerifyConsistencyEvent {
  readonly verify: true;
  readonly instanceId: string;
  readonly execution: ExecutionContext;
  /** The job's final state and recovery point (the backup step's result). */
  readonly jobState: string;
  readonly recoveryPointArn: string;
  /** The release loop's last state (volumes, snapshot ids seen at release, the release time). */
  readonly release: ReleaseLoopState;
  /** The chain's steps so far: what froze the application (a pre-script that succeeded, a stop, a stopped instance). */
  readonly steps: InstanceSteps;
}

/** observe-release's verdict at the job's end (`$.steps.consistency`). */
export interface ConsistencyVerdict {
  readonly consistency: Consistency;
  /** Why, in words, for the audit entry. */
  readonly reason: string;
}

/** stop-backup-job: the freeze budget was spent and the construct stops the job (`FreezeBudgetAction.STOP_BACKUP_JOB`). */
export interface StopBackupJobEvent {
  readonly instanceId: string;
  readonly execution: ExecutionContext;
  readonly backupJobId: string;
}

/** What stop-backup-job did. */
export interface StopBackupJobResult {
  readonly backupJobId: string;
  /** `stop-requested`: StopBackupJob accepted; `already-ended`: refused because the job had ended (or was ending). */
  readonly outcome: 'stop-requested' | 'already-ended';
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Issue 15, the dry run (DryRun: true; src/workflow/dry-run.ts, src/functions/preflight-instance).
// ---------------------------------------------------------------------------------------------------------------

/** The pre-flight checks, in the order they are made and reported. */
export type PreflightCheckName = 'tag' | 'state' | 'agent' | 'platform' | 'stop-permission' | 'vault' | 'role' | 'script';

/** One check's answer. */
export interface PreflightCheck {
  readonly name: PreflightCheckName;
  /** True when what a real run needs here is in place. */
  readonly ok: boolean;
  /** What was seen, and on failure why it would stop a real run. */
  readonly detail: string;
}

/** The command that checks that a script is reachable from the instance (never the script itself). */
export interface ScriptProbe {
  readonly phase: 'pre' | 'post';
  /** The SendCommand's CommandId; empty when the command could not be sent (see `detail`). */
  readonly commandId: string;
  /** SSM's invocation status: Pending until the probe's invocation is terminal. */
  readonly status: string;
  /** The step that failed and the end of its output, when it did not succeed. */
  readonly detail: string;
}

/**
 * preflight-instance: `check` makes every check of one instance and sends the script probes; `look` looks at the
 * probes again (the chain waits between looks). Nothing that changes an instance, a vault or a job is ever called.
 */
export interface PreflightInstanceEvent {
  readonly action: 'check' | 'look';
  readonly execution: ExecutionContext;
  readonly instance: DiscoveredInstance;
  readonly config: RunConfig;
  /** With `look`: the previous result. */
  readonly previous?: PreflightResult;
}

/** One instance's pre-flight result; `done` when no probe is still waited for (or the bounded wait is over). */
export interface PreflightResult extends PolledResult {
  /** PREFLIGHT_READY or PREFLIGHT_NOT_READY; final once `done`. */
  readonly verdict: string;
  readonly checks: PreflightCheck[];
  readonly probes: ScriptProbe[];
}
