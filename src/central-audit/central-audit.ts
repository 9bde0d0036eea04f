import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { centralMetric } from './central-metrics';
import { summaryWorkflow } from './summary-workflow';
import { PARTITION_KEY } from '../contract/audit-schema';
import { METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SUCCEEDED, METRIC_RUNS_FAILED, METRIC_RUNS_SUCCEEDED } from '../contract/metrics';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../contract/run-summary-event';
import { notificationTopicFor } from '../operations/notification-topic';
import { createLogsKey } from '../security/logs-key';
import { suppress, suppressInlinePolicyFindings } from '../security/nag-suppressions';
import { ignoreCfnLint, skipCheckov, STATE_MACHINE_DEPENDS_ON } from '../security/scanner-skips';
import { SSE_SQS_COMMENT } from '../triggers/triggers';
import { PropsCheck } from '../validation/errors';
import { validateEventBusName, validateNotifications, validateOrganizationId } from '../validation/props';

/**
 * Properties of a PrePostScriptBackupCentralAudit.
 */
export interface PrePostScriptBackupCentralAuditProps {
  /**
   * The id of your AWS Organizations organization (`o-` and 10 to 32 lowercase letters or digits). Only principals
   * of accounts in this organization may put run summaries on the central event bus.
   */
  readonly organizationId: string;

  /**
   * The name of the central event bus. Member accounts send run summaries to its ARN,
   * `arn:<partition>:events:<region>:<account>:event-bus/<name>`: a fixed name makes that ARN known before the
   * central stack is deployed.
   *
   * @default - a name derived from the construct's path, unique in the account and Region
   */
  readonly eventBusName?: string;

  /**
   * Whether failed runs are notified on an SNS topic: one readable message per failed run (account, Region,
   * which instances failed, at which step and why, a link to the execution). The alarm also notifies the topic.
   *
   * @default - true when `notificationTopic` is set, otherwise false
   */
  readonly enableNotifications?: boolean;

  /**
   * The SNS topic for notifications. A topic encrypted with a customer-managed key needs a key policy that lets
   * the state machine role and CloudWatch alarms use the key.
   *
   * @default - a new topic, encrypted with its own KMS key, when `enableNotifications` is true
   */
  readonly notificationTopic?: sns.ITopic;

  /**
   * How long the logs of the state machine that records the summaries are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The central side of an organization-wide rollout of PrePostScriptBackup: one place to see the outcome of every
 * run in every account and Region.
 *
 * Deploy it once, in the account (and Region) that watches the backups. Every PrePostScriptBackup that forwards
 * its run summaries here puts one event per run on `eventBus`, whose resource policy admits `events:PutEvents`
 * only from principals of the organization, and only for run summary events. Each summary is recorded in
 * `auditTable` (keyed by the run's execution ARN; indexed by account and by status), counted in CloudWatch
 * metrics, and, when notifications are on, a failed run is notified with a readable message.
 * `runsFailedAlarm` goes to ALARM when any run in the organization failed in the last 5 minutes, or a summary
 * could not be recorded.
 *
 * @example
 * const central = new PrePostScriptBackupCentralAudit(this, 'BackupAudit', {
 *   organizationId: 'o-a1b2c3d4e5',
 *   eventBusName: 'pre-post-script-backup-runs',
 *   enableNotifications: true,
 * });
 */
export class PrePostScriptBackupCentralAudit extends Construct {
  /** The index of `auditTable` that lists one account's runs: partition key `Account`, sort key `EndTime`. */
  public static readonly ACCOUNT_INDEX_NAME = 'AccountIndex';
  /** The index of `auditTable` that lists runs by status: partition key `Run_Status`, sort key `EndTime`. */
  public static readonly STATUS_INDEX_NAME = 'StatusIndex';

  /** The central event bus the member accounts put their run summaries on. */
  public readonly eventBus: events.IEventBus;
  /**
   * The central table: one item per run summary, keyed by `SM_Execution_ID` (the run's execution ARN), with
   * `Account`, `Region`, `Run_Status`, `StartTime`, `EndTime`, the instance counts, `Failures` and
   * `Run_FailureMessage`.
   */
  public readonly auditTable: dynamodb.ITable;
  /** The EXPRESS state machine that records each summary, publishes its metrics and notifies failed runs. */
  public readonly stateMachine: sfn.IStateMachine;
  /** The rule on `eventBus` that sends every run summary to `stateMachine`. */
  public readonly summaryRule: events.IRule;
  /** The queue that receives run summaries the rule could not deliver to the state machine. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In ALARM when a run failed anywhere in the organization in the last 5 minutes, or a summary was not processed. */
  public readonly runsFailedAlarm: cloudwatch.IAlarm;
  /**
   * The topic failed runs and the alarm are notified on.
   *
   * @default - undefined when notifications are not enabled
   */
  public readonly notificationTopic?: sns.ITopic;

  private readonly busName: string;

  constructor(scope: Construct, id: string, props: PrePostScriptBackupCentralAuditProps) {
    super(scope, id);
    // Every check runs before any resource is created.
    const check = new PropsCheck(this, 'PrePostScriptBackupCentralAudit');
    validateOrganizationId(check, 'organizationId', props.organizationId);
    validateNotifications(check, props);
    validateEventBusName(check, props.eventBusName);

    this.busName = props.eventBusName ?? Names.uniqueResourceName(this, { maxLength: 256, separator: '-' });
    const bus = new events.EventBus(this, 'EventBus', {
      eventBusName: this.busName,
      description: 'Run summaries of pre/post-script backups from every account of the organization',
    });
    bus.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'OrganizationRunSummariesOnly',
      principals: [new iam.StarPrincipal()],
      actions: ['events:PutEvents'],
      resources: [bus.eventBusArn],
      conditions: {
        'StringEquals': { 'aws:PrincipalOrgID': props.organizationId },
        'ForAllValues:StringEquals': { 'events:source': [RUN_SUMMARY_SOURCE], 'events:detail-type': [RUN_SUMMARY_DETAIL_TYPE] },
      },
    }));
    this.eventBus = bus;

    const table = new dynamodb.Table(this, 'AuditTable', {
      partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const [indexName, partitionKey] of [
      [PrePostScriptBackupCentralAudit.ACCOUNT_INDEX_NAME, 'Account'],
      [PrePostScriptBackupCentralAudit.STATUS_INDEX_NAME, 'Run_Status'],
    ]) {
      table.addGlobalSecondaryIndex({
        indexName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'EndTime', type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
    suppress(table, ['NIST.800.53.R5', 'HIPAA.Security'].map(pack => ({
      id: `${pack}-DynamoDBInBackupPlan`,
      reason: 'The central audit table has point-in-time recovery (continuous backups, 35 days) and deletion protection.',
    })));
    skipCheckov(table, [{
      id: 'CKV_AWS_119',
      comment: 'Encrypted at rest with the AWS managed key for DynamoDB; the table holds run summaries (counts, instance ids, failure reasons).',
    }]);
    this.auditTable = table;

    const { topic, ownTopic } = notificationTopicFor(this, props);
    this.notificationTopic = topic;

    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const stateMachineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
      retention: logRetention,
      encryptionKey: createLogsKey(this, 'Encrypts the pre/post-script backup central audit logs'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const workflow = summaryWorkflow(this, {
      table,
      metricDimensionValue: this.busName,
      notificationTopic: this.notificationTopic,
    });
    const stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      comment: 'Records a pre/post-script backup run summary, publishes its metrics and notifies a failed run',
      definitionBody: sfn.DefinitionBody.fromChainable(workflow.definition),
      timeout: Duration.minutes(5),
      tracingEnabled: true,
      logs: { destination: stateMachineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    workflow.statements.forEach(s => stateMachine.addToRolePolicy(s));
    ignoreCfnLint(stateMachine, 'W3005', STATE_MACHINE_DEPENDS_ON);
    ownTopic?.masterKey?.grant(stateMachine.role, 'kms:GenerateDataKey', 'kms:Decrypt');
    suppress(stateMachine.role.node.findChild('DefaultPolicy'), [{
      id: 'AwsSolutions-IAM5',
      reason: 'cloudwatch:PutMetricData (conditioned on the construct\'s own metric namespace), log delivery and X-Ray '
        + 'actions do not support resource-level permissions.',
      appliesTo: ['Resource::*'],
    }]);
    this.stateMachine = stateMachine;

    const deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    suppress(deadLetterQueue, [{
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the rule that sends run summaries to the state machine.',
    }]);
    skipCheckov(deadLetterQueue, [{ id: 'CKV_AWS_27', comment: SSE_SQS_COMMENT }]);
    this.deadLetterQueue = deadLetterQueue;

    this.summaryRule = new events.Rule(this, 'SummaryRule', {
      eventBus: bus,
      description: 'Sends every pre/post-script backup run summary to the state machine that records it',
      eventPattern: { source: [RUN_SUMMARY_SOURCE], detailType: [RUN_SUMMARY_DETAIL_TYPE] },
      targets: [new targets.SfnStateMachine(stateMachine, {
        deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      })],
    });

    const alarm = new cloudwatch.Alarm(this, 'RunsFailedAlarm', {
      alarmDescription: 'A pre/post-script backup run failed in an account of the organization, or a run summary could not '
        + 'be recorded: query the central audit table\'s StatusIndex for Run_Status = FAILED, or read the state machine log.',
      metric: new cloudwatch.MathExpression({
        expression: 'runsFailed + notProcessed',
        usingMetrics: {
          runsFailed: this.metricRunsFailed(),
          notProcessed: this.metricSummariesNotProcessed(),
        },
        label: 'Runs failed, or summaries not processed',
        period: Duration.minutes(5),
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (this.notificationTopic) {
      alarm.addAlarmAction(new cwActions.SnsAction(this.notificationTopic));
    }
    this.runsFailedAlarm = alarm;

    suppressInlinePolicyFindings(this);
  }

  /**
   * Grants reading the central audit table and its indexes.
   *
   * @param grantee who reads the run summaries
   */
  public grantReadAuditTable(grantee: iam.IGrantable): iam.Grant {
    return this.auditTable.grantReadData(grantee);
  }

  /**
   * Grants `events:PutEvents` on the central bus in the grantee's own policy. The bus's resource policy already
   * admits principals of the organization; a principal needs this grant (or an equivalent policy in its account)
   * as well.
   *
   * @param grantee who sends run summaries
   */
  public grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    return this.eventBus.grantPutEventsTo(grantee);
  }

  /**
   * The number of failed runs reported, across the organization.
   *
   * @default - sum over 5 minutes
   */
  public metricRunsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return centralMetric(this.busName, METRIC_RUNS_FAILED, props);
  }

  /**
   * The number of runs reported that succeeded on every instance, across the organization.
   *
   * @default - sum over 5 minutes
   */
  public metricRunsSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return centralMetric(this.busName, METRIC_RUNS_SUCCEEDED, props);
  }

  /**
   * The number of instances backed up successfully, across the organization.
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return centralMetric(this.busName, METRIC_INSTANCES_SUCCEEDED, props);
  }

  /**
   * The number of instances with a failed step, across the organization.
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return centralMetric(this.busName, METRIC_INSTANCES_FAILED, props);
  }

  /**
   * The number of tagged instances left out of runs (terminated or shutting down), across the organization.
   *
   * @default - sum over 5 minutes
   */
  public metricInstancesExcluded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return centralMetric(this.busName, METRIC_INSTANCES_EXCLUDED, props);
  }

  /**
   * The number of run summaries the state machine rejected (not following the contract, or claiming another
   * account's run) or could not fully process (record, metrics or notification failed).
   *
   * @default - sum over 5 minutes
   */
  public metricSummariesNotProcessed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed(props);
  }
}
