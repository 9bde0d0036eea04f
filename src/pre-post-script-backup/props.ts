import { Duration } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { BackupScript } from '../scripts/backup-script';

/**
 * When the application is released: the post-backup script run and, with `stopInstances`, the instance started again.
 */
export enum ReleaseTiming {
  /**
   * As soon as the backup's point in time is captured: every EBS volume the instance had when its job started has a
   * snapshot in the job's recovery point that has started (`pending` or `completed`), looked for every 10 seconds
   * while the application is frozen. EBS snapshots capture the data written when they start and the volume can be
   * used while they are pending. When the point in time cannot be observed (no snapshot ids, a recovery point that is
   * not an AMI, a call denied), the release waits for the job's end and the audit entry says why. The chain then keeps
   * waiting for the job's end (its final state, the copy, the lease).
   */
  POINT_IN_TIME = 'POINT_IN_TIME',
  /**
   * When the backup job has ended (completed, failed, aborted or expired): the behaviour before point-in-time release,
   * for users who want the application frozen (or the instance stopped) for the whole job. The job's end is looked
   * for once a minute, still bounded by `freezeBudget`.
   */
  JOB_COMPLETION = 'JOB_COMPLETION',
}

/**
 * What happens when the freeze budget is spent before the release point: the application is released either way.
 */
export enum FreezeBudgetAction {
  /**
   * Let the backup job go on. Its recovery point is checked when the job ends: the audit entry records it
   * `crash-consistent` when a snapshot started after the release (`application-consistent` when every snapshot had
   * started before it). The instance's backup does not fail because of the budget.
   */
  KEEP_BACKUP = 'KEEP_BACKUP',
  /**
   * Stop the backup job (AWS Backup `StopBackupJob`) after the release, and record the instance as failed: for users
   * who would rather have no backup than a crash-consistent one.
   */
  STOP_BACKUP_JOB = 'STOP_BACKUP_JOB',
}

/**
 * What an instance whose pre-backup script failed (after its retries) gets.
 */
export enum PreScriptFailurePolicy {
  /**
   * No stop and no backup: a backup taken after a failed freeze would not be the consistent copy the script exists
   * for. The post-backup script still runs.
   */
  SKIP_BACKUP = 'SKIP_BACKUP',
  /**
   * A crash-consistent backup, as Amazon Data Lifecycle Manager does by default (`ExecuteOperationOnScriptFailure`):
   * the post-backup script runs first (the application runs again), then the stop (with `stopInstances`) and the
   * backup go on. The audit entry keeps the pre-backup script's failure and notes the backup taken crash-consistent.
   */
  BACKUP_CRASH_CONSISTENT = 'BACKUP_CRASH_CONSISTENT',
}

/**
 * Properties of a PrePostScriptBackup.
 */
export interface PrePostScriptBackupProps {
  /**
   * The tag key that selects the instances to back up.
   *
   * @default 'backup-job-pre-post-script'
   */
  readonly tagKey?: string;

  /**
   * The tag value that selects the instances to back up.
   *
   * @default 'true'
   */
  readonly tagValue?: string;

  /**
   * The script run on every instance before its backup (for example, to flush and freeze a database).
   *
   * @default - no pre-backup script
   */
  readonly preScript?: BackupScript;

  /**
   * The script run on every instance after its backup (for example, to thaw a database). It also runs
   * when the pre-backup script failed, so that whatever the pre-backup script did is undone.
   *
   * @default - no post-backup script
   */
  readonly postScript?: BackupScript;

  /**
   * Whether runs execute the pre-backup script. An execution input may switch it off for one run.
   *
   * @default - true when `preScript` is set
   */
  readonly runPreScript?: boolean;

  /**
   * Whether runs execute the post-backup script. An execution input may switch it off for one run.
   *
   * @default - true when `postScript` is set
   */
  readonly runPostScript?: boolean;

  /**
   * What an instance whose pre-backup script failed gets, once the script's `retries` are spent. With either policy
   * the post-backup script still runs, to undo whatever the pre-backup script did, and the instance is recorded as
   * failed (its `FailureMessage` keeps the pre-backup script's failure; the run fails, so alarms fire).
   * Applies only when a `preScript` is set.
   *
   * @default PreScriptFailurePolicy.SKIP_BACKUP
   */
  readonly onPreScriptFailure?: PreScriptFailurePolicy;

  /**
   * Whether each instance is stopped for its backup and started again afterwards. A stopped instance stays
   * stopped until its backup job reaches a final state (or the wait for it reaches its bound), and is always
   * started again, whatever failed.
   *
   * @default false
   */
  readonly stopInstances?: boolean;

  /**
   * The vault the recovery points go to.
   *
   * @default - a new vault encrypted with a new KMS key (rotation on); both are retained when the stack is deleted
   */
  readonly backupVault?: backup.IBackupVault;

  /**
   * The role AWS Backup assumes to back up the instances.
   *
   * @default - a new role for backup.amazonaws.com with the AWSBackupServiceRolePolicyForBackup managed policy
   */
  readonly backupRole?: iam.IRole;

  /**
   * When to run automatically: `events.Schedule.cron(...)` or `events.Schedule.rate(...)`, at least an hour apart.
   * An EventBridge rule takes no one-time `at(...)` expression (that is EventBridge Scheduler's).
   *
   * @default - no scheduled runs; start runs with an event or StartExecution
   */
  readonly schedule?: events.Schedule;

  /**
   * Tags added to every recovery point, besides `pre-post-script-backup:instance-id` and
   * `pre-post-script-backup:execution-id`, which are always added.
   *
   * @default - only the two tags above
   */
  readonly recoveryPointTags?: { [key: string]: string };

  /**
   * How long recovery points are kept. A whole number of days.
   *
   * @default - kept until deleted (or as the vault's lock requires)
   */
  readonly backupDeleteAfter?: Duration;

  /**
   * Not supported: setting it fails at synth. AWS Backup moves to cold storage only the resource types listed in
   * its "Feature availability by resource" table and ignores the setting for the others; the recovery points of
   * EC2 instances (AMIs) never move to cold storage.
   *
   * @see https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html#features-by-resource
   * @deprecated EC2 recovery points cannot move to cold storage; use `backupDeleteAfter` to bound retention.
   * @default - never moved to cold storage (the only behaviour AWS Backup offers for EC2 instances)
   */
  readonly backupMoveToColdStorageAfter?: Duration;

  /**
   * How long AWS Backup may wait before it starts a backup job. At least one hour.
   *
   * @default Duration.hours(1)
   */
  readonly backupStartWindow?: Duration;

  /**
   * How long a backup job may run once started. The workflow waits for the job this long (plus its start
   * window) at most, then starts any instance it stopped and records the job as not finished.
   *
   * @default Duration.hours(8)
   */
  readonly backupCompletionWindow?: Duration;

  /**
   * A vault each completed recovery point is copied to, for example in another Region or account (its access
   * policy must allow `backup:CopyIntoBackupVault` from this account). The copy runs after the instance is
   * back and its post-backup script ran; its state is in the audit record (`CopyJobStatus`), and a copy that
   * fails fails the instance.
   *
   * @default - no copies
   */
  readonly copyToVault?: backup.IBackupVault;

  /**
   * How long copies are kept in `copyToVault`. A whole number of days.
   *
   * @default - kept until deleted (or as the destination vault's lock requires)
   */
  readonly copyDeleteAfter?: Duration;

  /**
   * Whether Windows instances are backed up with Volume Shadow Copy Service (VSS) for application-consistent
   * Windows backups. Linux instances are unaffected. Instances need the VSS components installed.
   *
   * @default false
   */
  readonly windowsVss?: boolean;

  /**
   * A bucket for the full output of every script invocation (SSM keeps only the first 24,000 characters).
   * Instances need `s3:PutObject` on it: `grantInstanceAccess` grants it.
   *
   * @default - no S3 output; the audit record keeps an excerpt of a failed script's output
   */
  readonly scriptOutputBucket?: s3.IBucket;

  /**
   * The key prefix for script output in `scriptOutputBucket`. Each invocation writes under
   * `<prefix>/<execution name>/<pre|post>/`.
   *
   * @default 'pre-post-script-backup'
   */
  readonly scriptOutputKeyPrefix?: string;

  /**
   * Whether SSM sends the scripts' full output (stdout and stderr of every step) to a CloudWatch Logs group the
   * construct creates (`scriptOutputLogGroup`: encrypted with the construct's logs key or `encryptionKey`, kept
   * `logRetention`), through SendCommand's `CloudWatchOutputConfig`. Streams are named
   * `<command id>/<instance id>/<step name>/stdout|stderr`. The SSM agent writes them with the instance's role: grant
   * it with `grantInstanceAccess`. With `scriptOutputBucket` set, the output goes to S3 only unless this is `true`
   * (then to both). Either way the audit entry keeps the end of a failed script's output.
   *
   * @default - true when no `scriptOutputBucket` is set, otherwise false
   */
  readonly scriptOutputToCloudWatchLogs?: boolean;

  /**
   * How many instances a run works on at the same time, at most (1 to 10,000). Discovery splits the fleet into pages
   * of up to 1,000 instances; each page is a distributed Map running min(1000, maxConcurrency) chains at once, and
   * floor(maxConcurrency / that) pages run at the same time (so 10 at the default; with 1,000 or fewer, one page at a
   * time, as before).
   *
   * The request rates do not grow with it: the chains of the pages that run together share one entry schedule, each
   * waiting a random time in its page's window first, so the fleet starts its calls (SendCommand, StopInstances,
   * StartBackupJob) at about r chains per second for the whole run: r = 2 when releasing at job completion (AWS
   * Backup's StartBackupJob quota is 5 per second, EC2 StartInstances refills 2 instances per second), r = 1.25 when
   * releasing at the point in time (AWS Backup allows 15 DescribeBackupJob per second for the account, shared by the
   * frozen applications' looks, one in six of which asks AWS Backup, and the running jobs' fallback looks, one per
   * job every 15 minutes). Lower it if other tools share
   * those quotas in your account; the arithmetic and the resulting makespan are in docs/design.md ("Fleet scale").
   *
   * @default 10000
   */
  readonly maxConcurrency?: number;

  /**
   * When the application is released: at the backup's point in time (seconds after the job's snapshots start), or
   * when the backup job has ended.
   *
   * @default ReleaseTiming.POINT_IN_TIME
   */
  readonly releaseAt?: ReleaseTiming;

  /**
   * The longest the workflow keeps an application frozen (or the instance stopped) once its backup job was started,
   * waiting for the release point. When it is spent, the application is released anyway (see
   * `onFreezeBudgetSpent`). Between 1 minute and 4 hours (the release loop's looks must fit in a child execution's
   * 25,000 history events). AWS Backup may take up to an hour to start a job: a budget shorter than your jobs' start
   * delays gives crash-consistent backups, and the audit entry says so.
   *
   * @default - Duration.minutes(30) with ReleaseTiming.POINT_IN_TIME; Duration.hours(4) with ReleaseTiming.JOB_COMPLETION
   */
  readonly freezeBudget?: Duration;

  /**
   * What happens when the freeze budget is spent before the release point.
   *
   * @default FreezeBudgetAction.KEEP_BACKUP
   */
  readonly onFreezeBudgetSpent?: FreezeBudgetAction;

  /**
   * How long audit records are kept; DynamoDB deletes them afterwards.
   *
   * @default - kept until deleted
   */
  readonly auditRetention?: Duration;

  /**
   * Whether finished runs are notified on an SNS topic. Each run with a failure sends one readable message:
   * which instances failed, at which step and why, with a link to the execution. The run alarm also notifies
   * the topic.
   *
   * @default - true when `notificationTopic` is set, otherwise false
   */
  readonly enableNotifications?: boolean;

  /**
   * The SNS topic for notifications. A topic encrypted with a customer-managed key needs a key policy that
   * lets the state machine role and CloudWatch alarms use the key.
   *
   * @default - a new topic, encrypted with its own KMS key, when `enableNotifications` is true
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * Whether runs that succeeded on every instance are notified too.
   *
   * @default false
   */
  readonly notifyOnSuccess?: boolean;

  /**
   * A central event bus (for example a `PrePostScriptBackupCentralAudit`'s, in another account) that receives
   * every run's summary: counts by status, failed instances with their reasons, the execution ARN, account and
   * Region (source `pre-post-script-backup`, detail-type `BackupSolution-PrePostScript-RunSummary`). The bus's
   * policy must admit this account.
   *
   * @default - summaries are not forwarded
   */
  readonly forwardRunSummariesTo?: events.IEventBus;

  /**
   * An AWS Organizations id (`o-...`) whose principals may also start runs by putting events of detail-type
   * `BackupSolution-PrePostScript` on `eventBus` (a central automation account, say). Their own IAM policies
   * must allow `events:PutEvents` on the bus too. Opt-in: without it only this account's principals can.
   *
   * @default - only principals of this account may put events on the bus
   */
  readonly allowStartFromOrganization?: string;

  /**
   * Whether to create a CloudWatch dashboard of the runs and the per-instance outcomes.
   *
   * @default false
   */
  readonly createDashboard?: boolean;

  /**
   * A vault lock for the vault the construct creates (not allowed with `backupVault`). Recovery points then
   * cannot be deleted before `minRetention`; with a `maxRetention`, `backupDeleteAfter` defaults to it and
   * must lie between the two.
   *
   * @default - no vault lock
   */
  readonly backupVaultLock?: backup.LockConfiguration;

  /**
   * A VPC to run the Lambda functions in. They call only AWS APIs (EC2, SSM, AWS Backup, DynamoDB): the subnets
   * need a route to them (NAT, or VPC endpoints for ec2, ssm, backup and dynamodb).
   *
   * @default - the functions do not run in a VPC
   */
  readonly vpc?: ec2.IVpc;

  /**
   * Where in `vpc` the functions run.
   *
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * How long the logs of the state machine and the Lambda functions are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * A customer-managed KMS key (symmetric, in the construct's account and Region) for everything the construct
   * stores: the audit table, the log groups of the state machine and the functions, the notification topic it
   * creates, the dead-letter queue, the functions' environment variables and the vault it creates. The construct
   * grants its roles the use of the key and adds to the key's policy what CloudWatch Logs, CloudWatch alarms
   * (publishing to the topic) and EventBridge (sending to the dead-letter queue) need. The key policy of an imported
   * key (`Key.fromKeyArn`) cannot be changed by the stack: add those statements yourself (README, "Your own key");
   * synthesis warns with the exact statements. A `backupVault`, `notificationTopic` or `copyToVault` of yours keeps
   * its own encryption.
   *
   * @default - AWS managed keys for the audit table (DynamoDB), the functions' environment (Lambda) and SSE-SQS for
   * the dead-letter queue; new construct-made KMS keys (rotation on, retained) for the log groups, the topic it
   * creates and the vault it creates
   */
  readonly encryptionKey?: kms.IKey;
}
