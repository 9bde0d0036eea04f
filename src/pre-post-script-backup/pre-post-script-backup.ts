import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { createAuditTable } from '../audit/audit-table';
import { AUDIT_RUN_INDEX_NAME } from '../contract/audit-schema';
import { leaseSecondsFor } from '../contract/lease';
import { METRIC_INSTANCE_STOPPED_SECONDS, METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SKIPPED, METRIC_INSTANCES_SUCCEEDED } from '../contract/metrics';
import { ConfiguredScript, ConstructSettings } from '../contract/settings';
import { WorkflowHandlers } from '../functions/workflow-functions';
import { createDashboard } from '../operations/dashboard';
import { createNotificationTopic } from '../operations/notification-topic';
import { instanceMetric, unsuccessfulRuns } from '../operations/run-metrics';
import { BackupScript, BackupScriptConfig } from '../scripts/backup-script';
import { allowServicesToUseKey, KEY_USE_ACTIONS, validateEncryptionKey } from '../security/encryption-key';
import { suppress } from '../security/nag-suppressions';
import { ignoreCfnLint, skipCheckov, STATE_MACHINE_DEPENDS_ON } from '../security/scanner-skips';
import { StateChangeRules } from '../triggers/state-change-rules';
import { Triggers } from '../triggers/triggers';
import {
  validateBackupWindows, validateConcurrency, validateKeyPrefix, validateRecoveryPointTags, validateSchedule,
  validateScriptToggle, validateTag, validateVaultLock,
} from '../validation/props';
import { createDefaultBackupRole, createDefaultVault } from '../vault/default-vault';
import { backupWorkflow } from '../workflow/definition';
import { fixedPollSecondsFromContext, waitBounds, waitsOnEvents } from '../workflow/waiting-task';

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
   * How many instances a run works on at the same time (1 to 1000; each is a child execution of a distributed
   * Map). A run takes about ceil(instances / maxConcurrency) times one instance's chain, so raise it for large
   * fleets; keep it low enough for the SSM, EC2 and AWS Backup request rates of your account.
   *
   * @default 10
   */
  readonly maxConcurrency?: number;

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

/**
 * Application-consistent AWS Backup of tagged EC2 instances.
 *
 * For every running instance carrying the tag, a run executes the pre-backup script through SSM Run Command,
 * optionally stops the instance, takes an on-demand AWS Backup job into the vault and waits for it, starts
 * the instance again, executes the post-backup script, and records every step in the audit table.
 *
 * Start a run on a schedule, with an event of detail-type `BackupSolution-PrePostScript` on `eventBus`
 * (the event's detail is the execution input), or with StartExecution on `stateMachine`.
 *
 * @example
 * new PrePostScriptBackup(this, 'AppBackup', {
 *   tagKey: 'backup-job-pre-post-script',
 *   tagValue: 'true',
 *   preScript: BackupScript.fromAsset('scripts/freeze.sh'),
 *   postScript: BackupScript.fromAsset('scripts/thaw.sh'),
 *   stopInstances: false,
 *   schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
 * });
 */
export class PrePostScriptBackup extends Construct {
  /** The detail-type of the events that start a run on `eventBus`. */
  public static readonly EVENT_DETAIL_TYPE = 'BackupSolution-PrePostScript';

  /** The Standard state machine that runs the backups. */
  public readonly stateMachine: sfn.IStateMachine;
  /** The audit table: one record per execution, keyed by `SM_Execution_ID` (the execution ARN). */
  public readonly auditTable: dynamodb.ITable;
  /** The event bus on which an event of detail-type `BackupSolution-PrePostScript` starts a run. */
  public readonly eventBus: events.IEventBus;
  /** The vault the recovery points go to. */
  public readonly backupVault: backup.IBackupVault;
  /** The role AWS Backup assumes. */
  public readonly backupRole: iam.IRole;
  /**
   * The rule that starts scheduled runs.
   *
   * @default - undefined when no `schedule` is set
   */
  public readonly scheduleRule?: events.IRule;
  /** The queue that receives trigger events that could not start a run. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In ALARM when a run failed, timed out or was aborted in the last 5 minutes. */
  public readonly runsFailedAlarm: cloudwatch.IAlarm;
  /**
   * The topic run notifications go to.
   *
   * @default - undefined when notifications are not enabled
   */
  public readonly notificationTopic?: sns.ITopic;
  /**
   * The dashboard of runs and instance outcomes.
   *
   * @default - undefined unless `createDashboard` is true
   */
  public readonly dashboard?: cloudwatch.Dashboard;

  private readonly scripts: BackupScriptConfig[];
  private readonly outputBucket?: s3.IBucket;
  private readonly outputKeyPrefix: string;

  constructor(scope: Construct, id: string, props: PrePostScriptBackupProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    const tagKey = props.tagKey ?? 'backup-job-pre-post-script';
    const tagValue = props.tagValue ?? 'true';
    validateTag(tagKey, tagValue);
    validateScriptToggle('runPreScript', props.runPreScript, 'preScript', props.preScript !== undefined);
    validateScriptToggle('runPostScript', props.runPostScript, 'postScript', props.postScript !== undefined);
    validateSchedule(props.schedule);
    const startWindow = props.backupStartWindow ?? Duration.hours(1);
    const completionWindow = props.backupCompletionWindow ?? Duration.hours(8);
    if (props.backupVaultLock && props.backupVault) {
      throw new Error('PrePostScriptBackup: backupVaultLock applies to the vault the construct creates; lock your own backupVault where you define it, or leave backupVault unset.');
    }
    // A vault lock with a maximum retention rejects jobs kept longer: keep recovery points exactly that long.
    const deleteAfter = props.backupDeleteAfter ?? props.backupVaultLock?.maxRetention;
    validateVaultLock(props.backupVaultLock, deleteAfter);
    validateBackupWindows({
      startWindow,
      completionWindow,
      deleteAfter,
      moveToColdStorageAfter: props.backupMoveToColdStorageAfter,
    });
    const maxConcurrency = props.maxConcurrency ?? 10;
    validateConcurrency(maxConcurrency);
    if (props.copyDeleteAfter && !props.copyToVault) {
      throw new Error('PrePostScriptBackup: copyDeleteAfter is set but copyToVault is not; set copyToVault or remove copyDeleteAfter.');
    }
    validateBackupWindows({ copyDeleteAfter: props.copyDeleteAfter });
    validateKeyPrefix(props.scriptOutputKeyPrefix);
    validateRecoveryPointTags(props.recoveryPointTags);
    if (props.auditRetention && !props.auditRetention.isUnresolved() && props.auditRetention.toDays({ integral: false }) < 1) {
      throw new Error('PrePostScriptBackup: auditRetention must be at least 1 day; leave it unset to keep audit records.');
    }
    const encryptionKey = props.encryptionKey;
    validateEncryptionKey(this, encryptionKey);

    const preScript = props.preScript?.bind(new Construct(this, 'PreScript'));
    const postScript = props.postScript?.bind(new Construct(this, 'PostScript'));
    this.scripts = [preScript, postScript].filter((s): s is BackupScriptConfig => s !== undefined);
    this.outputBucket = props.scriptOutputBucket;
    this.outputKeyPrefix = props.scriptOutputKeyPrefix ?? 'pre-post-script-backup';

    this.backupVault = props.backupVault ?? createDefaultVault(this, props.backupVaultLock, encryptionKey);
    this.backupRole = props.backupRole ?? createDefaultBackupRole(this);

    const auditTable = createAuditTable(this, 'AuditTable', encryptionKey);
    this.auditTable = auditTable;
    if (!encryptionKey) {
      skipCheckov(auditTable, [{
        id: 'CKV_AWS_119',
        comment: 'Encrypted at rest with the AWS managed key for DynamoDB; set encryptionKey to encrypt the audit table with your own KMS key.',
      }]);
    }

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const logsKey = encryptionKey ?? createLogsKey(this);
    const baseSettings: ConstructSettings = {
      tagKey,
      tagValue,
      stopInstances: props.stopInstances ?? false,
      runPreScript: props.runPreScript ?? preScript !== undefined,
      runPostScript: props.runPostScript ?? postScript !== undefined,
      preScript: preScript && toConfiguredScript(preScript),
      postScript: postScript && toConfiguredScript(postScript),
      backupVaultName: this.backupVault.backupVaultName,
      backupRoleArn: this.backupRole.roleArn,
      deleteAfterDays: deleteAfter?.toDays() ?? 0,
      moveToColdStorageAfterDays: props.backupMoveToColdStorageAfter?.toDays() ?? 0,
      startWindowMinutes: startWindow.toMinutes(),
      completeWindowMinutes: completionWindow.toMinutes(),
      windowsVss: props.windowsVss ?? false,
      recoveryPointTags: props.recoveryPointTags ?? {},
      copyVaultArn: props.copyToVault?.backupVaultArn ?? '',
      copyDeleteAfterDays: props.copyDeleteAfter?.toDays() ?? 0,
      outputS3BucketName: this.outputBucket?.bucketName ?? '',
      outputS3KeyPrefix: this.outputBucket ? this.outputKeyPrefix : '',
      maxTargetInstances: MAX_TARGET_INSTANCES,
      region: stack.region,
      instanceArnPrefix: stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '' }),
    };
    // Each instance's lease outlasts the longest its chain can take, so an expired lease is a dead run's.
    const settings: ConstructSettings = { ...baseSettings, leaseSeconds: leaseSecondsFor(baseSettings) };

    // Each wait is resumed by the resource's state-change event (the default), or polled (context, for comparison).
    const waitOnEvents = waitsOnEvents(this);
    const handlers = new WorkflowHandlers(this, 'Handlers', {
      waitOnEvents,
      fixedPollSeconds: fixedPollSecondsFromContext(this),
      settings,
      tagKey,
      tagValue,
      auditTable,
      auditRunIndexName: AUDIT_RUN_INDEX_NAME,
      auditRetentionDays: props.auditRetention?.toDays() ?? 0,
      backupVault: this.backupVault,
      backupRole: this.backupRole,
      logRetention,
      logsKey,
      encryptionKey,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      scriptOutputBucket: this.outputBucket,
      copyVault: props.copyToVault,
    });

    if (props.enableNotifications === false && props.notificationTopic) {
      throw new Error('PrePostScriptBackup: notificationTopic is set but enableNotifications is false; remove one of them.');
    }
    const notificationsOn = props.enableNotifications ?? props.notificationTopic !== undefined;
    const ownTopic = notificationsOn && !props.notificationTopic ? createNotificationTopic(this, encryptionKey) : undefined;
    this.notificationTopic = notificationsOn ? props.notificationTopic ?? ownTopic : undefined;

    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logRetention,
      encryptionKey: logsKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: 'Pre-backup script, stop, AWS Backup job, start, post-backup script for every tagged EC2 instance',
      definitionBody: sfn.DefinitionBody.fromChainable(backupWorkflow(this, {
        functions: handlers,
        waits: { onEvents: waitOnEvents, boundSeconds: waitBounds(settings) },
        auditTable,
        maxConcurrency,
        notificationTopic: this.notificationTopic,
        notifyOnSuccess: props.notifyOnSuccess,
        forwardRunSummariesTo: props.forwardRunSummariesTo,
      })),
      tracingEnabled: true,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    this.stateMachine = stateMachine;
    ignoreCfnLint(stateMachine, 'W3005', STATE_MACHINE_DEPENDS_ON);
    suppress(stateMachine.role.node.findChild('DefaultPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'lambda:InvokeFunction on the workflow\'s own functions and their versions (<fn>:*); log delivery and X-Ray actions do not support resource-level permissions.',
      appliesTo: ['Resource::*', { regex: '/^Resource::<[A-Za-z0-9]*Handlers[A-Za-z]+[0-9A-F]{8}\\.Arn>:\\*$/' }],
    }]);

    // The distributed Map starts, describes and stops its own child executions (one per instance).
    suppress(stateMachine.node.findChild('DistributedMapPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'The distributed Map manages the child executions of this state machine only; their names are generated per run.',
      appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:states:[^:]+:[^:]+:execution:.*Ref.*StateMachine.*:\\*$/' }],
    }]);

    if (encryptionKey) {
      // The state machine writes the audit table directly (its fallback records) and publishes to the topic: both
      // are encrypted with the key.
      encryptionKey.grant(stateMachine.role, ...KEY_USE_ACTIONS);
      allowServicesToUseKey(this, encryptionKey, { alarmsPublish: ownTopic !== undefined });
    } else if (ownTopic?.masterKey) {
      ownTopic.masterKey.grant(stateMachine.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    }

    const alarm = new cloudwatch.Alarm(this, 'RunsFailedAlarm', {
      alarmDescription: 'A pre/post-script backup run failed, timed out or was aborted: read its audit record (Run_FailureMessage).',
      metric: unsuccessfulRuns(stateMachine),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.notificationTopic) {
      alarm.addAlarmAction(new cwActions.SnsAction(this.notificationTopic));
    }
    this.runsFailedAlarm = alarm;
    if (props.createDashboard) {
      this.dashboard = createDashboard(this, stateMachine, alarm);
    }

    if (props.allowStartFromOrganization !== undefined && !Token.isUnresolved(props.allowStartFromOrganization)
      && !/^o-[a-z0-9]{10,32}$/.test(props.allowStartFromOrganization)) {
      throw new Error(`PrePostScriptBackup: allowStartFromOrganization '${props.allowStartFromOrganization}' is not an organization id; it looks like 'o-a1b2c3d4e5' (AWS Organizations console, or 'aws organizations describe-organization').`);
    }
    const triggers = new Triggers(this, 'Triggers', {
      stateMachine,
      detailType: PrePostScriptBackup.EVENT_DETAIL_TYPE,
      schedule: props.schedule,
      allowStartFromOrganization: props.allowStartFromOrganization,
      encryptionKey,
    });
    if (waitOnEvents) {
      new StateChangeRules(this, 'StateChanges', {
        resumeWait: handlers.addResumeWait(triggers.deadLetterQueue),
        deadLetterQueue: triggers.deadLetterQueue,
        copies: props.copyToVault !== undefined,
      });
    }

    suppressInlinePolicyFindings(this);
    suppress(auditTable, ['NIST.800.53.R5', 'HIPAA.Security'].map(pack => ({
      id: `${pack}-DynamoDBInBackupPlan`,
      reason: 'The audit table has point-in-time recovery (continuous backups, 35 days); the vault is for the instances.',
    })));

    this.eventBus = triggers.eventBus;
    this.scheduleRule = triggers.scheduleRule;
    this.deadLetterQueue = triggers.deadLetterQueue;
  }

  /**
   * Grants an instance role what the instances need for the scripts: read the script objects and, when
   * `scriptOutputBucket` is set, write their output the way SSM Agent does: `s3:PutObject` under the output prefix,
   * `s3:GetEncryptionConfiguration` on the bucket (the agent reads the bucket's encryption before it uploads), and,
   * for a bucket encrypted with a customer-managed KMS key the construct knows (a bucket of this app, or one imported
   * with `Bucket.fromBucketAttributes({ encryptionKey })`), the key's data-key and decrypt permissions (a key known
   * only by ARN must be granted to the role by you). (The
   * instances also need SSM's own permissions, for example the AmazonSSMManagedInstanceCore managed policy.)
   *
   * @param grantee the instance role (or profile's role)
   */
  public grantInstanceAccess(grantee: iam.IGrantable): iam.Grant {
    const grants = this.scripts.map(s => s.bucket.grantRead(grantee, s.key));
    if (this.outputBucket) {
      grants.push(this.outputBucket.grantPut(grantee, `${this.outputKeyPrefix}/*`));
      // Systems Manager's instance-profile guide: "The GetEncryptionConfiguration element is required if your S3
      // bucket is configured to use encryption", on the bucket itself (docs/fidelity/ssm.md).
      grants.push(iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetEncryptionConfiguration'],
        resourceArns: [this.outputBucket.bucketArn],
      }));
      // SSE-KMS uploads need kms:GenerateDataKey and, for multipart uploads, kms:Decrypt: grantPut grants both on the
      // bucket's key when the construct knows it (test/security/instance-access.test.ts).
    }
    return grants.reduce((all, g) => all.combine(g), iam.Grant.drop(grantee, 'read backup scripts'));
  }

  /**
   * Grants starting runs with StartExecution on the state machine.
   *
   * @param grantee who starts runs
   */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /**
   * Grants starting runs with PutEvents on the construct's event bus.
   *
   * @param grantee who sends the events
   */
  public grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    return this.eventBus.grantPutEventsTo(grantee);
  }

  /**
   * Grants reading the audit table.
   *
   * @param grantee who reads the audit records
   */
  public grantReadAuditTable(grantee: iam.IGrantable): iam.Grant {
    return this.auditTable.grantReadData(grantee);
  }

  /**
   * The number of runs that failed: any instance failed, the input was rejected, or the audit write failed.
   *
   * @default - sum over 5 minutes
   */
  public metricRunsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed(props);
  }

  /**
   * The number of runs that succeeded on every instance.
   *
   * @default - sum over 5 minutes
   */
  public metricRunsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded(props);
  }

  /**
   * The number of instances backed up successfully (every step succeeded), per run, from the workflow's own
   * metrics (namespace `PrePostScriptBackup`).
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCES_SUCCEEDED, props);
  }

  /**
   * The number of instances with a failed step.
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCES_FAILED, props);
  }

  /**
   * The number of tagged instances left out of runs (terminated or shutting down).
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesExcluded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCES_EXCLUDED, props);
  }

  /**
   * The number of instances a run left alone because another run held their lease.
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesSkipped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCES_SKIPPED, props);
  }

  /**
   * The longest time an instance of a run stayed stopped (seconds from seen stopped to seen running), when
   * `stopInstances` is on.
   *
   * @default - maximum over 5 minutes
   */
  public metricInstanceStoppedSeconds(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCE_STOPPED_SECONDS, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /**
   * The number of runs that timed out or were aborted.
   *
   * @default - sum over 5 minutes
   */
  public metricRunsTimedOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricTimedOut(props);
  }
}

/** The most instance ids one execution input may list in TargetEC2Instances. */
const MAX_TARGET_INSTANCES = 1000;

function toConfiguredScript(script: BackupScriptConfig): ConfiguredScript {
  return {
    bucketName: script.bucket.bucketName,
    key: script.key,
    commandLine: script.commandLine,
    workingDirectory: script.workingDirectory ?? '',
    timeoutSeconds: script.timeout.toSeconds(),
    platform: script.platform,
  };
}

function createLogsKey(scope: Construct): kms.Key {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, 'LogsKey', {
    description: 'Encrypts the pre/post-script backup workflow logs',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(new iam.PolicyStatement({
    principals: [new iam.ServicePrincipal(`logs.${stack.region}.${stack.urlSuffix}`)],
    actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
    resources: ['*'],
    conditions: {
      ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    },
  }));
  return key;
}

/**
 * Every IAM policy of the construct belongs to one role with one job: inline keeps it from being attached
 * elsewhere and deletes it with its role. The compliance packs prefer managed policies for reuse.
 */
function suppressInlinePolicyFindings(scope: Construct): void {
  for (const policy of scope.node.findAll().filter((c): c is iam.Policy => c instanceof iam.Policy)) {
    suppress(policy, ['NIST.800.53.R5', 'HIPAA.Security'].map(pack => ({
      id: `${pack}-IAMNoInlinePolicy`,
      reason: 'A policy of a single-purpose role of this construct, scoped to that role\'s job; it is not meant to be shared.',
    })));
  }
}
