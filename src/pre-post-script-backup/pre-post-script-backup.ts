import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { PrePostScriptBackupProps } from './props';
import { createScriptOutputLogGroup, outputToCloudWatchLogs } from './script-output-logs';
import { MAX_TARGET_INSTANCES, toConfiguredScript } from './settings';
import { checkProps } from './validate';
import { createAuditTable } from '../audit/audit-table';
import { AUDIT_RUN_INDEX_NAME } from '../contract/audit-schema';
import { leaseSecondsFor } from '../contract/lease';
import { METRIC_INSTANCE_FROZEN_SECONDS, METRIC_INSTANCE_STOPPED_SECONDS, METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SKIPPED, METRIC_INSTANCES_SUCCEEDED } from '../contract/metrics';
import { ConstructSettings } from '../contract/settings';
import { WorkflowHandlers } from '../functions/workflow-functions';
import { createDashboard } from '../operations/dashboard';
import { notificationTopicFor } from '../operations/notification-topic';
import { instanceMetric, unsuccessfulRuns } from '../operations/run-metrics';
import { BackupScriptBindOptions, BackupScriptConfig } from '../scripts/backup-script';
import { allowServicesToUseKey, KEY_USE_ACTIONS } from '../security/encryption-key';
import { createLogsKey } from '../security/logs-key';
import { suppress, suppressInlinePolicyFindings } from '../security/nag-suppressions';
import { ignoreCfnLint, skipCheckov, STATE_MACHINE_DEPENDS_ON } from '../security/scanner-skips';
import { StateChangeRules } from '../triggers/state-change-rules';
import { Triggers } from '../triggers/triggers';
import { createDefaultBackupRole, createDefaultVault } from '../vault/default-vault';
import { backupWorkflow } from '../workflow/definition';
import { fixedPollSecondsFromContext, waitBounds } from '../workflow/waiting-task';

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
  /**
   * The log group SSM sends the scripts' full output to (`scriptOutputToCloudWatchLogs`); undefined when the output
   * does not go to CloudWatch Logs or no script is configured.
   */
  public readonly scriptOutputLogGroup?: logs.ILogGroup;

  private readonly scripts: BackupScriptConfig[];
  private readonly outputBucket?: s3.IBucket;
  private readonly outputKeyPrefix: string;

  constructor(scope: Construct, id: string, props: PrePostScriptBackupProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);

    // Every check runs before any resource is created.
    const {
      tagKey, tagValue, startWindow, completionWindow, deleteAfter, maxConcurrency, outputKeyPrefix, waitOnEvents, release,
      onPreScriptFailure,
    } = checkProps(this, props);
    const encryptionKey = props.encryptionKey;

    // The ready-made freeze arms its on-instance safety timer for the freeze budget plus a margin (invariant 7).
    // The scripts' safety thaw is derived from the freeze budget as the release loop applies it (per release timing).
    const scriptBindOptions: BackupScriptBindOptions = { freezeBudget: Duration.seconds(release.budgetSeconds) };
    const preScript = props.preScript?.bind(new Construct(this, 'PreScript'), scriptBindOptions);
    const postScript = props.postScript?.bind(new Construct(this, 'PostScript'), scriptBindOptions);
    this.scripts = [preScript, postScript].filter((s): s is BackupScriptConfig => s !== undefined);
    this.outputBucket = props.scriptOutputBucket;
    this.outputKeyPrefix = outputKeyPrefix;

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
    const logsKey = encryptionKey ?? createLogsKey(this, 'Encrypts the pre/post-script backup workflow logs');
    if (outputToCloudWatchLogs(props.scriptOutputToCloudWatchLogs, this.outputBucket !== undefined, this.scripts.length > 0)) {
      this.scriptOutputLogGroup = createScriptOutputLogGroup(this, { retention: logRetention, encryptionKey: logsKey });
    }
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
      outputLogGroupName: this.scriptOutputLogGroup?.logGroupName ?? '',
      maxTargetInstances: MAX_TARGET_INSTANCES,
      region: stack.region,
      instanceArnPrefix: stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '' }),
      release,
      onPreScriptFailure,
    };
    // Each instance's lease outlasts the longest its chain can take, so an expired lease is a dead run's.
    const settings: ConstructSettings = { ...baseSettings, leaseSeconds: leaseSecondsFor(baseSettings) };

    // Each wait is resumed by the resource's state-change event (the default), or polled (context, for comparison).
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

    const { topic, ownTopic } = notificationTopicFor(this, props, encryptionKey);
    this.notificationTopic = topic;

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
        releaseAtPointInTime: release.mode === 'point-in-time',
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
   * With `scriptOutputLogGroup`, it also grants what SSM Agent needs to send the output there:
   * `logs:CreateLogGroup` (the agent calls it even for an existing group), `logs:CreateLogStream`,
   * `logs:PutLogEvents` and `logs:DescribeLogStreams` on that group, and
   * `logs:DescribeLogGroups` (the agent checks that the group exists; a list action IAM grants on `*`). The group is
   * encrypted by CloudWatch Logs itself: the writer needs no KMS permission.
   *
   * @param grantee the instance role (or profile's role)
   */
  public grantInstanceAccess(grantee: iam.IGrantable): iam.Grant {
    const grants: iam.Grant[] = [];
    for (const s of this.scripts) {
      if (s.bucket && s.key !== undefined) {
        grants.push(s.bucket.grantRead(grantee, s.key));
      }
    }
    if (this.scriptOutputLogGroup) {
      // Systems Manager's Run Command output to CloudWatch Logs: the instance's policy needs logs:CreateLogGroup,
      // logs:CreateLogStream, logs:DescribeLogGroups, logs:DescribeLogStreams and logs:PutLogEvents. The agent calls
      // CreateLogGroup even for an existing group (it ignores only ResourceAlreadyExists; any other error, such as
      // AccessDenied, stops the CloudWatch output of the command). docs/fidelity/ssm.md.
      const group = Stack.of(this).formatArn({
        service: 'logs', resource: 'log-group', resourceName: this.scriptOutputLogGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      grants.push(iam.Grant.addToPrincipal({
        grantee,
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resourceArns: [group, `${group}:*`],
      }));
      grants.push(iam.Grant.addToPrincipal({ grantee, actions: ['logs:DescribeLogGroups'], resourceArns: ['*'] }));
    }
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
   * The longest time an application of a run stayed frozen: seconds from its pre-script's end to its post-script's
   * start (the audit entries' FrozenSeconds). Alarm on it against your freeze budget.
   *
   * @default - maximum over 5 minutes
   */
  public metricInstanceFrozenSeconds(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceMetric(this.stateMachine, METRIC_INSTANCE_FROZEN_SECONDS, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
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
