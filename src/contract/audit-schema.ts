/**
 * The audit table's schema, in one place: its key attributes, the index, the kinds of item (`RecordType`) and every
 * item key the handlers and the workflow write (runs, instances, leases, waits, journals, page manifests). The
 * construct (the table, the roles scoped to key prefixes, the workflow's own writes) and the handlers both read it;
 * renaming an attribute here renames it everywhere, and the compiler finds every use.
 *
 * Items (docs/audit-record.md):
 * - `RUN`: one per execution, keyed by the execution ARN;
 * - `INSTANCE`: one per instance of an execution, keyed `<execution ARN>#<instance id>`, listed by the run index;
 * - `LEASE#<instance id>`, `WAIT#<kind>#<resource id>`, `JOURNAL#<execution ARN>#<instance id>`,
 *   `PAGE#<execution ARN>#<page>`: the workflow's working items, expired by TTL.
 */
import type { WaitKind } from './waits';

/** Partition key of the table. */
export const PARTITION_KEY = 'SM_Execution_ID';
/** Kind of item: `RUN` (one per execution) or `INSTANCE` (one per instance of an execution). */
export const RECORD_TYPE = 'RecordType';
/** On instance items only: the execution ARN, partition key of the run index (sort key `InstanceId`). */
export const RUN_EXECUTION_ID = 'Run_Execution_ID';
/** Epoch seconds after which DynamoDB TTL deletes the item (only when a retention is configured). */
export const EXPIRES_AT = 'ExpiresAt';

export const RECORD_TYPE_RUN = 'RUN';
export const RECORD_TYPE_INSTANCE = 'INSTANCE';

/** The index that lists one run's per-instance entries (partition key `Run_Execution_ID`, sort key `InstanceId`). */
export const AUDIT_RUN_INDEX_NAME = 'RunIndex';
/** Sort key of the run index: the instance id of an instance item. */
export const INSTANCE_ID = 'InstanceId';

/** Between the execution ARN and the instance id in an instance item's key. */
export const INSTANCE_KEY_SEPARATOR = '#';

/** The partition key of an instance item: `<execution ARN>#<instance id>`. */
export function instanceItemKey(executionId: string, instanceId: string): string {
  return `${executionId}${INSTANCE_KEY_SEPARATOR}${instanceId}`;
}

/**
 * An instance item whose chain could not have its entry written by record-instance holds, instead of the entry, the
 * chain's raw results (written by the workflow itself, without Lambda): record-page turns them into the entry and
 * replaces the item. The instance's Map result stays small either way.
 */
export const UNRECORDED_STEPS = 'Unrecorded_Steps_Json';
/** The discovered instance (JSON) of an item holding raw results. */
export const UNRECORDED_INSTANCE = 'Unrecorded_Instance_Json';
/** Why record-instance did not write the entry (`<error>: <cause>`), on an item holding raw results. */
export const UNRECORDED_REASON = 'Unrecorded_Reason';

// Leases (acquire-lease, release-lease): two runs never act on the same instance at the same time.
/** Prefix of every lease item's partition key (and of the only keys the lease handlers' roles may touch). */
export const LEASE_KEY_PREFIX = 'LEASE#';
/** `RecordType` of a lease item. */
export const RECORD_TYPE_LEASE = 'LEASE';
/** The execution ARN holding the lease. */
export const LEASE_HOLDER = 'HolderExecutionId';
/** ISO-8601 time the holder acquired (or last re-acquired) the lease. */
export const LEASE_ACQUIRED_AT = 'AcquiredAt';
/** Epoch seconds after which the lease is free for any run. */
export const LEASE_EXPIRES_AT = 'LeaseExpiresAt';

/** The partition key of an instance's lease. */
export function leaseKey(instanceId: string): string {
  return `${LEASE_KEY_PREFIX}${instanceId}`;
}

// Waiting tasks (the handlers that start a wait, resume-wait).
/** Prefix of every waiting task's item key (and of the only keys the waiting handlers' roles may touch). */
export const WAIT_KEY_PREFIX = 'WAIT#';
/** `RecordType` of a waiting task's item. */
export const RECORD_TYPE_WAIT = 'WAIT';
/** Seconds a waiting task's item is kept after its last registration (DynamoDB TTL deletes it then). */
export const WAIT_ITEM_LIFETIME_SECONDS = 7 * 86_400;

/** The item key of a waiting task: `WAIT#<kind>#<resource id>`. */
export function waitKey(kind: WaitKind, resourceId: string): string {
  return `${WAIT_KEY_PREFIX}${kind}#${resourceId}`;
}

// The instance journal (src/lambda-shared/journal.ts): what a run did to an instance, each action recorded once.
/** Prefix of every journal item's partition key (and of the only journal keys the acting handlers' roles may touch). */
export const JOURNAL_KEY_PREFIX = 'JOURNAL#';
/** `RecordType` of a journal item. */
export const RECORD_TYPE_JOURNAL = 'JOURNAL';
/** Seconds a journal item is kept after its last write (DynamoDB TTL deletes it then): longer than any chain. */
export const JOURNAL_ITEM_LIFETIME_SECONDS = 30 * 86_400;

/** What a run may do to an instance, each recorded once. */
export type JournalAction = 'pre' | 'stop' | 'backup' | 'start' | 'post' | 'copy';
export const JOURNAL_ACTIONS: readonly JournalAction[] = ['pre', 'stop', 'backup', 'start', 'post', 'copy'];

/**
 * Issue 15: a retried script attempt (the 2nd to 4th) is its own journal entry, `pre2`..`post4`, so a retried attempt
 * sends a new command while a retried invocation of the same attempt still finds its command. The recovery reads only
 * JOURNAL_ACTIONS: the first attempt's entry is enough to know a pre-script was sent.
 */
export type ScriptRetryAction = `${'pre' | 'post'}${2 | 3 | 4}`;
/** Any entry of the journal. */
export type JournalEntryName = JournalAction | ScriptRetryAction;

/** The journal entry of a script attempt (1-based): `pre` / `post` for the first, `pre2`..`post4` after. */
export function scriptJournalAction(phase: 'pre' | 'post', attempt: number | undefined): JournalEntryName {
  const n = Math.floor(attempt ?? 1);
  if (!(n >= 1 && n <= 4)) {
    throw new Error(`script attempt ${String(attempt)} is not between 1 and 4`);
  }
  return n === 1 ? phase : `${phase}${n as 2 | 3 | 4}`;
}

/** The resource id of a stop or start EC2 accepted (StopInstances / StartInstances answer no id of their own). */
export const POWER_REQUESTED = 'requested';

/** The attribute holding when the action was first about to be done (ISO-8601), e.g. `Pre_IntentAt`. */
export function intentAttribute(action: JournalEntryName): string {
  return `${capitalize(action)}_IntentAt`;
}
/** The attribute holding the id AWS answered for the action (command id, job id; `requested` for stop/start). */
export function resourceAttribute(action: JournalEntryName): string {
  return `${capitalize(action)}_ResourceId`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The journal item key: `JOURNAL#<execution ARN>#<instance id>`. */
export function journalKey(executionId: string, instanceId: string): string {
  return `${JOURNAL_KEY_PREFIX}${executionId}#${instanceId}`;
}

// Page manifests: the instances of one page, written by the workflow before the page's Map (docs/workflow.md).
/** Prefix of every manifest's partition key (and of the only keys find-unfinished may read or update). */
export const PAGE_MANIFEST_KEY_PREFIX = 'PAGE#';
/** The attribute holding the page's discovered instances, as JSON. */
export const PAGE_MANIFEST_ITEMS = 'Page_Items_Json';
/** The attribute holding the page's excluded instances (a bounded sample), as JSON. */
export const PAGE_MANIFEST_EXCLUDED = 'Page_Excluded_Json';
/** The attribute holding how many of the page's tagged instances were excluded (a number). */
export const PAGE_MANIFEST_EXCLUDED_COUNT = 'Page_Excluded_Count';
/**
 * The attribute of the page's result item (pageResultKey) as JSON: `{ tally, runError }` (its RunTally, and the error
 * that ended the page's Map or its record as a whole, `{}` when none). No result item: the page ended early.
 */
export const PAGE_MANIFEST_RESULT = 'Page_Result_Json';
/** `RecordType` of a manifest item. */
export const RECORD_TYPE_PAGE = 'PAGE';

/** `PAGE#<execution ARN>#<page>`. */
export function pageManifestKey(executionId: string, page: number): string {
  return `${PAGE_MANIFEST_KEY_PREFIX}${executionId}#${page}`;
}

/**
 * The suffix of the item a page writes when it ends (`PAGE#<execution ARN>#<page>#RESULT`): a new item (PutItem), so
 * the state machine never needs UpdateItem on the audit table.
 */
export const PAGE_RESULT_KEY_SUFFIX = '#RESULT';

/** `PAGE#<execution ARN>#<page>#RESULT`. */
export function pageResultKey(executionId: string, page: number): string {
  return `${pageManifestKey(executionId, page)}${PAGE_RESULT_KEY_SUFFIX}`;
}

// ---- Added for the construct side (issue 13): the run record's attributes the state machine writes itself (its
// fallback record, Write fallback audit record in src/workflow/definition.ts) and the instance item's. ----------------

/** The execution's name (run record and instance items). */
export const EXECUTION_NAME = 'ExecutionName';
/** When the run started, ISO-8601 (run record). */
export const START_TIME = 'StartTime';
/** The run's overall outcome, OUTCOME_SUCCEEDED or OUTCOME_FAILED (run record). */
export const RUN_STATUS = 'Run_Status';
/** Why the run failed (run record). */
export const RUN_FAILURE_MESSAGE = 'Run_FailureMessage';
/** How many instances the run worked on (run record). */
export const INSTANCE_COUNT = 'InstanceCount';
/** How many of them failed (run record). */
export const FAILED_COUNT = 'FailedCount';
/** The pages' tally as JSON (the fallback run record). */
export const RUN_TALLY_JSON = 'Run_Tally_Json';

// The instance item's record: one entry per instance of a run (docs/audit-record.md). Its field names are the
// attributes of the item; `AUDIT_ENTRY_FIELDS` is typed by them, so renaming one is one edit the compiler follows.
/** The per-instance record of the audit table (docs/audit-record.md). */
export interface AuditEntry {
  readonly InstanceId: string;
  readonly InstanceStateAtStart: string;
  readonly Platform: string;
  readonly PreBackupScriptStatus: string;
  readonly StopEc2InstanceStatus: string;
  readonly BackupJobStatus: string;
  readonly StartEc2InstanceStatus: string;
  readonly PostBackupScriptStatus: string;
  /** Empty when the instance succeeded; otherwise every failed step, in order, with its reason. */
  readonly FailureMessage: string;
  readonly BackupJobId: string;
  readonly RecoveryPointArn: string;
  readonly PreBackupScriptCommandId: string;
  readonly PostBackupScriptCommandId: string;
  /** The copy of the recovery point to the copy vault: its final state, `skipped` without a copy vault. */
  readonly CopyJobStatus: string;
  readonly CopyJobId: string;
  readonly CopyRecoveryPointArn: string;
  /** Seconds from the instance seen stopped to seen running again; 0 when this run did not stop it. */
  readonly StoppedSeconds: number;
  /** `SKIPPED` when another run held the instance's lease: nothing was done to it, and that is not a failure. */
  readonly Outcome: 'SUCCEEDED' | 'FAILED' | 'SKIPPED';
  /** Facts worth knowing that are not failures (an instance backed up as it was, a step turned off...). */
  readonly Notes: string;
  // Issue 14: the release and the backup's consistency.
  /**
   * Seconds the application was frozen: from the pre-script's end to the post-script's start, both on SSM's clock
   * (the invocations' ResponseFinishDateTime and RequestedDateTime); 0 when either did not run.
   */
  readonly FrozenSeconds: number;
  /** ISO-8601 time the workflow released the application (its last look at the backup); empty when no release loop ran. */
  readonly ReleasedAt: string;
  /**
   * Why it was released then: `point-in-time-captured`, `job-ended`, `budget-spent`, `look-failed`; empty when no
   * release loop ran (the instance failed before its backup job started, or was never touched).
   */
  readonly ReleaseReason: string;
  /** The backup's consistency: `application-consistent`, `crash-consistent` or `none` (no completed backup). */
  readonly Consistency: string;
  /** Why that consistency, in words. */
  readonly ConsistencyReason: string;
  // Issue 15, script output: the end of a script's output when it did not succeed (at most
  // SCRIPT_OUTPUT_TAIL_LENGTH characters; the full output is in CloudWatch Logs or S3 when configured).
  /** The end of the pre-backup script's output when it did not succeed; empty otherwise. */
  readonly PreBackupScriptOutput: string;
  /** The end of the post-backup script's output when it did not succeed; empty otherwise. */
  readonly PostBackupScriptOutput: string;
  // Issue 15, the safety thaw (work/thaw):
  /**
   * Whether the on-instance safety timer had thawed the application before the post-script came, as the post-script
   * reported it (`safety_thaw_fired=true|false`); `''` when it did not report (not the ready-made freeze, or no
   * post-script ran).
   */
  readonly SafetyThawFired: boolean | '';
  // ---- Issue 15, the dry run (DryRun: true; src/workflow/dry-run.ts): only in a dry run's entries. ----
  /** `ready` when every pre-flight check passed, else `not-ready` (PREFLIGHT_READY / PREFLIGHT_NOT_READY). */
  readonly PreflightVerdict?: string;
  /** The checks that failed, `<check>: <reason>` joined by `; `; empty when ready. */
  readonly PreflightChecks?: string;
  // Issue 15, script retries (docs/audit-record.md): attempts made; each failed attempt's command and status is in Notes.
  /** Attempts of the pre-backup script (agent check, command, wait): 0 when none was made, at most retries + 1. */
  readonly PreBackupScriptAttempts: number;
  /** Attempts of the post-backup script: 0 when none was made, at most retries + 1. */
  readonly PostBackupScriptAttempts: number;
}

/**
 * Issue 15: most characters of a failed script's output kept in the audit entry (PreBackupScriptOutput /
 * PostBackupScriptOutput): the end of the step's output, which ListCommandInvocations gives up to 2,500 characters.
 */
export const SCRIPT_OUTPUT_TAIL_LENGTH = 2000;

/** The audit entry's field names, in order. */
export const AUDIT_ENTRY_FIELDS: ReadonlyArray<keyof AuditEntry> = [
  'InstanceId',
  'InstanceStateAtStart',
  'Platform',
  'PreBackupScriptStatus',
  'StopEc2InstanceStatus',
  'BackupJobStatus',
  'StartEc2InstanceStatus',
  'PostBackupScriptStatus',
  'FailureMessage',
  'BackupJobId',
  'RecoveryPointArn',
  'PreBackupScriptCommandId',
  'PostBackupScriptCommandId',
  'CopyJobStatus',
  'CopyJobId',
  'CopyRecoveryPointArn',
  'StoppedSeconds',
  'Outcome',
  'Notes',
  'FrozenSeconds',
  'ReleasedAt',
  'ReleaseReason',
  'Consistency',
  'ConsistencyReason',
  // Issue 15, script output.
  'PreBackupScriptOutput',
  'PostBackupScriptOutput',
  // Issue 15, the safety thaw (work/thaw):
  'SafetyThawFired',
  // Issue 15, the dry run.
  'PreflightVerdict',
  'PreflightChecks',
  // Issue 15, script retries.
  'PreBackupScriptAttempts',
  'PostBackupScriptAttempts',
];

// Issue 15, the dry run: the run record's flag.
/** `true` on the run record of a dry run (absent on a real run's record). */
export const RUN_DRY_RUN = 'DryRun';

// Issue 14, the run's shared snapshot view (src/lambda-shared/snapshot-view.ts): while applications are frozen, one
// look per run and interval describes the snapshots of every frozen instance's volumes at once, and every look reads
// what it saw. Items (all under this prefix, expired by TTL):
// - `SNAPVIEW#<execution ARN>`: the head, holding the refresh claim;
// - `SNAPVIEW#<execution ARN>#R<shard>`: the registrations of the instances of one shard (one attribute each);
// - `SNAPVIEW#<execution ARN>#S<shard>`: what the last refresh saw for the instances of that shard.
/** Prefix of every snapshot-view item's partition key (and of the only view keys observe-release may touch). */
export const SNAPSHOT_VIEW_KEY_PREFIX = 'SNAPVIEW#';
/** `RecordType` of a snapshot-view item. */
export const RECORD_TYPE_SNAPSHOT_VIEW = 'SNAPSHOT_VIEW';
/** Seconds a snapshot-view item is kept after its last write (DynamoDB TTL deletes it then): longer than any freeze. */
export const SNAPSHOT_VIEW_ITEM_LIFETIME_SECONDS = 2 * 86_400;

/** The head item of a run's snapshot view: `SNAPVIEW#<execution ARN>`. */
export function snapshotViewHeadKey(executionId: string): string {
  return `${SNAPSHOT_VIEW_KEY_PREFIX}${executionId}`;
}
/** A shard's registrations: `SNAPVIEW#<execution ARN>#R<shard>`. */
export function snapshotViewRegistrationKey(executionId: string, shard: number): string {
  return `${SNAPSHOT_VIEW_KEY_PREFIX}${executionId}#R${shard}`;
}
/** What the last refresh saw for a shard: `SNAPVIEW#<execution ARN>#S<shard>`. */
export function snapshotViewSeenKey(executionId: string, shard: number): string {
  return `${SNAPSHOT_VIEW_KEY_PREFIX}${executionId}#S${shard}`;
}
