import { Aws, Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { CENTRAL_METRIC_DIMENSION, CENTRAL_METRICS_NAMESPACE, METRIC_INSTANCES_EXCLUDED, METRIC_INSTANCES_FAILED, METRIC_INSTANCES_SUCCEEDED, METRIC_RUNS_FAILED, METRIC_RUNS_SUCCEEDED } from '../contract/metrics';
import { RUN_SUMMARY_FAILED, RUN_SUMMARY_MAX_FAILURES, RUN_SUMMARY_SUCCEEDED } from '../contract/run-summary-event';

/** The error an execution fails with when the summary breaks the contract or claims another account's run. */
export const SUMMARY_REJECTED_ERROR = 'RunSummaryRejected';
/** The error an execution fails with when the summary was accepted but a step (record, metrics, notification) failed. */
export const SUMMARY_NOT_PROCESSED_ERROR = 'RunSummaryNotProcessed';

export interface SummaryWorkflowProps {
  /** The central table the summaries are recorded in. */
  readonly table: dynamodb.ITable;
  /** The value of the metrics' dimension (the central bus's name). */
  readonly metricDimensionValue: string;
  /** Where failed runs are notified, if anywhere. */
  readonly notificationTopic?: sns.ITopic;
}

const S = (path: string) => tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt(path));
const N = (path: string) => tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt(path)));

/**
 * The EXPRESS workflow behind the central rule. Its input is the run summary event as EventBridge delivers it
 * (envelope and `detail`). JSONPath throughout, so the local interpreter runs it as Step Functions does.
 *
 *   Inspect ─► Accept? ──no──► Fail RunSummaryRejected
 *                │yes
 *   Failed instances as DynamoDB maps ─► Record summary (PutItem) ─► count the run ─► Publish metrics
 *   ─► (failed run, notifications on) Build message ─► Notify ─► Fail RunSummaryNotProcessed if a step failed
 *
 * A summary is accepted only when it follows the contract and the account it claims (in `detail.account` and in
 * the execution ARN) is the account EventBridge says sent it: a member account can record its own runs only.
 * Recording, metrics and the notification are independent: one failing does not skip the others, and the
 * execution then fails so the central alarm sees it.
 */
export function summaryWorkflow(scope: Construct, props: SummaryWorkflowProps): { definition: sfn.IChainable; statements: iam.PolicyStatement[] } {
  const inspect = new sfn.Pass(scope, 'Inspect summary', {
    comment: 'The account in the execution ARN and the number of listed failures, for the checks below',
    parameters: {
      'executionAccount.$': "States.ArrayGetItem(States.StringSplit($.detail.executionArn, ':'), 4)",
      'failureCount.$': 'States.ArrayLength($.detail.failures)',
    },
    resultPath: '$.check',
  });

  const reject = new sfn.Fail(scope, 'Reject summary', {
    error: SUMMARY_REJECTED_ERROR,
    cause: 'The run summary does not follow the contract, or the account it claims is not the account that sent it. '
      + 'The execution input (in the state machine log) shows the event.',
  });

  const strings = ['$.detail.executionArn', '$.detail.region', '$.detail.startTime', '$.detail.endTime', '$.detail.message'];
  const numbers = ['$.detail.instanceCount', '$.detail.succeededCount', '$.detail.failedCount', '$.detail.excludedCount'];
  const accepted = sfn.Condition.and(
    sfn.Condition.isString('$.account'),
    sfn.Condition.stringEqualsJsonPath('$.detail.account', '$.account'),
    sfn.Condition.stringEqualsJsonPath('$.check.executionAccount', '$.account'),
    sfn.Condition.or(
      sfn.Condition.stringEquals('$.detail.status', RUN_SUMMARY_SUCCEEDED),
      sfn.Condition.stringEquals('$.detail.status', RUN_SUMMARY_FAILED),
    ),
    ...strings.map(p => sfn.Condition.isString(p)),
    ...numbers.map(p => sfn.Condition.isNumeric(p)),
    sfn.Condition.isBoolean('$.detail.failuresTruncated'),
    sfn.Condition.numberLessThanEquals('$.check.failureCount', RUN_SUMMARY_MAX_FAILURES),
  );

  // Each failed instance as a DynamoDB map, with the audit entry's attribute names.
  const failureItems = new sfn.Map(scope, 'Failed instances as items', {
    itemsPath: '$.detail.failures',
    resultPath: '$.failureItems',
  }).itemProcessor(new sfn.Pass(scope, 'Failure item', {
    parameters: {
      M: {
        InstanceId: { 'S.$': '$.instanceId' },
        FailureMessage: { 'S.$': '$.failureMessage' },
        PreBackupScriptStatus: { 'S.$': '$.preBackupScriptStatus' },
        StopEc2InstanceStatus: { 'S.$': '$.stopEc2InstanceStatus' },
        BackupJobStatus: { 'S.$': '$.backupJobStatus' },
        StartEc2InstanceStatus: { 'S.$': '$.startEc2InstanceStatus' },
        PostBackupScriptStatus: { 'S.$': '$.postBackupScriptStatus' },
      },
    },
  }));

  const record = new tasks.DynamoPutItem(scope, 'Record summary', {
    table: props.table,
    item: {
      SM_Execution_ID: S('$.detail.executionArn'),
      Account: S('$.account'),
      Region: S('$.detail.region'),
      Run_Status: S('$.detail.status'),
      StartTime: S('$.detail.startTime'),
      EndTime: S('$.detail.endTime'),
      InstanceCount: N('$.detail.instanceCount'),
      SucceededCount: N('$.detail.succeededCount'),
      FailedCount: N('$.detail.failedCount'),
      ExcludedCount: N('$.detail.excludedCount'),
      Failures: tasks.DynamoAttributeValue.listFromJsonPath(sfn.JsonPath.stringAt('$.failureItems')),
      FailuresTruncated: tasks.DynamoAttributeValue.booleanFromJsonPath(sfn.JsonPath.stringAt('$.detail.failuresTruncated')),
      Run_FailureMessage: S('$.detail.message'),
      SummaryEventId: S('$.id'),
      SummaryTime: S('$.time'),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retry(record);

  // One data point per run for each metric (0 or 1 for the run outcome), so the alarm sees every run.
  const countFailed = new sfn.Pass(scope, 'Count failed run', { result: sfn.Result.fromObject({ failed: 1, succeeded: 0 }), resultPath: '$.runCount' });
  const countSucceeded = new sfn.Pass(scope, 'Count succeeded run', { result: sfn.Result.fromObject({ failed: 0, succeeded: 1 }), resultPath: '$.runCount' });
  const runOutcome = new sfn.Choice(scope, 'Run failed?')
    .when(sfn.Condition.stringEquals('$.detail.status', RUN_SUMMARY_FAILED), countFailed)
    .otherwise(countSucceeded);

  const datum = (name: string, valuePath: string) => ({
    'MetricName': name,
    'Dimensions': [{ Name: CENTRAL_METRIC_DIMENSION, Value: props.metricDimensionValue }],
    'Unit': 'Count',
    'Value.$': valuePath,
  });
  const publishMetrics = new sfn.CustomState(scope, 'Publish metrics', {
    stateJson: {
      Type: 'Task',
      Resource: `arn:${Aws.PARTITION}:states:::aws-sdk:cloudwatch:putMetricData`,
      Parameters: {
        Namespace: CENTRAL_METRICS_NAMESPACE,
        MetricData: [
          datum(METRIC_RUNS_FAILED, '$.runCount.failed'),
          datum(METRIC_RUNS_SUCCEEDED, '$.runCount.succeeded'),
          datum(METRIC_INSTANCES_SUCCEEDED, '$.detail.succeededCount'),
          datum(METRIC_INSTANCES_FAILED, '$.detail.failedCount'),
          datum(METRIC_INSTANCES_EXCLUDED, '$.detail.excludedCount'),
        ],
      },
      ResultPath: null,
    },
  });
  retry(publishMetrics);

  const done = new sfn.Choice(scope, 'Every step done?')
    .when(sfn.Condition.or(
      sfn.Condition.isPresent('$.recordError'),
      sfn.Condition.isPresent('$.metricsError'),
      sfn.Condition.isPresent('$.notificationError'),
    ), new sfn.Fail(scope, 'Summary not processed', {
      error: SUMMARY_NOT_PROCESSED_ERROR,
      cause: 'Recording the run summary, publishing its metrics or notifying it failed; the step\'s error is in the state machine log.',
    }))
    .otherwise(new sfn.Succeed(scope, 'Summary processed'));

  record.addCatch(runOutcome, { errors: [sfn.Errors.ALL], resultPath: '$.recordError' });
  publishMetrics.addCatch(props.notificationTopic ? notifyChoice() : done, { errors: [sfn.Errors.ALL], resultPath: '$.metricsError' });
  countFailed.next(publishMetrics);
  countSucceeded.next(publishMetrics);
  publishMetrics.next(props.notificationTopic ? notifyChoice() : done);

  const statements = [new iam.PolicyStatement({
    sid: 'PublishCentralMetrics',
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': CENTRAL_METRICS_NAMESPACE } },
  })];

  const definition = inspect
    .next(new sfn.Choice(scope, 'Accept summary?')
      .when(accepted, failureItems.next(record).next(runOutcome))
      .otherwise(reject));
  return { definition, statements };

  /** Failed runs build a readable message and publish it (built once, reached from two places). */
  function notifyChoice(): sfn.IChainable {
    const existing = scope.node.tryFindChild('Notify failed run?') as sfn.Choice | undefined;
    if (existing) {
      return existing;
    }
    const notify = notification(scope, props.notificationTopic!, done);
    return new sfn.Choice(scope, 'Notify failed run?')
      .when(sfn.Condition.stringEquals('$.detail.status', RUN_SUMMARY_FAILED), notify)
      .otherwise(done);
  }
}

/**
 * The message of a failed run, built line by line (ASL has no string join): a header, one line per listed failed
 * instance, a note when the list was truncated, and where to look. Then the SNS publish.
 */
function notification(scope: Construct, topic: sns.ITopic, next: sfn.IChainable): sfn.IChainable {
  const lines = new sfn.Map(scope, 'Failed instances as lines', {
    itemsPath: '$.detail.failures',
    resultPath: '$.failureLines',
  }).itemProcessor(new sfn.Pass(scope, 'Failure line', {
    parameters: {
      'line.$': "States.Format('{}: {} (pre {} | stop {} | backup {} | start {} | post {})', $.instanceId, $.failureMessage, "
        + '$.preBackupScriptStatus, $.stopEc2InstanceStatus, $.backupJobStatus, $.startEc2InstanceStatus, $.postBackupScriptStatus)',
    },
    outputPath: '$.line',
  }));

  const start = new sfn.Pass(scope, 'Start message', {
    parameters: {
      'text.$': "States.Format('Pre/post-script backup run FAILED in account {}, Region {}.\n"
        + "{} of {} instances failed, {} excluded.\nReason: {}\n\nFailed instances:', "
        + '$.account, $.detail.region, $.detail.failedCount, $.detail.instanceCount, $.detail.excludedCount, $.detail.message)',
      'index': 0,
      'count.$': 'States.ArrayLength($.failureLines)',
    },
    resultPath: '$.notification',
  });
  const appendLine = new sfn.Pass(scope, 'Append line', {
    parameters: {
      'text.$': "States.Format('{}\n- {}', $.notification.text, States.ArrayGetItem($.failureLines, $.notification.index))",
      'index.$': 'States.MathAdd($.notification.index, 1)',
      'count.$': '$.notification.count',
    },
    resultPath: '$.notification',
  });
  const truncated = new sfn.Pass(scope, 'Note truncation', {
    parameters: {
      'text.$': "States.Format('{}\n- ... and more: the list is truncated; the account\\'s own audit table has every instance.', $.notification.text)",
    },
    resultPath: '$.notification',
  });
  const finish = new sfn.Pass(scope, 'Finish message', {
    parameters: {
      'text.$': "States.Format('{}\n\nExecution: https://{}.console.aws.amazon.com/states/home?region={}#/v2/executions/details/{}\n"
        + "Central record: SM_Execution_ID = {}', $.notification.text, $.detail.region, $.detail.region, $.detail.executionArn, "
        + '$.detail.executionArn)',
      'subject.$': "States.Format('Backup run FAILED: account {}, {}, {} of {} instances', $.account, $.detail.region, "
        + '$.detail.failedCount, $.detail.instanceCount)',
    },
    resultPath: '$.notification',
  });
  const publish = new tasks.SnsPublish(scope, 'Notify', {
    topic,
    subject: sfn.JsonPath.stringAt('$.notification.subject'),
    message: sfn.TaskInput.fromJsonPathAt('$.notification.text'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  retry(publish);
  publish.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.notificationError' });

  const moreLines = new sfn.Choice(scope, 'More lines?')
    .when(sfn.Condition.numberLessThanJsonPath('$.notification.index', '$.notification.count'), appendLine)
    .when(sfn.Condition.booleanEquals('$.detail.failuresTruncated', true), truncated)
    .otherwise(finish);
  appendLine.next(moreLines);
  truncated.next(finish);
  lines.next(start);
  start.next(moreLines);
  finish.next(publish);
  publish.next(next);
  return lines;
}

function retry(task: tasks.DynamoPutItem | tasks.SnsPublish | sfn.CustomState): void {
  task.addRetry({
    errors: [sfn.Errors.TASKS_FAILED, sfn.Errors.TIMEOUT],
    interval: Duration.seconds(1),
    backoffRate: 2,
    maxAttempts: 3,
    jitterStrategy: sfn.JitterType.FULL,
  });
}
