/**
 * What a run is configured with: the construct's settings (fixed at synth time, given to validate-input) and the
 * run's configuration (the execution input checked against them, defaults filled). Nothing here is exported from the
 * package.
 */
import { type ScriptDocument } from './script-document';

/** Where and how one script runs, after the execution input was validated against the configuration. */
export interface ScriptRun {
  /** Whether this script runs in this execution. */
  readonly enabled: boolean;
  /** Bucket holding the script (empty when no script is configured). */
  readonly bucketName: string;
  /** Object key of the script (empty when no script is configured). */
  readonly key: string;
  /** `https://s3.<region>.amazonaws.com/<bucket>/<key>`: the `sourceInfo.path` given to AWS-RunRemoteScript. */
  readonly sourceS3Path: string;
  /** Command line AWS-RunRemoteScript runs in the download directory. */
  readonly commandLine: string;
  /** Working directory; empty for SSM's default. */
  readonly workingDirectory: string;
  /** Execution timeout of the script, in seconds. */
  readonly timeoutSeconds: number;
  /** Platform the script is written for: `Linux` (shell) or `Windows` (PowerShell). */
  readonly platform: ScriptPlatform;
  /** Bucket for the command output; empty for no S3 output. */
  readonly outputS3BucketName: string;
  /** Key prefix for the command output. */
  readonly outputS3KeyPrefix: string;
  // Issue 15, SSM documents and output (BackupScript.fromSsmDocument, CloudWatchOutputConfig):
  /** The Command document to run instead of AWS-RunRemoteScript with an S3 script; absent for an S3 script. */
  readonly document?: ScriptDocument;
  /** CloudWatch Logs group SSM sends the full output to (CloudWatchOutputConfig); empty or absent for none. */
  readonly outputLogGroupName?: string;
  /**
   * Issue 15: how many times a failed attempt is tried again (0-3, Data Lifecycle Manager's `MaximumRetryCount`). A
   * pre-script attempt is the agent check, the command and its wait; a post-script retries only itself.
   */
  readonly retries: number;
}

/** The most retries of one script (Data Lifecycle Manager's `MaximumRetryCount` range is 0-3). */
export const MAX_SCRIPT_RETRIES = 3;
/** Seconds the workflow waits between a failed script attempt and the next one (docs/workflow.md, "Script retries"). */
export const SCRIPT_RETRY_WAIT_SECONDS = 15;

/**
 * Issue 15: what an instance whose pre-script failed (after its retries) gets. `skip-backup`: no stop, no backup (the
 * post-script still runs); `backup-crash-consistent`: the post-script runs first, then stop (if on) and the backup
 * go on, recorded crash-consistent (Data Lifecycle Manager's `ExecuteOperationOnScriptFailure: true`).
 */
export type PreScriptFailureAction = 'skip-backup' | 'backup-crash-consistent';
export const PRE_SCRIPT_FAILURE_SKIP_BACKUP: PreScriptFailureAction = 'skip-backup';
export const PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT: PreScriptFailureAction = 'backup-crash-consistent';

export type ScriptPlatform = 'Linux' | 'Windows';

/** The backup job settings of a run. */
export interface BackupRun {
  /** `arn:<partition>:ec2:<region>:<account>:instance/`: the instance id appended gives the backup's resource ARN. */
  readonly instanceArnPrefix: string;
  readonly vaultName: string;
  readonly roleArn: string;
  /** Days after which recovery points are deleted; 0 for never. */
  readonly deleteAfterDays: number;
  /** Days after which recovery points move to cold storage; 0 for never. */
  readonly moveToColdStorageAfterDays: number;
  /** Minutes AWS Backup may wait before starting the job; 0 for the service default. */
  readonly startWindowMinutes: number;
  /** Minutes the job may take once started; 0 for the service default. */
  readonly completeWindowMinutes: number;
  /** Whether to take a Windows VSS backup (Windows instances only; ignored for Linux). */
  readonly windowsVss: boolean;
  /** Tags for every recovery point (the run adds the source instance id and execution id). */
  readonly recoveryPointTags: Record<string, string>;
  /** ARN of the vault each completed recovery point is copied to; empty for no copy. */
  readonly copyVaultArn: string;
  /** Days after which the copies are deleted; 0 for never. */
  readonly copyDeleteAfterDays: number;
}

/** A run's effective configuration: the construct's settings with the execution input's overrides applied. */
export interface RunConfig {
  /** The configured tag pair every instance must carry. */
  readonly tagKey: string;
  readonly tagValue: string;
  /**
   * An extra tag pair from the input (TargetEC2TagKey/Value) that narrows the selection further;
   * empty strings when the input gave none or gave the configured pair.
   */
  readonly filterTagKey: string;
  readonly filterTagValue: string;
  /** Instances the input restricted the run to; empty for every tagged instance. */
  readonly instanceIds: string[];
  readonly stopInstances: boolean;
  readonly preScript: ScriptRun;
  readonly postScript: ScriptRun;
  readonly backup: BackupRun;
  /** Whether any script runs (discovery then needs each instance's SSM status). */
  readonly scriptsEnabled: boolean;
  /** Seconds each instance's lease lasts: an upper bound of one instance chain (src/contract/lease.ts). */
  readonly leaseSeconds: number;
  /** When the application is released, and the freeze budget (issue 14). */
  readonly release: ReleaseRun;
  /**
   * Issue 15: `true` when the execution input asked for a dry run (`DryRun: true`): every targeted instance is checked
   * (src/workflow/dry-run.ts, preflight-instance) and nothing is frozen, stopped or backed up. Absent otherwise.
   */
  readonly dryRun?: boolean;
  /** Issue 15: what an instance whose pre-script failed gets. */
  readonly onPreScriptFailure: PreScriptFailureAction;
}

/** The configuration the construct hands the validate-input handler (environment variable `SETTINGS`, JSON). */
export interface ConstructSettings {
  readonly tagKey: string;
  readonly tagValue: string;
  readonly stopInstances: boolean;
  readonly runPreScript: boolean;
  readonly runPostScript: boolean;
  /** The configured pre-backup script; absent when none. */
  readonly preScript?: ConfiguredScript;
  /** The configured post-backup script; absent when none. */
  readonly postScript?: ConfiguredScript;
  readonly backupVaultName: string;
  readonly backupRoleArn: string;
  readonly deleteAfterDays: number;
  readonly moveToColdStorageAfterDays: number;
  readonly startWindowMinutes: number;
  readonly completeWindowMinutes: number;
  readonly windowsVss: boolean;
  readonly recoveryPointTags: Record<string, string>;
  /** ARN of the vault completed recovery points are copied to; empty for no copy. */
  readonly copyVaultArn: string;
  readonly copyDeleteAfterDays: number;
  /** Bucket for script output; empty for none. */
  readonly outputS3BucketName: string;
  readonly outputS3KeyPrefix: string;
  /** Issue 15: CloudWatch Logs group for the scripts' full output (CloudWatchOutputConfig); empty or absent for none. */
  readonly outputLogGroupName?: string;
  /** Largest number of instance ids TargetEC2Instances may list. */
  readonly maxTargetInstances: number;
  /** Region of the stack, used to build S3 URLs. */
  readonly region: string;
  /** `arn:<partition>:ec2:<region>:<account>:instance/` of the stack's account and Region. */
  readonly instanceArnPrefix: string;
  /** Seconds each instance's lease lasts; computed from the other settings when absent (src/contract/lease.ts). */
  readonly leaseSeconds?: number;
  /** When the application is released, and the freeze budget (issue 14). */
  readonly release: ReleaseRun;
  /** Issue 15: what an instance whose pre-script failed gets; absent: `skip-backup`. */
  readonly onPreScriptFailure?: PreScriptFailureAction;
}

export interface ConfiguredScript {
  readonly bucketName: string;
  readonly key: string;
  readonly commandLine: string;
  readonly workingDirectory: string;
  readonly timeoutSeconds: number;
  readonly platform: ScriptPlatform;
  /** Issue 15: the Command document the script is (BackupScript.fromSsmDocument); absent for an S3 script. */
  readonly document?: ScriptDocument;
  /** Issue 15: retries of a failed attempt (0-3); absent: 0. */
  readonly retries?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Polling: every wait in the workflow is a loop Wait -> Task -> Choice bounded by a PollState the handler advances.
// ---------------------------------------------------------------------------------------------------------------

/**
 * When the application is released (issue 14, docs/workflow.md): `point-in-time` = as soon as every volume's snapshot
 * of the job's recovery point has started; `job-end` = when the job is terminal (the behaviour before issue 14).
 * Either way never later than `budgetSeconds` after the release loop began.
 */
export interface ReleaseRun {
  readonly mode: 'point-in-time' | 'job-end';
  /** Seconds between two looks of the release loop. */
  readonly lookSeconds: number;
  /** Longest the loop keeps the application frozen (or the instance stopped). */
  readonly budgetSeconds: number;
  /** When the budget is spent: `release` (the backup goes on, recorded crash-consistent) or `stop-job` (StopBackupJob, instance failed). */
  readonly onBudgetSpent: 'release' | 'stop-job';
}
