/**
 * The run summary event: what every PrePostScriptBackup forwards to the central bus at the end of a run, and
 * what PrePostScriptBackupCentralAudit receives. A fixed contract between the two sides (not part of the
 * package's public API: the central construct's rule and the forwarding side both import it from here).
 */

/** The `source` of a run summary event. */
export const RUN_SUMMARY_SOURCE = 'pre-post-script-backup';
/** The `detail-type` of a run summary event. */
export const RUN_SUMMARY_DETAIL_TYPE = 'BackupSolution-PrePostScript-RunSummary';
/** The most failed instances one summary lists (`failuresTruncated` says when there were more). */
export const RUN_SUMMARY_MAX_FAILURES = 50;

/** `status` of a run whose every instance succeeded. */
export const RUN_SUMMARY_SUCCEEDED = 'SUCCEEDED';
/** `status` of a run with any failure. */
export const RUN_SUMMARY_FAILED = 'FAILED';

/** One failed instance of a run, with the status of every step (the audit entry's values). */
export interface RunSummaryFailure {
  readonly instanceId: string;
  /** What failed and why. */
  readonly failureMessage: string;
  readonly preBackupScriptStatus: string;
  readonly stopEc2InstanceStatus: string;
  readonly backupJobStatus: string;
  readonly startEc2InstanceStatus: string;
  readonly postBackupScriptStatus: string;
}

/** The `detail` of a run summary event. */
export interface RunSummaryDetail {
  /** The ARN of the run's execution: the key of its record in the account's audit table and the central table. */
  readonly executionArn: string;
  /** The account the run ran in. */
  readonly account: string;
  /** The Region the run ran in. */
  readonly region: string;
  readonly status: typeof RUN_SUMMARY_SUCCEEDED | typeof RUN_SUMMARY_FAILED;
  /** ISO-8601. */
  readonly startTime: string;
  /** ISO-8601. */
  readonly endTime: string;
  readonly instanceCount: number;
  readonly succeededCount: number;
  readonly failedCount: number;
  readonly excludedCount: number;
  /** At most RUN_SUMMARY_MAX_FAILURES entries. */
  readonly failures: RunSummaryFailure[];
  /** Whether more instances failed than `failures` lists. */
  readonly failuresTruncated: boolean;
  /** The run's failure message; '' when the run succeeded. */
  readonly message: string;
  /**
   * Issue 15: `true` for a dry run (execution input `DryRun: true`): nothing was backed up, and a failed instance is one
   * not ready for a real run. Absent on a real run's summary.
   */
  readonly dryRun?: boolean;
}
