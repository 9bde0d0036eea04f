/** Status names shared by the handlers, the audit entry and the workflow. */

/** A step turned off for this run. */
export const SKIPPED = 'skipped';

/** A step never reached because an earlier step of the instance failed. */
export const NOT_RUN_EARLIER_FAILURE = 'NotRun: earlier step failed';

/** Prefix of every "not run" status. */
export const NOT_RUN_PREFIX = 'NotRun: ';

/** `NotRun: <reason>`. */
export function notRun(reason: string): string {
  return `${NOT_RUN_PREFIX}${reason}`;
}

/** Eligibility outcome of an instance the run handles in a reduced way (not a failure; noted in the audit entry). */
export const NOT_APPLICABLE = 'NotApplicable';

/** Eligibility outcome of an instance another run was working on (its lease was held): skipped, not a failure. */
export const SKIPPED_LEASE_HELD = 'SkippedLeaseHeld';

/** Generic step statuses. */
export const SUCCESS = 'Success';
export const FAILED = 'Failed';
export const IN_PROGRESS = 'InProgress';

/** Outcome of an instance and of a run. */
export const OUTCOME_SUCCEEDED = 'SUCCEEDED';
export const OUTCOME_FAILED = 'FAILED';
/** Outcome of an instance left alone because another run held its lease: neither succeeded nor failed. */
export const OUTCOME_SKIPPED = 'SKIPPED';

/** Whether an instance's outcome is a failure: anything but SUCCEEDED and SKIPPED (an unknown outcome counts). */
export function isFailedOutcome(outcome: string | undefined): boolean {
  return outcome !== OUTCOME_SUCCEEDED && outcome !== OUTCOME_SKIPPED;
}

// ---- SSM -----------------------------------------------------------------------------------------------------

/** The SSM document every script runs through. */
export const RUN_REMOTE_SCRIPT_DOCUMENT = 'AWS-RunRemoteScript';

/**
 * The largest `executionTimeout` AWS-RunRemoteScript accepts, in seconds: its allowedPattern admits 1 to 28800
 * ("Maximum is 28800 (8 hours)"); SendCommand refuses more with InvalidParameters (docs/fidelity/ssm.md).
 */
export const RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS = 28800;

/** SSM PingStatus of a reachable agent. */
export const SSM_PING_ONLINE = 'Online';

/** Ping status reported for an instance SSM does not know. */
export const SSM_NOT_MANAGED = 'NotManaged';
/** The PingStatus a look at the agent reports when SSM refused to answer it (throttled): the agent was not seen. */
export const SSM_AGENT_NOT_SEEN = 'NotSeen';

/** Ping status reported when no script runs, so SSM was not asked. */
export const SSM_NOT_CHECKED = 'NotChecked';

/**
 * Final `Status` values of a command invocation. Each is also a final `StatusDetails` value, except `TimedOut` (its
 * details say which timeout), and the status-change events spell them the same way.
 */
export const SSM_TERMINAL_STATUSES: readonly string[] = ['Success', 'Failed', 'TimedOut', 'Cancelled'];

/**
 * The other final `StatusDetails` values, each with how the Run Command status-change event spells it in
 * `detail.status` (undefined: the rules do not listen for it; the fallback look finds it). The one list of SSM's
 * final words: SSM_TERMINAL_STATUS_DETAILS and events.ts's SSM_FINAL_EVENT_STATUSES derive from these two lists.
 */
export const SSM_FINAL_DETAILS_EVENT_SPELLING: Readonly<Record<string, string | undefined>> = {
  DeliveryTimedOut: 'Delivery Timed Out',
  ExecutionTimedOut: 'Execution Timed Out',
  Undeliverable: 'Undeliverable',
  Terminated: 'Terminated',
  InvalidPlatform: undefined,
  AccessDenied: undefined,
};

/** Final `StatusDetails` values of a command invocation. */
export const SSM_TERMINAL_STATUS_DETAILS: readonly string[] = [
  ...SSM_TERMINAL_STATUSES.filter((s) => s !== 'TimedOut'),
  ...Object.keys(SSM_FINAL_DETAILS_EVENT_SPELLING),
];

/** `Status` values of an invocation still on its way. */
export const SSM_NON_TERMINAL_STATUSES: readonly string[] = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];

/** Status send-script reports before the first check. */
export const SSM_PENDING = 'Pending';

/** Status get-script-status reports when the wait expired without a final status. */
export const SSM_TIMED_OUT = 'TimedOut';

// ---- EC2 -----------------------------------------------------------------------------------------------------

/** Every EC2 instance state discovery asks for. */
export const EC2_STATES: readonly string[] = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'];

/** States of instances discovery leaves out. */
export const EC2_GONE_STATES: readonly string[] = ['shutting-down', 'terminated'];

/** EC2 instance states the handlers act on. */
export const EC2_RUNNING = 'running';
export const EC2_STOPPED = 'stopped';
export const EC2_STOPPING = 'stopping';
export const EC2_PENDING = 'pending';

// ---- AWS Backup ----------------------------------------------------------------------------------------------

export const BACKUP_COMPLETED = 'COMPLETED';
/** The first state of a backup or copy job (what a start handler reports before the first look). */
export const JOB_CREATED = 'CREATED';

/** Final states of a backup job. */
export const BACKUP_JOB_FINAL_STATES: readonly string[] = ['ABORTED', 'COMPLETED', 'FAILED', 'EXPIRED', 'PARTIAL'];
/** States of a backup job still on its way. */
export const BACKUP_JOB_OPEN_STATES: readonly string[] = ['CREATED', 'PENDING', 'RUNNING', 'ABORTING'];

/** Final states of a copy job. */
export const COPY_JOB_FINAL_STATES: readonly string[] = ['COMPLETED', 'FAILED', 'PARTIAL'];
/** States of a copy job still on its way. */
export const COPY_JOB_OPEN_STATES: readonly string[] = ['CREATED', 'RUNNING'];

// ---- Recovery point tags the run adds -----------------------------------------------------------------------

export const RECOVERY_POINT_TAG_INSTANCE_ID = 'pre-post-script-backup:instance-id';
export const RECOVERY_POINT_TAG_EXECUTION_ID = 'pre-post-script-backup:execution-id';


// Issue 15, the dry run (src/workflow/dry-run.ts).
/** The verdict of an instance whose every pre-flight check passed. */
export const PREFLIGHT_READY = 'ready';
/** The verdict of an instance with at least one failed pre-flight check. */
export const PREFLIGHT_NOT_READY = 'not-ready';
/** EC2's answer to a DryRun request that had the permissions (an error, HTTP 412). */
export const EC2_DRY_RUN_OPERATION = 'DryRunOperation';
/** EC2's answer to a request (DryRun or not) without the permissions. */
export const EC2_UNAUTHORIZED_OPERATION = 'UnauthorizedOperation';
/** The note every step of a dry run's entry carries: nothing was done. */
export const DRY_RUN_NOTE = 'dry run: only checked; nothing was frozen, stopped, started or backed up';
